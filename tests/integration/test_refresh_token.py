"""Step 5: oauth_authorize_url + oauth_refresh_token against the sandbox, the test playing the person's browser.

Assertions read the emulator's own records (codes redeemed, refresh tokens issued) through /_sandbox/state.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

from tests.integration.conftest import BIN, REPO_ROOT
from tests.integration.mailbox_app import create_mailbox_app, refresh_token_for
from tests.sandbox.browser import sign_in

TARGET = os.path.join(os.path.dirname(__file__), "targets", "refresh_token")


@pytest.fixture
def app(sandbox):
    return create_mailbox_app(sandbox)


@pytest.fixture
def ms(sandbox):
    return sandbox.services["microsoft"]


def base_vars(ms, app, out_dir, **extra):
    return dict({"login_url": ms["login_url"], "client_id": app["client_id"], "client_secret": app["client_secret"],
                 "login_hint": ms["mailbox"]["upn"], "out_dir": str(out_dir)}, **extra)


def login_state(sandbox):
    return sandbox.control(sandbox.services["microsoft"]["login_url"], "state")


def tokens_for(sandbox, client_id):
    return [t for t in login_state(sandbox)["refresh_tokens"] if t["client_id"] == client_id]


def signed_in_url(run_playbook, sandbox, ms, app, tmp_path, **extra):
    """Part 1 of the headless flow, then the test signs in as the mailbox; returns the redirected address."""
    run = run_playbook(os.path.join(TARGET, "authorize_url.yml"), extra_vars=base_vars(ms, app, tmp_path, **extra))
    assert run.rc == 0, run
    url = (tmp_path / "url.txt").read_text()
    return sign_in(url, ms["mailbox"]["upn"], ms["mailbox"]["password"], sandbox.ca_file)


def test_authorization_response_mode_redeems_the_pasted_redirect(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in_url(run_playbook, sandbox, ms, app, tmp_path, redirect_uri="https://outlook.office365.com/")
    assert redirected.startswith("https://outlook.office365.com/?code=")

    run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(
        ms, app, tmp_path, authorization_response=redirected, auth_flow_file=str(tmp_path / "auth_flow.json"),
        redirect_uri="https://outlook.office365.com/"))
    assert run.rc == 0, run
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["mode"] == "authorization_response" and result["changed"] is True
    assert result["user"] == ms["mailbox"]["upn"]
    assert result["scope"] == ["https://outlook.office365.com/SMTP.Send"]
    codes = [c for c in login_state(sandbox)["authorization_codes"] if c["client_id"] == app["client_id"]]
    assert [c["used"] for c in codes] == [True]
    assert [t["upn"] for t in tokens_for(sandbox, app["client_id"])] == [ms["mailbox"]["upn"]]
    assert (tmp_path / "refresh_token").read_text() not in run.output


def test_loopback_mode_with_the_browser_the_environment_names(run_playbook, sandbox, ms, app, tmp_path):
    password_file = tmp_path / "browser-password"
    password_file.write_text(ms["mailbox"]["password"])
    browser = "%s -m tests.sandbox.browser --user %s --password-file %s --ca-file %s %%s" % (
        sys.executable, ms["mailbox"]["upn"], password_file, sandbox.ca_file)
    run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(ms, app, tmp_path, timeout=60),
                       env={"BROWSER": browser})
    assert run.rc == 0, run
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["mode"] == "loopback" and result["user"] == ms["mailbox"]["upn"]
    assert urllib.parse.urlsplit(result["redirect_uri"]).hostname == "localhost"
    assert urllib.parse.urlsplit(result["redirect_uri"]).port
    assert len(tokens_for(sandbox, app["client_id"])) == 1
    assert "Sign in as the sending mailbox" in run.stdout and "oauth2/v2.0/authorize?" in run.stdout


def test_loopback_mode_prints_the_url_and_the_test_signs_in(ansible_env, sandbox, ms, app, tmp_path):
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(base_vars(ms, app, tmp_path, timeout=60, open_browser=False)))
    with subprocess.Popen([os.path.join(BIN, "ansible-playbook"), os.path.join(TARGET, "get_token.yml"),
                           "-e", "@" + str(extra)], cwd=REPO_ROOT, env=ansible_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        lines = []
        url = None
        for line in proc.stdout:
            lines.append(line)
            if "/oauth2/v2.0/authorize?" in line:
                url = line.strip()
                break
        assert url, "".join(lines)
        # A forged redirect first: the listener must refuse it and keep waiting for the real one.
        port = urllib.parse.urlsplit(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["redirect_uri"]).port
        forged = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                 "http://127.0.0.1:%d/?code=x&state=forged" % port], capture_output=True, text=True,
                                check=False)
        assert forged.stdout == "400"
        threading.Thread(target=sign_in, args=(url, ms["mailbox"]["upn"], ms["mailbox"]["password"], sandbox.ca_file),
                         kwargs={"follow": True}, daemon=True).start()
        rest = proc.stdout.read()
        proc.wait(timeout=120)
    assert proc.returncode == 0, "".join(lines) + rest
    assert json.loads((tmp_path / "result.json").read_text())["user"] == ms["mailbox"]["upn"]


def test_refresh_token_mode_redeems_and_returns_a_new_token(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in_url(run_playbook, sandbox, ms, app, tmp_path)
    first = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(
        ms, app, tmp_path, authorization_response=redirected, auth_flow_file=str(tmp_path / "auth_flow.json")))
    assert first.rc == 0, first
    stored = (tmp_path / "refresh_token").read_text()
    used_before = tokens_for(sandbox, app["client_id"])[0]["last_used"]

    for check in (True, False):
        run = run_playbook(os.path.join(TARGET, "get_token.yml"), check=check,
                           extra_vars=base_vars(ms, app, tmp_path, refresh_token=stored))
        assert run.rc == 0, run
        assert run.changed("localhost") == 0
        result = json.loads((tmp_path / "result.json").read_text()) if not check else None
        if result:
            assert result["mode"] == "refresh_token" and result["user"] == ms["mailbox"]["upn"]
    renewed = (tmp_path / "refresh_token").read_text()
    assert renewed and renewed != stored
    records = tokens_for(sandbox, app["client_id"])
    assert len(records) == 3  # the sign-in's, the check-mode redemption's and the real redemption's
    assert records[0]["last_used"] >= used_before


def test_password_mode_for_a_mailbox_without_mfa(run_playbook, sandbox, ms, app, tmp_path):
    run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(
        ms, app, tmp_path, mode="password", username=ms["mailbox"]["upn"], password=ms["mailbox"]["password"]))
    assert run.rc == 0, run
    assert json.loads((tmp_path / "result.json").read_text())["user"] == ms["mailbox"]["upn"]
    assert [t["upn"] for t in tokens_for(sandbox, app["client_id"])] == [ms["mailbox"]["upn"]]
    assert ms["mailbox"]["password"] not in run.output


def test_check_mode_does_not_start_a_sign_in(run_playbook, sandbox, ms, app, tmp_path):
    run = run_playbook(os.path.join(TARGET, "get_token.yml"), check=True,
                       extra_vars=base_vars(ms, app, tmp_path, open_browser=False, timeout=1))
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    assert "authorize?" not in run.stdout
    assert tokens_for(sandbox, app["client_id"]) == []


def _used_code(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in_url(run_playbook, sandbox, ms, app, tmp_path)
    run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(
        ms, app, tmp_path, authorization_response=redirected, auth_flow_file=str(tmp_path / "auth_flow.json")))
    assert run.rc == 0, run
    return {"authorization_response": redirected, "auth_flow_file": str(tmp_path / "auth_flow.json")}


def _other_flow(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in_url(run_playbook, sandbox, ms, app, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    run = run_playbook(os.path.join(TARGET, "authorize_url.yml"), extra_vars=base_vars(ms, app, other))
    assert run.rc == 0, run
    return {"authorization_response": redirected, "auth_flow_file": str(other / "auth_flow.json")}


def _fresh_sign_in(run_playbook, sandbox, ms, app, tmp_path):
    return {"authorization_response": signed_in_url(run_playbook, sandbox, ms, app, tmp_path),
            "auth_flow_file": str(tmp_path / "auth_flow.json")}


def _other_app(**kwargs):
    def setup(run_playbook, sandbox, ms, app, tmp_path):
        del app
        other = create_mailbox_app(sandbox, **kwargs)
        return dict(_fresh_sign_in(run_playbook, sandbox, ms, other, tmp_path), client_id=other["client_id"],
                    client_secret=other["client_secret"])
    return setup


BAD_INPUT = {
    "admin-consent-missing": (_other_app(scopes=None), {}, "AADSTS65001", "admin consent"),
    "public-client-app": (_other_app(public_client=True), {}, "AADSTS700025", "public client"),
    "wrong-client-secret": (_fresh_sign_in, {"client_secret": "not-the-secret"}, "AADSTS7000215", "client_secret is wrong"),
    "code-already-redeemed": (_used_code, {}, "AADSTS54005", "already redeemed"),
    "redirect-from-another-sign-in": (_other_flow, {}, "state_mismatch", "state does not match"),
    "redirect-uri-not-registered": (None, {"redirect_uri": "http://127.0.0.1:8400/", "mode": "loopback"},
                                    "AADSTS50011", "redirect URI registered"),
    "mfa-required-for-password-mode": (None, {"mode": "password", "username": "{mfa_user}", "password": "{mfa_pw}"},
                                       "AADSTS50076", "MFA"),
    "refresh-token-unknown": (None, {"refresh_token": "0.AAAA-not-a-token"}, "AADSTS9002313", "sign in again"),
    "loopback-times-out": (None, {"open_browser": False, "timeout": 2}, "timeout", "No sign-in reached"),
    "loopback-with-outlook-redirect-uri": (None, {"redirect_uri": "https://outlook.office365.com/", "mode": "loopback"},
                                           "redirect_uri", "mode=authorization_response"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input(run_playbook, sandbox, ms, app, tmp_path, case):
    setup, options, code, text = BAD_INPUT[case]
    extra = setup(run_playbook, sandbox, ms, app, tmp_path) if setup else {}
    options = {key: value.format(mfa_user=ms["mfa_user"]["upn"], mfa_pw=ms["mfa_user"]["password"])
               if isinstance(value, str) else value for key, value in options.items()}
    tokens_before = len(tokens_for(sandbox, app["client_id"]))
    run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(ms, app, tmp_path, **dict(extra, **options)))
    assert run.rc != 0, run
    assert run.failed_hosts() == ["localhost"]
    assert code in run.stdout, run
    assert text in run.stdout, run
    assert len(tokens_for(sandbox, app["client_id"])) == tokens_before
    for secret in (app["client_secret"], ms["mfa_user"]["password"], extra.get("authorization_response"),
                   extra.get("client_secret")):
        if secret:
            assert secret not in run.output
    code_value = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(extra.get("authorization_response", "")).query)).get("code")
    if code_value:
        assert code_value not in run.output


EXPIRED = {
    "refresh-token-unused-90-days": ("config", {"refresh_token_max_inactive_seconds": 0}, "AADSTS700082", "90 days"),
    "refresh-token-revoked": ("revoke", None, "AADSTS50173", "sign in again"),
}


@pytest.mark.parametrize("case", sorted(EXPIRED))
def test_stored_token_no_longer_valid(run_playbook, sandbox, ms, app, tmp_path, case):
    kind, config, code, text = EXPIRED[case]
    stored = refresh_token_for(sandbox, app)
    if kind == "config":
        sandbox.control(ms["login_url"], "config", "POST", config)
    else:
        sandbox.control(ms["login_url"], "users/%s/revoke" % ms["mailbox"]["upn"], "POST", {})
    try:
        run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(ms, app, tmp_path,
                                                                                      refresh_token=stored))
    finally:
        if kind == "config":
            sandbox.control(ms["login_url"], "config", "POST", {"refresh_token_max_inactive_seconds": 90 * 86400})
    assert run.rc != 0, run
    assert code in run.stdout and text in run.stdout, run
    assert stored not in run.output


def test_expired_code_asks_for_a_new_sign_in(run_playbook, sandbox, ms, app, tmp_path):
    redirected = signed_in_url(run_playbook, sandbox, ms, app, tmp_path)
    sandbox.control(ms["login_url"], "config", "POST", {"code_lifetime_seconds": 0})
    try:
        time.sleep(1.1)
        run = run_playbook(os.path.join(TARGET, "get_token.yml"), extra_vars=base_vars(
            ms, app, tmp_path, authorization_response=redirected, auth_flow_file=str(tmp_path / "auth_flow.json")))
    finally:
        sandbox.control(ms["login_url"], "config", "POST", {"code_lifetime_seconds": 600})
    assert run.rc != 0, run
    assert "AADSTS70008" in run.stdout and "sign in again" in run.stdout, run
    assert tokens_for(sandbox, app["client_id"]) == []


def test_authorize_url_reports_an_unregistered_redirect_uri(run_playbook, sandbox, ms, app, tmp_path):
    run = run_playbook(os.path.join(TARGET, "authorize_url.yml"),
                       extra_vars=base_vars(ms, app, tmp_path, redirect_uri="https://firewall.example/"))
    assert run.rc != 0, run
    assert "AADSTS50011" in run.stdout and "https://firewall.example/" in run.stdout
    assert not (tmp_path / "url.txt").exists()
