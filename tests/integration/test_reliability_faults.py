"""Faults, as a table of sequences: setup.yml runs against a sandbox that misbehaves, then again against a healthy one.

Every sequence must either converge through the faults or fail cleanly (the failing step named, no secret shown),
and the clean re-run must finish the job. After any sequence the tenant holds exactly one app registration, one
client secret, one service principal and one consent grant, and every firewall holds the credentials setup.yml kept.

Covered elsewhere, so not repeated here: single-module retries of Graph 429/replication 404
(test_entra_role.py::test_role_converges_through_throttling_and_replication_delay_without_duplicates), Exchange 429
(test_smtp_auth.py::test_throttled_admin_api_is_retried), one firewall down during rotation
(test_playbooks.py::test_rotate_keeps_the_old_secret_while_a_firewall_fails_then_completes), firewall fault messages
one at a time (test_firewall_notification.py::test_bad_input[firewall-too-slow|html-error-page|http-500]).

The cases spend most of their time waiting out Retry-After and the clients' back-offs, so they run side by side: one
sandbox holds a tenant and five firewalls for each case, every case runs in a thread of its own as soon as the first
test of the file asks for them, and each test reports its own case's outcome (its assertion, with the case's id).
"""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import playbook_env, playbook_runner
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import write_inventory

from tests.integration.test_playbooks import redeem_as_firewall, stored_credentials

FIREWALLS = 5
# The sandbox's firewalls alternate two firmware lines and four styles of admin password (XML-special, non-ASCII):
# every case takes FIREWALLS of a block of 8, so every case's fw01..fw05 are the same kinds of firewall.
BLOCK = 8
APP_UNIQUE_NAME = "sophos-firewall-notifications"

# (id, Microsoft emulator faults for the first run, firewall faults for the first run {index: config},
#  firewalls that fail in the first run (None: the tenant steps fail, so no firewall is reached), words the first
#  run's output must hold)
TENANT_STEP_FAILS = None
SEQUENCE_ARGS = ("ms_faults", "fw_faults", "failing", "words")
SEQUENCES = [
    pytest.param({"graph": {"429": 3, "retry_after": 1, "503": 1, "504": 1, "replication_delay_requests": 3}},
                 {}, [], [], id="graph-throttled-unavailable-and-replicating-converges"),
    pytest.param({}, {0: {"fault": "slow", "slow_seconds": 4}, 1: {"fault": "down"},
                      2: {"fault": "html", "fault_status": 502}, 3: {"fault": "http500"}},
                 ["fw01", "fw02", "fw03", "fw04"],
                 ["did not answer within 2 s", "Could not reach firewall", "answered HTTP 502 instead of an XML API reply",
                  "answered HTTP 500"],
                 id="firewalls-slow-dropping-html-and-500-fail-alone"),
    pytest.param({"token": {"500": 1}}, {}, TENANT_STEP_FAILS,
                 ["the sign-in service answered HTTP Error: 500", "run again in a few minutes"],
                 id="token-endpoint-5xx-fails-cleanly-before-any-change"),
    pytest.param({"graph": {"503": 12, "retry_after": 1}}, {}, TENANT_STEP_FAILS, ["503", "6 tries"],
                 id="graph-down-fails-cleanly-after-bounded-retries"),
]
SECRET_KEPT = "failure-after-the-secret-was-created-does-not-lose-it"


class CaseSandbox:
    """One case's share of the file's sandbox, shaped like a sandbox of its own: its tenant is the Microsoft
    emulator's default one (control calls on the login URL go to that tenant) and its firewalls are fw01..fw05."""

    def __init__(self, box, slot):
        self.box = box
        self.ca_file = box.ca_file
        self.tenant_id = box.tenants[slot]["tenant"]["id"]
        firewalls = box.services["sfos"]["firewalls"][slot * BLOCK:slot * BLOCK + FIREWALLS]
        self.services = dict(box.services, microsoft=dict(box.services["microsoft"], **box.tenants[slot]),
                             sfos=dict(box.services["sfos"], firewalls=[
                                 dict(fw, name="fw%02d" % number) for number, fw in enumerate(firewalls, 1)]))

    def control(self, base_url, path, method="GET", body=None):
        if base_url == self.services["microsoft"]["login_url"]:
            path = "tenants/%s/%s" % (self.tenant_id, path.lstrip("/"))
        return self.box.control(base_url, path, method, body)

    def log_text(self):
        return self.box.log_text()


class Cases:
    """The file's cases, each started in a thread of its own; ``outcome(case)`` waits for one and raises what it
    raised."""

    def __init__(self, box, tmp_path_factory, cases):
        self.pool = ThreadPoolExecutor(max_workers=len(cases), thread_name_prefix="fault-case")
        self.futures = {name: self.pool.submit(self.run, box, tmp_path_factory.mktemp(name), slot, check)
                        for slot, (name, check) in enumerate(cases.items())}

    @staticmethod
    def run(box, workdir, slot, check):
        case = fresh(CaseSandbox(box, slot), workdir)
        check(playbook_runner(playbook_env(box.ca_file, workdir), workdir), case)

    def outcome(self, name):
        self.futures[name].result()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def cases(request, tmp_path_factory):
    """Every case of this file that the session selected, started at once against one sandbox."""
    checks = {param.id: functools.partial(fault_sequence_then_clean_rerun, **dict(zip(SEQUENCE_ARGS, param.values)))
              for param in SEQUENCES}
    checks[SECRET_KEPT] = failure_after_the_secret_was_created_does_not_lose_it
    selected = {item.callspec.id if hasattr(item, "callspec") else SECRET_KEPT
                for item in request.session.items if item.module is request.module}
    checks = {name: check for name, check in checks.items() if name in selected}
    box = Sandbox.start(str(tmp_path_factory.mktemp("faults-sandbox")), firewalls=BLOCK * len(checks),
                        options={"microsoft": {"tenants": len(checks)}})
    running = Cases(box, tmp_path_factory, checks)
    yield running
    running.close()
    box.stop()


def fresh(box, workdir):
    """A seed tenant, factory-fresh firewalls and a new inventory (no credentials file yet) for a case."""
    ms = box.services["microsoft"]
    box.control(ms["login_url"], "reset", "POST")
    for fw in box.services["sfos"]["firewalls"]:
        box.control(firewall_url(fw), "reset", "POST")
    inventory, password_file, browser = write_inventory(box, str(workdir))
    # A 2-second API timeout makes the `slow` firewall (answers after 4 s) a timeout, as a congested WAN link would.
    os.makedirs(os.path.join(inventory, "host_vars", "fw01"), exist_ok=True)
    with open(os.path.join(inventory, "host_vars", "fw01", "timeout.yml"), "w", encoding="utf-8") as handle:
        handle.write("sfos_timeout: 2\n")
    return {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser}


def firewall_url(fw):
    return "https://%s:%d" % (fw["host"], fw["port"])


def setup(run_playbook, fresh):
    return run_playbook(os.path.join("playbooks", "setup.yml"), inventory=fresh["inventory"],
                        args=("--vault-password-file", fresh["password_file"], "--forks", "5"),
                        env={"BROWSER": fresh["browser"], "REQUESTS_CA_BUNDLE": ""})


def tenant_objects(box):
    state = box.control(box.services["microsoft"]["login_url"], "state")
    apps = [app for app in state["applications"] if app["uniqueName"] == APP_UNIQUE_NAME]
    app_ids = {app["appId"] for app in apps}
    sps = [sp for sp in state["service_principals"] if sp["appId"] in app_ids]
    sp_ids = {sp["id"] for sp in sps}
    grants = [grant for grant in state["oauth2_permission_grants"] if grant["clientId"] in sp_ids]
    secrets = [cred for app in apps for cred in app["passwordCredentials"]]
    return {"apps": apps, "service_principals": sps, "grants": grants, "secrets": secrets}


def secret_values(box):
    ms = box.services["microsoft"]
    return [ms["automation_app"]["client_secret"], ms["mailbox"]["password"]] + [
        fw["password"] for fw in box.services["sfos"]["firewalls"]]


@pytest.mark.parametrize("case", [param.id for param in SEQUENCES])
def test_fault_sequence_then_clean_rerun(cases, case):
    cases.outcome(case)


def test_failure_after_the_secret_was_created_does_not_lose_it(cases):
    """A run that fails after step 4 made the secret must not lose its value (it is readable only at creation)."""
    cases.outcome(SECRET_KEPT)


def fault_sequence_then_clean_rerun(run_playbook, fresh, ms_faults, fw_faults, failing, words):
    box = fresh["box"]
    ms = box.services["microsoft"]
    firewalls = box.services["sfos"]["firewalls"]
    if ms_faults:
        box.control(ms["login_url"], "faults", "POST", ms_faults)
    for index, config in fw_faults.items():
        box.control(firewall_url(firewalls[index]), "config", "POST", config)

    first = setup(run_playbook, fresh)
    for word in words:
        assert word in first.stdout, first
    for value in secret_values(box):
        assert value not in first.output
    objects = tenant_objects(box)
    if failing is TENANT_STEP_FAILS:
        assert first.rc != 0, first
        # Nothing half-made: the run stopped before it created anything in the tenant or on a firewall.
        assert objects == {"apps": [], "service_principals": [], "grants": [], "secrets": []}, objects
        untouched = [fw["name"] for fw in firewalls]
    else:
        assert first.failed_hosts() == failing, first
        assert (first.rc == 0) == (not failing), first
        assert (len(objects["apps"]), len(objects["service_principals"]), len(objects["grants"]),
                len(objects["secrets"])) == (1, 1, 1, 1), objects
        untouched = failing
    for fw in firewalls:
        state = box.control(firewall_url(fw), "state")
        if fw["name"] in untouched:
            assert state["counters"]["sets"] == 0, fw["name"]
            assert state["notification"]["ClientID"] == "", fw["name"]

    box.control(ms["login_url"], "faults", "DELETE")
    for fw in firewalls:
        box.control(firewall_url(fw), "config", "POST", {"fault": None})
    second = setup(run_playbook, fresh)
    assert second.rc == 0, second
    assert sorted(second.recap) == ["fw%02d" % i for i in range(1, FIREWALLS + 1)]
    # Only what the first run left undone is changed now.
    assert {host for host in second.recap if second.changed(host)} >= set(untouched), second

    objects = tenant_objects(box)
    assert (len(objects["apps"]), len(objects["service_principals"]), len(objects["grants"]),
            len(objects["secrets"])) == (1, 1, 1, 1), objects
    secret, refresh_token = stored_credentials(fresh)
    assert secret[:3] == objects["secrets"][0]["hint"]
    for fw in firewalls:
        notification = box.control(firewall_url(fw), "state")["notification"]
        assert notification["ClientID"] == objects["apps"][0]["appId"], fw["name"]
        assert notification["ClientSecret"] == secret, fw["name"]
        # A firewall set up by the first run keeps that run's refresh token (on_create); it must still redeem.
        assert redeem_as_firewall(box, notification)[0] == 200, fw["name"]
    for value in secret_values(box) + [secret, refresh_token]:
        assert value not in second.output
        assert value not in box.log_text()


def failure_after_the_secret_was_created_does_not_lose_it(run_playbook, fresh):
    box = fresh["box"]
    ms = box.services["microsoft"]
    # Exchange throttles beyond the retry budget: step 3 fails after steps 1, 2 and 4 created the app and secret.
    box.control(ms["login_url"], "faults", "POST", {"exchange": {"429": 20, "retry_after": 1}})
    first = setup(run_playbook, fresh)
    assert first.rc != 0 and "after 6 tries" in first.stdout, first
    assert len(tenant_objects(box)["secrets"]) == 1
    box.control(ms["login_url"], "faults", "DELETE")

    second = setup(run_playbook, fresh)
    assert second.rc == 0, second
    objects = tenant_objects(box)
    assert len(objects["secrets"]) == 1, objects  # no second secret: the first one's value was kept
    secret, dummy = stored_credentials(fresh)
    assert secret[:3] == objects["secrets"][0]["hint"]
    for fw in box.services["sfos"]["firewalls"]:
        assert box.control(firewall_url(fw), "state")["notification"]["ClientSecret"] == secret, fw["name"]
