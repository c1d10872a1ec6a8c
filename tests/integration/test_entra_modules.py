"""Each entra_* module against the sandbox: check+diff -> real -> again -> again in check mode, bad input, denied
permissions, wrong secret; assertions read the emulated tenant through /_sandbox/state."""

import json

import pytest

TARGET = "tests/integration/targets/entra_app/module.yml"
SEQUENCE_TARGET = "tests/integration/targets/entra_app/sequence.yml"
UNIQUE = "fw-mail-it"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


@pytest.fixture
def microsoft(sandbox):
    ms = sandbox.services["microsoft"]
    sandbox.control(ms["login_url"], "reset", "POST")
    return ms


@pytest.fixture
def run_steps(microsoft, run_playbook, tmp_path):
    """run_steps(module, checks, identity=automation_app, **options) -> (PlaybookRun, [result dict or None]): the
    module once per entry of ``checks`` (True: in check mode), one after the other in one ansible-playbook run."""
    def run(module, checks, identity="automation_app", **options):
        first = len(list(tmp_path.glob("result-*")))
        result_files = [tmp_path / ("result-%d.json" % (first + index)) for index in range(len(checks))]
        extra = {"module": module, "sandbox_login_url": microsoft["login_url"],
                 "sandbox_graph_url": microsoft["graph_url"], "sandbox_tenant_id": microsoft["tenant"]["id"],
                 "steps": [{"check": check, "result_file": str(path)} for check, path in zip(checks, result_files)]}
        if identity:
            extra.update(sandbox_client_id=microsoft[identity]["client_id"],
                         sandbox_client_secret=microsoft[identity]["client_secret"])
        extra.update(options)
        play = run_playbook(SEQUENCE_TARGET if len(checks) > 1 else TARGET, inventory="localhost,", diff=True,
                            extra_vars=dict(extra, result_file=str(result_files[0])), check=checks == [True])
        return play, [json.loads(path.read_text()) if path.exists() else None for path in result_files]
    return run


@pytest.fixture
def run_module(run_steps):
    """run_module(module, check=False, identity=automation_app, **options) -> (PlaybookRun, result dict or None)."""
    def run(module, check=False, identity="automation_app", **options):
        play, results = run_steps(module, [check], identity=identity, **options)
        return play, results[0]
    return run


def state(sandbox, microsoft):
    return sandbox.control(microsoft["graph_url"], "state")


def our_apps(sandbox, microsoft, unique=UNIQUE):
    return [a for a in state(sandbox, microsoft)["applications"] if a.get("uniqueName") == unique]


def idempotent_sequence(run_steps, module, **options):
    """check+diff -> real -> again (changed=0) -> again in check mode (changed=0), in one ansible-playbook run;
    returns the real run's result."""
    play, (predicted, result, repeated, repeated_check) = run_steps(module, [True, False, False, True], **options)
    assert play.rc == 0, play
    assert predicted["changed"] is True
    assert result["changed"] is True
    assert result["diff"]["after"] == predicted["diff"]["after"] or module == "entra_app_secret"
    assert repeated["changed"] is False, repeated
    assert repeated_check["changed"] is False
    return result


def test_entra_app_create_update_rename_and_remove(sandbox, microsoft, run_module, run_steps):
    created = idempotent_sequence(run_steps, "entra_app", display_name="FW mail", unique_name=UNIQUE)
    apps = our_apps(sandbox, microsoft)
    assert len(apps) == 1
    assert (created["client_id"], created["object_id"]) == (apps[0]["appId"], apps[0]["id"])
    assert created["tenant_id"] == microsoft["tenant"]["id"]
    assert apps[0]["displayName"] == "FW mail"
    assert apps[0]["signInAudience"] == "AzureADMultipleOrgs"

    play, updated = run_module("entra_app", display_name="FW mail", unique_name=UNIQUE,
                               redirect_uris=["https://outlook.office365.com/", "http://localhost/"],
                               delegated_permissions=["SMTP.Send"])
    assert play.rc == 0, play
    assert updated["changed"] is True
    assert updated["diff"]["before"]["delegated_permissions"] == ["SMTP.Send", "offline_access"]
    app = our_apps(sandbox, microsoft)[0]
    assert sorted(app["web"]["redirectUris"]) == ["http://localhost/", "https://outlook.office365.com/"]
    assert app["requiredResourceAccess"][0]["resourceAccess"] == [
        {"id": "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "type": "Scope"}]

    # A person renames the app in the portal: the next run finds it by its unique name and renames it back.
    token = sandbox_token(sandbox, microsoft)
    status, dummy = sandbox.request("%s/v1.0/applications/%s" % (microsoft["graph_url"], app["id"]), "PATCH",
                                    {"displayName": "Renamed by hand"}, {"Authorization": "Bearer " + token})
    assert status == 204
    play, renamed = run_module("entra_app", display_name="FW mail", unique_name=UNIQUE,
                               redirect_uris=["https://outlook.office365.com/", "http://localhost/"],
                               delegated_permissions=["SMTP.Send"])
    assert renamed["changed"] is True and renamed["diff"]["before"]["display_name"] == "Renamed by hand"
    assert [a["displayName"] for a in our_apps(sandbox, microsoft)] == ["FW mail"]

    play, removed = run_module("entra_app", unique_name=UNIQUE, state="absent")
    assert play.rc == 0 and removed["changed"] is True
    assert our_apps(sandbox, microsoft) == []
    assert [a["id"] for a in state(sandbox, microsoft)["deleted_applications"]] == [app["id"]]
    play, removed_again = run_module("entra_app", unique_name=UNIQUE, state="absent")
    assert play.rc == 0 and removed_again["changed"] is False


def sandbox_token(sandbox, microsoft):
    """An automation-app token straight from the emulator's token endpoint (the test acting as a person)."""
    import urllib.parse  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel
    import ssl  # pylint: disable=import-outside-toplevel
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": microsoft["automation_app"]["client_id"],
        "client_secret": microsoft["automation_app"]["client_secret"],
        "scope": "https://graph.microsoft.com/.default"}).encode()
    url = "%s/%s/oauth2/v2.0/token" % (microsoft["login_url"], microsoft["tenant"]["id"])
    with urllib.request.urlopen(url, form, context=ssl.create_default_context(cafile=sandbox.ca_file)) as resp:
        return json.loads(resp.read())["access_token"]


def create_app_as_admin(sandbox, microsoft):
    """The app entra_app registers by default (display_name "FW mail"), made straight through Graph as an admin
    would: the bad-input cases only need it to exist, and a Graph call costs a fraction of a playbook run."""
    token = sandbox_token(sandbox, microsoft)
    body = {"displayName": "FW mail", "signInAudience": "AzureADMultipleOrgs",
            "web": {"redirectUris": ["https://outlook.office365.com/"]},
            "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
                {"id": "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "type": "Scope"},     # SMTP.Send
                {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "type": "Scope"}]}]}  # offline_access
    status, dummy = sandbox.request("%s/v1.0/applications(uniqueName='%s')" % (microsoft["graph_url"], UNIQUE),
                                    "PATCH", body, {"Authorization": "Bearer " + token,
                                                    "Prefer": "create-if-missing"})
    assert status == 201, dummy
    assert [app["displayName"] for app in our_apps(sandbox, microsoft)] == ["FW mail"]


def test_consent_follows_the_scope_list_and_can_be_revoked(sandbox, microsoft, run_module, run_steps):
    assert run_module("entra_app", display_name="FW mail", unique_name=UNIQUE)[0].rc == 0
    result = idempotent_sequence(run_steps, "entra_admin_consent", unique_name=UNIQUE)
    current = state(sandbox, microsoft)
    app = our_apps(sandbox, microsoft)[0]
    sps = [sp for sp in current["service_principals"] if sp["appId"] == app["appId"]]
    graph_sp = next(sp for sp in current["service_principals"] if sp["appId"] == GRAPH_APP_ID)
    assert [sp["id"] for sp in sps] == [result["service_principal_id"]]
    grants = [g for g in current["oauth2_permission_grants"] if g["clientId"] == sps[0]["id"]]
    assert [(g["id"], g["consentType"], g["resourceId"], g["scope"]) for g in grants] == [
        (result["grant_id"], "AllPrincipals", graph_sp["id"], "SMTP.Send offline_access")]

    play, narrowed = run_module("entra_admin_consent", unique_name=UNIQUE, scopes=["SMTP.Send"])
    assert play.rc == 0 and narrowed["changed"] is True
    assert narrowed["diff"]["before"]["scopes"] == ["SMTP.Send", "offline_access"]
    assert [g["scope"] for g in state(sandbox, microsoft)["oauth2_permission_grants"]
            if g["clientId"] == sps[0]["id"]] == ["SMTP.Send"]

    play, revoked = run_module("entra_admin_consent", unique_name=UNIQUE, state="absent")
    assert play.rc == 0 and revoked["changed"] is True
    current = state(sandbox, microsoft)
    assert [g for g in current["oauth2_permission_grants"] if g["clientId"] == sps[0]["id"]] == []
    assert [sp["id"] for sp in current["service_principals"] if sp["appId"] == app["appId"]] == [sps[0]["id"]]


def test_secret_contract_create_keep_rotate_remove(sandbox, microsoft, run_module, run_steps):
    assert run_module("entra_app", display_name="FW mail", unique_name=UNIQUE)[0].rc == 0
    play, first = run_module("entra_app_secret", unique_name=UNIQUE)
    assert play.rc == 0 and first["changed"] is True and first["created"] is True
    assert first["secret"] and first["secret"] not in play.output
    creds = our_apps(sandbox, microsoft)[0]["passwordCredentials"]
    assert [c["keyId"] for c in creds] == [first["key_id"]]
    assert creds[0]["endDateTime"][:10] == first["expires"][:10]

    play, (kept, kept_check) = run_steps("entra_app_secret", [False, True], unique_name=UNIQUE)
    assert kept["changed"] is False and "secret" not in kept and kept["key_id"] == first["key_id"]
    assert kept_check["changed"] is False

    play, rotated = run_module("entra_app_secret", unique_name=UNIQUE, rotate=True)
    assert rotated["changed"] is True and rotated["secret"] not in (first["secret"], None)
    assert rotated["secret"] not in play.output
    assert {c["keyId"] for c in our_apps(sandbox, microsoft)[0]["passwordCredentials"]} == {
        first["key_id"], rotated["key_id"]}

    play, pruned = run_module("entra_app_secret", unique_name=UNIQUE, remove_key_ids=[first["key_id"],
                                                                                      rotated["key_id"]])
    assert play.rc == 0 and pruned["removed_key_ids"] == [first["key_id"]]
    assert [c["keyId"] for c in our_apps(sandbox, microsoft)[0]["passwordCredentials"]] == [rotated["key_id"]]
    for secret in (first["secret"], rotated["secret"]):
        assert secret not in sandbox.log_text()


def test_info_reports_without_values(sandbox, microsoft, run_module):
    assert run_module("entra_app", display_name="FW mail", unique_name=UNIQUE)[0].rc == 0
    assert run_module("entra_admin_consent", unique_name=UNIQUE)[0].rc == 0
    dummy, secret = run_module("entra_app_secret", unique_name=UNIQUE, valid_days=20, min_valid_days=1)
    play, info = run_module("entra_app_info", unique_name=UNIQUE, check=True)
    assert play.rc == 0 and info["changed"] is False and info["exists"] is True
    assert info["application"]["delegated_permissions"] == ["SMTP.Send", "offline_access"]
    assert info["consent"][0]["scopes"] == ["SMTP.Send", "offline_access"]
    assert [s["key_id"] for s in info["secrets"]] == [secret["key_id"]]
    assert info["secrets"][0]["days_left"] in (19, 20)
    assert info["expiring_key_ids"] == [secret["key_id"]]
    assert secret["secret"] not in json.dumps(info)
    play, missing = run_module("entra_app_info", unique_name="nobody-here")
    assert play.rc == 0 and missing["exists"] is False


@pytest.mark.parametrize("module, options, words", [
    ("entra_app", {"unique_name": UNIQUE}, "display_name is required with state=present"),
    ("entra_app", {"display_name": "x", "unique_name": UNIQUE, "redirect_uris": ["http://fw.example/"]},
     "redirect_uris entry 'http://fw.example/' must be https://"),
    ("entra_app", {"display_name": "x", "unique_name": UNIQUE, "delegated_permissions": ["Mail.send"]},
     "delegated_permissions Mail.send unknown"),
    ("entra_admin_consent", {"unique_name": UNIQUE, "scopes": ["SMTP.Send", "Mail.send"]},
     "scopes Mail.send are not delegated permissions of Microsoft Graph"),
    ("entra_admin_consent", {"unique_name": "nobody-here"}, "No application with unique_name nobody-here exists"),
    ("entra_app_secret", {"unique_name": UNIQUE, "min_valid_days": 200},
     "min_valid_days (200) must be less than valid_days (180)"),
    ("entra_app_secret", {"unique_name": UNIQUE, "valid_days": 4000, "min_valid_days": 1},
     "lower valid_days (now 4000)"),
    ("entra_app_secret", {"app_id": "11111111-2222-3333-4444-555555555555"},
     "create it with mailoauth.sophos.entra_app first, or correct app_id"),
], ids=["app-without-display-name", "redirect-uri-plain-http", "permission-misspelt", "consent-scope-misspelt",
        "consent-for-missing-app", "secret-min-validity-too-long", "secret-beyond-tenant-policy",
        "secret-for-missing-app"])
def test_bad_input(sandbox, microsoft, run_module, module, options, words):
    if module != "entra_app":
        create_app_as_admin(sandbox, microsoft)
    before = state(sandbox, microsoft)
    play, dummy = run_module(module, **options)
    assert play.rc != 0
    assert words in play.output, play
    after = state(sandbox, microsoft)
    for key in ("applications", "service_principals", "oauth2_permission_grants"):
        assert after[key] == before[key], "a failed run changed %s" % key


def test_wrong_automation_secret_says_aadsts7000215_and_never_shows_the_secret(sandbox, microsoft, run_module):
    wrong = "Wr0ng~Secret.Value_" + microsoft["automation_app"]["client_secret"][-6:]
    play, dummy = run_module("entra_app", display_name="FW mail", unique_name=UNIQUE, sandbox_client_secret=wrong)
    assert play.rc != 0
    assert "AADSTS7000215" in play.output and "request-id" in play.output
    assert "use the secret's value (not its id)" in play.output
    assert wrong not in play.output and wrong not in sandbox.log_text()
    assert our_apps(sandbox, microsoft) == []


def test_identity_without_permissions_is_told_which_permission_is_missing(sandbox, microsoft, run_module):
    play, dummy = run_module("entra_app", identity="limited_app", display_name="FW mail", unique_name=UNIQUE)
    assert play.rc != 0
    assert "Graph denied reading the application (Authorization_RequestDenied" in play.output
    assert "needs the Application.ReadWrite.All application permission" in play.output
    assert microsoft["limited_app"]["client_secret"] not in play.output
