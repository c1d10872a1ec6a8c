"""The SMTP client against the sandbox's aiosmtpd server (token checks stubbed): STARTTLS, XOAUTH2, send-as."""

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.smtp import SmtpCheckError, smtp_oauth_login
from tests.sandbox._ca import make_ca
from tests.sandbox._http import server_ssl_context
from tests.sandbox.smtp import server as smtp_server
from tests.sandbox.smtp.tokens import BAD_TOKEN, DISABLED, OK

USER = "fw@contoso.example"


class StubChecker:
    """Token verdicts by token value, so the SMTP layer is tested on its own (the JWT checks need the login emulator)."""

    verdicts = {"tok-good-1f3a": OK, "tok-disabled-9c2e": DISABLED, "tok-bad-77d1": BAD_TOKEN}

    def __init__(self):
        self.seen = []

    def check_login(self, user, token):
        self.seen.append((user, token))
        return self.verdicts[token], "stub", "stub-tenant"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    paths = make_ca(str(tmp_path_factory.mktemp("smtp")))
    service = smtp_server.start_smtp(server_ssl_context(paths["cert_file"], paths["key_file"]), paths["ca_file"], {})
    checker = StubChecker()
    service.controller.handler.checker = checker
    yield service, paths["ca_file"], checker
    service.stop()


def test_login_succeeds_after_starttls(smtp):
    service, ca_file, checker = smtp
    result = smtp_oauth_login("127.0.0.1", service.port, USER, "tok-good-1f3a", ca_path=ca_file)
    assert result["authenticated"] and not result["sent"]
    assert result["auth_mechanisms"] == ["XOAUTH2"]
    assert checker.seen[-1] == (USER, "tok-good-1f3a")


def test_test_message_is_recorded_by_the_server(smtp):
    service, ca_file, dummy = smtp
    result = smtp_oauth_login("127.0.0.1", service.port, USER, "tok-good-1f3a", ca_path=ca_file,
                              send_to=["ops@contoso.example"],
                              subject="probe", body="hello")
    assert result["sent"]
    stored = [m for m in service.store.messages if m["subject"] == "probe"]
    assert len(stored) == 1
    assert stored[0]["mail_from"] == USER and stored[0]["rcpt_tos"] == ["ops@contoso.example"]
    assert stored[0]["user"] == USER


@pytest.mark.parametrize("token, code", [("tok-disabled-9c2e", "535 5.7.139"), ("tok-bad-77d1", "535 5.7.3")],
                         ids=["smtp-auth-disabled", "token-refused"])
def test_refused_login_raises_with_the_reply_code(smtp, token, code):
    service, ca_file, dummy = smtp
    with pytest.raises(SmtpCheckError) as err:
        smtp_oauth_login("127.0.0.1", service.port, USER, token, ca_path=ca_file)
    assert err.value.code == code
    assert token not in str(err.value)


def test_untrusted_certificate_points_at_ca_path(smtp):
    service, dummy, dummy2 = smtp
    with pytest.raises(SmtpCheckError) as err:
        smtp_oauth_login("127.0.0.1", service.port, USER, "tok-good-1f3a")
    assert "ca_path" in err.value.hint


def test_closed_port_names_host_and_port():
    with pytest.raises(SmtpCheckError) as err:
        smtp_oauth_login("127.0.0.1", 1, USER, "tok-good-1f3a", timeout=2)
    assert "127.0.0.1:1" in str(err.value)


def test_auth_before_starttls_is_refused_and_not_advertised(smtp):
    import smtplib  # pylint: disable=import-outside-toplevel
    service, dummy, checker = smtp
    seen = len(checker.seen)
    with smtplib.SMTP("127.0.0.1", service.port, timeout=5) as conn:
        conn.ehlo()
        assert not conn.has_extn("auth")
        code, dummy = conn.docmd("AUTH", "XOAUTH2 dGVzdA==")
        assert code == 530
    assert len(checker.seen) == seen


def test_xoauth2_without_initial_response_gets_a_challenge_first(smtp):
    import smtplib  # pylint: disable=import-outside-toplevel
    import ssl  # pylint: disable=import-outside-toplevel
    service, ca_file, dummy = smtp
    with smtplib.SMTP("127.0.0.1", service.port, timeout=5) as conn:
        conn.starttls(context=ssl.create_default_context(cafile=ca_file))
        conn.ehlo()
        code, dummy2 = conn.auth("XOAUTH2", lambda challenge=None: "user=%s\x01auth=Bearer tok-good-1f3a\x01\x01" % USER,
                                 initial_response_ok=False)
    assert code == 235
