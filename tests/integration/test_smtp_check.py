"""The proof: smtp_oauth_check logs in to the SMTP emulator with XOAUTH2 as the firewall will, and sends mail.

What the SMTP server accepted (messages, login attempts) is read from its own control endpoint.
"""

import os

import pytest

from tests.integration.mailbox_app import create_mailbox_app, refresh_token_for, set_mailbox_smtp_auth

PLAYBOOK = os.path.join(os.path.dirname(__file__), "targets", "refresh_token", "smtp_check.yml")


@pytest.fixture(scope="module")
def signed_in(sandbox, tmp_path_factory):
    app = create_mailbox_app(sandbox)
    token_file = tmp_path_factory.mktemp("smtp-check") / "refresh_token"
    token_file.write_text(refresh_token_for(sandbox, app))
    token_file.chmod(0o600)
    return app, str(token_file)


def check_vars(sandbox, signed_in, **extra):
    app, token_file = signed_in
    ms, smtp = sandbox.services["microsoft"], sandbox.services["smtp"]
    return dict({"login_url": ms["login_url"], "client_id": app["client_id"], "client_secret": app["client_secret"],
                 "refresh_token_file": token_file, "mailbox": ms["mailbox"]["upn"], "smtp_host": smtp["host"],
                 "smtp_port": smtp["port"], "ca_path": sandbox.ca_file}, **extra)


def smtp_control(sandbox, path):
    return sandbox.control(sandbox.services["smtp"]["control_url"], path)


def test_check_passes_and_the_test_message_arrives(run_playbook, sandbox, signed_in):
    set_mailbox_smtp_auth(sandbox, False)
    subject = "firewall test %s" % os.getpid()
    run = run_playbook(PLAYBOOK, extra_vars=check_vars(sandbox, signed_in, test_recipient=["ops@contoso.example"],
                                                       subject=subject))
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    messages = [m for m in smtp_control(sandbox, "messages")["messages"] if m["subject"] == subject]
    assert len(messages) == 1
    mailbox = sandbox.services["microsoft"]["mailbox"]["upn"]
    assert messages[0]["user"] == mailbox and messages[0]["mail_from"] == mailbox
    assert messages[0]["rcpt_tos"] == ["ops@contoso.example"]
    assert smtp_control(sandbox, "auth_log")["attempts"][-1]["reply"].startswith("235 2.7.0")


def test_login_only_and_check_mode_send_nothing(run_playbook, sandbox, signed_in):
    set_mailbox_smtp_auth(sandbox, False)
    before = len(smtp_control(sandbox, "messages")["messages"])
    attempts = len(smtp_control(sandbox, "auth_log")["attempts"])
    for check, recipients in ((False, None), (True, ["ops@contoso.example"])):
        extra = {"test_recipient": recipients} if recipients else {}
        run = run_playbook(PLAYBOOK, extra_vars=check_vars(sandbox, signed_in, **extra), check=check)
        assert run.rc == 0, run
        assert run.changed("localhost") == 0
        assert '"authenticated": true' in run.stdout
    assert len(smtp_control(sandbox, "messages")["messages"]) == before
    assert len(smtp_control(sandbox, "auth_log")["attempts"]) == attempts + 2


@pytest.mark.parametrize("case", ["smtp-auth-off-for-mailbox", "mailbox-follows-blocking-org"])
def test_fails_clearly_when_smtp_auth_is_off(run_playbook, sandbox, signed_in, case):
    set_mailbox_smtp_auth(sandbox, True if case == "smtp-auth-off-for-mailbox" else None)
    run = run_playbook(PLAYBOOK, extra_vars=check_vars(sandbox, signed_in))
    assert run.rc != 0, run
    assert run.failed_hosts() == ["localhost"]
    assert "535 5.7.139" in run.stdout and "SMTP AUTH is disabled for the mailbox" in run.stdout
    assert "mailoauth.sophos.exo_smtp_auth" in run.stdout
    assert smtp_control(sandbox, "auth_log")["attempts"][-1]["reply"].startswith("535 5.7.139")
    set_mailbox_smtp_auth(sandbox, False)


def test_token_of_another_user_is_refused_with_the_reason(run_playbook, sandbox, signed_in):
    set_mailbox_smtp_auth(sandbox, False)
    admin = sandbox.services["microsoft"]["admin_user"]["upn"]
    run = run_playbook(PLAYBOOK, extra_vars=check_vars(sandbox, signed_in, mailbox=admin))
    assert run.rc != 0, run
    assert "535 5.7.3" in run.stdout
    assert "the refresh token belongs to %s" % sandbox.services["microsoft"]["mailbox"]["upn"] in run.stdout


def test_app_only_token_is_refused_as_exchange_does(sandbox):
    """The SMTP server takes only delegated tokens with SMTP.Send: an app-only Exchange token gets 535 5.7.3."""
    from ansible_collections.mailoauth.sophos.plugins.module_utils.smtp import (  # pylint: disable=import-outside-toplevel
        SmtpCheckError,
        smtp_oauth_login,
    )
    from tests.integration.mailbox_app import automation_token  # pylint: disable=import-outside-toplevel

    set_mailbox_smtp_auth(sandbox, False)
    smtp = sandbox.services["smtp"]
    token = automation_token(sandbox, "https://outlook.office365.com")
    with pytest.raises(SmtpCheckError) as err:
        smtp_oauth_login(smtp["host"], smtp["port"], sandbox.services["microsoft"]["mailbox"]["upn"], token,
                         ca_path=sandbox.ca_file)
    assert err.value.code == "535 5.7.3"
    assert "SMTP.Send" in smtp_control(sandbox, "auth_log")["attempts"][-1]["reason"]
