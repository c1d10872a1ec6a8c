"""setup.yml, verify.yml and rotate.yml end to end on a fresh sandbox tenant with five firewalls.

The inventory is the one `make demo` uses (tests/sandbox/inventory.py): endpoints in group_vars, every secret in
ansible-vault, step 5's sign-in played by the sandbox browser that Python's webbrowser starts through BROWSER.
Assertions read the emulators directly: the tenant's objects, each firewall's stored settings, and whether what a
firewall stored actually works - its refresh token is redeemed with its client secret, as the firewall would.
"""

import csv
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from tests.sandbox import browser
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

APP_UNIQUE_NAME = "sophos-firewall-notifications"
FIREWALLS = 5


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A sandbox of its own: these tests follow one tenant through setup, drift and rotation, in order."""
    box = Sandbox.start(str(tmp_path_factory.mktemp("e2e-sandbox")), firewalls=FIREWALLS)
    workdir = str(tmp_path_factory.mktemp("e2e-inventory"))
    inventory, password_file, browser = write_inventory(box, workdir)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser, "workdir": workdir}
    box.stop()


@pytest.fixture
def play(fleet, run_playbook):
    def run(name, *args, extra_vars=None):
        return run_playbook(os.path.join("playbooks", name), inventory=fleet["inventory"], extra_vars=extra_vars,
                            args=("--vault-password-file", fleet["password_file"]) + args,
                            env=dict(fact_cache_env(fleet["workdir"]), BROWSER=fleet["browser"],
                                     REQUESTS_CA_BUNDLE=""))
    return run


def tenant(box):
    return box.control(box.services["microsoft"]["login_url"], "state")


def our_app(state):
    apps = [app for app in state["applications"] if app["uniqueName"] == APP_UNIQUE_NAME]
    assert len(apps) == 1, [a["displayName"] for a in state["applications"]]
    return apps[0]


def firewall_state(box, fw):
    return box.control("https://%s:%d" % (fw["host"], fw["port"]), "state")


def stored_credentials(fleet):
    """The client secret and refresh token that setup.yml kept in the vault-encrypted credentials file."""
    path = os.path.join(fleet["inventory"], "group_vars", "all", "mailoauth_credentials.yml")
    with open(fleet["password_file"], encoding="utf-8") as handle:
        vault = VaultLib([("default", VaultSecret(handle.read().encode("utf-8")))])
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert "$ANSIBLE_VAULT" in text

    class VaultLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        pass

    VaultLoader.add_constructor("!vault", lambda ld, node: vault.decrypt(ld.construct_scalar(node)).decode("utf-8"))
    values = yaml.load(text, Loader=VaultLoader)  # noqa: S506  SafeLoader plus !vault
    return values["mailoauth_client_secret"], values["mailoauth_refresh_token"]


def redeem_as_firewall(box, notification):
    """POST the firewall's stored client ID, secret and refresh token to the token endpoint, as SFOS does."""
    ms = box.services["microsoft"]
    body = urllib.parse.urlencode({
        "grant_type": "refresh_token", "client_id": notification["ClientID"],
        "client_secret": notification["ClientSecret"], "refresh_token": notification["RefreshToken"],
        "scope": "https://outlook.office365.com/.default offline_access"}).encode("ascii")
    url = "%s/%s/oauth2/v2.0/token" % (ms["login_url"], ms["tenant"]["id"])
    context = ssl.create_default_context(cafile=box.ca_file)
    try:
        with urllib.request.urlopen(url, data=body, context=context, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.smoke
def test_setup_configures_tenant_and_every_firewall(fleet, play):
    box = fleet["box"]
    run = play("setup.yml")
    assert run.rc == 0, run
    assert sorted(run.recap) == ["fw%02d" % i for i in range(1, FIREWALLS + 1)]
    assert "Using a template for task args" not in run.output

    state = tenant(box)
    app = our_app(state)
    assert app["signInAudience"] == "AzureADMultipleOrgs"
    assert set(app["web"]["redirectUris"]) == {"https://outlook.office365.com/", "http://localhost/"}
    assert len(app["passwordCredentials"]) == 1
    sps = [sp for sp in state["service_principals"] if sp["appId"] == app["appId"]]
    assert len(sps) == 1
    grants = [g for g in state["oauth2_permission_grants"] if g["clientId"] == sps[0]["id"]]
    assert [(g["consentType"], sorted(g["scope"].split())) for g in grants] == [
        ("AllPrincipals", ["SMTP.Send", "offline_access"])]
    mailbox = box.services["microsoft"]["mailbox"]["upn"]
    assert state["mailboxes"][mailbox]["SmtpClientAuthenticationDisabled"] is False

    secret, refresh_token = stored_credentials(fleet)
    assert secret[:3] == app["passwordCredentials"][0]["hint"]
    for fw in box.services["sfos"]["firewalls"]:
        notification = firewall_state(box, fw)["notification"]
        assert notification["ClientID"] == app["appId"]
        assert notification["ClientSecret"] == secret
        assert notification["RefreshToken"] == refresh_token
        assert notification["Username"] == notification["SenderAddress"] == mailbox
        assert (notification["MailServer"], notification["Port"], notification["ConnectionSecurity"]) == (
            "smtp.office365.com", "587", "STARTTLS")
        assert notification["Oauth2Provider"] == "Microsoft365"
    status, token = redeem_as_firewall(box, firewall_state(box, box.services["sfos"]["firewalls"][0])["notification"])
    assert status == 200 and token["scope"] == "https://outlook.office365.com/SMTP.Send", token

    attempts = box.control(box.services["smtp"]["control_url"], "auth_log")["attempts"]
    assert [(a["user"], a["reply"][:3]) for a in attempts] == [(mailbox, "235")]


@pytest.mark.smoke
def test_second_setup_run_changes_nothing_and_creates_nothing(fleet, play):
    before = tenant(fleet["box"])
    run = play("setup.yml")
    assert run.rc == 0, run
    assert run.changed() == 0, run
    after = tenant(fleet["box"])
    assert our_app(after)["passwordCredentials"] == our_app(before)["passwordCredentials"]
    assert len(after["applications"]) == len(before["applications"])
    assert len(after["oauth2_permission_grants"]) == len(before["oauth2_permission_grants"])


def test_setup_in_check_mode_after_convergence_predicts_no_change(fleet, play):
    run = play("setup.yml", "--check", "--diff")
    assert run.rc == 0, run
    assert run.changed() == 0, run


def test_credentials_injected_by_awx_are_reused(fleet, play):
    """AWX gives the stored secret and refresh token as mailoauth_awx_* extra vars and has no credentials file."""
    secret, refresh_token = stored_credentials(fleet)
    path = os.path.join(fleet["inventory"], "group_vars", "all", "mailoauth_credentials.yml")
    os.rename(path, path + ".away")
    try:
        run = play("setup.yml", extra_vars={"mailoauth_awx_client_secret": secret,
                                            "mailoauth_awx_refresh_token": refresh_token})
    finally:
        os.rename(path + ".away", path)
    assert run.rc == 0, run
    assert run.changed() == 0, run
    assert len(our_app(tenant(fleet["box"]))["passwordCredentials"]) == 1


@pytest.mark.smoke
def test_verify_reports_ok_then_finds_drift_without_fixing_it(fleet, play, tmp_path):
    box = fleet["box"]
    run = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path)})
    assert run.rc == 0, run
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["tenant"] == {"client_secret": "ok", "refresh_token": "ok", "smtp_xoauth2": "ok"}
    assert [row["status"] for row in report["firewalls"]] == ["ok"] * FIREWALLS

    drifted = box.services["sfos"]["firewalls"][2]
    url = "https://%s:%d" % (drifted["host"], drifted["port"])
    box.control(url, "config", method="POST", body={"notification": {"Port": "25"}})
    run = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path)})
    assert run.rc != 0, run
    with open(tmp_path / "verify.csv", encoding="utf-8") as handle:
        rows = {row["firewall"]: row for row in csv.DictReader(handle)}
    assert rows[drifted["name"]]["status"] == "drift"
    assert "port" in rows[drifted["name"]]["detail"].lower()
    assert {name: row["status"] for name, row in rows.items() if name != drifted["name"]} == {
        fw["name"]: "ok" for fw in box.services["sfos"]["firewalls"] if fw is not drifted}
    assert firewall_state(box, drifted)["notification"]["Port"] == "25"  # verify changed nothing

    run = play("setup.yml", "--limit", drifted["name"])
    assert run.rc == 0, run
    assert firewall_state(box, drifted)["notification"]["Port"] == "587"


@pytest.mark.smoke
def test_rotate_keeps_the_old_secret_while_a_firewall_fails_then_completes(fleet, play):
    box = fleet["box"]
    firewalls = box.services["sfos"]["firewalls"]
    old_secret, dummy = stored_credentials(fleet)
    old_key = our_app(tenant(box))["passwordCredentials"][0]["keyId"]
    broken = firewalls[1]
    broken_url = "https://%s:%d" % (broken["host"], broken["port"])
    box.control(broken_url, "config", method="POST", body={"fault": "down"})

    run = play("rotate.yml")
    assert run.rc != 0, run
    assert run.failed_hosts() == [broken["name"]]
    assert "are not recorded on the current secret" in run.stdout, run
    assert "mailoauth.sophos.push --limit %s" % broken["name"] in run.stdout, run
    keys = [c["keyId"] for c in our_app(tenant(box))["passwordCredentials"]]
    assert old_key in keys and len(keys) == 2
    new_secret, new_refresh_token = stored_credentials(fleet)
    assert new_secret != old_secret
    for fw in firewalls:
        stored = firewall_state(box, fw)["notification"]
        assert stored["ClientSecret"] == (old_secret if fw is broken else new_secret), fw["name"]
    assert redeem_as_firewall(box, firewall_state(box, broken)["notification"])[0] == 200

    box.control(broken_url, "config", method="POST", body={"fault": None})
    run = play("rotate.yml", extra_vars={"mailoauth_rotate_new_secret": False})
    assert run.rc == 0, run
    credentials = our_app(tenant(box))["passwordCredentials"]
    assert [c["keyId"] for c in credentials] != [old_key] and len(credentials) == 1
    assert credentials[0]["hint"] == new_secret[:3]
    for fw in firewalls:
        stored = firewall_state(box, fw)["notification"]
        assert stored["ClientSecret"] == new_secret, fw["name"]
        assert redeem_as_firewall(box, stored)[0] == 200, fw["name"]
    assert stored_credentials(fleet)[0] == new_secret
    assert new_refresh_token  # the renewed token was kept too


def test_no_secret_appears_in_any_output(fleet, play):
    run = play("setup.yml", "-vvvv")
    assert run.rc == 0, run
    box = fleet["box"]
    ms = box.services["microsoft"]
    secret, refresh_token = stored_credentials(fleet)
    values = [secret, refresh_token, ms["automation_app"]["client_secret"], ms["mailbox"]["password"]]
    values += [fw["password"] for fw in box.services["sfos"]["firewalls"]]
    for value in values:
        assert value not in run.output
        assert value not in box.log_text()



def test_headless_first_setup_spans_two_runs(tmp_path_factory, run_playbook):
    """The AWX way: run 1 shows the sign-in URL and stops, run 2 takes the address the browser ended on."""
    box = Sandbox.start(str(tmp_path_factory.mktemp("headless-sandbox")), firewalls=2)
    try:
        inventory, password_file, dummy = write_inventory(box, str(tmp_path_factory.mktemp("headless-inventory")))
        fleet = {"inventory": inventory, "password_file": password_file}

        def setup(**extra):
            return run_playbook(os.path.join("playbooks", "setup.yml"), inventory=inventory,
                                extra_vars=dict(refresh_token_mode="authorization_response", **extra),
                                args=("--vault-password-file", password_file), env={"REQUESTS_CA_BUNDLE": ""})

        first = setup()
        assert first.rc != 0, first
        urls = re.findall(r"https://127\.0\.0\.1:\d+/\S+/oauth2/v2\.0/authorize\?[^\s\"']+", first.output)
        assert urls, first
        assert not any(firewall_state(box, fw)["notification"]["ClientID"] for fw in box.services["sfos"]["firewalls"])
        secret_file = os.path.join(inventory, "group_vars", "all", "mailoauth_credentials.yml")
        assert os.path.exists(secret_file)  # the new client secret survived the stop, vault-encrypted

        mailbox = box.services["microsoft"]["mailbox"]
        landed = browser.sign_in(urls[-1], mailbox["upn"], mailbox["password"], box.ca_file, follow=False)
        second = setup(refresh_token_authorization_response=landed)
        assert second.rc == 0, second
        app = our_app(tenant(box))
        assert len(app["passwordCredentials"]) == 1  # run 2 used the secret of run 1, it made no second one
        secret, refresh_token = stored_credentials(fleet)
        for fw in box.services["sfos"]["firewalls"]:
            stored = firewall_state(box, fw)["notification"]
            assert (stored["ClientID"], stored["ClientSecret"], stored["RefreshToken"]) == (
                app["appId"], secret, refresh_token)
            assert redeem_as_firewall(box, stored)[0] == 200
        assert landed.split("code=")[1].split("&")[0] not in second.output
    finally:
        box.stop()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
