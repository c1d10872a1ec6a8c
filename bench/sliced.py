"""Sliced-workflow benchmark: the AWX rollout and rotation workflows at N firewalls, push in K slices, K=1 against K=4.

    .venv/bin/python bench/sliced.py --firewalls 1000 --slices 1 4 --json bench/results/sliced.json

For each K it starts a fresh sandbox with N firewalls and runs the workflows that extensions/awx/configure_awx.yml
creates (configured with awx_fleet_slice_count=K) the way AWX runs them (tests/integration/awx_emulation.py: the
inventory AWX hands each job, slice i of K = hosts i, i+K, ... by name, credentials injected, one fact cache, the K
slices as concurrent ansible-playbook processes):
  rollout   tenant (steps 1-5; the headless sign-in's second launch is the one measured), push, retire
  rotation  tenant rotate (new secret, refresh token renewed and proved), push, retire
and prints the wall time of each phase, the load average before it and the push speed-up K=1 / K. A failed phase, a
firewall not holding the stored credentials afterwards, or an old secret left in the app fails the benchmark
(exit status 1). See bench/README.md.
"""

import argparse
import collections
import os
import platform
import shutil
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from bench.fleet import write_json  # noqa: E402
from tests.integration.awx_emulation import MAIL_CREDENTIAL, sandbox_awx  # noqa: E402
from tests.sandbox.browser import sign_in  # noqa: E402
from tests.sandbox.client import Sandbox  # noqa: E402


def measured_workflow(awx, name, extra_vars=None):
    """Run a workflow; return ({phase: {wall_s, load_before, status}}, jobs)."""
    loads = {}
    phases = {}

    def note(ident, job):
        phases[ident] = {"wall_s": round(job.wall, 2), "status": job.status, "load_before": loads.get(ident)}

    nodes = [node["identifier"] for node in awx.created["workflow_job_template"]["mailoauth.sophos " + name][
        "workflow_nodes"]]
    # The load before each node: sampled when the previous node ends (or now, for the first).
    loads[nodes[0]] = round(os.getloadavg()[0], 2)

    def after_each(ident, job):
        note(ident, job)
        position = nodes.index(ident)
        if position + 1 < len(nodes):
            loads[nodes[position + 1]] = round(os.getloadavg()[0], 2)

    jobs = awx.workflow(name, extra_vars=extra_vars, after_each=after_each)
    return phases, jobs


def problems_after(box, awx, firewalls):
    """What is wrong with the fleet and the app after a full workflow: every firewall on the stored values, one secret."""
    stored = awx.credential_inputs(MAIL_CREDENTIAL)[1]
    problems = []
    holdings = collections.Counter()
    for fw in firewalls:
        notification = box.control("https://%s:%d" % (fw["host"], fw["port"]), "state")["notification"]
        holdings[(notification["ClientSecret"] == stored["client_secret"],
                  notification["RefreshToken"] == stored["refresh_token"])] += 1
    if holdings != {(True, True): len(firewalls)}:
        problems.append("firewalls not holding the stored secret and refresh token: %d" % (
            len(firewalls) - holdings[(True, True)]))
    state = box.control(box.services["microsoft"]["login_url"], "state")
    apps = [app for app in state["applications"] if app["uniqueName"] == "sophos-firewall-notifications"]
    keys = [c["keyId"] for app in apps for c in app["passwordCredentials"]]
    if keys != [stored["client_secret_key_id"]]:
        problems.append("the app holds %d secrets, expected only the stored one" % len(keys))
    return problems


def bench_slices(count, slices, keep):
    workdir = tempfile.mkdtemp(prefix="mailoauth-sliced-%d-%d-" % (count, slices))
    box = Sandbox.start(os.path.join(workdir, "sandbox"), firewalls=count, timeout=120.0)
    result = {"firewalls": count, "slices": slices, "workflows": {}, "problems": [], "work_dir": workdir}
    try:
        awx = sandbox_awx(box, workdir, slices)
        first = awx.workflow("rollout")  # stops at the sign-in URL, as the first AWX launch does
        urls = [word.strip("'\",") for word in first["tenant"].output.split() if "/oauth2/v2.0/authorize?" in word]
        if not urls:
            raise RuntimeError("the first rollout did not show a sign-in URL: %r" % first["tenant"])
        mailbox = box.services["microsoft"]["mailbox"]
        landed = sign_in(urls[-1], mailbox["upn"], mailbox["password"], box.ca_file, follow=False)
        for name, extra in (("rollout", {"refresh_token_authorization_response": landed}), ("rotation", None)):
            phases, jobs = measured_workflow(awx, name, extra)
            result["workflows"][name] = phases
            result["problems"] += ["%s: %s %s" % (name, ident, job.status) for ident, job in jobs.items() if job.failed]
            result["problems"] += ["%s: %s" % (name, problem) for problem in
                                   problems_after(box, awx, box.services["sfos"]["firewalls"])]
    finally:
        box.stop()
        if not keep and not result["problems"]:
            shutil.rmtree(workdir, ignore_errors=True)
            result["work_dir"] = None
    return result


def print_table(report):
    print("\nwall seconds per phase (load average before it)")
    print("%-9s %-7s %s" % ("workflow", "phase", "  ".join("%-14s" % ("K=%d" % run["slices"]) for run in report["runs"])))
    for workflow in ("rollout", "rotation"):
        for phase in ("tenant", "push", "retire"):
            cells = []
            for run in report["runs"]:
                row = run["workflows"].get(workflow, {}).get(phase)
                cells.append("%-14s" % ("%.1f (%s)" % (row["wall_s"], row["load_before"]) if row else "-"))
            print("%-9s %-7s %s" % (workflow, phase, "  ".join(cells)))
    for name, value in report.get("push_speedup", {}).items():
        print("push speed-up %s: %.2f" % (name, value))
    for run in report["runs"]:
        for problem in run["problems"]:
            print("PROBLEM (K=%d): %s" % (run["slices"], problem))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firewalls", type=int, default=1000, help="fleet size (default 1000)")
    parser.add_argument("--slices", type=int, nargs="+", default=[1, 4], help="slice counts K (default 1 4)")
    parser.add_argument("--json", help="also write the results as JSON to this file ('-' for stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (job output, fact cache)")
    args = parser.parse_args(argv)
    import ansible  # pylint: disable=import-outside-toplevel
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": platform.python_version(),
              "ansible_core": ansible.__version__, "cpus": os.cpu_count(), "runs": []}
    for slices in args.slices:
        report["runs"].append(bench_slices(args.firewalls, slices, args.keep))
    base = next((run for run in report["runs"] if run["slices"] == 1), None)
    if base:
        report["push_speedup"] = {
            "%s K=1/K=%d" % (workflow, run["slices"]): round(
                base["workflows"][workflow]["push"]["wall_s"] / run["workflows"][workflow]["push"]["wall_s"], 2)
            for run in report["runs"] if run is not base for workflow in ("rollout", "rotation")
            if "push" in run["workflows"].get(workflow, {}) and "push" in base["workflows"].get(workflow, {})}
    print_table(report)
    write_json(report, args.json)
    return 1 if any(run["problems"] for run in report["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
