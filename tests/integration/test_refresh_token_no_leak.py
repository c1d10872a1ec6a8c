"""The whole of steps 3 and 5 through the roles at -vvvv: it works, and no secret, code or token shows anywhere."""

import json
import os
import re
import sys
import urllib.parse

from tests.integration.mailbox_app import create_mailbox_app, mailbox_state, set_mailbox_smtp_auth

PLAYBOOK = os.path.join(os.path.dirname(__file__), "targets", "refresh_token", "full_run.yml")
JWT = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}")
CODE_IN_URL = re.compile(r"[?&]code=[^&\s\"']{6,}")


def test_roles_at_vvvv_leak_nothing(run_playbook, sandbox, tmp_path):
    ms, smtp = sandbox.services["microsoft"], sandbox.services["smtp"]
    set_mailbox_smtp_auth(sandbox, None)
    app = create_mailbox_app(sandbox)
    password_file = tmp_path / "browser-password"
    password_file.write_text(ms["mailbox"]["password"])
    browser = "%s -m tests.sandbox.browser --user %s --password-file %s --ca-file %s %%s" % (
        sys.executable, ms["mailbox"]["upn"], password_file, sandbox.ca_file)
    extra = {
        "mailoauth_authority_host": ms["login_url"], "mailoauth_exchange_endpoint": ms["exchange_url"],
        "mailoauth_ca_path": sandbox.ca_file, "mailoauth_tenant_id": ms["tenant"]["id"],
        "mailoauth_automation_client_id": ms["automation_app"]["client_id"],
        "mailoauth_automation_client_secret": ms["automation_app"]["client_secret"],
        "mailoauth_client_id": app["client_id"], "mailoauth_client_secret": app["client_secret"],
        "mailoauth_mailbox": ms["mailbox"]["upn"], "mailoauth_smtp_host": smtp["host"],
        "mailoauth_smtp_port": smtp["port"], "refresh_token_tenant_id": "common", "refresh_token_timeout": 60,
        "refresh_token_test_recipient": ["ops@contoso.example"], "out_dir": str(tmp_path),
    }
    first = run_playbook(PLAYBOOK, extra_vars=extra, args=("-vvvv",), env={"BROWSER": browser})
    assert first.rc == 0, first
    assert mailbox_state(sandbox)["mailbox_setting"] is False
    first_token = (tmp_path / "refresh_token").read_text()
    messages = sandbox.control(smtp["control_url"], "messages")["messages"]
    assert any(m["subject"] == "mailoauth.sophos SMTP OAuth test" and m["user"] == ms["mailbox"]["upn"]
               for m in messages)

    # The next run (verify.yml, rotation) renews the stored token instead of asking for a sign-in.
    second = run_playbook(PLAYBOOK, extra_vars=dict(extra, refresh_token_current=first_token,
                                                    refresh_token_test_recipient=[]),
                          args=("-vvvv",), env={"BROWSER": "false"})
    assert second.rc == 0, second
    assert "the output has been hidden" in second.stdout
    second_token = (tmp_path / "refresh_token").read_text()
    assert second_token != first_token

    secrets = {
        "app client secret": app["client_secret"], "automation secret": ms["automation_app"]["client_secret"],
        "mailbox password": ms["mailbox"]["password"], "first refresh token": first_token,
        "second refresh token": second_token,
    }
    for run in (first, second):
        for name, value in secrets.items():
            assert value not in run.output, "%s leaked" % name
        assert not JWT.search(run.output), "an access or id token leaked: %s" % JWT.search(run.output).group(0)[:20]
        assert not CODE_IN_URL.search(run.output), "an authorization code leaked"
    logs = sandbox.log_text()
    for name, value in secrets.items():
        assert value not in logs, "%s reached the sandbox logs" % name
    assert not JWT.search(logs), "a token reached the sandbox logs"
    assert not CODE_IN_URL.search(logs), "an authorization code reached the sandbox logs"


def test_headless_sign_in_at_vvvv_leaks_nothing(run_playbook, sandbox, tmp_path):
    from tests.sandbox.browser import sign_in  # pylint: disable=import-outside-toplevel
    ms = sandbox.services["microsoft"]
    app = create_mailbox_app(sandbox)
    target = os.path.dirname(PLAYBOOK)
    extra = {"login_url": ms["login_url"], "client_id": app["client_id"], "client_secret": app["client_secret"],
             "out_dir": str(tmp_path)}
    first = run_playbook(os.path.join(target, "authorize_url.yml"), extra_vars=extra, args=("-vvvv",))
    assert first.rc == 0, first
    flow = json.loads((tmp_path / "auth_flow.json").read_text())
    url = (tmp_path / "url.txt").read_text()
    assert url in first.stdout  # the URL is for the person; it holds no secret
    redirected = sign_in(url, ms["mailbox"]["upn"], ms["mailbox"]["password"], sandbox.ca_file)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirected).query))["code"]
    runs = [first]
    for attempt in range(2):  # the second redemption fails (code used): errors must not leak either
        run = run_playbook(os.path.join(target, "get_token.yml"), args=("-vvvv",), extra_vars=dict(
            extra, authorization_response=redirected, auth_flow_file=str(tmp_path / "auth_flow.json")))
        assert (run.rc == 0) == (attempt == 0), run
        runs.append(run)
    assert "AADSTS54005" in runs[-1].stdout
    secrets = {"code verifier": flow["code_verifier"], "authorization code": code, "app secret": app["client_secret"],
               "refresh token": (tmp_path / "refresh_token").read_text(), "redirect with code": redirected}
    for run in runs:
        for name, value in secrets.items():
            assert value not in run.output, "%s leaked" % name
        assert not JWT.search(run.output)
