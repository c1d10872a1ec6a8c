"""An MSP's inventory in one run: three customers, each a group of three firewalls in its own Microsoft 365 tenant
(one emulator holding three tenants). customer_a has its own app in its tenant (MSP model 1); customer_b and customer_c
consent to one multitenant app that the MSP registered in customer_a's tenant (MSP model 2: one app, one client
secret, a service principal and admin consent in each customer tenant, each customer's own mailbox and refresh token).

After setup every firewall holds its own tenant's values, which redeem only at its own tenant and log in to SMTP as
its own tenant's mailbox (the SMTP emulator's login record); a second run changes nothing; a tenant whose refresh
tokens were revoked fails alone in a rotation while the other two rotate and retire; once that tenant has signed in
again, verify passes with one row per tenant and retire leaves every app with exactly the secret its firewalls hold.
A lead that fails in rotate's firewall play is named, with the command that finishes the job, by its tenant's next
firewall. remove.yml previews per tenant and refuses, alone, the tenants that consent to the multitenant app; it keeps
customer_a's app while its lead cannot be switched, then removes that app, consent and credentials file and nothing
of the other tenants' or the MSP app.

Firewalls of one tenant that disagree on a tenant variable are refused: test_reliability_tenants.py.
"""

import base64
import csv
import json
import os
import smtplib
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT, PlaybookRun
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_msp_inventory

CUSTOMERS = ("customer_a", "customer_b", "customer_c")
PER_CUSTOMER = 3
APP_UNIQUE_NAME = "sophos-firewall-notifications"
MSP_APP = "msp-firewall-notifications"
CONSENTING = ("customer_b", "customer_c")   # to MSP_APP, registered in customer_a's tenant


@pytest.fixture(scope="module")
def msp(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("msp-sandbox")), firewalls=len(CUSTOMERS) * PER_CUSTOMER,
                        options={"microsoft": {"tenants": len(CUSTOMERS)}})
    workdir = tmp_path_factory.mktemp("msp")
    firewalls = box.services["sfos"]["firewalls"]
    members = {customer: firewalls[i * PER_CUSTOMER:(i + 1) * PER_CUSTOMER] for i, customer in enumerate(CUSTOMERS)}
    inventory, password_file, browser = write_msp_inventory(
        box, str(workdir), {customer: (index, members[customer]) for index, customer in enumerate(CUSTOMERS)},
        multitenant_app=(0, MSP_APP, CONSENTING))
    yield {"box": box, "inventory": inventory, "password_file": password_file, "workdir": workdir,
           "browser": browser, "members": members}
    box.stop()


def play(msp, playbook, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(msp["workdir"] / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               BROWSER=msp["browser"], REQUESTS_CA_BUNDLE="", PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               **fact_cache_env(str(msp["workdir"])))
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        env.pop(name, None)
    args = [os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", playbook), "-i", msp["inventory"],
            "--vault-password-file", msp["password_file"]] + list(args)
    proc = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return PlaybookRun(args, proc)


def seed(msp, customer):
    return msp["box"].tenants[CUSTOMERS.index(customer)]


def our_app(msp, customer):
    """The app a customer's firewalls use: its own, or the MSP's multitenant app in customer_a's tenant."""
    name, home = (MSP_APP, 0) if customer in CONSENTING else (APP_UNIQUE_NAME, CUSTOMERS.index(customer))
    state = msp["box"].microsoft("state", tenant=home)
    apps = [app for app in state["applications"] if app["uniqueName"] == name]
    assert len(apps) == 1, [app["displayName"] for app in state["applications"]]
    return apps[0]


def assert_consented_to_the_msp_app(msp):
    """customer_b and customer_c hold no app of their own: the MSP app's service principal, with admin consent."""
    msp_app = our_app(msp, "customer_b")
    for customer in CONSENTING:
        state = msp["box"].microsoft("state", tenant=CUSTOMERS.index(customer))
        assert [app["uniqueName"] for app in state["applications"] if app["uniqueName"] in (
            APP_UNIQUE_NAME, MSP_APP)] == [], customer
        principals = [sp for sp in state["service_principals"] if sp["appId"] == msp_app["appId"]]
        assert len(principals) == 1, customer
        grants = [g for g in state["oauth2_permission_grants"] if g["clientId"] == principals[0]["id"]]
        assert [(g["consentType"], sorted(g["scope"].split())) for g in grants] == [
            ("AllPrincipals", ["SMTP.Send", "offline_access"])], customer


def notification(msp, fw):
    return msp["box"].control("https://%s:%d" % (fw["host"], fw["port"]), "state")["notification"]


def fleet(msp):
    return {fw["name"]: notification(msp, fw) for fws in msp["members"].values() for fw in fws}


def redeem(msp, held, customer):
    """POST a firewall's stored client ID, secret and refresh token to a tenant's token endpoint, as SFOS does."""
    body = urllib.parse.urlencode({
        "grant_type": "refresh_token", "client_id": held["ClientID"], "client_secret": held["ClientSecret"],
        "refresh_token": held["RefreshToken"],
        "scope": "https://outlook.office365.com/.default offline_access"}).encode("ascii")
    url = "%s/%s/oauth2/v2.0/token" % (msp["box"].services["microsoft"]["login_url"], seed(msp, customer)["tenant"]["id"])
    context = ssl.create_default_context(cafile=msp["box"].ca_file)
    try:
        with urllib.request.urlopen(url, data=body, context=context, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def xoauth2_login(msp, user, access_token):
    smtp = msp["box"].services["smtp"]
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=30) as client:
        client.starttls(context=ssl.create_default_context(cafile=msp["box"].ca_file))
        client.ehlo()
        blob = base64.b64encode(("user=%s\x01auth=Bearer %s\x01\x01" % (user, access_token)).encode()).decode()
        return client.docmd("AUTH", "XOAUTH2 " + blob)[0]


def assert_each_firewall_sends_only_as_its_own_tenant(msp):
    box = msp["box"]
    for customer, fws in msp["members"].items():
        own = seed(msp, customer)
        app = our_app(msp, customer)
        for fw in fws:
            held = notification(msp, fw)
            assert (held["ClientID"], held["Username"]) == (app["appId"], own["mailbox"]["upn"]), fw["name"]
            before = len(box.smtp_logins())
            status, token = redeem(msp, held, customer)
            assert status == 200, (fw["name"], token)
            assert xoauth2_login(msp, own["mailbox"]["upn"], token["access_token"]) == 235, fw["name"]
            logins = box.smtp_logins()[before:]
            assert [(entry["mailbox"].lower(), entry["tenant"]) for entry in logins] == [
                (own["mailbox"]["upn"].lower(), own["tenant"]["id"])], fw["name"]
            for other in CUSTOMERS:
                if other != customer:
                    status, body = redeem(msp, held, other)
                    assert status == 400, (fw["name"], other, body)   # another tenant's authority refuses it


def test_a_preview_on_empty_tenants_changes_nothing(msp):
    def directory():
        states = [msp["box"].microsoft("state", tenant=index) for index in range(len(CUSTOMERS))]
        return [(sorted(app["appId"] for app in state["applications"]),
                 sorted(sp["id"] for sp in state["service_principals"]),
                 sorted(g["id"] for g in state["oauth2_permission_grants"])) for state in states]

    before = (fleet(msp), directory())
    run = play(msp, "setup.yml", "--check", "--diff")
    assert run.rc == 0, run
    assert run.changed() > 0, run
    text = " ".join(run.stdout.split())
    assert text.count("Check mode: the multitenant app is still to be created") == len(CONSENTING), run
    assert (fleet(msp), directory()) == before


def test_setup_runs_each_tenant_once_and_gives_each_firewall_its_own_tenants_values(msp):
    run = play(msp, "setup.yml")
    assert run.rc == 0, run
    assert sorted(run.recap) == sorted(fw["name"] for fws in msp["members"].values() for fw in fws)
    for customer, fws in msp["members"].items():   # each tenant's steps ran once, on its first firewall
        assert "Tenant %s: the tenant steps run here for its 3 firewall(s)" % seed(msp, customer)["tenant"]["id"] in (
            " ".join(run.stdout.split())), run
        assert len(our_app(msp, customer)["passwordCredentials"]) == 1
    assert len({our_app(msp, customer)["appId"] for customer in CUSTOMERS}) == 2
    assert_consented_to_the_msp_app(msp)
    assert_each_firewall_sends_only_as_its_own_tenant(msp)
    # One app, one secret: customer_b's and customer_c's firewalls hold the same client ID and secret, and each
    # its own tenant's refresh token.
    b, c = (notification(msp, msp["members"][customer][0]) for customer in CONSENTING)
    assert (b["ClientID"], b["ClientSecret"]) == (c["ClientID"], c["ClientSecret"])
    assert b["RefreshToken"] != c["RefreshToken"]


def test_second_setup_changes_nothing_and_check_mode_predicts_no_change(msp):
    before = fleet(msp)
    run = play(msp, "setup.yml")
    assert run.rc == 0, run
    assert run.changed() == 0, run
    run = play(msp, "setup.yml", "--check", "--diff")
    assert run.rc == 0, run
    assert run.changed() == 0, run
    # push takes the stored values (a multitenant app's from its own credentials file) and finds every firewall
    # recorded on them.
    run = play(msp, "push.yml")
    assert run.rc == 0, run
    assert run.changed() == 0, run
    assert fleet(msp) == before
    assert all(len(our_app(msp, customer)["passwordCredentials"]) == 1 for customer in CUSTOMERS)


def test_a_revoked_tenant_fails_alone_while_the_others_rotate_and_retire(msp):
    box = msp["box"]
    revoked = "customer_c"
    box.microsoft("users/%s/revoke" % seed(msp, revoked)["mailbox"]["upn"], method="POST",
                  tenant=CUSTOMERS.index(revoked))
    before = fleet(msp)
    old_keys = {customer: [c["keyId"] for c in our_app(msp, customer)["passwordCredentials"]] for customer in CUSTOMERS}

    run = play(msp, "rotate.yml")
    assert run.rc != 0, run
    assert run.failed_hosts() == sorted(fw["name"] for fw in msp["members"][revoked]), run
    text = " ".join(run.stdout.split())
    for fw in msp["members"][revoked][1:]:   # the lead failed on the revoked token; the others name the tenant
        assert "The tenant steps of the tenant %s failed" % seed(msp, revoked)["tenant"]["id"] in text, run
    for fw in msp["members"][revoked]:
        assert notification(msp, fw) == before[fw["name"]], fw["name"]   # untouched
    keys = [c["keyId"] for c in our_app(msp, "customer_a")["passwordCredentials"]]
    assert len(keys) == 1 and keys != old_keys["customer_a"]   # rotated, and the old one retired
    # The multitenant app got one new secret, which customer_b's firewalls now hold; its old secret, which the revoked
    # customer_c's firewalls still hold, is kept, and the run says how to finish.
    keys = [c["keyId"] for c in our_app(msp, "customer_b")["passwordCredentials"]]
    assert len(keys) == 2 and set(old_keys["customer_b"]) < set(keys), keys
    assert "Kept the old secret(s) %s: 3 of 6 firewall(s)" % old_keys["customer_b"][0] in text, run
    assert "push --limit %s" % ",".join(fw["name"] for fw in msp["members"][revoked]) in text, run
    for customer in ("customer_a", "customer_b"):
        for fw in msp["members"][customer]:
            assert notification(msp, fw)["ClientSecret"] != before[fw["name"]]["ClientSecret"], fw["name"]


def test_after_a_new_sign_in_verify_reports_per_tenant_and_retire_strands_nobody(msp, tmp_path):
    revoked = "customer_c"
    run = play(msp, "setup.yml", "--limit", revoked, "-e", "refresh_token_mode=loopback")
    assert run.rc == 0, run

    run = play(msp, "retire.yml")
    assert run.rc == 0, run
    for customer in CUSTOMERS:   # exactly the secret its firewalls hold is left in each app
        keys = [c["keyId"] for c in our_app(msp, customer)["passwordCredentials"]]
        assert len(keys) == 1, (customer, keys)
    assert_each_firewall_sends_only_as_its_own_tenant(msp)

    run = play(msp, "verify.yml", "-e", "mailoauth_report_dir=%s" % tmp_path)
    assert run.rc == 0, run
    report = json.loads((tmp_path / "verify.json").read_text())
    assert "tenant" not in report   # one tenant's checks only appear there in a one-tenant run
    assert [(row["tenant"], row["firewalls"], row["client_secret"], row["refresh_token"], row["smtp_xoauth2"])
            for row in report["tenants"]] == [(seed(msp, c)["tenant"]["id"], 3, "ok", "ok", "ok") for c in CUSTOMERS]
    for row in report["tenants"]:
        customer = CUSTOMERS[[seed(msp, c)["tenant"]["id"] for c in CUSTOMERS].index(row["tenant"])]
        credential = our_app(msp, customer)["passwordCredentials"][0]
        assert (row["secret_key_id"], row["secret_expires"]) == (credential["keyId"], credential["endDateTime"])
    with open(tmp_path / "verify.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["tenant"], row["firewall"], row["status"]) for row in rows] == [
        (seed(msp, customer)["tenant"]["id"], fw["name"], "ok")
        for customer, fws in msp["members"].items() for fw in fws]


def secret_keys(msp, customer):
    return [c["keyId"] for c in our_app(msp, customer)["passwordCredentials"]]


def fault(msp, fw, kind):
    msp["box"].control("https://%s:%d" % (fw["host"], fw["port"]), "config", method="POST", body={"fault": kind})


def test_a_lead_that_fails_in_the_firewall_play_is_named_by_another_firewall_of_its_tenant(msp):
    """rotate with customer_a's lead refusing on its SFOS API: the tenant's retire runs on its next firewall, keeps
    the old secret (the lead still holds it) and prints the command that finishes the job."""
    customer = "customer_a"
    lead, *others = msp["members"][customer]
    before = fleet(msp)
    old_keys = secret_keys(msp, customer)
    fault(msp, lead, "down")
    try:
        run = play(msp, "rotate.yml", "--limit", customer)
    finally:
        fault(msp, lead, None)
    assert run.rc != 0, run
    assert run.failed_hosts() == [lead["name"]], run
    text = " ".join(run.stdout.split())
    tenant_id = seed(msp, customer)["tenant"]["id"]
    assert "Tenant %s: its lead %s failed in this run, so this firewall finishes" % (tenant_id, lead["name"]) in text
    assert "1 of 3 firewall(s) of the group %s are not recorded on the current secret" % customer in text, run
    assert ("Finish with: ansible-playbook -i %s mailoauth.sophos.push --limit %s && ansible-playbook -i %s "
            "mailoauth.sophos.retire" % (msp["inventory"], lead["name"], msp["inventory"])) in text, run
    keys = secret_keys(msp, customer)
    assert set(old_keys) < set(keys) and len(keys) == 2   # the old secret kept beside the new one
    assert notification(msp, lead) == before[lead["name"]]
    for fw in others:
        assert notification(msp, fw)["ClientSecret"] != before[fw["name"]]["ClientSecret"], fw["name"]


RELAY = ("-e", "mailoauth_remove_mail_server=relay.msp.example", "-e", "mailoauth_remove_mail_port=2525")


def tenant_objects(msp, customer):
    """What a customer's own tenant holds for its firewalls' app: the app (none for a consenting customer), the app's
    service principal and its grants, as the emulator holds them."""
    state = msp["box"].microsoft("state", tenant=CUSTOMERS.index(customer))
    name, home = (MSP_APP, msp["box"].microsoft("state", tenant=0)) if customer in CONSENTING else (
        APP_UNIQUE_NAME, state)
    app_ids = {app["appId"] for app in home["applications"] if app["uniqueName"] == name}
    apps = [app for app in state["applications"] if app["appId"] in app_ids]
    sps = [sp for sp in state["service_principals"] if sp["appId"] in app_ids]
    sp_ids = {sp["id"] for sp in sps}
    grants = [grant for grant in state["oauth2_permission_grants"] if grant["clientId"] in sp_ids]
    return {"apps": apps, "service_principals": sps, "grants": grants}


def msp_app(msp):
    """The MSP's multitenant app in its home tenant (customer_a's), with the service principals there."""
    state = msp["box"].microsoft("state", tenant=0)
    apps = [app for app in state["applications"] if app["uniqueName"] == MSP_APP]
    return apps, [sp for sp in state["service_principals"] if sp["appId"] in {app["appId"] for app in apps}]


def credentials_file(msp, customer):
    return os.path.join(msp["inventory"], "group_vars", customer, "mailoauth_credentials.yml")


def assert_untouched(msp, customer, before, objects):
    assert tenant_objects(msp, customer) == objects[customer], customer
    assert os.path.exists(credentials_file(msp, customer)), customer
    for fw in msp["members"][customer]:
        assert notification(msp, fw) == before[fw["name"]], fw["name"]


def assert_switched(msp, fw):
    held = notification(msp, fw)
    assert (held["MailServer"], held["Port"]) == ("relay.msp.example", "2525"), fw["name"]
    assert [held[tag] for tag in ("Oauth2Provider", "ClientID", "ClientSecret", "RefreshToken")] == [""] * 4


def test_remove_per_tenant_touches_only_its_tenant_and_a_failing_lead_keeps_the_app(msp):
    """remove.yml over the three customers: customer_a's app (model 1) is previewed, then kept while its lead cannot be
    switched, then removed, each time without touching customer_b's and customer_c's consent to the MSP app, their
    firewalls or the MSP app itself; those two tenants (model 2) are refused, alone, before anything changes."""
    customer = "customer_a"
    lead, *others = msp["members"][customer]
    before = fleet(msp)
    objects = {name: tenant_objects(msp, name) for name in CUSTOMERS}
    app_before = msp_app(msp)
    assert all(len(objects[name]["grants"]) == 1 for name in CUSTOMERS), objects

    run = play(msp, "remove.yml", "--check", *RELAY)
    assert run.rc != 0, run
    assert run.failed_hosts() == sorted(fw["name"] for name in CONSENTING for fw in msp["members"][name]), run
    text = " ".join(run.stdout.split())
    for name in CONSENTING:
        assert "The tenant %s consents to the multitenant app %s" % (seed(msp, name)["tenant"]["id"], MSP_APP) in text
    # the preview of customer_a: its lead's firewall, consent, app and credentials file, and each other firewall
    assert [run.recap[fw["name"]]["changed"] for fw in msp["members"][customer]] == [4, 1, 1], run
    assert fleet(msp) == before and msp_app(msp) == app_before
    for name in CUSTOMERS:
        assert_untouched(msp, name, before, objects)

    fault(msp, lead, "down")
    try:
        run = play(msp, "remove.yml", "--limit", customer, *RELAY)
    finally:
        fault(msp, lead, None)
    assert run.rc != 0, run
    assert run.failed_hosts() == [lead["name"], others[0]["name"]], run   # the lead, and its tenant's finisher
    text = " ".join(run.stdout.split())
    assert "Tenant %s: its lead %s failed in this run" % (seed(msp, customer)["tenant"]["id"], lead["name"]) in text
    assert "%s could not be switched away from OAuth 2.0 and still uses the app %s, so it was kept" % (
        lead["name"], objects[customer]["apps"][0]["appId"]) in text, run
    assert tenant_objects(msp, customer) == objects[customer]
    assert notification(msp, lead) == before[lead["name"]]
    for fw in others:
        assert_switched(msp, fw)

    run = play(msp, "remove.yml", "--limit", customer, *RELAY)
    assert run.rc == 0, run
    assert tenant_objects(msp, customer) == {"apps": [], "service_principals": [], "grants": []}
    assert not os.path.exists(credentials_file(msp, customer))
    for fw in msp["members"][customer]:
        assert_switched(msp, fw)
    for name in CONSENTING:
        assert_untouched(msp, name, before, objects)
    assert msp_app(msp) == app_before   # the MSP app lives in customer_a's tenant too, and stays
