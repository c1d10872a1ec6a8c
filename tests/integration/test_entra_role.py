"""The entra_app role against the sandbox: app + service principal + consent + secret, idempotent, check mode,
throttling and replication delay; state read from the emulator's /_sandbox/state."""

import json
import re

import msal
import pytest
import requests

TARGET = "tests/integration/targets/entra_app/role.yml"
UNIQUE_NAME = "sophos-firewall-notifications"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ROLE_TASKS = ("Register the application", "Grant admin consent", "Ensure a client secret")


@pytest.fixture
def microsoft(sandbox):
    ms = sandbox.services["microsoft"]
    sandbox.control(ms["login_url"], "reset", "POST")
    return ms


@pytest.fixture
def role_vars(microsoft, tmp_path):
    return {
        "mailoauth_authority_host": microsoft["login_url"],
        "mailoauth_graph_endpoint": microsoft["graph_url"],
        "mailoauth_tenant_id": microsoft["tenant"]["id"],
        "mailoauth_automation_client_id": microsoft["automation_app"]["client_id"],
        "mailoauth_automation_client_secret": microsoft["automation_app"]["client_secret"],
        "result_file": str(tmp_path / "published.json"),
    }


def tenant(sandbox, microsoft):
    """What the emulated tenant holds for our app: (apps, service principals, grants)."""
    state = sandbox.control(microsoft["graph_url"], "state")
    apps = [a for a in state["applications"] if a.get("uniqueName") == UNIQUE_NAME]
    app_ids = {a["appId"] for a in apps}
    sps = [sp for sp in state["service_principals"] if sp["appId"] in app_ids]
    sp_ids = {sp["id"] for sp in sps}
    grants = [g for g in state["oauth2_permission_grants"] if g["clientId"] in sp_ids]
    graph_sp = next(sp for sp in state["service_principals"] if sp["appId"] == GRAPH_APP_ID)
    return apps, sps, grants, graph_sp


def changed_tasks(run):
    """Names of the tasks that reported changed, from the default callback's output."""
    names, task = [], None
    for line in run.stdout.splitlines():
        match = re.match(r"TASK \[(?:[\w.]+ : )?(.*?)\] \*+", line)
        if match:
            task = match.group(1)
        elif line.startswith("changed: [") and task:
            names.append(task)
    return [next((short for short in ROLE_TASKS if name.startswith(short)), name) for name in names]


def secret_signs_in(microsoft, ca_file, client_id, secret):
    """The published client id + secret really work at the token endpoint (client credentials)."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE (the system bundle here) would override verify
    session.verify = ca_file
    app = msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority="%s/%s" % (microsoft["login_url"], microsoft["tenant"]["id"]),
        instance_discovery=False, http_client=session)
    return app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])


def assert_converged(sandbox, microsoft):
    apps, sps, grants, graph_sp = tenant(sandbox, microsoft)
    assert len(apps) == 1, apps
    app = apps[0]
    assert app["signInAudience"] == "AzureADMultipleOrgs"
    assert app["web"]["redirectUris"] == ["https://outlook.office365.com/", "http://localhost/"]
    assert app["requiredResourceAccess"] == [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
        {"id": "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "type": "Scope"},
        {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "type": "Scope"}]}]
    assert len(sps) == 1
    assert [(g["consentType"], g["resourceId"], g["scope"]) for g in grants] == [
        ("AllPrincipals", graph_sp["id"], "SMTP.Send offline_access")]
    assert len(app["passwordCredentials"]) == 1
    return app


def test_role_creates_app_consent_and_secret_once_and_check_mode_predicts_it(sandbox, microsoft, role_vars,
                                                                             run_playbook, tmp_path):
    check = run_playbook(TARGET, inventory="localhost,", extra_vars=role_vars, check=True, diff=True)
    assert check.rc == 0, check
    assert tenant(sandbox, microsoft)[:3] == ([], [], [])
    assert changed_tasks(check) == list(ROLE_TASKS)
    assert '"SMTP.Send"' in check.stdout and "<new> mailoauth.sophos until" in check.stdout

    real = run_playbook(TARGET, inventory="localhost,", extra_vars=role_vars, diff=True)
    assert real.rc == 0, real
    assert changed_tasks(real) == changed_tasks(check)
    app = assert_converged(sandbox, microsoft)

    published = json.loads((tmp_path / "published.json").read_text())
    assert published["client_id"] == app["appId"]
    assert published["app_object_id"] == app["id"]
    assert published["tenant_id"] == microsoft["tenant"]["id"]
    assert published["secret_key_id"] == app["passwordCredentials"][0]["keyId"]
    assert published["secret_expires"][:10] == app["passwordCredentials"][0]["endDateTime"][:10]
    secret = published["client_secret"]
    assert secret and "access_token" in secret_signs_in(microsoft, sandbox.ca_file, app["appId"], secret)
    for run in (check, real):
        assert secret not in run.output
        assert microsoft["automation_app"]["client_secret"] not in run.output
    assert secret not in sandbox.log_text()

    # Later runs hand the stored value back (vault, credentials file, AWX credential): that secret is kept.
    held = dict(role_vars, mailoauth_client_secret=secret, mailoauth_client_secret_key_id=published["secret_key_id"])
    again = run_playbook(TARGET, inventory="localhost,", extra_vars=held, diff=True)
    assert again.rc == 0, again
    assert again.changed("localhost") == 0
    assert assert_converged(sandbox, microsoft)["passwordCredentials"] == app["passwordCredentials"]
    assert json.loads((tmp_path / "published.json").read_text())["secret_key_id"] == published["secret_key_id"]

    again_check = run_playbook(TARGET, inventory="localhost,", extra_vars=held, check=True, diff=True)
    assert again_check.rc == 0, again_check
    assert again_check.changed("localhost") == 0
    for run in (again, again_check):
        assert secret not in run.output


def test_role_makes_a_new_secret_when_the_stored_value_was_lost(sandbox, microsoft, role_vars, run_playbook,
                                                                 tmp_path):
    """A run stopped after creating a secret and before storing it: the next run needs no flag, it makes a new one."""
    first = run_playbook(TARGET, inventory="localhost,", extra_vars=role_vars)
    assert first.rc == 0, first
    lost = json.loads((tmp_path / "published.json").read_text())
    again = run_playbook(TARGET, inventory="localhost,", extra_vars=role_vars)    # nothing held
    assert again.rc == 0, again
    assert changed_tasks(again) == ["Ensure a client secret"]
    published = json.loads((tmp_path / "published.json").read_text())
    assert published["client_secret"] and published["client_secret"] != lost["client_secret"]
    apps = tenant(sandbox, microsoft)[0]
    assert len(apps) == 1
    assert sorted(c["keyId"] for c in apps[0]["passwordCredentials"]) == sorted(
        [lost["secret_key_id"], published["secret_key_id"]])                       # the lost one waits for retire
    assert "access_token" in secret_signs_in(microsoft, sandbox.ca_file, published["client_id"],
                                             published["client_secret"])


def test_role_converges_through_throttling_and_replication_delay_without_duplicates(sandbox, microsoft, role_vars,
                                                                                     run_playbook):
    sandbox.control(microsoft["graph_url"], "faults", "POST", {"graph": {
        "429": 2, "retry_after": 1, "503": 1, "replication_delay_requests": 2}})
    first = run_playbook(TARGET, inventory="localhost,", extra_vars=role_vars)
    assert first.rc == 0, first
    assert_converged(sandbox, microsoft)
    faults = sandbox.control(microsoft["graph_url"], "state")["faults"]["graph"]
    assert (faults["429"], faults["503"]) == (0, 0), "the injected faults were not all met"
    statuses = [r["status"] for r in sandbox.control(microsoft["graph_url"], "requests")["requests"]
                if r["service"] == "graph"]
    assert statuses.count(429) == 2 and statuses.count(503) == 1
    assert statuses.count(404) + statuses.count(400) >= 1, "no replication delay was met"

    published = json.loads(open(role_vars["result_file"], encoding="utf-8").read())
    second = run_playbook(TARGET, inventory="localhost,", extra_vars=dict(
        role_vars, mailoauth_client_secret=published["client_secret"],
        mailoauth_client_secret_key_id=published["secret_key_id"]))
    assert second.rc == 0, second
    assert second.changed("localhost") == 0
    assert_converged(sandbox, microsoft)
