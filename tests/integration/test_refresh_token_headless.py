"""The headless (AWX) sign-in across two job runs, with nothing carried between them but the pasted address.

Run 1 shows the sign-in URL and stops; the test signs in as the mailbox with the sandbox browser and hands the address
the browser ends on to run 2, which rebuilds the sign-in from that address's state and the client secret. Assertions
read the emulator's records and redeem the resulting refresh token at its token endpoint as a firewall would.
"""

import base64
import hashlib
import json
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.integration.mailbox_app import automation_token, create_mailbox_app, set_mailbox_smtp_auth
from tests.sandbox.browser import sign_in

TARGET = os.path.join(os.path.dirname(__file__), "targets", "refresh_token")
JWT = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}")
CODE_IN_URL = re.compile(r"[?&]code=[^&\s\"']{6,}")
AUTHORIZE_URL = re.compile(r"https://\S+/oauth2/v2\.0/authorize\?[^\s\"'\\]+")


@pytest.fixture
def ms(sandbox):
    return sandbox.services["microsoft"]


@pytest.fixture
def app(sandbox):
    return create_mailbox_app(sandbox)


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def login_state(sandbox):
    return sandbox.control(sandbox.services["microsoft"]["login_url"], "state")


def codes_of(sandbox, client_id):
    return [c for c in login_state(sandbox)["authorization_codes"] if c["client_id"] == client_id]


def tokens_of(sandbox, client_id):
    return [t for t in login_state(sandbox)["refresh_tokens"] if t["client_id"] == client_id]


def redeem_as_firewall(sandbox, app, refresh_token):
    """POST client id, secret and refresh token to the token endpoint, as SFOS does; returns the JSON answer."""
    ms = sandbox.services["microsoft"]
    form = urllib.parse.urlencode({
        "grant_type": "refresh_token", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "refresh_token": refresh_token, "scope": "https://outlook.office365.com/.default offline_access"}).encode()
    request = urllib.request.Request("%s/common/oauth2/v2.0/token" % ms["login_url"], data=form)
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=sandbox.ca_file), timeout=30) as resp:
        return json.loads(resp.read())


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def role_vars(sandbox, app, tmp_path, **extra):
    ms, smtp = sandbox.services["microsoft"], sandbox.services["smtp"]
    return dict({
        "mailoauth_authority_host": ms["login_url"], "mailoauth_ca_path": sandbox.ca_file,
        "mailoauth_client_id": app["client_id"], "mailoauth_client_secret": app["client_secret"],
        "mailoauth_mailbox": ms["mailbox"]["upn"], "mailoauth_smtp_host": smtp["host"],
        "mailoauth_smtp_port": smtp["port"], "refresh_token_tenant_id": "common",
        "refresh_token_mode": "authorization_response", "out_dir": str(tmp_path),
    }, **extra)


def test_two_runs_of_the_role_sign_in_without_carrying_anything(run_playbook, sandbox, ms, app, tmp_path):
    set_mailbox_smtp_auth(sandbox, False)  # step 3 done (its role has its own tests)
    playbook = os.path.join(TARGET, "headless.yml")

    first = run_playbook(playbook, extra_vars=role_vars(sandbox, app, tmp_path), args=("-vvvv",))
    assert first.rc != 0, first
    assert first.failed_hosts() == ["localhost"]
    assert "Sign in as %s at " % ms["mailbox"]["upn"] in first.stdout, first
    assert "refresh_token_authorization_response" in first.stdout
    urls = set(AUTHORIZE_URL.findall(first.stdout))
    assert len(urls) == 1, urls
    url = urls.pop()
    assert query(url)["login_hint"] == ms["mailbox"]["upn"]
    assert not (tmp_path / "refresh_token").exists()
    assert codes_of(sandbox, app["client_id"]) == []

    redirected = sign_in(url, ms["mailbox"]["upn"], ms["mailbox"]["password"], sandbox.ca_file, follow=False)
    assert query(redirected)["state"] == query(url)["state"]
    second = run_playbook(playbook, args=("-vvvv",), extra_vars=role_vars(
        sandbox, app, tmp_path, refresh_token_authorization_response=redirected))
    assert second.rc == 0, second
    assert [c["used"] for c in codes_of(sandbox, app["client_id"])] == [True]
    # the sign-in's token, and the one the SMTP XOAUTH2 check got when it redeemed it as the firewall will
    assert [t["upn"] for t in tokens_of(sandbox, app["client_id"])] == [ms["mailbox"]["upn"]] * 2
    token = (tmp_path / "refresh_token").read_text()
    answer = redeem_as_firewall(sandbox, app, token)
    assert jwt_claims(answer["access_token"])["upn"] == ms["mailbox"]["upn"]
    assert answer["scope"] == "https://outlook.office365.com/SMTP.Send"

    # A later launch of the same job template, survey empty, with the token stored in the AWX credential: renewed.
    third = run_playbook(playbook, args=("-vvvv",), extra_vars=role_vars(
        sandbox, app, tmp_path, refresh_token_current=answer["refresh_token"]))
    assert third.rc == 0, third
    assert "authorize?" not in third.stdout
    assert len(codes_of(sandbox, app["client_id"])) == 1
    renewed = (tmp_path / "refresh_token").read_text()
    assert renewed not in (token, answer["refresh_token"])

    # The PKCE verifier the URL was made with: the one whose S256 is the URL's code_challenge, derived with the
    # app's secret. Found by the derivation, and checked against the URL independently of it.
    from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import derived_secrets  # pylint: disable=import-outside-toplevel
    verifier, nonce = derived_secrets(app["client_secret"], query(url)["state"])
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query(url)["code_challenge"] == challenge
    secrets = {"client secret": app["client_secret"], "code verifier": verifier, "nonce": nonce,
               "authorization code": query(redirected)["code"], "pasted address": redirected,
               "refresh token": token, "stored refresh token": answer["refresh_token"], "renewed token": renewed}
    for run in (first, second, third):
        for name, value in secrets.items():
            assert value not in run.output, "%s leaked" % name
        assert not JWT.search(run.output), "a token leaked"
        assert not CODE_IN_URL.search(run.output), "an authorization code leaked"
    logs = sandbox.log_text()
    for name, value in secrets.items():
        assert value not in logs, "%s reached the sandbox logs" % name


def test_check_mode_first_run_shows_the_url_and_changes_nothing(run_playbook, sandbox, app, tmp_path):
    run = run_playbook(os.path.join(TARGET, "headless.yml"), check=True, extra_vars=role_vars(sandbox, app, tmp_path))
    assert run.rc == 0, run
    assert run.changed("localhost") == 0
    assert "Sign in as" in run.stdout and AUTHORIZE_URL.search(run.stdout), run
    assert codes_of(sandbox, app["client_id"]) == []
    assert tokens_of(sandbox, app["client_id"]) == []


# -- the redemption run on its own (oauth_refresh_token without auth_flow), with what can go wrong -------------------

def base_vars(ms, app, out_dir, **extra):
    return dict({"login_url": ms["login_url"], "client_id": app["client_id"], "client_secret": app["client_secret"],
                 "login_hint": ms["mailbox"]["upn"], "out_dir": str(out_dir)}, **extra)


def signed_in(run_playbook, sandbox, ms, app, out_dir, stateless=True):
    """Run 1 (oauth_authorize_url) then the person's sign-in; returns the address the browser ends on."""
    out_dir.mkdir(exist_ok=True)
    run = run_playbook(os.path.join(TARGET, "authorize_url.yml"),
                       extra_vars=base_vars(ms, app, out_dir, stateless=stateless))
    assert run.rc == 0, run
    return sign_in((out_dir / "url.txt").read_text(), ms["mailbox"]["upn"], ms["mailbox"]["password"],
                   sandbox.ca_file)


def redeem(run_playbook, ms, app, out_dir, redirected, **extra):
    return run_playbook(os.path.join(TARGET, "get_token.yml"), args=("-vvvv",), extra_vars=base_vars(
        ms, app, out_dir, mode="authorization_response", authorization_response=redirected, **extra))


def test_redirect_uri_of_the_url_is_kept_for_the_redemption(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in(run_playbook, sandbox, ms, app, tmp_path)
    assert redirected.startswith("http://localhost/?code=")
    run = redeem(run_playbook, ms, app, tmp_path, redirected)
    assert run.rc == 0, run
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["mode"] == "authorization_response" and result["user"] == ms["mailbox"]["upn"]
    assert result["redirect_uri"] == "http://localhost/"


def _tampered_state(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in(run_playbook, sandbox, ms, app, tmp_path)
    state = query(redirected)["state"]
    return redirected.replace("state=" + urllib.parse.quote(state, safe=""),
                              "state=" + urllib.parse.quote(("A" if state[0] != "A" else "B") + state[1:], safe="")), {}


def _sign_in_made_elsewhere(run_playbook, sandbox, ms, app, tmp_path):
    # msal's own random flow (what oauth_authorize_url makes without the client secret): only its auth_flow fits.
    return signed_in(run_playbook, sandbox, ms, app, tmp_path, stateless=False), {}


def _code_and_state_of_two_sign_ins(run_playbook, sandbox, ms, app, tmp_path):
    first = signed_in(run_playbook, sandbox, ms, app, tmp_path / "a")
    second = signed_in(run_playbook, sandbox, ms, app, tmp_path / "b")
    return "http://localhost/?" + urllib.parse.urlencode({"code": query(first)["code"],
                                                           "state": query(second)["state"]}), {}


def _secret_changed_since_the_url(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in(run_playbook, sandbox, ms, app, tmp_path)
    graph = ms["graph_url"] + "/v1.0/applications/%s/addPassword" % app["object_id"]
    request = urllib.request.Request(graph, method="POST", data=json.dumps({"passwordCredential": {}}).encode(),
                                     headers={"Authorization": "Bearer " + automation_token(sandbox),
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=sandbox.ca_file), timeout=30) as resp:
        new_secret = json.loads(resp.read())["secretText"]
    return redirected, {"client_secret": new_secret}


def _code_used_twice(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in(run_playbook, sandbox, ms, app, tmp_path)
    run = redeem(run_playbook, ms, app, tmp_path, redirected)
    assert run.rc == 0, run
    return redirected, {}


def _explicit_flow_of_another_sign_in(run_playbook, sandbox, ms, app, tmp_path):
    # The address alone would be redeemable; a flow given explicitly still wins, and it belongs to another sign-in.
    redirected = signed_in(run_playbook, sandbox, ms, app, tmp_path / "a")
    signed_in(run_playbook, sandbox, ms, app, tmp_path / "b")
    return redirected, {"auth_flow_file": str(tmp_path / "b" / "auth_flow.json")}


BAD_REDIRECT = {
    "explicit-auth_flow-of-another-sign-in": (_explicit_flow_of_another_sign_in, "state_mismatch",
                                              "state does not match", 0),
    "tampered-state": (_tampered_state, "(authorization_response)", "does not come from a sign-in URL", 0),
    "sign-in-started-elsewhere": (_sign_in_made_elsewhere, "(authorization_response)", "for a new sign-in URL", 0),
    "client-secret-changed-since-the-url": (_secret_changed_since_the_url, "(authorization_response)",
                                            "with this client secret", 0),
    "code-and-state-from-two-sign-ins": (_code_and_state_of_two_sign_ins, "AADSTS501481", "come from two sign-ins", 0),
    "code-used-twice": (_code_used_twice, "AADSTS54005", "already redeemed", 1),
}


@pytest.mark.parametrize("case", sorted(BAD_REDIRECT))
def test_bad_redirect(run_playbook, sandbox, ms, app, tmp_path, case):
    setup, code, text, tokens_before = BAD_REDIRECT[case]
    redirected, options = setup(run_playbook, sandbox, ms, app, tmp_path)
    used_before = [c["used"] for c in codes_of(sandbox, app["client_id"])]
    run = redeem(run_playbook, ms, app, tmp_path, redirected, **options)
    assert run.rc != 0, run
    assert run.failed_hosts() == ["localhost"]
    assert code in run.stdout and text in run.stdout, run
    assert len(tokens_of(sandbox, app["client_id"])) == tokens_before
    if code in ("(authorization_response)", "state_mismatch"):  # refused before the code was sent anywhere
        assert [c["used"] for c in codes_of(sandbox, app["client_id"])] == used_before
    for value in (app["client_secret"], options.get("client_secret"), redirected, query(redirected)["code"]):
        if value:
            assert value not in run.output
