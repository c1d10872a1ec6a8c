"""The fork_gc callback: a worker forked from the controller starts with the controller's objects frozen (its cyclic
GC skips them), and the controller's own collector is left as it was."""

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import COLLECTIONS_PATH

# Run in a fresh interpreter: fork hooks cannot be unregistered, and this test process must not keep them.
PROBE = textwrap.dedent("""
    import gc, json, os, sys
    from ansible_collections.mailoauth.sophos.plugins.callback.fork_gc import CallbackModule

    def fork_and_report():
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write_end, json.dumps(gc.get_freeze_count()).encode())
            os._exit(0)
        os.close(write_end)
        child = json.loads(os.read(read_end, 100))
        os.waitpid(pid, 0)
        return child

    keep = [[n] for n in range(10000)]  # tracked objects the controller holds
    # Python 3.12 may start with objects of its own frozen already (375 here): the baseline, not 0.
    report = {"baseline": gc.get_freeze_count(), "child_before": fork_and_report()}
    CallbackModule()
    CallbackModule()  # loaded again: the hooks are registered once per process
    report["child_after"] = fork_and_report()
    report["parent_after"] = gc.get_freeze_count()
    gc.collect()
    report["parent_collects"] = gc.isenabled()
    print(json.dumps(report))
""")


def run_probe():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COLLECTIONS_PATH, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_a_forked_worker_starts_with_the_controllers_objects_frozen():
    report = run_probe()
    assert report["child_before"] == report["baseline"]
    assert report["child_after"] >= report["baseline"] + 10000
    assert report["parent_after"] == 0
    assert report["parent_collects"] is True
