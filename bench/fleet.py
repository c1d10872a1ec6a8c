"""Fleet benchmark: the firewall side of mailoauth.sophos against N emulated firewalls, next to Ansible's own floor.

    .venv/bin/python bench/fleet.py --firewalls 100 500 --forks 10 --json bench/results/fleet.json
    .venv/bin/python bench/fleet.py --latency --firewalls 500 --forks 10 50 100 --phases configure again \
        --vendor-forks 50                                                      # make bench-latency
    .venv/bin/python bench/fleet.py --firewalls 500 1000 2000 5000 --phases floor configure again floor_end
                                                                               # make bench-scale
    .venv/bin/python bench/fleet.py --firewalls 500 2000 --phases floor configure again floor_end \
        --variant plain fork_gc                        # each phase without, then with the fork_gc callback

For each N it starts the sandbox with N firewalls and runs, one after the other on the same inventory and forks:
  a  floor            bench/playbooks/floor.yml: one set_fact per host (no module process, no network)
  b  configure        bench/playbooks/configure.yml: the firewall_notification role on a fresh fleet (all change)
  c  again            the same playbook again (idempotent: nothing changes)
  d  verify           bench/playbooks/verify_firewalls.yml: the role in check mode, as playbooks/verify.yml runs it
  e  again_validated  bench/playbooks/configure_validated.yml: c through the play's roles: keyword, so with
                      ansible-core's role argument validation task (one more worker per host), for comparison
     floor_end        a again: the ratios divide by the mean of both floor runs, as the load drifts
     vendor           bench/playbooks/sdk_module.yml: the vendor module's request pattern (3 requests on 3
                      TLS connections, a module process per host; a stand-in, see bench/README.md), fresh fleet
     vendor_again     the same again (it always writes: secrets read back hashed)
and prints wall time, CPU time and peak memory of each ansible-playbook run, the cost per host and the ratios
b/a, c/a, d/a, e/a. With --latency every firewall answers after its emulated round trips and server time, and
each run is set beside its latency-bound limit: the sum of every firewall's network and server time for the
requests and connections it saw, divided by forks. After each run it reads every firewall's request counters from the emulator and checks them:
b = Get + Set on one connection, c, d and e = one Get; any other count, a failed host, a wrong changed count or a
secret in the output fails the benchmark (exit status 1). See bench/README.md.
"""

import argparse
import json
import os
import platform
import pstats
import resource
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
from tests.sandbox.sfos.latency import DEFAULT_LATENCY  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
COLLECTIONS_PATH = os.path.join(REPO_ROOT, ".build", "collections")
PLAYBOOKS = os.path.join(BENCH_DIR, "playbooks")

# phase -> (playbook, changed per host, XML requests, connections and Sets per host, fleet reset first)
PHASES = {
    "floor": ("floor.yml", 0, 0, 0, 0, False),
    "configure": ("configure.yml", 1, 2, 1, 1, True),
    "again": ("configure.yml", 0, 1, 1, 0, False),
    "verify": ("verify_firewalls.yml", 0, 1, 1, 0, False),
    "again_validated": ("configure_validated.yml", 0, 1, 1, 0, False),
    "floor_end": ("floor.yml", 0, 0, 0, 0, False),
}
VENDOR_PHASES = {
    "vendor": ("sdk_module.yml", 1, 3, 3, 1, True),
    "vendor_again": ("sdk_module.yml", 1, 3, 3, 1, False),
}
ALL_PHASES = dict(PHASES, **VENDOR_PHASES)
RATIOS = ("configure", "again", "verify", "again_validated")
SAMPLE_SECONDS = 0.1
MEMORY_SAMPLE_SECONDS = 1.0  # PSS/USS read /proc/PID/smaps_rollup of every process: dearer than RSS
# TCP + TLS 1.3 (what the collection's client and the SDK negotiate with the emulator): round trips per connection.
HANDSHAKE_ROUND_TRIPS = 2


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
        self.peak_tree_pss = 0
        self.peak_worker_uss = 0
        self.worker_uss_at_peak = (0, 0)  # (sum of worker USS, workers) at the sample with the most workers
        self.next_memory_sample = 0.0

    def sample_memory(self, tree):
        """PSS of the whole tree (shared pages split between sharers: real use) and USS of each worker."""
        total_pss, worker_uss, workers = 0, 0, 0
        for proc in tree:
            rollup = _smaps_rollup(proc.pid)
            total_pss += rollup.get("Pss", 0)
            if proc.pid != self.pid:
                worker_uss += rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
                workers += 1
        self.peak_tree_pss = max(self.peak_tree_pss, total_pss)
        if workers and workers >= self.worker_uss_at_peak[1]:
            self.worker_uss_at_peak = (worker_uss, workers)
        self.peak_worker_uss = max(self.peak_worker_uss, worker_uss)

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
            if time.monotonic() >= self.next_memory_sample:
                self.sample_memory(tree)
                self.next_memory_sample = time.monotonic() + MEMORY_SAMPLE_SECONDS
            self.stop_event.wait(SAMPLE_SECONDS)


def _vm_hwm(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _smaps_rollup(pid):
    """{field: bytes} from /proc/PID/smaps_rollup ({} once the process is gone)."""
    fields = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return fields


def raise_open_files_limit(needed):
    """The emulator holds a listening socket per firewall and inherits this process's limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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


def fleet_control(sandbox, path, method="GET"):
    """The emulator's fleet-wide control port: every firewall's counters in one request."""
    return sandbox.control(sandbox.services["sfos"]["control_url"], "fleet/" + path, method)


def run_playbook(name, playbook, inventory, extra_vars, forks, env, work_dir, sandbox_pid, args=(), profile=None):
    """One ansible-playbook run, measured; returns (measurement dict, recap dict, output text)."""
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(PLAYBOOKS, playbook), "-i", inventory,
           "-e", "@" + extra_vars, "--forks", str(forks)] + list(args)
    if profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", profile] + cmd
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
    worker_uss, workers = sampler.worker_uss_at_peak
    return {
        "rc": proc.returncode,
        "forks": forks,
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
        # PSS counts a page shared by k processes as 1/k in each: the tree's real memory use.
        "peak_tree_pss_mib": round(sampler.peak_tree_pss / 2 ** 20, 1),
        # Private memory (USS) per worker process, at the sample with the most workers alive.
        "worker_uss_mib": round(worker_uss / workers / 2 ** 20, 2) if workers else None,
        "workers_sampled": workers,
        "peak_processes": sampler.peak_processes,
        "sandbox_cpu_s": round(sandbox_cpu, 3),
        "load_before": load_before,
        "output": out_path,
    }, recap, output


def check_phase(name, measured, recap, fleet, firewalls):
    """The problems with one run: rc, recap, and the request counters every firewall reports."""
    changed, requests, connections, sets = ALL_PHASES[name][1:5]
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
    for row in fleet:
        counters = row["counters"]
        key = (counters["requests"], counters["connections"], counters["sets"])
        seen[key] = seen.get(key, 0) + 1
    expected = (requests, connections, sets)
    for key, count in seen.items():
        if key != expected:
            problems.append("%d firewalls saw requests=%d connections=%d sets=%d, expected %d/%d/%d" % (
                (count,) + key + expected))
    measured["requests_per_host"] = sorted({key[0] for key in seen})
    measured["connections_per_host"] = sorted({key[1] for key in seen})
    return problems


def latency_bound(fleet, forks):
    """Seconds the run needs at least, from the network alone: every firewall's round trips (handshakes and
    requests, as its counters saw them) and server time, spread over ``forks`` parallel workers."""
    times = []
    for row in fleet:
        counters, latency = row["counters"], row["latency"]
        rtt = latency["rtt_ms"] / 1000.0
        times.append(counters["connections"] * HANDSHAKE_ROUND_TRIPS * rtt + counters["requests"] * rtt
                     + counters["requests"] * latency["get_ms"] / 1000.0 + counters["sets"] * latency["set_ms"] / 1000.0)
    if not times or not any(times):
        return None, None
    return max(sum(times) / forks, max(times)), sum(times) / len(times)


def print_profile(path, title, limit=25):
    print("\n%s (controller only, cProfile, top %d by own time)" % (title, limit))
    stats = pstats.Stats(path, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(limit)


# --variant: the same phases with ansible-core's controller configured differently, interleaved phase by phase in
# one run so that both see the same load. name -> environment for ansible-playbook.
VARIANTS = {
    "plain": {},
    "fork_gc": {"ANSIBLE_CALLBACKS_ENABLED": "mailoauth.sophos.fork_gc"},
}


def bench_fleet(count, forks_list, phases, vendor_forks, latency, keep, profile=None, progress=None,
                variants=("plain",)):
    work_dir = tempfile.mkdtemp(prefix="mailoauth-bench-%d-" % count)
    started = time.perf_counter()
    options = {"sfos": {"latency": DEFAULT_LATENCY}} if latency else None
    sandbox = Sandbox.start(os.path.join(work_dir, "sandbox"), firewalls=count, options=options,
                            timeout=120.0 + count / 20.0)
    result = {"firewalls": count, "forks": forks_list, "latency": DEFAULT_LATENCY if latency else None,
              "sandbox_start_s": round(time.perf_counter() - started, 1), "work_dir": work_dir, "runs": [],
              "problems": []}
    try:
        firewalls = sandbox.services["sfos"]["firewalls"]
        sandbox_pid = sandbox.services["sfos"]["pid"]
        env = ansible_env(work_dir)
        inventory = write_inventory(work_dir, sandbox, firewalls)
        extra_vars, extra = write_extra_vars(work_dir)
        # Warm-up on one host (byte-compiled caches, page cache), then put that firewall back as new.
        for playbook in ("floor.yml", "configure.yml") + (("sdk_module.yml",) if vendor_forks else ()):
            run_playbook("warmup", playbook, inventory, extra_vars, forks_list[0], env, work_dir, sandbox_pid,
                         args=("--limit", firewalls[0]["name"]))
        plan = [(forks, name, variant) for forks in forks_list for name in phases for variant in variants]
        plan += [(forks, name, variants[0]) for forks in vendor_forks for name in VENDOR_PHASES]
        for forks, name, variant in plan:
            playbook, fresh = ALL_PHASES[name][0], ALL_PHASES[name][5]
            fleet_control(sandbox, "reset" if fresh else "counters", "POST")
            label = "%s-f%d" % (name, forks) + ("" if variant == "plain" else "-" + variant)
            measured, recap, output = run_playbook(label, playbook, inventory, extra_vars, forks,
                                                   dict(env, **VARIANTS[variant]), work_dir, sandbox_pid)
            fleet = fleet_control(sandbox, "state")["firewalls"]
            problems = check_phase(name, measured, recap, fleet, firewalls)
            for secret in (extra["mailoauth_client_secret"], extra["mailoauth_refresh_token"]):
                if secret in output:
                    problems.append("a secret appears in the output of %s" % label)
            measured["phase"] = name
            measured["variant"] = variant
            measured["per_host_ms"] = round(1000 * measured["wall_s"] / count, 2)
            measured["cpu_per_host_ms"] = round(1000 * measured["cpu_s"] / count, 2)
            # The machine's own limit: all CPU the run and the emulator used, spread over every core.
            measured["cpu_bound_s"] = round((measured["cpu_s"] + measured["sandbox_cpu_s"]) / os.cpu_count(), 2)
            bound, per_firewall = latency_bound(fleet, forks)
            if bound:
                measured["latency_bound_s"] = round(bound, 2)
                measured["per_firewall_network_s"] = round(per_firewall, 3)
                measured["wall_over_bound"] = round(measured["wall_s"] / bound, 2)
            result["runs"].append(measured)
            result["problems"] += ["%s: %s" % (label, problem) for problem in problems]
            if progress:
                # One line per run as soon as it ends: a long benchmark stopped halfway keeps what it measured.
                with open(progress, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(dict(measured, firewalls=count, problems=problems)) + "\n")
        if profile:
            # Not measured: the controller under cProfile (its forks inherit the profiler and are slower).
            name = profile
            fleet_control(sandbox, "reset" if ALL_PHASES[name][5] else "counters", "POST")
            prof = os.path.join(work_dir, "%s-%d.prof" % (name, count))
            run_playbook("profile-" + name, ALL_PHASES[name][0], inventory, extra_vars, forks_list[0], env,
                         work_dir, sandbox_pid, profile=prof)
            result["profile"] = prof
            print_profile(prof, "N=%d %s" % (count, name))
        # Ratios to the floor (mean of the first and last floor run at the same forks), for wall and CPU time.
        result["ratios"] = {}
        for forks, variant in [(forks, variant) for forks in forks_list for variant in variants]:
            runs = {run["phase"]: run for run in result["runs"]
                    if run["forks"] == forks and run["variant"] == variant}
            floors = [runs[name] for name in ("floor", "floor_end") if name in runs]
            if not floors:
                continue
            for key, ratios in (("wall_s", "wall"), ("cpu_s", "cpu")):
                base = sum(floor[key] for floor in floors) / len(floors)
                result["ratios"]["%s f%d%s" % (ratios, forks, "" if variant == "plain" else " " + variant)] = {
                    "%s/floor" % name: round(runs[name][key] / base, 2) for name in RATIOS if name in runs}
    finally:
        sandbox.stop()
        if not keep and not result["problems"] and not profile:
            shutil.rmtree(work_dir, ignore_errors=True)
            result["work_dir"] = None
            for measured in result["runs"]:
                measured.pop("output", None)
    return result


def print_table(result):
    print("\nN=%(firewalls)d firewalls (sandbox started in %(sandbox_start_s)s s)" % result)
    if result["latency"]:
        print("latency: %s" % json.dumps(result["latency"]))
    print("%-22s %5s %8s %8s %8s %9s %8s %8s %8s %8s %8s %7s %5s %8s %6s %8s %6s %8s" % (
        "phase", "forks", "wall s", "ms/host", "cpu s", "cpu ms/h", "ctl cpu", "ctl MiB", "max MiB", "tree RSS",
        "tree PSS", "wkr USS", "procs", "sbx cpu", "load", "bound s", "wall/b", "cpu/cores"))
    for row in result["runs"]:
        print("%-22s %5d %8.2f %8.2f %8.2f %9.2f %8.2f %8.1f %8.1f %8.1f %8.1f %7s %5d %8.2f %6.2f %8s %6s %8.2f" % (
            row["phase"] + ("" if row["variant"] == "plain" else "+" + row["variant"]), row["forks"], row["wall_s"],
            row["per_host_ms"], row["cpu_s"], row["cpu_per_host_ms"],
            row["controller_cpu_s"], row["controller_hwm_mib"], row["max_process_rss_mib"], row["peak_tree_rss_mib"],
            row["peak_tree_pss_mib"], "%.1f" % row["worker_uss_mib"] if row["worker_uss_mib"] else "-",
            row["peak_processes"], row["sandbox_cpu_s"], row["load_before"], row.get("latency_bound_s", "-"),
            row.get("wall_over_bound", "-"), row["cpu_bound_s"]))
    for label, ratios in result.get("ratios", {}).items():
        print("%s ratios: " % label + "  ".join("%s %.2f" % item for item in ratios.items()))
    for problem in result["problems"]:
        print("PROBLEM: " + problem)


def growth(report):
    """Per phase and forks: per-host wall/CPU cost and controller peak RSS against N, smallest N as the base."""
    rows = {}
    for run in report["runs"]:
        for measured in run["runs"]:
            rows.setdefault((measured["phase"], measured["forks"], measured["variant"]), []).append(
                (run["firewalls"], measured))
    table = {}
    for (phase, forks, variant), points in rows.items():
        if len(points) < 2:
            continue
        base_n, base = points[0]
        table["%s f%d%s" % (phase, forks, "" if variant == "plain" else " " + variant)] = [{
            "firewalls": n, "ms_per_host": m["per_host_ms"], "cpu_ms_per_host": m["cpu_per_host_ms"],
            "per_host_vs_smallest": round(m["per_host_ms"] / base["per_host_ms"], 2),
            "cpu_per_host_vs_smallest": round(m["cpu_per_host_ms"] / base["cpu_per_host_ms"], 2),
            "controller_hwm_mib": m["controller_hwm_mib"],
            "controller_mib_per_1000": round(1000 * (m["controller_hwm_mib"] - base["controller_hwm_mib"])
                                             / (n - base_n), 2) if n != base_n else None,
        } for n, m in points]
    return table


def write_json(report, path):
    """The report as JSON: to stdout for '-', else to the file (its directory made), nothing without a path."""
    if path == "-":
        json.dump(report, sys.stdout, indent=2)
    elif path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firewalls", type=int, nargs="+", default=[100, 500], help="fleet sizes (default 100 500)")
    parser.add_argument("--forks", type=int, nargs="+", default=[10], help="ansible-playbook --forks (default 10)")
    parser.add_argument("--phases", nargs="+", choices=list(PHASES), default=list(PHASES),
                        help="phases to run at each forks, in this order (default: all)")
    parser.add_argument("--vendor-forks", type=int, nargs="*", default=[],
                        help="also run the vendor module's request pattern (vendor, vendor_again) at these forks")
    parser.add_argument("--latency", action="store_true",
                        help="emulated WAN latency on every firewall (tests/sandbox/sfos/latency.py DEFAULT_LATENCY)")
    parser.add_argument("--variant", nargs="+", choices=list(VARIANTS), default=["plain"],
                        help="run every phase once per variant, interleaved (fork_gc: the mailoauth.sophos.fork_gc "
                             "callback enabled); default plain")
    parser.add_argument("--profile", choices=list(ALL_PHASES),
                        help="after the measured runs, run this phase once more with the controller under cProfile")
    parser.add_argument("--json", help="also write the results as JSON to this file ('-' for stdout)")
    parser.add_argument("--progress", help="append each run's figures to this file (JSON lines) as soon as it ends")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (playbook output, logs)")
    args = parser.parse_args(argv)
    open_files = raise_open_files_limit(max(args.firewalls) * 2 + 1024)
    import ansible  # pylint: disable=import-outside-toplevel
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": platform.python_version(),
              "ansible_core": ansible.__version__, "cpus": os.cpu_count(), "open_files_limit": open_files,
              "memory_total_mib": round(psutil.virtual_memory().total / 2 ** 20),
              "rusage_note": "cpu_s = user+sys of ansible-playbook and all its forks (wait4); max_process_rss_mib = "
                             "largest single process (wait4 ru_maxrss); controller_hwm_mib = controller VmHWM; "
                             "peak_tree_rss_mib / peak_tree_pss_mib = sampled sums of RSS / PSS over the tree; "
                             "worker_uss_mib = private memory per worker; sandbox_cpu_s = the SFOS emulator; "
                             "latency_bound_s = sum of every firewall's round trips and server time / forks",
              "runs": []}
    for count in args.firewalls:
        result = bench_fleet(count, args.forks, args.phases, args.vendor_forks, args.latency, args.keep,
                             args.profile, args.progress, args.variant)
        report["runs"].append(result)
        print_table(result)
        sys.stdout.flush()
    if len(report["runs"]) > 1:
        report["growth"] = growth(report)
        print("\nper-host cost and controller peak RSS against N (smallest N = 1.00):")
        for label, points in report["growth"].items():
            print("  %-18s " % label + "  ".join(
                "N=%d %.2f ms/h (x%.2f, cpu x%.2f) ctl %.1f MiB%s" % (
                    p["firewalls"], p["ms_per_host"], p["per_host_vs_smallest"], p["cpu_per_host_vs_smallest"],
                    p["controller_hwm_mib"], "" if p["controller_mib_per_1000"] is None
                    else " (%+.2f MiB/1000)" % p["controller_mib_per_1000"]) for p in points))
    write_json(report, args.json)
    return 1 if any(run["problems"] for run in report["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
