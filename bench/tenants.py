"""Many-tenant benchmark: setup, setup again and verify for an MSP's fleet of T customer tenants, against the same
fleet in one tenant.

    .venv/bin/python bench/tenants.py --firewalls 500 --tenants 20 --forks 10 --json bench/results/tenants.json

One sandbox with N emulated firewalls and T + 1 tenants in the Microsoft emulator. Two cases, each on the whole
fleet, reset to new firewalls first:
  msp   T customer groups of N / T firewalls, each customer's own tenant, mailbox, automation identity and
        credentials file in its group_vars (MSP model 1: an app per tenant; tests/sandbox/inventory.py
        write_msp_inventory), each mailbox signing in through the loopback sign-in, one after the other
  one   the same N firewalls in one tenant (the emulator's first tenant, which the msp case does not touch)
Each case runs playbooks/setup.yml (everything created), setup.yml again (nothing changes) and playbooks/verify.yml,
measured as bench/fleet.py measures (wall time, CPU of the ansible-playbook tree from os.wait4, controller peak
RSS), and prints the msp / one ratios. Any of these fails the benchmark (exit status 1): a failed run or host, a
firewall whose client ID, secret, refresh token or mailbox is not its own tenant's (read from the emulator's
/_sandbox/state on each firewall's port, against the tenant's app in the emulator and its credentials file), a
second setup with changed != 0, SMTP logins during the case (the emulator's records of the refresh token role's and
verify's XOAUTH2 proofs) that are not exactly each tenant's own mailbox in its own tenant, or a secret in the
output. See bench/README.md.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: E402

from bench.fleet import (  # noqa: E402
    ansible_env, control, fleet_control, raise_open_files_limit, run_playbook, write_json)
from tests.sandbox.client import Sandbox  # noqa: E402
from tests.sandbox.inventory import fact_cache_env, write_inventory, write_msp_inventory  # noqa: E402

APP_UNIQUE_NAME = "sophos-firewall-notifications"
# phase -> playbook; "setup_again" must change nothing.
PHASES = (("setup", "setup.yml"), ("setup_again", "setup.yml"), ("verify", "verify.yml"))
MEASURED = ("wall_s", "cpu_s", "controller_cpu_s", "controller_hwm_mib")


def case_inventory(box, work_dir, case, tenants):
    """{group: (tenant index, firewalls)} and the inventory for one case; the msp case uses tenants 1..T."""
    firewalls = box.services["sfos"]["firewalls"]
    if case == "one":
        inventory, password_file, browser = write_inventory(box, work_dir)
        return {"firewalls": (0, firewalls)}, inventory, password_file, browser
    size = len(firewalls) // tenants
    customers = {"customer_%02d" % (i + 1): (i + 1, firewalls[i * size:(i + 1) * size if i + 1 < tenants else None])
                 for i in range(tenants)}
    inventory, password_file, browser = write_msp_inventory(box, work_dir, customers)
    return customers, inventory, password_file, browser


def stored_credentials(path, password_file):
    """The credentials file the credentials_file role wrote: each value vaulted on its own."""
    with open(password_file, encoding="utf-8") as handle:
        vault = VaultLib([("default", VaultSecret(handle.read().strip().encode("utf-8")))])

    class Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        pass

    Loader.add_constructor("!vault", lambda loader, node: vault.decrypt(loader.construct_scalar(node)).decode())
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=Loader)  # nosec - SafeLoader plus !vault only


def fleet_problems(box, customers, inventory, password_file):
    """Every firewall on its own tenant's app, secret, refresh token and mailbox; returns (problems, secrets)."""
    problems, held_secrets = [], []
    for group, (index, firewalls) in customers.items():
        seed = box.tenants[index]
        apps = [app for app in box.microsoft("state", tenant=index)["applications"]
                if app["uniqueName"] == APP_UNIQUE_NAME]
        if len(apps) != 1:
            problems.append("%s: %d apps named %s in its tenant" % (group, len(apps), APP_UNIQUE_NAME))
            continue
        path = os.path.join(inventory, "group_vars", "all" if group == "firewalls" else group,
                            "mailoauth_credentials.yml")
        if not os.path.exists(path):
            problems.append("%s: no credentials file %s" % (group, path))
            continue
        stored = stored_credentials(path, password_file)
        held_secrets += [stored["mailoauth_client_secret"], stored["mailoauth_refresh_token"]]
        expected = {"ClientID": apps[0]["appId"], "ClientSecret": stored["mailoauth_client_secret"],
                    "RefreshToken": stored["mailoauth_refresh_token"], "Username": seed["mailbox"]["upn"]}
        wrong = [fw["name"] for fw in firewalls
                 if {key: control(box, fw, "state")["notification"].get(key) for key in expected} != expected]
        if wrong:
            problems.append("%s: %d of %d firewalls do not hold the tenant's own client ID, secret, refresh token "
                            "and mailbox (%s ...)" % (group, len(wrong), len(firewalls), wrong[0]))
    tokens = [held_secrets[i] for i in range(1, len(held_secrets), 2)]
    if len(set(tokens)) != len(tokens):
        problems.append("two tenants hold the same refresh token")
    return problems, held_secrets


def smtp_problems(box, customers, logins):
    """The case's XOAUTH2 logins (setup's and verify's proofs): exactly each tenant's own mailbox, in its own tenant."""
    expected = {(box.tenants[index]["mailbox"]["upn"].lower(), box.tenants[index]["tenant"]["id"])
                for index, dummy in customers.values()}
    seen = {(entry["mailbox"].lower(), entry["tenant"]) for entry in logins}
    problems = []
    if seen - expected:
        problems.append("SMTP logins as another tenant's mailbox or in the wrong tenant: %s" % sorted(seen - expected))
    if expected - seen:
        problems.append("%d tenants' mailboxes never logged in to SMTP" % len(expected - seen))
    return problems


def report_problems(box, customers, path):
    """verify's JSON report: one row per tenant, every check ok, every firewall ok under its own tenant."""
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    expected = {box.tenants[index]["tenant"]["id"]: len(firewalls) for index, firewalls in customers.values()}
    problems = []
    rows = {row["tenant"]: row for row in report["tenants"]}
    if {tenant: row["firewalls"] for tenant, row in rows.items()} != expected:
        problems.append("verify's report does not list each tenant with its own firewalls")
    bad = [tenant for tenant, row in rows.items()
           if (row["client_secret"], row["refresh_token"], row["smtp_xoauth2"]) != ("ok", "ok", "ok")]
    if bad:
        problems.append("verify reports a tenant not ok: %s" % ", ".join(bad))
    tenant_of = {fw["name"]: box.tenants[index]["tenant"]["id"] for index, firewalls in customers.values()
                 for fw in firewalls}
    wrong = [row["firewall"] for row in report["firewalls"]
             if row["status"] != "ok" or row["tenant"] != tenant_of.get(row["firewall"])]
    if wrong or len(report["firewalls"]) != len(tenant_of):
        problems.append("verify reports %d firewalls not ok or under another tenant, %d rows for %d firewalls" % (
            len(wrong), len(report["firewalls"]), len(tenant_of)))
    return problems


def run_problems(phase, measured, recap, firewalls):
    problems = []
    if measured["rc"] != 0:
        problems.append("ansible-playbook exited %s (see %s)" % (measured["rc"], measured["output"]))
    if set(recap) != {fw["name"] for fw in firewalls}:
        problems.append("recap lists %d hosts, expected %d" % (len(recap), len(firewalls)))
    failed = sorted(host for host, row in recap.items() if row["failed"] or row["unreachable"])
    if failed:
        problems.append("failed hosts: %s" % ", ".join(failed[:10]))
    changed = sum(row["changed"] for row in recap.values())
    measured["changed"] = changed
    if phase == "setup" and any(row["changed"] == 0 for row in recap.values()):
        unchanged = sum(1 for row in recap.values() if not row["changed"])
        problems.append("setup changed nothing on %d firewalls" % unchanged)
    if phase == "setup_again" and changed:
        problems.append("changed=%d, expected 0" % changed)
    return problems


def bench_case(box, case, tenants, forks, root):
    work_dir = os.path.join(root, case)
    os.makedirs(work_dir)
    firewalls = box.services["sfos"]["firewalls"]
    customers, inventory, password_file, browser = case_inventory(box, work_dir, case, tenants)
    # PYTHONPATH: the sandbox browser is run as python -m tests.sandbox.browser.
    env = dict(ansible_env(work_dir), BROWSER=browser, PYTHONPATH=REPO_ROOT, **fact_cache_env(work_dir))
    extra_vars = os.path.join(work_dir, "extra-vars.json")
    os.makedirs(os.path.join(work_dir, "reports"))
    with open(extra_vars, "w", encoding="utf-8") as handle:
        json.dump({"mailoauth_report_dir": os.path.join(work_dir, "reports")}, handle)
    fleet_control(box, "reset", "POST")
    logins_before = len(box.smtp_logins())
    result = {"case": case, "tenants": len(customers), "forks": forks, "runs": [], "problems": []}
    outputs, held_secrets = [], [box.tenants[index]["automation_app"]["client_secret"]
                                 for index, dummy in customers.values()]
    for phase, playbook in PHASES:
        label = "%s-%s-f%d" % (case, phase, forks)
        fleet_control(box, "counters", "POST")
        measured, recap, output = run_playbook(
            label, os.path.join(REPO_ROOT, "playbooks", playbook), inventory, extra_vars, forks, env, work_dir,
            box.services["sfos"]["pid"], args=("--vault-password-file", password_file))
        measured["phase"] = phase
        measured["per_host_ms"] = round(1000 * measured["wall_s"] / len(firewalls), 2)
        measured["cpu_per_host_ms"] = round(1000 * measured["cpu_s"] / len(firewalls), 2)
        problems = run_problems(phase, measured, recap, firewalls)
        sets = {row["counters"]["sets"] for row in fleet_control(box, "state")["firewalls"]}
        if sets != {1 if phase == "setup" else 0}:
            problems.append("firewalls written %s times, expected %d" % (sorted(sets), phase == "setup"))
        if phase == "verify":
            problems += report_problems(box, customers, os.path.join(work_dir, "reports", "verify.json"))
        else:
            fleet, stored = fleet_problems(box, customers, inventory, password_file)
            problems += fleet
            held_secrets += stored
        outputs.append(output)
        result["runs"].append(measured)
        result["problems"] += ["%s: %s" % (label, problem) for problem in problems]
        print("  %-22s rc %d  wall %7.1f s  cpu %7.1f s  ctl %6.1f MiB  load %5.2f  changed %d" % (
            label, measured["rc"], measured["wall_s"], measured["cpu_s"], measured["controller_hwm_mib"],
            measured["load_before"], measured["changed"]), flush=True)
        if measured["rc"] != 0:
            break
    logins = box.smtp_logins()[logins_before:]
    result["problems"] += ["%s: %s" % (case, problem) for problem in smtp_problems(box, customers, logins)]
    if any(secret in output for secret in held_secrets for output in outputs):
        result["problems"].append("%s: a client secret or refresh token appears in the output" % case)
    return result


def ratios(report):
    """msp / one per phase, and the cost split: each extra tenant's (msp - one) / (T - 1) against one firewall's
    (one / N, which holds one tenant's steps too, so an upper bound)."""
    runs = {(case["case"], run["phase"]): run for case in report["cases"] for run in case["runs"]}
    table = {}
    for phase, dummy in PHASES:
        msp, one = runs.get(("msp", phase)), runs.get(("one", phase))
        if msp and one:
            table[phase] = {key: round(msp[key] / one[key], 2) if one[key] else None for key in MEASURED}
            for key in ("wall_s", "cpu_s"):
                table[phase]["per_tenant_%s" % key] = round((msp[key] - one[key]) / max(report["tenants"] - 1, 1), 2)
                table[phase]["per_firewall_%s" % key.replace("_s", "_ms")] = round(
                    1000 * one[key] / report["firewalls"], 1)
    return table


def print_table(report):
    print("\nN=%(firewalls)d firewalls, forks %(forks)d; msp = %(tenants)d tenants, one = 1 tenant" % report)
    print("%-5s %-12s %7s %8s %8s %9s %8s %8s %7s %6s" % (
        "case", "phase", "changed", "wall s", "cpu s", "cpu ms/h", "ctl cpu", "ctl MiB", "sbx cpu", "load"))
    for case in report["cases"]:
        for run in case["runs"]:
            print("%-5s %-12s %7d %8.2f %8.2f %9.2f %8.2f %8.1f %7.2f %6.2f" % (
                case["case"], run["phase"], run["changed"], run["wall_s"], run["cpu_s"], run["cpu_per_host_ms"],
                run["controller_cpu_s"], run["controller_hwm_mib"], run["sandbox_cpu_s"], run["load_before"]))
    for phase, row in report.get("ratios", {}).items():
        print("msp/one %-12s " % phase + "  ".join("%s %s" % item for item in row.items()))
    for case in report["cases"]:
        for problem in case["problems"]:
            print("PROBLEM: " + problem)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firewalls", type=int, default=500, help="fleet size (default 500)")
    parser.add_argument("--tenants", type=int, default=20, help="customer tenants of the msp case (default 20)")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks (default 10)")
    parser.add_argument("--cases", nargs="+", choices=("msp", "one"), default=["msp", "one"],
                        help="cases, in this order (default msp one)")
    parser.add_argument("--json", help="also write the results as JSON to this file ('-' for stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (inventories, output, logs)")
    args = parser.parse_args(argv)
    if args.firewalls < args.tenants:
        parser.error("--firewalls must be at least --tenants")
    raise_open_files_limit(args.firewalls * 2 + 1024)
    import ansible  # pylint: disable=import-outside-toplevel
    root = tempfile.mkdtemp(prefix="mailoauth-tenants-%d-" % args.firewalls)
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": platform.python_version(),
              "ansible_core": ansible.__version__, "cpus": os.cpu_count(), "firewalls": args.firewalls,
              "tenants": args.tenants, "forks": args.forks, "cases": [], "work_dir": root}
    started = time.perf_counter()
    box = Sandbox.start(os.path.join(root, "sandbox"), firewalls=args.firewalls,
                        options={"microsoft": {"tenants": args.tenants + 1}}, timeout=120.0 + args.firewalls / 20.0)
    report["sandbox_start_s"] = round(time.perf_counter() - started, 1)
    try:
        for case in args.cases:
            report["cases"].append(bench_case(box, case, args.tenants, args.forks, root))
    finally:
        box.stop()
    report["ratios"] = ratios(report)
    failed = any(case["problems"] for case in report["cases"])
    if not args.keep and not failed:
        shutil.rmtree(root, ignore_errors=True)
        report["work_dir"] = None
        for case in report["cases"]:
            for run in case["runs"]:
                run.pop("output", None)
    print_table(report)
    write_json(report, args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
