"""The SMTP emulator's token checks (what Exchange Online checks), against a stand-in login host with its own keys."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox._ca import make_ca
from tests.sandbox._http import AppServer, json_response, server_ssl_context, start_in_thread
from tests.sandbox.smtp.tokens import BAD_TOKEN, DISABLED, OK, TEMPORARY, TokenChecker

USER = "fw@contoso.example"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def login(tmp_path_factory):
    paths = make_ca(str(tmp_path_factory.mktemp("tokens")))
    mailboxes = {USER: {"upn": USER, "smtp_auth_disabled": False}}
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    jwk.update(kid="k1", use="sig")

    def app(request):
        base = "https://127.0.0.1:%d" % request.port
        if request.path.endswith("/v2.0/.well-known/openid-configuration"):
            return json_response({"jwks_uri": base + "/common/discovery/v2.0/keys"})
        if request.path == "/common/discovery/v2.0/keys":
            return json_response({"keys": [jwk]})
        if request.path.startswith("/_sandbox/mailboxes/"):
            box = mailboxes.get(request.path.rsplit("/", 1)[1])
            return json_response(box) if box else json_response({"error": "no mailbox"}, 404)
        return json_response({}, 404)

    server = AppServer(app, server_ssl_context(paths["cert_file"], paths["key_file"]))
    stop = start_in_thread([server])
    checker = TokenChecker({"login_url": "https://127.0.0.1:%d" % server.port, "tenant": {"id": "t1"}},
                           paths["ca_file"])
    yield checker, mailboxes
    stop.set()


def token(key=KEY, kid="k1", **claims):
    body = {"aud": "https://outlook.office365.com", "scp": "SMTP.Send", "upn": USER, "tid": "t1",
            "exp": int(time.time()) + 600, "iat": int(time.time())}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


CASES = {
    "valid-delegated-token": (token(), OK),
    "expired": (token(exp=int(time.time()) - 5), BAD_TOKEN),
    "graph-audience": (token(aud="https://graph.microsoft.com"), BAD_TOKEN),
    "no-smtp-send-scope": (token(scp="Mail.Send"), BAD_TOKEN),
    "app-only-token": (token(scp=None, roles=["Exchange.ManageAsApp"]), BAD_TOKEN),
    "signed-by-another-key": (token(key=OTHER_KEY), BAD_TOKEN),
    "other-user": (token(upn="someone@contoso.example"), BAD_TOKEN),
    "not-a-jwt": ("opaque-token", BAD_TOKEN),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_token_checks(login, case):
    checker, dummy = login
    value, expected = CASES[case]
    reply, reason = checker.check(USER, value)
    assert reply == expected, reason
    assert value not in reason


def test_mailbox_with_smtp_auth_disabled_gets_5_7_139(login):
    checker, mailboxes = login
    mailboxes[USER]["smtp_auth_disabled"] = True
    try:
        assert checker.check(USER, token())[0] == DISABLED
    finally:
        mailboxes[USER]["smtp_auth_disabled"] = False


def test_unreachable_login_host_is_a_temporary_failure(tmp_path):
    paths = make_ca(str(tmp_path))
    checker = TokenChecker({"login_url": "https://127.0.0.1:1", "tenant": {"id": "t1"}}, paths["ca_file"])
    assert checker.check(USER, token())[0] == TEMPORARY
