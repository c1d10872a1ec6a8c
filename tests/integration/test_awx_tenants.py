"""One AWX setup job over three customers' tenants (one firewall each), with the mail credential for several tenants.

Jobs run as AWX runs them (ansible-runner on a private data directory, the credential injected through its credential
type, survey answers as launch-time extra vars, the write-back landing in the awx.awx stand-in's store):
- job 1 (survey empty) fails with one sign-in URL per tenant, each labelled with its tenant and mailbox, and no firewall
  changed; the credential already holds each tenant's new client secret;
- the browser signs in at each URL as the mailbox it names; job 2 gets the three addresses in one survey answer, in
  another order, and completes: each firewall holds its own tenant's values, which redeem only at its own tenant, and
  the credential holds the three tenants' entries;
- job 3 (survey empty, -vvvv) changes nothing and keeps every stored refresh token;
- tenant A's address pasted alone makes only A sign in anew (at -vvv);
- an address that belongs to no tenant stops the job before anything changes, named by its position;
- tenant B's tokens revoked: only B fails, with the reason and its own sign-in URL; the relaunch with B's address
  signs B in and B's firewall gets the new token;
- a rotate job gives every tenant a new client secret and refresh token, in the credential and on its firewall.
No job's events hold a secret of any tenant, mailbox, firewall or the credential store.
"""

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

from tests.integration.awx_job import run_job
from tests.integration.test_awx_jobs import assert_no_secret_in_events, changed, forms, stdout_of
from tests.integration.test_playbooks import firewall_state
from tests.sandbox import browser
from tests.sandbox.client import Sandbox

pytest.importorskip("ansible_runner")

CUSTOMERS = ("customer_a", "customer_b", "customer_c")
MAIL_CREDENTIAL = "mailoauth mail app"
MAIL_CREDENTIAL_TYPE = "Sophos notification OAuth 2.0, several tenants (mailoauth.sophos)"
APP_UNIQUE_NAME = "sophos-firewall-notifications"
SETUP_VARS = {  # the setup job template's extra vars, as extensions/awx/configure_awx.yml sets them
    "refresh_token_mode": "authorization_response",
    "mailoauth_awx_credential": MAIL_CREDENTIAL,
    "mailoauth_awx_organization": "Default",
}
SIGN_IN_URL = re.compile(r"https://127\.0\.0\.1:\d+/[^\s\"'\\]+/oauth2/v2\.0/authorize\?[^\s\"'\\]+")


class MspAwx:
    """One AWX for an MSP: three tenants, a firewall each (customer group = tenant), one mail credential for all."""

    def __init__(self, box, workdir):
        self.box = box
        self.workdir = workdir
        self.jobs = 0
        self.database = os.path.join(workdir, "awx-database.json")
        self.facts = os.path.join(workdir, "awx-host-facts")
        os.makedirs(self.facts)
        ms = box.services["microsoft"]
        firewalls = box.services["sfos"]["firewalls"]
        self.firewall = dict(zip(CUSTOMERS, firewalls))
        self.seen_values = set()
        # The automation identity of each customer's tenant is group data here (an MSP may keep it in a vault or a
        # credential per tenant); the mail credential is the one this test is about.
        groups = {}
        for index, customer in enumerate(CUSTOMERS):
            seed = box.tenants[index]
            groups[customer] = {"hosts": [self.firewall[customer]["name"]], "vars": {
                "mailoauth_tenant_name": customer, "mailoauth_tenant_id": seed["tenant"]["id"],
                "mailoauth_mailbox": seed["mailbox"]["upn"], "mailoauth_firewall_group": customer,
                "mailoauth_automation_client_id": seed["automation_app"]["client_id"],
                "mailoauth_automation_client_secret": seed["automation_app"]["client_secret"],
                "firewall_notification_recipients": ["soc@%s" % seed["tenant"]["domain"]]}}
        self.inventory = dict(groups, **{
            "all": {"children": ["firewalls"], "vars": {
                "mailoauth_authority_host": ms["login_url"], "mailoauth_graph_endpoint": ms["graph_url"],
                "mailoauth_exchange_endpoint": ms["exchange_url"], "mailoauth_smtp_host": box.services["smtp"]["host"],
                "mailoauth_smtp_port": box.services["smtp"]["port"], "mailoauth_ca_path": box.ca_file}},
            "firewalls": {"children": list(CUSTOMERS), "vars": {
                "ansible_connection": "local", "sfos_ca_path": box.ca_file}},
            "_meta": {"hostvars": {fw["name"]: {
                "sfos_host": fw["host"], "sfos_port": fw["port"], "sfos_username": fw["username"],
                "sfos_password": fw["password"], "ansible_python_interpreter": sys.executable}
                for fw in firewalls}},
        })

    def seed(self, customer):
        return self.box.tenants[CUSTOMERS.index(customer)]

    def stored(self):
        """The mail credential's field as the stand-in keeps it, loaded: {tenant label: {input: value}}."""
        if not os.path.exists(self.database):
            return {}
        with open(self.database, encoding="utf-8") as handle:
            entry = json.load(handle).get(MAIL_CREDENTIAL)
        if not entry:
            return {}
        assert entry["credential_type"] == MAIL_CREDENTIAL_TYPE
        tenants = yaml.safe_load(entry["inputs"].get("tenants") or "") or {}
        for values in tenants.values():
            self.seen_values.update(values[key] for key in ("client_secret", "refresh_token") if values.get(key))
        return tenants

    def run(self, launch_vars=None, verbosity=0, playbook="setup.yml", template_vars=None):
        self.jobs += 1
        private_data_dir = os.path.join(self.workdir, "job-%d" % self.jobs)
        self.stored()
        inputs = {}
        if os.path.exists(self.database):
            with open(self.database, encoding="utf-8") as handle:
                inputs = json.load(handle).get(MAIL_CREDENTIAL, {}).get("inputs", {})
        result = run_job(private_data_dir, playbook=playbook, database=self.database, facts=self.facts,
                         inventory=self.inventory, credentials=[(MAIL_CREDENTIAL_TYPE, inputs)],
                         template_vars=template_vars or SETUP_VARS, launch_vars=launch_vars, verbosity=verbosity)
        self.stored()
        return result, private_data_dir

    def notification(self, customer):
        return firewall_state(self.box, self.firewall[customer])["notification"]

    def app(self, customer):
        state = self.box.microsoft("state", tenant=CUSTOMERS.index(customer))
        apps = [app for app in state["applications"] if app["uniqueName"] == APP_UNIQUE_NAME]
        assert len(apps) == 1, [app["displayName"] for app in state["applications"]]
        return apps[0]

    def redeem(self, held, customer):
        """The firewall's stored values POSTed to a tenant's token endpoint, as SFOS does: the status code."""
        body = urllib.parse.urlencode({
            "grant_type": "refresh_token", "client_id": held["ClientID"], "client_secret": held["ClientSecret"],
            "refresh_token": held["RefreshToken"],
            "scope": "https://outlook.office365.com/.default offline_access"}).encode("ascii")
        url = "%s/%s/oauth2/v2.0/token" % (self.box.services["microsoft"]["login_url"],
                                           self.seed(customer)["tenant"]["id"])
        try:
            with urllib.request.urlopen(url, data=body, timeout=30,
                                        context=ssl.create_default_context(cafile=self.box.ca_file)) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def secrets(self):
        values = set(self.seen_values)
        for index, customer in enumerate(CUSTOMERS):
            seed = self.box.tenants[index]
            values.update([seed["automation_app"]["client_secret"], seed["mailbox"]["password"],
                           self.firewall[customer]["password"]])
            held = self.notification(customer)
            values.update(held[key] for key in ("ClientSecret", "RefreshToken") if held.get(key))
        return {value for value in values if value}


@pytest.fixture(scope="module")
def msp(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("awx-tenants-sandbox")), firewalls=len(CUSTOMERS),
                        options={"microsoft": {"tenants": len(CUSTOMERS)}})
    try:
        yield MspAwx(box, str(tmp_path_factory.mktemp("awx-tenants")))
    finally:
        box.stop()


@pytest.fixture(scope="module")
def sign_ins():
    """{customer: sign-in URL of the first job}, filled by the first test."""
    return {}


def login_hint(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["login_hint"][0].lower()


def sign_in(msp, url):
    """The browser signs in at the URL as the mailbox it names; returns the address it ends on."""
    customer = next(c for c in CUSTOMERS if msp.seed(c)["mailbox"]["upn"].lower() == login_hint(url))
    mailbox = msp.seed(customer)["mailbox"]
    return browser.sign_in(url, mailbox["upn"], mailbox["password"], msp.box.ca_file, follow=False)


def test_first_job_shows_one_labelled_sign_in_url_per_tenant_and_changes_no_firewall(msp, sign_ins):
    result, job = msp.run()
    assert result.status == "failed", stdout_of(job)
    output = stdout_of(job)
    for customer in CUSTOMERS:
        mailbox = msp.seed(customer)["mailbox"]["upn"]
        found = re.findall(r"Tenant %s: Sign in as\s+%s at (%s)" % (customer, re.escape(mailbox), SIGN_IN_URL.pattern),
                           output)
        assert len(set(found)) == 1, (customer, output[-3000:])
        assert login_hint(found[0]) == mailbox.lower()
        sign_ins[customer] = found[0]
        assert msp.notification(customer)["ClientID"] == "", customer
    stored = msp.stored()
    # Each tenant's new secret went into the credential before the stop; no refresh token yet.
    assert sorted(stored) == sorted(CUSTOMERS), sorted(stored)
    for customer in CUSTOMERS:
        app = msp.app(customer)
        assert stored[customer]["client_id"] == app["appId"]
        assert stored[customer]["client_secret"][:3] == app["passwordCredentials"][0]["hint"]
        assert "refresh_token" not in stored[customer], customer
    assert_no_secret_in_events(job, msp.secrets())


def test_second_job_with_every_address_completes_each_tenant_on_its_own_values(msp, sign_ins):
    landed = {customer: sign_in(msp, sign_ins[customer]) for customer in CUSTOMERS}
    # One answer, in another order than the tenants, separated the two ways a paste can arrive.
    answer = landed["customer_c"] + " " + landed["customer_a"] + landed["customer_b"]
    result, job = msp.run(launch_vars={"refresh_token_authorization_response": answer})
    assert result.status == "successful", stdout_of(job)[-5000:]
    stored = msp.stored()
    assert sorted(stored) == sorted(CUSTOMERS)
    for customer in CUSTOMERS:
        app = msp.app(customer)
        assert len(app["passwordCredentials"]) == 1, customer  # job 2 used job 1's secret
        held = msp.notification(customer)
        assert (held["ClientID"], held["ClientSecret"], held["RefreshToken"], held["Username"]) == (
            app["appId"], stored[customer]["client_secret"], stored[customer]["refresh_token"],
            msp.seed(customer)["mailbox"]["upn"]), customer
        for other in CUSTOMERS:
            assert msp.redeem(held, other) == (200 if other == customer else 400), (customer, other)
    codes = {urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["code"][0] for url in landed.values()}
    assert_no_secret_in_events(job, msp.secrets() | codes | set(landed.values()))


def test_third_job_without_an_address_changes_nothing_and_keeps_the_tokens(msp):
    before = msp.stored()
    firewalls = {customer: msp.notification(customer) for customer in CUSTOMERS}
    result, job = msp.run(verbosity=4)
    assert result.status == "successful", stdout_of(job)[-5000:]
    assert changed(result) == 0, result.stats
    assert msp.stored() == before
    assert {customer: msp.notification(customer) for customer in CUSTOMERS} == firewalls
    assert not SIGN_IN_URL.search(stdout_of(job))
    assert_no_secret_in_events(job, msp.secrets())


def test_one_tenants_address_alone_signs_in_only_that_tenant(msp, sign_ins):
    before = msp.stored()
    landed = sign_in(msp, sign_ins["customer_a"])  # the first job's URL still makes a sign-in for this secret
    # At -vvv: the pasted address and its code pass through the filters, the role and the module, and show nowhere.
    result, job = msp.run(launch_vars={"refresh_token_authorization_response": landed}, verbosity=3)
    assert result.status == "successful", stdout_of(job)[-5000:]
    after = msp.stored()
    assert after["customer_a"]["refresh_token"] != before["customer_a"]["refresh_token"]
    assert after["customer_a"]["client_secret"] == before["customer_a"]["client_secret"]
    assert {c: after[c] for c in CUSTOMERS[1:]} == {c: before[c] for c in CUSTOMERS[1:]}
    held = msp.notification("customer_a")
    assert held["RefreshToken"] == after["customer_a"]["refresh_token"]  # the new sign-in's token, on its firewall
    assert [msp.redeem(held, other) for other in CUSTOMERS] == [200, 400, 400]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)["code"][0]
    assert_no_secret_in_events(job, msp.secrets() | {landed, code})


def test_an_address_of_no_tenant_stops_the_job_before_anything_changes_and_is_named_by_position(msp, sign_ins):
    before = msp.stored()
    firewalls = {customer: msp.notification(customer) for customer in CUSTOMERS}
    own = sign_in(msp, sign_ins["customer_b"])
    parts = urllib.parse.urlsplit(own)
    query = urllib.parse.parse_qs(parts.query)
    random_part, tag = query["state"][0].split(".")
    altered = own.replace(query["state"][0], random_part + "." + ("A" if tag[0] != "A" else "B") + tag[1:])
    result, job = msp.run(launch_vars={"refresh_token_authorization_response": own + "\n" + altered})
    assert result.status == "failed"
    output = stdout_of(job)
    assert "number 2 of the 2" in re.sub(r"\s+", " ", output), output[-3000:]
    assert "Nothing was changed" in output
    assert msp.stored() == before
    assert {customer: msp.notification(customer) for customer in CUSTOMERS} == firewalls
    assert_no_secret_in_events(job, msp.secrets() | {own, altered} | forms(query["code"][0]))


def test_a_revoked_tenant_alone_gets_a_new_sign_in_url_and_its_relaunch_signs_it_in(msp):
    """customer_b's mailbox tokens are revoked (AADSTS50173): the job fails that tenant alone with the reason and its
    own labelled sign-in URL, the others go on; the relaunch with b's address alone signs b in."""
    before = msp.stored()
    firewalls = {customer: msp.notification(customer) for customer in CUSTOMERS}
    mailbox = msp.seed("customer_b")["mailbox"]["upn"]
    msp.box.microsoft("users/%s/revoke" % mailbox, method="POST", tenant=CUSTOMERS.index("customer_b"))
    result, job = msp.run()
    assert result.status == "failed", stdout_of(job)[-5000:]
    assert sorted(result.stats["failures"]) == [msp.firewall["customer_b"]["name"]], result.stats
    output = re.sub(r"\s+", " ", stdout_of(job))
    found = re.findall(r"Tenant customer_b: The stored refresh token of %s no longer works and only a new sign-in "
                       r"can fix it - [^\n]*?AADSTS50173[^\n]*? Sign in as %s at (%s)"
                       % (re.escape(mailbox), re.escape(mailbox), SIGN_IN_URL.pattern), output)
    assert len(set(found)) == 1, output[-5000:]
    assert set(SIGN_IN_URL.findall(output)) == set(found)   # no URL for the other tenants
    assert login_hint(found[0]) == mailbox.lower()
    assert msp.stored() == before
    assert {customer: msp.notification(customer) for customer in CUSTOMERS} == firewalls
    assert_no_secret_in_events(job, msp.secrets())

    landed = sign_in(msp, found[0])
    result, job = msp.run(launch_vars={"refresh_token_authorization_response": landed})
    assert result.status == "successful", stdout_of(job)[-5000:]
    after = msp.stored()
    assert after["customer_b"]["refresh_token"] != before["customer_b"]["refresh_token"]
    assert {c: after[c] for c in ("customer_a", "customer_c")} == {c: before[c] for c in ("customer_a", "customer_c")}
    held = msp.notification("customer_b")
    assert held["RefreshToken"] == after["customer_b"]["refresh_token"]
    assert [msp.redeem(held, other) for other in CUSTOMERS] == [400, 200, 400]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)["code"][0]
    assert_no_secret_in_events(job, msp.secrets() | {landed, code})


def test_rotate_job_keeps_every_tenants_new_secret_and_token_and_each_firewall_gets_its_own(msp):
    before = msp.stored()
    result, job = msp.run(playbook="rotate.yml", template_vars={
        "mailoauth_awx_credential": MAIL_CREDENTIAL, "mailoauth_awx_organization": "Default"})
    assert result.status == "successful", stdout_of(job)[-5000:]
    after = msp.stored()
    assert sorted(after) == sorted(CUSTOMERS)
    for customer in CUSTOMERS:
        app = msp.app(customer)
        assert [credential["keyId"] for credential in app["passwordCredentials"]] == [
            after[customer]["client_secret_key_id"]], customer  # the old secret retired, the new one kept
        assert after[customer]["client_secret"] != before[customer]["client_secret"]
        assert after[customer]["refresh_token"] != before[customer]["refresh_token"]
        held = msp.notification(customer)
        assert (held["ClientSecret"], held["RefreshToken"]) == (
            after[customer]["client_secret"], after[customer]["refresh_token"]), customer
        assert [msp.redeem(held, other) for other in CUSTOMERS] == [
            200 if other == customer else 400 for other in CUSTOMERS], customer
    assert_no_secret_in_events(job, msp.secrets() | {before[c]["client_secret"] for c in CUSTOMERS})


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
