"""Kill a playbook at task after task until a run completes: the loop of the test_secret_lifecycle_kill_* files.

A run is SIGKILLed when a "TASK [" line appears, that is when every host has finished the task before it (the linear
strategy starts a task only then); it leaves the state that task left. Run n+1 starts from what run n left and is
killed right after the first task no run was killed after yet (a task known by its name and how many times that
name has come in the run: a re-run can skip an include, so counting TASK lines would miss tasks). Only the ends of
tasks that can change something are kill points: a task that cannot write anything kept (the tenant, a firewall, the
credentials file, the fact cache), or that Ansible skipped on every host, leaves the state it found, so a kill right
after it would leave the state the kill before it already left. Which tasks cannot write is decided from the YAML (their module), never from what the
collection's modules report: a task is a writer unless its module is one of READ_ONLY (and a set_fact without
cacheable), and so is any task the YAML does not name (a new module, a templated name that matches nothing).
"""

import collections
import glob
import os
import re
import signal
import subprocess

import yaml
from ansible.playbook.task import Task

from tests.integration.conftest import BIN, REPO_ROOT
from tests.integration.test_playbooks import APP_UNIQUE_NAME, firewall_state, redeem_as_firewall, stored_credentials
from tests.integration.test_playbooks import tenant

# ansible-core modules that change nothing outside the run's memory (set_fact only without cacheable).
READ_ONLY = {"assert", "debug", "fail", "meta", "set_fact", "stat", "include_role", "import_role", "include_tasks",
             "import_tasks", "include_vars", "validate_argument_spec"}
# The task ansible-core adds in front of a role with an argument spec (meta/argument_specs.yml).
ARGUMENT_SPEC_TASK = re.compile(r"^Validating arguments against arg spec ")
NOT_A_MODULE = set(Task.fattributes) | {"block", "rescue", "always", "local_action"}
# A handler starts the same way; none is in the YAML scanned, so it counts as a task that can write.
TASK_LINE = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?:(?P<role>[^\]]*?) : )?(?P<name>.*)\] \**$")
RESULT_LINE = re.compile(r"^(?P<status>ok|changed|skipping|included|fatal|failed): ")


def _module(task):
    keys = [k for k in task if k not in NOT_A_MODULE and not k.startswith("with_")]
    return keys[0] if keys else task.get("action") or task.get("local_action")


def _tasks(entries):
    for entry in entries or ():
        if not isinstance(entry, dict):
            continue
        for part in ("block", "rescue", "always"):
            yield from _tasks(entry.get(part))
        if "block" not in entry and "name" in entry:
            yield entry


def _name_pattern(name):
    """A task name as the TASK line shows it: each {{ template }} rendered to something."""
    return re.compile("^%s$" % ".*".join(re.escape(part) for part in re.split(r"\{\{.*?\}\}", name)))


def task_writers(repo_root=REPO_ROOT):
    """[(role or None, name pattern, can write)] for every named task of the playbooks and the roles."""
    found = []
    sources = [(None, path) for path in glob.glob(os.path.join(repo_root, "playbooks", "**", "*.yml"), recursive=True)]
    sources += [(path.split(os.sep)[-3], path)
                for path in glob.glob(os.path.join(repo_root, "roles", "*", "tasks", "*.yml"))]
    for role, path in sources:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        plays = document if isinstance(document, list) else []
        entries = [t for play in plays if isinstance(play, dict) and ("tasks" in play or "hosts" in play)
                   for t in play.get("tasks") or ()] + [t for t in plays if isinstance(t, dict) and "hosts" not in t]
        for task in _tasks(entries):
            module = str(_module(task) or "")
            short = module.rsplit(".", 1)[-1] if module.startswith("ansible.builtin.") or "." not in module else None
            args = task.get(module) if isinstance(task.get(module), dict) else {}
            writes = short not in READ_ONLY or (short == "set_fact" and args.get("cacheable", False) is not False)
            found.append((role, _name_pattern(str(task["name"])), writes))
    return found


class KillPoints:
    """Decides, line by line of a run's output, whether the task now starting follows one that can change state."""

    def __init__(self, writers):
        self.writers = writers
        self.previous = None
        self.statuses = set()

    def can_write(self, role, name):
        if ARGUMENT_SPEC_TASK.match(name):
            return False
        role = role.rsplit(".", 1)[-1] if role else None
        matches = [writes for r, pattern, writes in self.writers if r == role and pattern.match(name)]
        return any(matches) or not matches

    def task_starts(self, line):
        """For a "TASK [" line: True when the task before it may have changed something. None for other lines."""
        status = RESULT_LINE.match(line)
        if status:
            self.statuses.add(status["status"])
            return None
        task = TASK_LINE.match(line.rstrip("\n"))
        if not task:
            return None
        previous, statuses = self.previous, self.statuses
        self.previous, self.statuses = (task["role"], task["name"]), set()
        if previous is None or statuses == {"skipping"}:
            return False
        return self.can_write(*previous)


def run_killed_after_a_new_task(fleet, env, playbook, done, log, writers):
    """Run the playbook; SIGKILL it (and its workers) at the first kill point after a task not in `done`.

    Returns (the task it was killed after: (name, how many times the name came), None), or (None, rc) when the run
    completed.
    """
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", playbook), "-i", fleet["inventory"],
           "--vault-password-file", fleet["password_file"]]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    points = KillPoints(writers)
    seen = collections.Counter()
    try:
        for line in proc.stdout:
            log.append(line)
            previous = points.previous
            kill = points.task_starts(line)
            if kill is None:
                continue
            seen[points.previous[1]] += 1
            after = (previous[1], seen[previous[1]]) if previous else None
            if kill and after not in done:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
                return after, None
        return None, proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        proc.stdout.close()


def converge_through_kills(fleet, env, playbook):
    """Kill after every writing task in turn until a run completes; that run must succeed. Returns the task names
    killed after, in order."""
    writers = task_writers()
    done = []
    while True:
        log = []
        after, rc = run_killed_after_a_new_task(fleet, env, playbook, done, log, writers)
        if after is None:
            assert rc == 0, "%s run %d (after %d killed runs) failed:\n%s" % (
                playbook, len(done) + 1, len(done), "".join(log)[-8000:])
            return [name for name, dummy in done]
        done.append(after)
        assert len(done) < 200, "%s never completed" % playbook


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


def run_to_the_end(fleet, env, playbook):
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", playbook), "-i", fleet["inventory"],
           "--vault-password-file", fleet["password_file"]]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]


def retire(fleet, env):
    run_to_the_end(fleet, env, "retire.yml")
    app = assert_one_app_sp_grant_and_every_firewall_redeems(fleet)
    secret, dummy = stored_credentials(fleet)
    assert [c["hint"] for c in app["passwordCredentials"]] == [secret[:3]], app["passwordCredentials"]
