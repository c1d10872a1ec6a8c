"""Integration helpers: run a real ansible-playbook against the sandbox and read its recap."""

import json
import os
import re
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_PATH = os.path.join(REPO_ROOT, ".build", "collections")
BIN = os.path.dirname(sys.executable)
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M,
)


# The files that take longest, longest first (make integration, 2 cores). make integration hands test files to its
# workers in collection order (pytest-xdist --dist loadfile --no-loadscope-reorder), so these start first and no long
# file starts last, alone on one worker while the other has nothing left to do.
LONGEST_FIRST = [
    "test_many_tenants.py",
    "test_playbooks.py",
    "test_secret_lifecycle.py",
    "test_entra_modules.py",
    "test_reliability_faults.py",
    "test_secret_lifecycle_kill_rotate.py",
    "test_secret_lifecycle_kill_setup.py",
    "test_entra_role.py",
    "test_fresh_tenant.py",
    "test_awx_workflow.py",
    "test_awx_tenants.py",
    "test_bootstrap.py",
    "test_awx_jobs.py",
    "test_refresh_token.py",
]


def pytest_collection_modifyitems(items):
    """Longest files first (LONGEST_FIRST), every other file after them in the order pytest collected it."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


class PlaybookRun:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.recap = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
                      for m in RECAP.finditer(proc.stdout)}

    @property
    def output(self):
        return self.stdout + "\n" + self.stderr

    def changed(self, host=None):
        return self.recap[host]["changed"] if host else sum(r["changed"] for r in self.recap.values())

    def failed_hosts(self):
        return sorted(h for h, r in self.recap.items() if r["failed"] or r["unreachable"])

    def __repr__(self):
        return "PlaybookRun(rc=%s)\n--- stdout ---\n%s\n--- stderr ---\n%s" % (self.rc, self.stdout[-20000:],
                                                                              self.stderr[-5000:])


@pytest.fixture(autouse=True)
def clear_injected_faults(request):
    """Faults a test injects into the Microsoft emulator end with that test (objects and state stay)."""
    yield
    if "sandbox" in request.fixturenames:
        box = request.getfixturevalue("sandbox")
        microsoft = box.services.get("microsoft")
        if microsoft:
            box.control(microsoft["login_url"], "faults", method="DELETE")


def playbook_env(ca_file, tmp_path):
    """Environment for ansible-playbook: the collection from the checkout, the CA file ``ca_file`` trusted."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "REQUESTS_CA_BUNDLE": ca_file,
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    for var in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        env.pop(var, None)
    return env


def playbook_runner(ansible_env, tmp_path):
    """run(playbook, inventory=None, extra_vars=None, check=False, diff=False, args=(), env=None) -> PlaybookRun,
    for fixtures of any scope (``tmp_path``: a directory of the caller's own)."""

    def run(playbook, inventory=None, extra_vars=None, check=False, diff=False, args=(), env=None, timeout=900):
        cmd = [os.path.join(BIN, "ansible-playbook"), str(playbook)]
        if inventory:
            cmd += ["-i", str(inventory)]
        if extra_vars:
            extra = tmp_path / ("extra-vars-%d.json" % len(list(tmp_path.glob("extra-vars-*"))))
            extra.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@" + str(extra)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(args)
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=dict(ansible_env, **(env or {})), capture_output=True,
                              text=True, timeout=timeout, check=False)
        return PlaybookRun(cmd, proc)

    return run


@pytest.fixture
def ansible_env(sandbox, tmp_path):
    """Environment for ansible-playbook: the collection from the checkout, the sandbox CA trusted."""
    return playbook_env(sandbox.ca_file, tmp_path)


@pytest.fixture
def run_playbook(ansible_env, tmp_path):
    """run_playbook(playbook, inventory=None, extra_vars=None, check=False, diff=False, args=(), env=None)."""
    return playbook_runner(ansible_env, tmp_path)
