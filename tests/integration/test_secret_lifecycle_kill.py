"""A run killed at any task converges on the next run, with no manual flag.

setup.yml, then rotate.yml, each in a loop: run k is SIGKILLed when the k-th "TASK [" line appears on its output,
and run k+1 starts from the state run k left (the tenant, the firewalls, the credentials file, the fact cache), until
a run completes. Then retire.yml. In the end: one app, one service principal, one consent grant, every firewall's
stored credentials redeem at the token endpoint, and once retired no secret is left but the one the firewalls use.
Two firewalls keep the loop cheap.
"""

import os
import signal
import subprocess

import pytest

from tests.integration.conftest import BIN, REPO_ROOT
from tests.integration.test_playbooks import APP_UNIQUE_NAME, firewall_state, redeem_as_firewall, stored_credentials
from tests.integration.test_playbooks import tenant
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

FIREWALLS = 2


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("kill-sandbox")), firewalls=FIREWALLS)
    workdir = str(tmp_path_factory.mktemp("kill-inventory"))
    inventory, password_file, browser = write_inventory(box, workdir)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser, "workdir": workdir}
    box.stop()


def run_killed_at_task(fleet, env, playbook, k, log):
    """Run the playbook; SIGKILL it (and its workers) when the k-th task starts. None if killed, else the rc."""
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", playbook), "-i", fleet["inventory"],
           "--vault-password-file", fleet["password_file"]]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    tasks = 0
    try:
        for line in proc.stdout:
            log.append(line)
            if line.startswith("TASK ["):
                tasks += 1
                if tasks == k:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=60)
                    return None
        return proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        proc.stdout.close()


def converge_through_kills(fleet, env, playbook):
    """Kill at task 1, 2, 3, ... until a run completes; that run must succeed. Returns how many runs were killed."""
    k = 1
    while True:
        log = []
        rc = run_killed_at_task(fleet, env, playbook, k, log)
        if rc is None:
            k += 1
            assert k < 200, "%s never completed" % playbook
            continue
        assert rc == 0, "%s run %d (after %d killed runs) failed:\n%s" % (playbook, k, k - 1, "".join(log)[-8000:])
        return k - 1


def assert_one_app_sp_grant_and_every_firewall_redeems(fleet):
    box = fleet["box"]
    state = tenant(box)
    apps = [a for a in state["applications"] if a["uniqueName"] == APP_UNIQUE_NAME]
    assert len(apps) == 1
    sps = [sp for sp in state["service_principals"] if sp["appId"] == apps[0]["appId"]]
    assert len(sps) == 1
    grants = [g for g in state["oauth2_permission_grants"] if g["clientId"] == sps[0]["id"]]
    assert len(grants) == 1
    secret, dummy = stored_credentials(fleet)
    for fw in box.services["sfos"]["firewalls"]:
        notification = firewall_state(box, fw)["notification"]
        assert notification["ClientID"] == apps[0]["appId"]
        assert notification["ClientSecret"] == secret, fw["name"]
        status, token = redeem_as_firewall(box, notification)
        assert status == 200, (fw["name"], token)
    return apps[0]


def retire(fleet, env):
    log = []
    assert run_killed_at_task(fleet, env, "retire.yml", 0, log) == 0, "".join(log)[-8000:]
    app = assert_one_app_sp_grant_and_every_firewall_redeems(fleet)
    secret, dummy = stored_credentials(fleet)
    assert [c["hint"] for c in app["passwordCredentials"]] == [secret[:3]], app["passwordCredentials"]


# About 35 runs per playbook, each a little longer than the one before: minutes, not the default 10.
@pytest.mark.timeout(1800)
def test_setup_killed_at_every_task_converges_and_retire_removes_the_lost_secrets(fleet, ansible_env):
    env = dict(ansible_env, **fact_cache_env(fleet["workdir"]), BROWSER=fleet["browser"], REQUESTS_CA_BUNDLE="")
    killed = converge_through_kills(fleet, env, "setup.yml")
    assert killed > 25                                   # the loop really went through the tasks
    assert_one_app_sp_grant_and_every_firewall_redeems(fleet)
    retire(fleet, env)                                   # secrets whose value a kill lost go now


@pytest.mark.timeout(1800)
def test_rotate_killed_at_every_task_converges_and_leaves_one_secret(fleet, ansible_env):
    env = dict(ansible_env, **fact_cache_env(fleet["workdir"]), BROWSER=fleet["browser"], REQUESTS_CA_BUNDLE="")
    killed = converge_through_kills(fleet, env, "rotate.yml")
    assert killed > 25
    assert_one_app_sp_grant_and_every_firewall_redeems(fleet)
    retire(fleet, env)                                   # the completed rotate retired them already: a no-op
