"""Interrupted rollout: rotate.yml killed mid-fleet, then run again; the old secret goes only after every firewall
has the new one, and every firewall can send mail at every moment in between.

Covered elsewhere: a firewall that fails (not killed) during rotation keeps the old secret and the fix-up run
completes (test_playbooks.py::test_rotate_keeps_the_old_secret_while_a_firewall_fails_then_completes).
"""

import os
import signal
import subprocess
import threading
import time

import pytest

from tests.integration.conftest import BIN, REPO_ROOT
from tests.integration.test_playbooks import redeem_as_firewall, stored_credentials
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

FIREWALLS = 5
APP_UNIQUE_NAME = "sophos-firewall-notifications"


def firewall_url(fw):
    return "https://%s:%d" % (fw["host"], fw["port"])


def secrets_in_tenant(box):
    state = box.control(box.services["microsoft"]["login_url"], "state")
    apps = [app for app in state["applications"] if app["uniqueName"] == APP_UNIQUE_NAME]
    assert len(apps) == 1
    return apps[0]["passwordCredentials"]


def stored_secrets(box):
    return {fw["name"]: box.control(firewall_url(fw), "state")["notification"]["ClientSecret"]
            for fw in box.services["sfos"]["firewalls"]}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("rollout-sandbox")), firewalls=FIREWALLS)
    inventory, password_file, browser = write_inventory(box, str(tmp_path_factory.mktemp("rollout-inventory")))
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser}
    box.stop()


def command(fleet, playbook, *args):
    return [os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", playbook), "-i", fleet["inventory"],
            "--vault-password-file", fleet["password_file"]] + list(args)


class Watcher(threading.Thread):
    """Snapshots the tenant's secrets, then every firewall's, until stopped; notes any moment where a secret a
    firewall still holds is gone from the tenant (the order Microsoft first, firewalls second can only miss such a
    moment, never invent one: firewalls only move to the new secret)."""

    def __init__(self, box, old_secret, old_key_ids):
        super().__init__(daemon=True)
        self.box, self.old_secret, self.old_key_ids = box, old_secret, set(old_key_ids)
        self.snapshots = 0
        self.violations = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            keys = {cred["keyId"] for cred in secrets_in_tenant(self.box)}
            on_old = [name for name, secret in stored_secrets(self.box).items() if secret == self.old_secret]
            if on_old and not self.old_key_ids <= keys:
                self.violations.append((sorted(on_old), sorted(keys)))
            self.snapshots += 1
            self.done.wait(0.2)


def test_killed_rotation_keeps_the_old_secret_and_the_next_run_completes(fleet, ansible_env, tmp_path):
    box = fleet["box"]
    firewalls = box.services["sfos"]["firewalls"]
    env = dict(ansible_env, BROWSER=fleet["browser"], REQUESTS_CA_BUNDLE="",
               **fact_cache_env(os.path.dirname(fleet["inventory"])))
    setup = subprocess.run(command(fleet, "setup.yml"), cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                           timeout=600, check=False)
    assert setup.returncode == 0, setup.stdout[-5000:]
    old_secret, dummy = stored_credentials(fleet)
    old_keys = [cred["keyId"] for cred in secrets_in_tenant(box)]
    assert len(old_keys) == 1

    # One firewall at a time; all but the first answer slowly, so the kill lands after fw01 took the new secret.
    for fw in firewalls[1:]:
        box.control(firewall_url(fw), "config", "POST", {"fault": "slow", "slow_seconds": 2})
    sets_before = box.control(firewall_url(firewalls[0]), "state")["counters"]["sets"]
    with open(tmp_path / "killed-run.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(command(fleet, "rotate.yml", "--forks", "1"), cwd=REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while box.control(firewall_url(firewalls[0]), "state")["counters"]["sets"] == sets_before:
                assert proc.poll() is None, (tmp_path / "killed-run.log").read_text()[-5000:]
                assert time.monotonic() < deadline, "rotate.yml never reached the first firewall"
                time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)

    new_secret, dummy = stored_credentials(fleet)   # kept before the first firewall was written
    assert new_secret != old_secret
    keys = [cred["keyId"] for cred in secrets_in_tenant(box)]
    assert set(old_keys) < set(keys) and len(keys) == 2, keys   # the old secret was not removed
    stored = stored_secrets(box)
    assert stored["fw01"] == new_secret
    assert old_secret in stored.values(), stored                  # the kill did land mid-fleet
    assert set(stored.values()) == {old_secret, new_secret}
    for fw in firewalls:                                          # every firewall can still send mail
        assert redeem_as_firewall(box, box.control(firewall_url(fw), "state")["notification"])[0] == 200, fw["name"]

    watcher = Watcher(box, old_secret, old_keys)
    watcher.start()
    try:
        finish = subprocess.run(command(fleet, "rotate.yml", "-e", "mailoauth_rotate_new_secret=false"), cwd=REPO_ROOT,
                                env=env, capture_output=True, text=True, timeout=600, check=False)
    finally:
        watcher.done.set()
        watcher.join(timeout=30)
        for fw in firewalls:
            box.control(firewall_url(fw), "config", "POST", {"fault": None})
    assert finish.returncode == 0, finish.stdout[-5000:]
    assert watcher.snapshots > 3 and watcher.violations == [], watcher.violations
    credentials = secrets_in_tenant(box)
    assert len(credentials) == 1 and credentials[0]["keyId"] not in old_keys
    assert credentials[0]["hint"] == new_secret[:3]
    assert stored_credentials(fleet)[0] == new_secret
    for fw in firewalls:
        notification = box.control(firewall_url(fw), "state")["notification"]
        assert notification["ClientSecret"] == new_secret, fw["name"]
        assert redeem_as_firewall(box, notification)[0] == 200, fw["name"]
