"""A fresh tenant from preview to removal, on one sandbox of its own, in order:

1. ``setup.yml --check --diff`` previews the whole run, every firewall included, and changes nothing anywhere;
2. setup through an administrator's device-code sign-in given once as ``mailoauth_auth_method`` (the automation
   app's secret blanked, so a tenant step that ignored the variable would fail), and verify.yml the same way;
3. ``remove.yml``: check mode changes nothing, a ``--limit`` run refuses while other firewalls use the app, the
   full run restores the firewalls' mail settings and leaves no app, service principal or grant; again: no change.

Assertions read the emulators' own state, never the collection's clients.
"""

import json
import os
import stat

import pytest

from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

APP_UNIQUE_NAME = "sophos-firewall-notifications"
FIREWALLS = 3
GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
EXCHANGE_POWERSHELL = "fb78d390-0c51-40cd-8e17-fdbfab77341b"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("fresh-sandbox")), firewalls=FIREWALLS)
    workdir = tmp_path_factory.mktemp("fresh-inventory")
    inventory, password_file, browser = write_inventory(box, str(workdir))
    # A "browser" that only records that it was started: the preview must not start a sign-in.
    recorder = workdir / "browser-started"
    fake_browser = workdir / "record-browser.sh"
    fake_browser.write_text("#!/bin/sh\necho \"$1\" >> %s\n" % recorder)
    fake_browser.chmod(0o700)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser,
           "recorder": recorder, "fake_browser": str(fake_browser), "workdir": workdir}
    box.stop()


@pytest.fixture
def play(fresh, run_playbook):
    def run(name, *args, extra_vars=None, browser=None):
        return run_playbook(os.path.join("playbooks", name), inventory=fresh["inventory"], extra_vars=extra_vars,
                            args=("--vault-password-file", fresh["password_file"]) + args,
                            env=dict(fact_cache_env(str(fresh["workdir"])), BROWSER=browser or fresh["browser"],
                                     REQUESTS_CA_BUNDLE=""))
    return run


def tenant(box):
    state = box.control(box.services["microsoft"]["login_url"], "state")
    state.pop("now")
    return state


def firewall(box, fw):
    state = box.control("https://%s:%d" % (fw["host"], fw["port"]), "state")
    state.pop("counters")  # requests served; the preview reads every firewall
    return state


def everything(box):
    return {"tenant": tenant(box), "firewalls": [firewall(box, fw) for fw in box.services["sfos"]["firewalls"]]}


def objects(box):
    """What the tenant and the firewalls hold, without the sign-in records (a cached admin token may be renewed)."""
    state = tenant(box)
    kept = ("applications", "deleted_applications", "service_principals", "oauth2_permission_grants", "mailboxes")
    return {"tenant": {key: state[key] for key in kept},
            "firewalls": [firewall(box, fw) for fw in box.services["sfos"]["firewalls"]]}


def our_apps(state):
    return [app for app in state["applications"] if app["uniqueName"] == APP_UNIQUE_NAME]


def credentials_file(fresh):
    return os.path.join(fresh["inventory"], "group_vars", "all", "mailoauth_credentials.yml")


def test_check_mode_previews_the_whole_run_on_a_fresh_tenant_and_changes_nothing(fresh, play):
    box = fresh["box"]
    before = everything(box)
    assert not our_apps(before["tenant"])

    run = play("setup.yml", "--check", "--diff", browser=fresh["fake_browser"])

    assert run.rc == 0, run
    names = [fw["name"] for fw in box.services["sfos"]["firewalls"]]
    assert sorted(run.recap) == names
    for name in names:
        assert run.recap[name]["failed"] == 0 and run.recap[name]["changed"] >= 1, run
    # app, consent, secret, SMTP AUTH, the sign-in to come, and the first firewall: all previewed as changes
    assert run.recap[names[0]]["changed"] >= 6, run
    assert run.stdout.count('"oauth_client_id": "(client ID of the app to be created)"') == FIREWALLS, run
    assert run.stdout.count('"oauth_client_secret": "<changed>"') == FIREWALLS, run
    assert run.stdout.count('"oauth_refresh_token": "<changed>"') == FIREWALLS, run
    assert run.stdout.count('"mail_server": "smtp.office365.com"') == FIREWALLS, run
    assert "the real run gets the refresh token for the new app" in run.stdout

    assert everything(box) == before  # tenant, mailbox, sign-ins and every firewall byte for byte
    assert not os.path.exists(credentials_file(fresh))
    assert not fresh["recorder"].exists(), "check mode started a browser sign-in"


def pending_device_codes(box):
    return [d for d in tenant(box)["device_codes"] if d["status"] == "pending"]


def approve(box, code):
    ms = box.services["microsoft"]
    box.control(ms["login_url"], "devicecode/approve", "POST",
                {"user_code": code["user_code"], "upn": ms["admin_user"]["upn"]})


def test_one_auth_method_variable_reaches_every_tenant_step(fresh, play):
    """mailoauth_auth_method=device_code, with the automation app's secret blanked: entra_app (Graph) and smtp_auth
    (Exchange) each ask the administrator once, then setup and verify run on the cached tokens."""
    box = fresh["box"]
    cache = fresh["workdir"] / "msal" / "cache.json"
    device = {"mailoauth_auth_method": "device_code", "mailoauth_token_cache_path": str(cache),
              "mailoauth_automation_client_secret": ""}

    first = play("setup.yml", extra_vars=device)
    assert first.rc != 0, first
    assert "Device-code sign-in is waiting" in first.stdout, first
    codes = pending_device_codes(box)
    assert [c["client_id"] for c in codes] == [GRAPH_CLI], codes
    assert codes[0]["user_code"] in first.stdout
    approve(box, codes[0])

    second = play("setup.yml", extra_vars=device)
    assert second.rc != 0, second
    assert len(our_apps(tenant(box))) == 1  # steps 1, 2 and 4 ran on the Graph sign-in
    codes = pending_device_codes(box)
    assert [c["client_id"] for c in codes] == [EXCHANGE_POWERSHELL], codes  # step 3 asks for Exchange
    approve(box, codes[0])

    third = play("setup.yml", extra_vars=device)
    assert third.rc == 0, third
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    state = tenant(box)
    assert sorted((d["client_id"], d["status"]) for d in state["device_codes"]) == sorted(
        [(GRAPH_CLI, "redeemed"), (EXCHANGE_POWERSHELL, "redeemed")])
    mailbox = box.services["microsoft"]["mailbox"]["upn"]
    assert state["mailboxes"][mailbox]["SmtpClientAuthenticationDisabled"] is False
    app = our_apps(state)[0]
    for fw in box.services["sfos"]["firewalls"]:
        assert firewall(box, fw)["notification"]["ClientID"] == app["appId"]

    verify = play("verify.yml", extra_vars=dict(device, mailoauth_report_dir=str(fresh["workdir"])))
    assert verify.rc == 0, verify
    assert not pending_device_codes(box)  # verify's entra_app_info used the cached sign-in too
    blank = play("verify.yml", extra_vars={"mailoauth_automation_client_secret": ""})
    assert blank.rc != 0, blank  # without the variable the same run has no way in: the test can fail


RELAY_PASSWORD = "relay-Pa55-word"


@pytest.fixture
def remove(fresh, play):
    """remove.yml towards a relay with a login, signing in as verify did (the device-code cache)."""
    def run(*args, **extra):
        values = {"mailoauth_remove_mail_server": "relay.contoso.example", "mailoauth_remove_mail_port": 2525,
                  "mailoauth_remove_connection_security": "STARTTLS", "mailoauth_remove_smtp_username": "fw-relay",
                  "mailoauth_remove_smtp_password": RELAY_PASSWORD, "mailoauth_auth_method": "device_code",
                  "mailoauth_token_cache_path": str(fresh["workdir"] / "msal" / "cache.json"),
                  "mailoauth_automation_client_secret": ""}
        values.update(extra)
        return play("remove.yml", *args, extra_vars=values)
    return run


def test_remove_in_check_mode_shows_everything_and_changes_nothing(fresh, remove):
    box = fresh["box"]
    before = objects(box)
    app_id = our_apps(before["tenant"])[0]["appId"]
    run = remove("--check", "--diff")
    assert run.rc == 0, run
    names = [fw["name"] for fw in box.services["sfos"]["firewalls"]]
    assert run.recap[names[0]]["changed"] == 4, run  # this firewall, the consent, the app, the credentials file
    assert all(run.recap[name]["changed"] == 1 for name in names[1:]), run
    assert run.stdout.count('-    "oauth_client_id": "%s"' % app_id) == FIREWALLS, run
    assert run.stdout.count('"mail_server": "relay.contoso.example"') == FIREWALLS, run
    assert run.stdout.count('"smtp_password": "<changed>"') == FIREWALLS, run
    assert '"client_secrets": [' in run.stdout and '-    "service_principal": true' in run.stdout, run
    assert RELAY_PASSWORD not in run.output
    assert objects(box) == before


def test_remove_refuses_while_firewalls_outside_the_play_use_the_app(fresh, remove):
    box = fresh["box"]
    before = objects(box)
    run = remove("--limit", "fw01")
    assert run.rc != 0, run
    assert "is still used by fw02 (its notification settings hold the client ID); fw03" in run.stdout, run
    assert objects(box) == before  # refused before anything changed, fw01 included


def test_remove_refuses_while_the_ledger_records_a_firewall_as_using_the_app(fresh, remove):
    """fw03 reads back without the client ID (changed by hand), but the ledger setup.yml recorded says it holds it."""
    box = fresh["box"]
    fw03 = box.services["sfos"]["firewalls"][2]
    box.control("https://%s:%d" % (fw03["host"], fw03["port"]), "config", method="POST",
                body={"notification": {"ClientID": ""}})
    before = objects(box)
    run = remove("--limit", "fw01,fw02")
    assert run.rc != 0, run
    assert "is still used by fw03 (its ledger entry records the client ID)" in run.stdout, run
    assert objects(box) == before


def untagged(value):
    """A value as ansible-core's jsonfile cache stores it, without its data tags."""
    if isinstance(value, dict):
        if "__ansible_type" in value:
            return untagged(value["value"])
        return {key: untagged(item) for key, item in value.items()}
    return value


def cached_ledger(fresh, host):
    """The host's ledger entry as the fact cache holds it (the file name may carry the cache's prefix)."""
    cache = fresh["workdir"] / "fact-cache"
    (path,) = [path for path in cache.iterdir() if path.name.endswith(host)]
    data = json.loads(path.read_text())
    facts = json.loads(data["__payload__"]) if "__payload__" in data else data
    return untagged(facts["mailoauth_ledger"])


def test_remove_restores_every_firewall_then_removes_the_app_and_changes_nothing_again(fresh, remove):
    box = fresh["box"]
    app = our_apps(tenant(box))[0]
    run = remove()
    assert run.rc == 0, run
    assert RELAY_PASSWORD not in run.output
    for fw in box.services["sfos"]["firewalls"]:
        stored = firewall(box, fw)["notification"]
        assert (stored["NotificationServer"], stored["MailServer"], stored["Port"], stored["ConnectionSecurity"]) == (
            "1", "relay.contoso.example", "2525", "STARTTLS"), fw["name"]
        assert (stored["AuthenticationRequired"], stored["Username"], stored["Password"]) == (
            "Enable", "fw-relay", RELAY_PASSWORD), fw["name"]
        assert [stored[tag] for tag in ("Oauth2Provider", "ClientID", "ClientSecret", "RefreshToken")] == [""] * 4
    state = tenant(box)
    assert not our_apps(state)
    assert not [sp for sp in state["service_principals"] if sp["appId"] == app["appId"]]
    sp_ids = {sp["id"] for sp in state["service_principals"]}
    assert all(grant["clientId"] in sp_ids for grant in state["oauth2_permission_grants"])  # none left dangling
    assert [deleted["appId"] for deleted in state["deleted_applications"]] == [app["appId"]]  # Entra's 30 days
    assert not os.path.exists(credentials_file(fresh))  # the removed app's secret and token are not reused

    for fw in box.services["sfos"]["firewalls"]:
        ledger = cached_ledger(fresh, fw["name"])
        assert (ledger["client_id"], ledger["secret_key_id"]) == ("", ""), fw["name"]
        assert ledger["removed_at"].endswith("Z")

    again = remove()
    assert again.rc == 0, again
    assert again.changed() == 0, again
