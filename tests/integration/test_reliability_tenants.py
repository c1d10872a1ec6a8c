"""Tenant isolation, as a table: firewalls of different tenants (an MSP's customers in one inventory) each run their
own tenant's steps, and a tenant that fails stops only its own firewalls; firewalls of ONE tenant that disagree on a
tenant variable (here the mailbox) are refused by every playbook before anything changes, naming the variable and the
groups, never the values; limited to one customer's group, the same inventory runs.

The tenant and every firewall are read from the emulators before and after: a refused run changes nothing.

Covered elsewhere: one tenant per inventory end to end (test_playbooks.py), three tenants end to end
(test_many_tenants.py).
"""

import os
import subprocess
import sys

import pytest

from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import write_inventory

OTHER_TENANT = "0badc0de-2222-4222-8222-222222222222"


def firewall_url(fw):
    return "https://%s:%d" % (fw["host"], fw["port"])


@pytest.fixture(scope="module")
def msp(tmp_path_factory):
    """A sandbox and an inventory of two customers: customer_a (fw01, fw02), customer_b (fw03) in another tenant."""
    box = Sandbox.start(str(tmp_path_factory.mktemp("tenants-sandbox")), firewalls=3)
    workdir = tmp_path_factory.mktemp("tenants")
    inventory, password_file, browser = write_inventory(box, str(workdir))
    firewalls = box.services["sfos"]["firewalls"]
    lines = ["firewalls:", "  children:"]
    for group, members in (("customer_a", firewalls[:2]), ("customer_b", firewalls[2:])):
        lines += ["    %s:" % group, "      hosts:"]
        for fw in members:
            lines.append("        %s: {sfos_host: %s, sfos_port: %d}" % (fw["name"], fw["host"], fw["port"]))
    with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.makedirs(os.path.join(inventory, "group_vars", "customer_b"))
    with open(os.path.join(inventory, "group_vars", "customer_b", "tenant.yml"), "w", encoding="utf-8") as handle:
        handle.write("mailoauth_tenant_id: %s\nmailoauth_mailbox: alerts@fabrikam.example\n" % OTHER_TENANT)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser, "workdir": workdir}
    box.stop()


def snapshot(box):
    tenant = box.control(box.services["microsoft"]["login_url"], "state")
    fleet = {}
    for fw in box.services["sfos"]["firewalls"]:
        state = box.control(firewall_url(fw), "state")
        fleet[fw["name"]] = {"notification": state["notification"], "sets": state["counters"]["sets"]}
    return {"tenant": {key: tenant[key] for key in ("applications", "service_principals", "oauth2_permission_grants",
                                                     "mailboxes")}, "fleet": fleet}


def play(msp, playbook, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(msp["workdir"] / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               BROWSER=msp["browser"], REQUESTS_CA_BUNDLE="", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", playbook), "-i",
                           msp["inventory"], "--vault-password-file", msp["password_file"]] + list(args),
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def make_customer_b_disagree(msp):
    """fw03 moves to customer_a's tenant but names another mailbox: one tenant, two mailboxes."""
    path = os.path.join(msp["inventory"], "host_vars", "fw03", "tenant.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("mailoauth_tenant_id: %s\nmailoauth_mailbox: alerts@fabrikam.example\n"
                     % msp["box"].services["microsoft"]["tenant"]["id"])
    return path


def test_two_tenants_in_one_run_each_run_their_own_steps(msp):
    """customer_b names a tenant the emulator does not hold: it fails alone, customer_a's firewalls are set up."""
    proc = play(msp, "setup.yml")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-4000:]
    assert "belong to more than one tenant" not in output
    assert "Tenant %s: the tenant steps run here" % OTHER_TENANT in " ".join(output.split())
    state = snapshot(msp["box"])["fleet"]
    assert state["fw01"]["sets"] > 0 and state["fw02"]["sets"] > 0, output[-4000:]
    assert state["fw03"]["sets"] == 0, "the failed tenant's firewall was written"


@pytest.mark.parametrize("playbook", ["setup.yml", "rotate.yml", "verify.yml", "remove.yml"])
def test_firewalls_of_one_tenant_that_disagree_are_refused_before_any_change(msp, playbook):
    path = make_customer_b_disagree(msp)
    try:
        before = snapshot(msp["box"])
        proc = play(msp, playbook)
        after = snapshot(msp["box"])
    finally:
        os.remove(path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-4000:]
    text = " ".join(output.split())
    assert "The firewalls of the tenant %s disagree: mailoauth_mailbox differs between group customer_a, group " \
           "customer_b" % msp["box"].services["microsoft"]["tenant"]["id"] in text, output[-4000:]
    assert "nothing was changed" in text
    refusal = [line for line in output.splitlines() if "disagree" in line]
    assert not any("fabrikam" in line for line in refusal), "values are named, not shown"
    assert after == before, "a refused run changed the tenant or a firewall"


def test_one_customer_at_a_time_still_runs(msp):
    proc = play(msp, "verify.yml", "--limit", "customer_a")
    output = proc.stdout + proc.stderr
    assert "The firewalls of the tenant" not in output
    assert "TASK [Read the application, its consent and its secrets' expiry]" in output, output[-4000:]


@pytest.mark.parametrize("host_vars, refusal", [
    ({}, "has nowhere to keep its client secret: set mailoauth_app_credentials_file and mailoauth_vault_password_file"),
    ({"mailoauth_tenant_id": "", "mailoauth_tenant_name": "fabrikam", "mailoauth_app_credentials_file": "/x.yml"},
     "The tenant(s) fabrikam name a multitenant app (mailoauth_app_tenant_id) but not their own tenant"),
], ids=["no home for the app's secret", "no tenant id of its own"])
def test_a_multitenant_app_without_what_it_needs_is_refused_before_any_change(msp, host_vars, refusal):
    """customer_b consents to a multitenant app registered in customer_a's tenant (MSP model 2)."""
    path = os.path.join(msp["inventory"], "host_vars", "fw03", "tenant.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("mailoauth_app_tenant_id: %s\nmailoauth_app_unique_name: msp-app\n"
                     % msp["box"].services["microsoft"]["tenant"]["id"])
        handle.write("".join("%s: %s\n" % (name, value or '""') for name, value in host_vars.items()))
    try:
        before = snapshot(msp["box"])
        proc = play(msp, "setup.yml")
        after = snapshot(msp["box"])
    finally:
        os.remove(path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-4000:]
    assert refusal in " ".join(output.split()), output[-4000:]
    assert after == before, "a refused run changed the tenant or a firewall"
