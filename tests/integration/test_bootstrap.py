"""bootstrap.yml against the sandbox: an administrator's device-code sign-in over two runs creates the automation
app, its Graph and Exchange application permissions, its directory role and a certificate; the second run changes
nothing, check mode predicts nothing, and setup's tenant steps then run as that app with its certificate."""

import base64
import json
import os
import re
import stat

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes

PLAYBOOK = "playbooks/bootstrap.yml"
TENANT_STEPS = "tests/integration/targets/bootstrap/tenant_steps.yml"
UNIQUE_NAME = "mailoauth-automation"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
RECIPIENT_ADMINISTRATOR = "31392ffb-586c-42d1-9346-e59415a2cc4e"


@pytest.fixture
def microsoft(sandbox):
    """The session's tenant back at its seed, before and after: these tests take permissions from the automation app
    that the files after them in the session need."""
    ms = sandbox.services["microsoft"]
    sandbox.control(ms["login_url"], "reset", "POST")
    sandbox.control(ms["login_url"], "config", "POST", {"device_code_interval_seconds": 1})
    yield ms
    sandbox.control(ms["login_url"], "reset", "POST")


@pytest.fixture
def bootstrap_vars(microsoft, tmp_path):
    return {
        "mailoauth_authority_host": microsoft["login_url"],
        "mailoauth_graph_endpoint": microsoft["graph_url"],
        "mailoauth_tenant_id": microsoft["tenant"]["id"],
        "automation_identity_token_cache_path": str(tmp_path / "cache" / "msal.json"),
        "automation_identity_certificate_path": str(tmp_path / "keys" / "automation.pem"),
        "automation_identity_secret_path": str(tmp_path / "keys" / "automation.secret"),
    }


def sign_in_at_device_login(sandbox, output, user):
    """What the administrator does with the first run's message: open the URL, enter the code, sign in."""
    match = re.search(r"open (https://\S+) and enter the code (\w+)", output)
    assert match, output
    url, code = match.groups()
    reply = requests.post(url, data={"otc": code, "login": user["upn"], "passwd": user["password"]},
                          verify=sandbox.ca_file, timeout=30)
    assert 'id="done"' in reply.text, reply.text


def automation_identity(sandbox, microsoft):
    """What the emulated tenant holds for the automation app: (apps, its service principal view, role assignments)."""
    state = sandbox.control(microsoft["graph_url"], "state")
    apps = [a for a in state["applications"] if a.get("uniqueName") == UNIQUE_NAME]
    sps = [sp for sp in state["service_principals"] if apps and sp["appId"] == apps[0]["appId"]]
    return apps, sps


def thumbprint_of(key_base64):
    return x509.load_der_x509_certificate(base64.b64decode(key_base64)).fingerprint(hashes.SHA1()).hex().upper()


def file_thumbprint(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read()).fingerprint(hashes.SHA1()).hex().upper()


def test_bootstrap_with_device_code_then_setup_steps_with_the_certificate(sandbox, microsoft, run_playbook,
                                                                          bootstrap_vars, tmp_path):
    first = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    assert first.rc != 0 and "Device-code sign-in is waiting for you" in first.output, first
    assert automation_identity(sandbox, microsoft) == ([], [])
    sign_in_at_device_login(sandbox, first.output, microsoft["admin_user"])

    preview = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars, check=True, diff=True)
    assert preview.rc == 0 and preview.changed("localhost") == 5, preview
    assert automation_identity(sandbox, microsoft) == ([], [])
    assert not os.path.exists(bootstrap_vars["automation_identity_certificate_path"])

    second = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    assert second.rc == 0, second
    assert second.changed("localhost") == 5, second
    [app], [sp] = automation_identity(sandbox, microsoft)
    assert app["signInAudience"] == "AzureADMyOrg" and app["displayName"] == "mailoauth automation"
    assert sp["app_role_assignments"] == {
        GRAPH_APP_ID: ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"],
        EXCHANGE_APP_ID: ["Exchange.ManageAsApp"]}
    assert sp["directory_roles"] == [RECIPIENT_ADMINISTRATOR]
    listed = {entry["resourceAppId"]: sorted(a["type"] for a in entry["resourceAccess"])
              for entry in app["requiredResourceAccess"]}
    assert listed[GRAPH_APP_ID] == ["Role", "Role"] and listed[EXCHANGE_APP_ID] == ["Role"]
    pem = bootstrap_vars["automation_identity_certificate_path"]
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(pem)).st_mode) == 0o700
    assert [thumbprint_of(c["key"]) for c in app["keyCredentials"]] == [file_thumbprint(pem)]
    assert not app["passwordCredentials"]
    assert "AZURE_CLIENT_ID=%s" % app["appId"] in second.stdout
    assert "AZURE_TENANT_ID=%s" % microsoft["tenant"]["id"] in second.stdout
    assert "AZURE_CLIENT_CERTIFICATE_PATH=%s" % pem in second.stdout
    with open(pem, encoding="ascii") as handle:
        key_body = handle.read().split("-----")[2].strip().splitlines()[1]
    assert "PRIVATE KEY" not in second.output and key_body not in second.output

    again = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    assert again.rc == 0 and again.changed("localhost") == 0, again
    preview = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars, check=True, diff=True)
    assert preview.rc == 0 and preview.changed("localhost") == 0, preview
    assert automation_identity(sandbox, microsoft)[0][0]["keyCredentials"] == app["keyCredentials"]

    env = {"AZURE_TENANT_ID": microsoft["tenant"]["id"], "AZURE_CLIENT_ID": app["appId"],
           "AZURE_CLIENT_CERTIFICATE_PATH": pem}
    steps = run_playbook(TENANT_STEPS, env=env, extra_vars={
        "mailoauth_authority_host": microsoft["login_url"], "mailoauth_graph_endpoint": microsoft["graph_url"],
        "mailoauth_exchange_endpoint": microsoft["exchange_url"], "mailoauth_mailbox": microsoft["mailbox"]["upn"]})
    assert steps.rc == 0, steps
    state = sandbox.control(microsoft["graph_url"], "state")
    mail_apps = [a for a in state["applications"] if a.get("uniqueName") == "sophos-firewall-notifications"]
    assert len(mail_apps) == 1 and len(mail_apps[0]["passwordCredentials"]) == 1
    assert sandbox.control(microsoft["login_url"], "mailboxes/" + microsoft["mailbox"]["upn"])[
        "smtp_auth_disabled"] is False


def test_bootstrap_with_a_client_secret_keeps_it_in_a_0600_file(sandbox, microsoft, run_playbook, bootstrap_vars):
    """... and waits out Graph's replication delay and throttling on the way."""
    bootstrap_vars["automation_identity_credential"] = "secret"
    first = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    sign_in_at_device_login(sandbox, first.output, microsoft["admin_user"])
    sandbox.control(microsoft["login_url"], "faults", "POST", {"graph": {
        "replication_delay_requests": 2, "429": 2, "retry_after": 0}})
    second = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    assert second.rc == 0, second
    [app], [sp] = automation_identity(sandbox, microsoft)
    assert sp["directory_roles"] == [RECIPIENT_ADMINISTRATOR]
    assert sp["app_role_assignments"] == {
        GRAPH_APP_ID: ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"],
        EXCHANGE_APP_ID: ["Exchange.ManageAsApp"]}
    state = sandbox.control(microsoft["graph_url"], "state")
    assert len([a for a in state["app_role_assignment_objects"] if a["principalId"] == sp["id"]]) == 3
    path = bootstrap_vars["automation_identity_secret_path"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        secret = handle.read()
    assert secret not in second.output
    [app], [sp] = automation_identity(sandbox, microsoft)
    assert len(app["passwordCredentials"]) == 1 and not app["keyCredentials"]
    session = requests.Session()
    session.trust_env = False
    token = session.post("%s/%s/oauth2/v2.0/token" % (microsoft["login_url"], microsoft["tenant"]["id"]), data={
        "grant_type": "client_credentials", "client_id": app["appId"], "client_secret": secret,
        "scope": "https://outlook.office365.com/.default"}, verify=sandbox.ca_file, timeout=30).json()
    assert "access_token" in token
    again = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    assert again.rc == 0 and again.changed("localhost") == 0, again


def test_an_ordinary_user_is_refused_and_nothing_is_half_made(sandbox, microsoft, run_playbook, bootstrap_vars):
    first = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    sign_in_at_device_login(sandbox, first.output, microsoft["mailbox"])
    second = run_playbook(PLAYBOOK, extra_vars=bootstrap_vars)
    assert second.rc != 0
    assert "Authorization_RequestDenied" in second.output
    assert "the signed-in user must be an administrator" in second.output
    assert automation_identity(sandbox, microsoft) == ([], [])


def test_each_module_converges_and_undoes(sandbox, microsoft, run_playbook, tmp_path):
    automation = microsoft["automation_app"]
    sandbox.control(microsoft["login_url"], "service_principals/%s/roles" % automation["client_id"], "POST", {
        "app_roles": {GRAPH_APP_ID: ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
                                     "RoleManagement.ReadWrite.Directory"]}})
    result_file = tmp_path / "result.json"
    pem = tmp_path / "keys" / "module.pem"
    run = run_playbook("tests/integration/targets/bootstrap/modules.yml", extra_vars={
        "mailoauth_authority_host": microsoft["login_url"], "mailoauth_graph_endpoint": microsoft["graph_url"],
        "mailoauth_tenant_id": microsoft["tenant"]["id"], "automation_client_id": automation["client_id"],
        "automation_client_secret": automation["client_secret"], "certificate_path": str(pem),
        "certificate_password": "correct horse", "result_file": str(result_file)})
    assert run.rc == 0, run
    assert "correct horse" not in run.output
    thumbprints = json.loads(result_file.read_text())
    state = sandbox.control(microsoft["graph_url"], "state")
    [app] = [a for a in state["applications"] if a.get("uniqueName") == "modules-test-app"]
    [sp] = [s for s in state["service_principals"] if s["appId"] == app["appId"]]
    assert [thumbprint_of(c["key"]) for c in app["keyCredentials"]] == [thumbprints["first"]]
    assert sp["app_role_assignments"] == {} and sp["directory_roles"] == []
    assert not pem.exists()
