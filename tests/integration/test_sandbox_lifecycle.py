"""The sandbox command: start on free ports with a test CA, report status, stop every emulator by PID."""

import json
import os
import ssl
import subprocess
import sys
import urllib.request

from tests.sandbox import _runner

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sandbox_cli(*args):
    return subprocess.run([sys.executable, "-m", "tests.sandbox", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_start_status_stop(tmp_path):
    directory = str(tmp_path / "box")
    started = sandbox_cli("start", "--dir", directory, "--firewalls", "3")
    assert started.returncode == 0, started.stderr
    try:
        state = _runner.load(directory)
        assert sorted(state["services"]) == sorted(_runner.available_emulators())
        for name in ("ca_file", "cert_file", "key_file"):
            assert os.path.isfile(state[name])
        pids = [info["pid"] for info in state["services"].values()]
        assert all(_runner._alive(pid) for pid in pids)  # pylint: disable=protected-access
        status = sandbox_cli("status", "--dir", directory)
        assert status.returncode == 0
        assert set(json.loads(status.stdout).values()) <= {True}
        # every advertised https URL answers TLS with the sandbox CA, and only with it
        context = ssl.create_default_context(cafile=state["ca_file"])
        urls = [v for info in state["services"].values() for k, v in info.items()
                if k.endswith("_url") and isinstance(v, str) and v.startswith("https://")]
        for url in urls:
            try:
                urllib.request.urlopen(url + "/_sandbox/state", context=context, timeout=10).close()
            except urllib.error.HTTPError as err:  # reached the emulator: TLS was verified
                assert err.code < 500
    finally:
        stopped = sandbox_cli("stop", "--dir", directory)
    assert stopped.returncode == 0, stopped.stderr
    assert _runner.load(directory) is None
    assert not any(_runner._alive(pid) for pid in pids)  # pylint: disable=protected-access
    assert sandbox_cli("status", "--dir", directory).returncode == 1
