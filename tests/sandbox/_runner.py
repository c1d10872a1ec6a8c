"""Start, describe and stop the sandbox: each emulator in its own process, on free ports of 127.0.0.1.

The sandbox directory holds the test CA, the server certificate, one log per emulator and ``sandbox.json``:
every URL, port and PID, the CA bundle path, and the seed data (test tenant, mailbox, firewall API users).
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

from ._ca import make_ca

# Start order matters: later emulators get the earlier ones' addresses in their config.
EMULATORS = ("microsoft", "smtp", "sfos")
STATE_FILE = "sandbox.json"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class SandboxError(RuntimeError):
    pass


def available_emulators():
    return [name for name in EMULATORS if importlib.util.find_spec("tests.sandbox." + name) is not None]


def start(directory, firewalls=5, options=None, timeout=30.0):
    """Start every emulator; return the sandbox description (also written to ``sandbox.json``)."""
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    if os.path.exists(os.path.join(directory, STATE_FILE)):
        stop(directory)
    state = {"dir": directory, "services": {}}
    state.update(make_ca(directory))
    _write_state(directory, state)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        for name in available_emulators():
            config = dict(state, firewalls=firewalls, options=(options or {}).get(name, {}))
            config_path = os.path.join(directory, name + ".config.json")
            ready_path = os.path.join(directory, name + ".ready.json")
            if os.path.exists(ready_path):
                os.unlink(ready_path)
            with open(config_path, "w", encoding="utf-8") as handle:
                json.dump(config, handle)
            with open(os.path.join(directory, name + ".stderr"), "wb") as stderr:
                proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    [sys.executable, "-m", "tests.sandbox." + name, "--config", config_path, "--ready", ready_path],
                    cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                    start_new_session=True,
                )
            state["services"][name] = {"pid": proc.pid}
            _write_state(directory, state)
            state["services"][name] = _wait_ready(name, proc, ready_path, directory, timeout)
            _write_state(directory, state)
    except BaseException:
        stop(directory)
        raise
    return state


def _wait_ready(name, proc, ready_path, directory, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(ready_path):
            with open(ready_path, encoding="utf-8") as handle:
                return json.load(handle)
        if proc.poll() is not None:
            with open(os.path.join(directory, name + ".stderr"), encoding="utf-8", errors="replace") as handle:
                raise SandboxError("emulator %s exited with %s:\n%s" % (name, proc.returncode, handle.read()[-4000:]))
        time.sleep(0.05)
    raise SandboxError("emulator %s did not become ready within %.0f s" % (name, timeout))


def _write_state(directory, state):
    tmp = os.path.join(directory, STATE_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
    os.replace(tmp, os.path.join(directory, STATE_FILE))


def load(directory):
    try:
        with open(os.path.join(os.path.abspath(directory), STATE_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(directory):
    state = load(directory)
    if state is None:
        return None
    return {name: _alive(info["pid"]) for name, info in state["services"].items()}


def stop(directory, timeout=10.0):
    """Stop every emulator named in ``sandbox.json`` by PID; safe to call twice."""
    state = load(directory)
    if state is None:
        return
    pids = [info["pid"] for info in state["services"].values() if "pid" in info]
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    os.unlink(os.path.join(os.path.abspath(directory), STATE_FILE))
