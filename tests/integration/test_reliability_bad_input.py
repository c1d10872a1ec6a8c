"""Bad input, as a table: every case is one module call with one wrong value, all run in ONE ansible-playbook.

Each case must fail with a message that names the option (or the setting) and says what to do, must not echo a
secret, and must change nothing: the tenant and every firewall are read from the emulators before and after the run.

Covered elsewhere, so not repeated here (one test each):
- malformed redirect URI (plain http), unknown delegated permission, consent for a missing app, min_valid_days too
  long, secret expiry beyond the tenant maximum, secret for a missing app:
  test_entra_modules.py::test_bad_input[...]; wrong automation secret: test_entra_modules.py::
  test_wrong_automation_secret_says_aadsts7000215_and_never_shows_the_secret; app without Graph permission:
  test_entra_modules.py::test_identity_without_permissions_is_told_which_permission_is_missing
- unknown mailbox, app without Exchange.ManageAsApp: test_smtp_auth.py::test_bad_input[unknown-mailbox|...]
- expired / reused authorization code, wrong state, wrong redirect URI, wrong client secret, consent missing, MFA
  for password mode: test_refresh_token.py::test_bad_input[...] and ::test_expired_code_asks_for_a_new_sign_in;
  revoked refresh token, token unused 90 days: test_refresh_token.py::test_stored_token_no_longer_valid[...]
- SMTP AUTH disabled org-wide / for the mailbox: test_smtp_check.py::test_fails_clearly_when_smtp_auth_is_off[...]
- firmware without OAuth, no write access, API disabled, mail_port out of range, certificate not trusted:
  test_firewall_notification.py::test_bad_input[...]; wrong firewall password, IP not on the allow-list, firewall
  down: test_firewall_notification.py::test_failures_stay_per_host_and_limit_fixes_them
"""

import json
import os
import uuid

import pytest

from tests.integration.mailbox_app import create_mailbox_app, refresh_token_for, set_mailbox_smtp_auth
from tests.sandbox.client import Sandbox

PLAYBOOK = os.path.join(os.path.dirname(__file__), "targets", "reliability", "bad_input.yml")
MAILBOX_SECRET_MARK = "cs~" + uuid.uuid4().hex
DROP = object()  # an override that removes the option

# (id, module, overrides of the module's good arguments, words the failure message must hold[, known gap]).
# The words name the option and the fix; a case id reads as "<option>-<what is wrong with it>".
# Not a case: entra_admin_consent with scopes=[] revokes the consent, as its documentation says.
CASES = [
    # The automation identity and the tenant (entra_* modules, exo_smtp_auth).
    ("tenant_id-malformed", "entra_app", {"tenant_id": "contoso tenant"}, ["AADSTS90002", "check tenant_id"]),
    ("tenant_id-unknown-guid", "entra_app", {"tenant_id": "0badc0de-0000-4000-8000-000000000000"},
     ["AADSTS90002", "check tenant_id"]),
    ("client_id-malformed", "entra_app", {"client_id": "my-automation-app"}, ["AADSTS700016", "check client_id"]),
    ("client_id-unknown-app", "entra_app", {"client_id": "0badc0de-1111-4111-8111-111111111111"},
     ["AADSTS700016", "check client_id"]),
    ("authority_host-plain-http", "entra_app", {"authority_host": "http://login.example"},
     ["authority_host must be an https:// URL", "use e.g. https://login.microsoftonline.com"]),
    ("graph_endpoint-without-scheme", "entra_app", {"graph_endpoint": "graph.microsoft.com"},
     ["graph_endpoint must be an https:// URL", "leave graph_endpoint unset"]),
    ("ca_path-missing-file", "entra_app", {"ca_path": "/nonexistent/ca.pem"},
     ["(ca_path)", "set ca_path to a PEM file"]),
    ("auth_method-certificate-without-a-certificate", "entra_app",
     {"auth_method": "certificate", "client_secret": DROP}, ["auth_method is certificate", "client_certificate_path"]),
    ("auth_method-access_token-without-a-token", "entra_app",
     {"auth_method": "access_token", "client_secret": DROP}, ["auth_method is access_token", "access_token"]),
    ("sign_in_audience-not-a-choice", "entra_app", {"sign_in_audience": "Everyone"},
     ["sign_in_audience must be one of", "AzureADMultipleOrgs"]),
    ("redirect_uris-not-a-url", "entra_app", {"redirect_uris": ["outlook.office365.com"]},
     ["redirect_uris entry 'outlook.office365.com' must be https://"]),
    ("display_name-empty", "entra_app", {"display_name": ""}, ["display_name is required with state=present"]),
    ("app_id-malformed", "entra_app_secret", {"app_id": "not-a-guid"},
     ["No application with app_id not-a-guid", "correct app_id"]),
    ("valid_days-zero", "entra_app_secret", {"valid_days": 0}, ["valid_days must be at least 1"]),
    ("resource_app_id-malformed", "entra_admin_consent", {"resource_app_id": "graph"},
     ["resource_app_id graph", "check resource_app_id (Microsoft Graph is 00000003-0000-0000-c000-000000000000)"]),
    ("mailbox-malformed", "exo_smtp_auth", {"mailbox": "notifications-at-contoso"},
     ["mailbox notifications-at-contoso was not found", "set mailbox to the sending mailbox's primary SMTP address"]),
    ("exchange_endpoint-plain-http", "exo_smtp_auth", {"exchange_endpoint": "http://outlook.example"},
     ["exchange_endpoint must be an https:// URL", "leave exchange_endpoint unset"]),
    # The mail app's sign-in (step 5).
    ("redirect_uri-malformed", "oauth_authorize_url", {"redirect_uri": "localhost:8400"},
     ["AADSTS50011", "use exactly the redirect URI registered"]),
    ("client_id-malformed-for-sign-in", "oauth_authorize_url", {"client_id": "firewall mail app"},
     ["AADSTS700016", "check client_id"]),
    ("prompt-not-a-choice", "oauth_authorize_url", {"prompt": "always"}, ["prompt must be one of", "select_account"]),
    ("scopes-without-a-resource", "oauth_authorize_url", {"scopes": ["offline_access"]},
     ["(scopes)", "https://outlook.office365.com/.default"]),
    ("mode-refresh_token-without-a-token", "oauth_refresh_token", {"mode": "refresh_token"},
     ["mode is refresh_token", "refresh_token"]),
    ("mode-password-without-username", "oauth_refresh_token", {"mode": "password"},
     ["mode is password", "username, password"]),
    ("authorization_response-without-auth_flow", "oauth_refresh_token",
     {"authorization_response": "https://outlook.office365.com/?code=x&state=y"},
     ["(authorization_response)", "for a new sign-in URL"]),
    ("authorization_response-without-a-code", "oauth_refresh_token",
     {"authorization_response": "https://outlook.office365.com/?state=y",
      "auth_flow": {"state": "y", "redirect_uri": "https://outlook.office365.com/"}},
     ["(authorization_response)", "paste the whole address the browser shows"]),
    ("authorization_response-sign-in-declined", "oauth_refresh_token",
     {"authorization_response": "https://outlook.office365.com/?error=access_denied&error_description=declined"
                                "&state=y", "auth_flow": {"state": "y", "redirect_uri": "https://outlook.office365.com/"}},
     ["The sign-in failed", "access_denied"]),
    ("loopback_port-out-of-range", "oauth_refresh_token", {"mode": "loopback", "loopback_port": 70000},
     ["loopback_port must be between 0 and 65535", "leave it at 0"]),
    ("timeout-zero", "oauth_refresh_token", {"mode": "loopback", "timeout": 0},
     ["timeout must be at least 1 second", "default 300"]),
    ("tenant_id-malformed-for-sign-in", "oauth_refresh_token", {"tenant_id": "contoso tenant", "refresh_token": "x"},
     ["check tenant_id and cloud/authority_host"]),
    # The SMTP XOAUTH2 check.
    ("smtp_port-zero", "smtp_oauth_check", {"smtp_port": 0}, ["check smtp_host and smtp_port"]),
    ("mailbox-malformed-for-smtp", "smtp_oauth_check", {"mailbox": "notifications"},
     ["535 5.7.3", "set mailbox to notifications@contoso.example"]),
    ("test_recipient-malformed", "smtp_oauth_check", {"test_recipient": ["soc-at-contoso"]},
     ["refused every recipient (soc-at-contoso)", "check the test_recipient option"]),
    ("mailbox-other-than-the-signed-in-one", "smtp_oauth_check", {"mailbox": "{admin_upn}"},
     ["not to admin@contoso.example", "set mailbox to notifications@contoso.example"]),
    # admin_user's mailbox follows the organisation, which blocks SMTP AUTH as in every new tenant.
    ("smtp-auth-disabled-org-wide", "smtp_oauth_check", {"mailbox": "{admin_upn}", "refresh_token": "{admin_token}"},
     ["535 5.7.139", "mailoauth.sophos.exo_smtp_auth (state=enabled)"]),
    # The firewall (sfos_notification): refused before any firewall is contacted.
    ("recipients-empty", "sfos_notification", {"recipients": []},
     ["recipients is an empty list", "list at least one address"]),
    ("recipients-malformed", "sfos_notification", {"recipients": ["soc-at-contoso"]},
     ["recipients holds 'soc-at-contoso'", "one address like soc@example.com"]),
    ("sender_address-malformed", "sfos_notification", {"sender_address": "alerts"},
     ["sender_address 'alerts' is not an e-mail address", "sending mailbox's address"]),
    ("oauth-username-malformed", "sfos_notification", {"oauth": {"username": "alerts"}},
     ["oauth.username 'alerts' is not an e-mail address", "sending mailbox's address"]),
    ("host-with-a-scheme", "sfos_notification", {"host": "https://fw01.example"},
     ["host (inventory variable sfos_host) 'https://fw01.example' holds a URL scheme", "no https://"]),
    ("host-with-a-trailing-newline", "sfos_notification", {"host": "127.0.0.1\n"},
     ["sfos_host) '127.0.0.1\\n' starts or ends with a space or line break", "YAML | block"]),
    ("host-with-a-leading-space", "sfos_notification", {"host": " 127.0.0.1"},
     ["sfos_host) ' 127.0.0.1' starts or ends with a space or line break", "remove it"]),
    ("host-with-a-port", "sfos_notification", {"host": "fw01.example:4444"},
     ["sfos_host) 'fw01.example:4444' holds a port", "port (sfos_port)"]),
    ("host-with-a-path", "sfos_notification", {"host": "fw01.example/webconsole"},
     ["sfos_host) 'fw01.example/webconsole' holds a path", "adds the API path itself"]),
    ("host-with-userinfo", "sfos_notification", {"host": "apiadmin:{fw_password}@fw01.example"},
     ["sfos_host) holds user information", "sfos_username, sfos_password"]),
    ("port-zero", "sfos_notification", {"port": 0}, ["port must be between 1 and 65535", "admin port"]),
    ("mail_server-with-a-scheme", "sfos_notification", {"mail_server": "smtp://smtp.office365.com"},
     ["mail_server 'smtp://smtp.office365.com' is not a host name", "no scheme"]),
    ("api_version-malformed", "sfos_notification", {"api_version": "latest"},
     ["api_version 'latest'", "such as 2100.1"]),
    ("update_secrets-not-a-choice", "sfos_notification", {"update_secrets": "sometimes"},
     ["update_secrets must be one of", "on_create, always"]),
    ("timeout-zero-for-firewall", "sfos_notification", {"timeout": 0},
     ["timeout must be at least 1 second", "default (30)"]),
    # sfos_notification_info runs the same connection checks.
    ("port-out-of-range-for-info", "sfos_notification_info", {"port": 65536},
     ["port must be between 1 and 65535, not 65536", "admin port"]),
    ("host-with-a-trailing-newline-for-info", "sfos_notification_info", {"host": "127.0.0.1\n"},
     ["sfos_host) '127.0.0.1\\n' starts or ends with a space or line break", "YAML | block"]),
    # A plain (unvaulted) variable holding {{, as a vars file may: named, with the fix, instead of a crash.
    ("sfos_password-variable-holding-template-syntax", "sfos_notification_info+variables", {"password": DROP},
     ["Variable sfos_password (for option password) does not render as a template", "!unsafe", "ansible-vault"]),
]
# Variables a "+variables" case's task gets, as plain values from a vars file (extra vars here) would arrive.
CASE_VARIABLES = {"sfos_password-variable-holding-template-syntax": {"sfos_password": "Pw{{x"}}


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """A sandbox of its own: the tenant and fleet are compared before and after, so no other test may touch them."""
    sandbox = Sandbox.start(str(tmp_path_factory.mktemp("bad-input-sandbox")), firewalls=2)
    yield sandbox
    sandbox.stop()


def snapshot(box):
    ms = box.services["microsoft"]
    tenant = box.control(ms["login_url"], "state")
    firewalls = {}
    for fw in box.services["sfos"]["firewalls"]:
        state = box.control("https://%s:%d" % (fw["host"], fw["port"]), "state")
        firewalls[fw["name"]] = {"notification": state["notification"], "sets": state["counters"]["sets"]}
    return {
        "tenant": {key: tenant[key] for key in ("applications", "service_principals", "oauth2_permission_grants",
                                                 "mailboxes", "org", "deleted_applications")},
        "firewalls": firewalls,
    }


def good_args(box, app, refresh_token):
    """What each module gets when nothing is wrong: the sandbox's endpoints and identities."""
    ms = box.services["microsoft"]
    fw = box.services["sfos"]["firewalls"][0]
    entra = {"authority_host": ms["login_url"], "graph_endpoint": ms["graph_url"], "tenant_id": ms["tenant"]["id"],
             "client_id": ms["automation_app"]["client_id"], "client_secret": ms["automation_app"]["client_secret"]}
    sign_in = {"authority_host": ms["login_url"], "client_id": app["client_id"]}
    firewall = {"host": fw["host"], "port": fw["port"], "username": fw["username"], "password": fw["password"],
                "ca_path": box.ca_file}
    return {
        "entra_app": dict(entra, display_name="Firewall mail", unique_name="reliability-bad-input"),
        "entra_admin_consent": dict(entra, app_id=app["client_id"]),
        "entra_app_secret": dict(entra, app_id=app["client_id"]),
        "exo_smtp_auth": {key: value for key, value in entra.items() if key != "graph_endpoint"} | {
            "exchange_endpoint": ms["exchange_url"], "mailbox": ms["mailbox"]["upn"]},
        "oauth_authorize_url": dict(sign_in, redirect_uri="https://outlook.office365.com/"),
        "oauth_refresh_token": dict(sign_in, client_secret=app["client_secret"], open_browser=False, timeout=2),
        "smtp_oauth_check": dict(sign_in, client_secret=app["client_secret"], refresh_token=refresh_token,
                                 mailbox=ms["mailbox"]["upn"], smtp_host=box.services["smtp"]["host"],
                                 smtp_port=box.services["smtp"]["port"], ca_path=box.ca_file),
        "sfos_notification": dict(
            firewall, recipients=["soc@contoso.example"],
            oauth={"client_id": app["client_id"], "client_secret": app["client_secret"],
                   "refresh_token": refresh_token, "username": ms["mailbox"]["upn"]}),
        "sfos_notification_info": firewall,
        "sfos_notification_info+variables": firewall,
    }


def case_args(box, base, overrides, admin_token):
    args = dict(base)
    for key, value in overrides.items():
        if value is DROP:
            args.pop(key, None)
        elif isinstance(value, dict) and isinstance(args.get(key), dict):
            args[key] = dict(args[key], **value)
        elif isinstance(value, str):
            args[key] = value.format(admin_upn=box.services["microsoft"]["admin_user"]["upn"], admin_token=admin_token,
                                     fw_password=box.services["sfos"]["firewalls"][0]["password"])
        else:
            args[key] = value
    return args


@pytest.fixture(scope="module")
def recorded(box, tmp_path_factory):
    """Runs bad_input.yml once for every case; returns the run, each case's result and the state before/after."""
    from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    app = create_mailbox_app(box)
    refresh_token = refresh_token_for(box, app)
    admin_token = refresh_token_for(box, app, user=box.services["microsoft"]["admin_user"])
    set_mailbox_smtp_auth(box, False)  # the sending mailbox has SMTP AUTH on; admin_user's follows the org (off)
    bases = good_args(box, app, refresh_token)
    cases = [{"id": case_id, "module": module} for case_id, module, *dummy in CASES]
    arguments = {case_id: case_args(box, bases[module], overrides, admin_token)
                 for case_id, module, overrides, *dummy in CASES}
    workdir = tmp_path_factory.mktemp("bad-input")
    (workdir / "cases.json").write_text(json.dumps({"cases": cases, "case_args": arguments, "case_vars": CASE_VARIABLES,
                                                    "result_file": str(workdir / "results.json")}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"), REQUESTS_CA_BUNDLE=box.ca_file,
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    before = snapshot(box)
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), PLAYBOOK, "-e", "@" + str(workdir / "cases.json")],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    after = snapshot(box)
    results = json.loads((workdir / "results.json").read_text()) if (workdir / "results.json").exists() else {}
    secrets = [app["client_secret"], refresh_token, admin_token, box.services["microsoft"]["automation_app"]["client_secret"]]
    secrets += [fw["password"] for fw in box.services["sfos"]["firewalls"]]
    return {"proc": proc, "results": results, "before": before, "after": after, "secrets": secrets}


def test_the_run_reaches_every_case_and_changes_nothing(recorded):
    proc = recorded["proc"]
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert sorted(recorded["results"]) == sorted(case[0] for case in CASES)
    before, after = recorded["before"], recorded["after"]
    assert after["tenant"] == before["tenant"]
    assert after["firewalls"] == before["firewalls"]
    for value in recorded["secrets"]:
        assert value not in proc.stdout and value not in proc.stderr


@pytest.mark.parametrize("module, words", [
    pytest.param(case[1], case[3], id=case[0],
                 marks=[pytest.mark.xfail(strict=True, reason=case[4])] if len(case) > 4 else [])
    for case in CASES])
def test_bad_input(recorded, module, words, request):
    case_id = request.node.callspec.id
    result = recorded["results"].get(case_id)
    assert result is not None, "case %s did not run" % case_id
    assert result.get("failed") is True, "%s (%s) did not fail: %s" % (case_id, module, result)
    assert not result.get("changed"), result
    message = result.get("msg", "")
    for word in words:
        assert word in message, "%s: %r lacks %r" % (case_id, message, word)
    for value in recorded["secrets"]:
        assert value not in json.dumps(result)
