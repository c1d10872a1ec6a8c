"""Fleet benchmark: the firewall side of mailoauth.sophos against N emulated firewalls, next to Ansible's own floor.

    .venv/bin/python bench/fleet.py --firewalls 100 500 --forks 10 --json bench/results/fleet.json

For each N it starts the sandbox with N firewalls and runs, one after the other on the same inventory and forks:
  a  floor            bench/playbooks/floor.yml: one set_fact per host (no module process, no network)
  b  configure        bench/playbooks/configure.yml: the firewall_notification role on a fresh fleet (all change)
  c  again            the same playbook again (idempotent: nothing changes)
  d  verify           bench/playbooks/verify_firewalls.yml: the role in check mode, as playbooks/verify.yml runs it
  e  again_validated  bench/playbooks/configure_validated.yml: c through the play's roles: keyword, so with
                      ansible-core's role argument validation task (one more worker per host), for comparison
     floor_end        a again: the ratios divide by the mean of both floor runs, as the load drifts
and prints wall time, CPU time and peak memory of each ansible-playbook run, the cost per host and the ratios
b/a, c/a, d/a, e/a. After each run it reads every firewall's request counters from the emulator and checks them:
b = Get + Set on one connection, c, d and e = one Get; any other count, a failed host, a wrong changed count or a
secret in the output fails the benchmark (exit status 1). See bench/README.md.
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import psutil

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_ROOT)

from tests.integration.conftest import RECAP  # noqa: E402  pylint: disable=wrong-import-position
from tests.sandbox.client import Sandbox  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
COLLECTIONS_PATH = os.path.join(REPO_ROOT, ".build", "collections")
PLAYBOOKS = os.path.join(BENCH_DIR, "playbooks")

# phase -> (playbook, changed per host, XML requests per host, connections per host)
PHASES = {
    "floor": ("floor.yml", 0, 0, 0),
    "configure": ("configure.yml", 1, 2, 1),
    "again": ("configure.yml", 0, 1, 1),
    "verify": ("verify_firewalls.yml", 0, 1, 1),
    "again_validated": ("configure_validated.yml", 0, 1, 1),
    "floor_end": ("floor.yml", 0, 0, 0),
}
RATIOS = ("configure", "again", "verify", "again_validated")
SAMPLE_SECONDS = 0.1


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants from /proc, every SAMPLE_SECONDS.

    ``peak_tree_rss``: the largest sum over the tree seen (controller + forks; shared copy-on-write pages are
    counted once per process, so this overstates real use). ``controller_hwm``: the controller's own VmHWM
    (the kernel's high-water mark, exact up to the last sample).
    """

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop_event = threading.Event()
        self.peak_tree_rss = 0
        self.peak_processes = 0
        self.controller_hwm = 0
        self.controller_cpu = 0.0

    def run(self):
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stop_event.is_set():
            try:
                self.controller_hwm = max(self.controller_hwm, _vm_hwm(self.pid))
                times = root.cpu_times()
                self.controller_cpu = times.user + times.system
                tree = [root] + root.children(recursive=True)
            except (psutil.NoSuchProcess, OSError):
                return
            total = 0
            for proc in tree:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak_tree_rss = max(self.peak_tree_rss, total)
            self.peak_processes = max(self.peak_processes, len(tree))
            self.stop_event.wait(SAMPLE_SECONDS)


def _vm_hwm(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def load_average():
    return round(os.getloadavg()[0], 2)


def ansible_env(work_dir):
    with open(os.path.join(work_dir, "ansible.cfg"), "w", encoding="utf-8"):
        pass
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("ANSIBLE_") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            del env[name]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_CONFIG": os.path.join(work_dir, "ansible.cfg"),  # empty: no ansible.cfg from $HOME or elsewhere
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.path.join(work_dir, "ansible-local"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    return env


def write_inventory(work_dir, sandbox, firewalls):
    hosts = {fw["name"]: {"sfos_host": fw["host"], "sfos_port": fw["port"], "sfos_username": fw["username"],
                          "sfos_password": fw["password"]} for fw in firewalls}
    inventory = {"all": {"children": {"firewalls": {
        "hosts": hosts, "vars": {"ansible_connection": "local", "sfos_ca_path": sandbox.ca_file}}}}}
    path = os.path.join(work_dir, "inventory.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)
    return path


def write_extra_vars(work_dir):
    """The OAuth values as the tenant roles would leave them; random, and never printed."""
    extra = {"mailoauth_client_id": "00000000-0000-4000-8000-" + secrets.token_hex(6),
             "mailoauth_client_secret": "bench~" + secrets.token_urlsafe(30),
             "mailoauth_refresh_token": "0.AAAA-bench" + secrets.token_urlsafe(200),
             "mailoauth_mailbox": "alerts@contoso.example",
             "firewall_notification_recipients": ["netops@contoso.example"]}
    path = os.path.join(work_dir, "extra-vars.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(extra, handle)
    os.chmod(path, 0o600)
    return path, extra


def control(sandbox, firewall, path, method="GET"):
    return sandbox.control("https://%s:%s" % (firewall["host"], firewall["port"]), path, method)


def run_playbook(name, playbook, inventory, extra_vars, forks, env, work_dir, sandbox_pid, args=()):
    """One ansible-playbook run, measured; returns (measurement dict, recap dict, output text)."""
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(PLAYBOOKS, playbook), "-i", inventory,
           "-e", "@" + extra_vars, "--forks", str(forks)] + list(args)
    out_path = os.path.join(work_dir, name + ".out")
    sandbox_proc = psutil.Process(sandbox_pid)
    sandbox_before = sum(sandbox_proc.cpu_times()[:2])
    load_before = load_average()
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work_dir, env=env, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # wait4: the run's own rusage (it and every descendant it reaped), so runs do not mix.
        dummy, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop_event.set()
        sampler.join()
    sandbox_cpu = sum(sandbox_proc.cpu_times()[:2]) - sandbox_before
    with open(out_path, encoding="utf-8", errors="replace") as handle:
        output = handle.read()
    recap = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(output)}
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "cpu_user_s": round(usage.ru_utime, 3),
        "cpu_sys_s": round(usage.ru_stime, 3),
        # ru_maxrss of wait4 is the largest single process of the tree (KiB on Linux): normally the controller.
        "max_process_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "controller_hwm_mib": round(sampler.controller_hwm / 2 ** 20, 1),
        # The controller alone (not its forks), as last sampled: the part that does not spread over the cores.
        "controller_cpu_s": round(sampler.controller_cpu, 2),
        "peak_tree_rss_mib": round(sampler.peak_tree_rss / 2 ** 20, 1),
        "peak_processes": sampler.peak_processes,
        "sandbox_cpu_s": round(sandbox_cpu, 3),
        "load_before": load_before,
        "output": out_path,
    }, recap, output


def check_phase(name, measured, recap, sandbox, firewalls):
    """The problems with one run: rc, recap, and the request counters every firewall reports."""
    changed, requests, connections = PHASES[name][1:]
    problems = []
    if measured["rc"] != 0:
        problems.append("ansible-playbook exited %s (see %s)" % (measured["rc"], measured["output"]))
    names = {fw["name"] for fw in firewalls}
    if set(recap) != names:
        problems.append("recap lists %d hosts, expected %d" % (len(recap), len(names)))
    bad = sorted(host for host, row in recap.items() if row["failed"] or row["unreachable"])
    if bad:
        problems.append("failed hosts: %s" % ", ".join(bad[:10]))
    wrong_changed = sorted(host for host, row in recap.items() if row["changed"] != changed)
    if wrong_changed:
        problems.append("changed != %d on %d hosts (%s...)" % (changed, len(wrong_changed), wrong_changed[0]))
    seen = {}
    for firewall in firewalls:
        counters = control(sandbox, firewall, "state")["counters"]
        key = (counters["requests"], counters["connections"], counters["sets"])
        seen[key] = seen.get(key, 0) + 1
    expected = (requests, connections, 1 if changed else 0)
    for key, count in seen.items():
        if key != expected:
            problems.append("%d firewalls saw requests=%d connections=%d sets=%d, expected %d/%d/%d" % (
                (count,) + key + expected))
    measured["requests_per_host"] = sorted({key[0] for key in seen})
    measured["connections_per_host"] = sorted({key[1] for key in seen})
    return problems


def bench_fleet(count, forks, keep):
    work_dir = tempfile.mkdtemp(prefix="mailoauth-bench-%d-" % count)
    started = time.perf_counter()
    sandbox = Sandbox.start(os.path.join(work_dir, "sandbox"), firewalls=count, timeout=120.0)
    result = {"firewalls": count, "forks": forks, "sandbox_start_s": round(time.perf_counter() - started, 1),
              "work_dir": work_dir, "phases": {}, "problems": []}
    try:
        firewalls = sandbox.services["sfos"]["firewalls"]
        sandbox_pid = sandbox.services["sfos"]["pid"]
        env = ansible_env(work_dir)
        inventory = write_inventory(work_dir, sandbox, firewalls)
        extra_vars, extra = write_extra_vars(work_dir)
        # Warm-up on one host (byte-compiled caches, page cache), then put that firewall back as new.
        for playbook in ("floor.yml", "configure.yml"):
            run_playbook("warmup", playbook, inventory, extra_vars, forks, env, work_dir, sandbox_pid,
                         args=("--limit", firewalls[0]["name"]))
        control(sandbox, firewalls[0], "reset", "POST")
        for name, (playbook, dummy, dummy2, dummy3) in PHASES.items():
            for firewall in firewalls:
                control(sandbox, firewall, "counters", "POST")
            measured, recap, output = run_playbook(name, playbook, inventory, extra_vars, forks, env, work_dir,
                                                   sandbox_pid)
            problems = check_phase(name, measured, recap, sandbox, firewalls)
            for secret in (extra["mailoauth_client_secret"], extra["mailoauth_refresh_token"]):
                if secret in output:
                    problems.append("a secret appears in the output of %s" % name)
            measured["per_host_ms"] = round(1000 * measured["wall_s"] / count, 1)
            measured["cpu_per_host_ms"] = round(1000 * measured["cpu_s"] / count, 1)
            result["phases"][name] = measured
            result["problems"] += ["%s: %s" % (name, problem) for problem in problems]
        # The machine's load drifts during a run: the floor is measured first and last, and the mean is the base.
        floors = [result["phases"][name] for name in ("floor", "floor_end")]
        for key, ratios in (("wall_s", "ratios"), ("cpu_s", "cpu_ratios")):
            base = sum(floor[key] for floor in floors) / len(floors)
            result[ratios] = {"%s/floor" % name: round(result["phases"][name][key] / base, 2) for name in RATIOS}
    finally:
        sandbox.stop()
        if not keep and not result["problems"]:
            shutil.rmtree(work_dir, ignore_errors=True)
            result["work_dir"] = None
            for measured in result["phases"].values():
                measured.pop("output", None)
    return result


def print_table(result):
    print("\nN=%(firewalls)d firewalls, forks %(forks)d (sandbox started in %(sandbox_start_s)s s)" % result)
    print("%-16s %8s %8s %9s %10s %9s %9s %9s %10s %9s %6s" % (
        "phase", "wall s", "ms/host", "cpu s", "cpu ms/h", "ctl cpu", "ctl MiB", "max MiB", "tree MiB", "sbx cpu",
        "load"))
    for name, row in result["phases"].items():
        print("%-16s %8.2f %8.1f %9.2f %10.1f %9.2f %9.1f %9.1f %10.1f %9.2f %6.2f" % (
            name, row["wall_s"], row["per_host_ms"], row["cpu_s"], row["cpu_per_host_ms"], row["controller_cpu_s"],
            row["controller_hwm_mib"], row["max_process_rss_mib"], row["peak_tree_rss_mib"], row["sandbox_cpu_s"],
            row["load_before"]))
    if "ratios" in result:
        print("wall ratios: " + "  ".join("%s %.2f" % item for item in result["ratios"].items()))
        print("cpu ratios:  " + "  ".join("%s %.2f" % item for item in result["cpu_ratios"].items()))
    for problem in result["problems"]:
        print("PROBLEM: " + problem)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firewalls", type=int, nargs="+", default=[100, 500], help="fleet sizes (default 100 500)")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks (default 10)")
    parser.add_argument("--json", help="also write the results as JSON to this file ('-' for stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (playbook output, logs)")
    args = parser.parse_args(argv)
    import ansible  # pylint: disable=import-outside-toplevel
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": platform.python_version(),
              "ansible_core": ansible.__version__, "cpus": os.cpu_count(),
              "rusage_note": "cpu_s = user+sys of ansible-playbook and all its forks (wait4); max_process_rss_mib = "
                             "largest single process (wait4 ru_maxrss); controller_hwm_mib = controller VmHWM; "
                             "peak_tree_rss_mib = sampled sum of RSS over the tree; sandbox_cpu_s = the SFOS emulator",
              "runs": []}
    for count in args.firewalls:
        result = bench_fleet(count, args.forks, args.keep)
        report["runs"].append(result)
        print_table(result)
        sys.stdout.flush()
    if len(report["runs"]) > 1:
        first, last = report["runs"][0], report["runs"][-1]
        report["controller_rss_growth_mib"] = {
            name: round(last["phases"][name]["controller_hwm_mib"] - first["phases"][name]["controller_hwm_mib"], 1)
            for name in PHASES if name in first["phases"] and name in last["phases"]}
        print("\ncontroller peak RSS growth N=%d -> N=%d (MiB): %s" % (
            first["firewalls"], last["firewalls"],
            "  ".join("%s %+.1f" % item for item in report["controller_rss_growth_mib"].items())))
    if args.json == "-":
        json.dump(report, sys.stdout, indent=2)
    elif args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    return 1 if any(run["problems"] for run in report["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
