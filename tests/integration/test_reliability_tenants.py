"""Tenant isolation, as a table: every playbook refuses, before changing anything, an inventory whose firewalls resolve
to different tenant or mailbox values (an MSP's customers in one inventory), naming the groups that differ and how to
run one tenant at a time; limited to one customer's group, the same inventory runs.

The tenant and every firewall are read from the emulators before and after: a refused run changes nothing.

Covered elsewhere: one tenant per inventory end to end (test_playbooks.py).
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


@pytest.mark.parametrize("playbook", ["setup.yml", "rotate.yml", "verify.yml"])
def test_two_tenants_in_one_run_are_refused_before_any_change(msp, playbook):
    before = snapshot(msp["box"])
    proc = play(msp, playbook)
    after = snapshot(msp["box"])
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-4000:]
    assert "belong to more than one tenant or mailbox" in output, output[-4000:]
    assert "mailoauth_tenant_id differs between group customer_a, group customer_b" in output
    assert "mailoauth_mailbox differs" in output
    assert "--limit customer_a, then --limit customer_b" in output
    refusal = [line for line in output.splitlines() if "belong to more than one tenant" in line]
    assert not any(OTHER_TENANT in line or "fabrikam" in line for line in refusal), "values are named, not shown"
    assert after == before, "a refused run changed the tenant or a firewall"


def test_one_customer_at_a_time_is_not_refused(msp):
    proc = play(msp, "verify.yml", "--limit", "customer_a")
    output = proc.stdout + proc.stderr
    assert "belong to more than one tenant" not in output
    assert "TASK [Read the application, its consent and its secrets' expiry]" in output, output[-4000:]
