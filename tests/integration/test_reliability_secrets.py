"""Secrets never leak, as a table: every kind of secret against everything a run leaves behind.

One sandbox, the demo inventory (secrets in ansible-vault), and every playbook at -vvvv with --diff:
setup.yml from nothing, verify.yml (drift found: a diff and a failed run), rotate.yml while one firewall is down
(fail_json messages), rotate.yml again to finish, then setup.yml from nothing once more with ANSIBLE_DEBUG=1.
Collected: each run's stdout and stderr, the ansible log file (ANSIBLE_LOG_PATH) and the emulators' logs.
Secrets: every value the sandbox and the credentials file know, and by shape the ones no file keeps (access and ID
tokens are JWTs signed by the sandbox, authorization codes and refresh tokens carry the emulator's prefixes).

Covered elsewhere: the firewall role at -vvv (test_firewall_notification.py::test_role_configures_the_fleet_
idempotently), steps 3 and 5 at -vvvv (test_refresh_token_no_leak.py), setup.yml at -vvvv once
(test_playbooks.py::test_no_secret_appears_in_any_output), scrubbing of a secret echoed by a server
(test_identity.py::test_a_secret_echoed_by_a_server_is_scrubbed), diffs without secrets
(test_sfos_notification.py::test_the_diff_never_shows_a_secret).
"""

import os
import re

import pytest

from tests.integration.test_playbooks import stored_credentials
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

FIREWALLS = 3
JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")
AUTH_CODE = re.compile(r"(?<![\w.-])1\.A[\w-]{40,}")
REFRESH_TOKEN = re.compile(r"(?<![\w.-])0\.A[\w-]{40,}")


def firewall_url(fw):
    return "https://%s:%d" % (fw["host"], fw["port"])


@pytest.fixture(scope="module")
def leftovers(tmp_path_factory, request):
    """Runs every playbook as the module docstring says; returns {source name: text} and the secrets met."""
    from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    box = Sandbox.start(str(tmp_path_factory.mktemp("secrets-sandbox")), firewalls=FIREWALLS)
    request.addfinalizer(box.stop)
    ms = box.services["microsoft"]
    firewalls = box.services["sfos"]["firewalls"]
    workdir = tmp_path_factory.mktemp("secrets-runs")
    log_path = workdir / "ansible.log"
    sources = {}
    known = {
        "automation app secret": [ms["automation_app"]["client_secret"]],
        "limited app secret": [ms["limited_app"]["client_secret"]],
        "user passwords": [ms[user]["password"] for user in ("mailbox", "admin_user", "mfa_user")],
        "firewall passwords": [fw["password"] for fw in firewalls],
        "mail app client secrets": [], "refresh tokens": [], "vault passwords": [],
    }

    def play(name, inventory, *args, debug=False):
        inv, password_file, browser = inventory
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_LOG_PATH=str(log_path), ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"),
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, BROWSER=browser, REQUESTS_CA_BUNDLE="",
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_DEBUG="1" if debug else "0",
                   **fact_cache_env(os.path.dirname(inv)))
        cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join("playbooks", name), "-i", inv,
               "--vault-password-file", password_file, "-vvvv", "--diff"] + list(args)
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
        label = "%s%s run %d" % (name, " (ANSIBLE_DEBUG=1)" if debug else "", len(sources) // 2 + 1)
        sources[label + " stdout"] = proc.stdout
        sources[label + " stderr"] = proc.stderr
        return proc

    def remember(inventory):
        secret, refresh_token = stored_credentials({"inventory": inventory[0], "password_file": inventory[1]})
        known["mail app client secrets"].append(secret)
        known["refresh tokens"].append(refresh_token)

    first = write_inventory(box, str(workdir))
    with open(first[1], encoding="utf-8") as handle:
        known["vault passwords"].append(handle.read())
    assert play("setup.yml", first).returncode == 0
    remember(first)
    box.control(firewall_url(firewalls[0]), "config", "POST", {"notification": {"Port": "25"}})
    assert play("verify.yml", first).returncode != 0   # drift found: reported with a diff, run fails
    box.control(firewall_url(firewalls[1]), "config", "POST", {"fault": "down"})
    assert play("rotate.yml", first).returncode != 0   # one firewall down: errors, old secret kept
    remember(first)
    box.control(firewall_url(firewalls[1]), "config", "POST", {"fault": None})
    assert play("rotate.yml", first, "-e", "mailoauth_rotate_new_secret=false").returncode == 0
    remember(first)

    box.control(ms["login_url"], "reset", "POST")
    for fw in firewalls:
        box.control(firewall_url(fw), "reset", "POST")
    second_dir = workdir / "again"
    second_dir.mkdir()
    second = write_inventory(box, str(second_dir))
    with open(second[1], encoding="utf-8") as handle:
        known["vault passwords"].append(handle.read())
    assert play("setup.yml", second, debug=True).returncode == 0
    remember(second)

    sources["ansible log file"] = log_path.read_text(encoding="utf-8", errors="replace")
    sources["sandbox logs"] = box.log_text()
    assert len(sources["ansible log file"]) > 10000  # the log file was written at this verbosity
    return {"sources": sources, "known": known}


SHAPES = {"access and ID tokens (JWT)": JWT, "authorization codes": AUTH_CODE, "refresh tokens by shape": REFRESH_TOKEN}
# ANSIBLE_DEBUG=1 makes ansible-core itself print every module's arguments and raw reply, no_log or not ("the no_log
# attribute does not affect debugging output", docs: reference_appendices/logging.rst). Module arguments and
# results are therefore not checked in that run's console output; everything else is, and so is its log file.
DEBUG_PRINTS_MODULE_ARGS_AND_RESULTS = {"mail app client secrets", "refresh tokens", "automation app secret",
                                        "refresh tokens by shape"}
KINDS = ["mail app client secrets", "refresh tokens", "automation app secret", "limited app secret", "user passwords",
         "firewall passwords", "vault passwords"] + sorted(SHAPES)


def test_every_run_and_log_was_collected(leftovers):
    names = sorted(leftovers["sources"])
    assert sum(name.endswith("stdout") for name in names) == 5, names
    assert any("ANSIBLE_DEBUG=1" in name for name in names)
    assert len(set(leftovers["known"]["mail app client secrets"])) == 3  # setup, rotation, second setup
    assert all(leftovers["known"].values())


@pytest.mark.parametrize("kind", [pytest.param(kind, id=kind.replace(" ", "-")) for kind in KINDS])
def test_no_secret_in_any_output_or_log(leftovers, kind):
    found = []
    for source, text in leftovers["sources"].items():
        if "ANSIBLE_DEBUG=1" in source and kind in DEBUG_PRINTS_MODULE_ARGS_AND_RESULTS:
            continue
        if kind in SHAPES:
            match = SHAPES[kind].search(text)
            if match:
                found.append("%s: %s..." % (source, match.group(0)[:12]))
        else:
            found += [source for value in leftovers["known"][kind] if value and value in text]
    assert not found, "%s found in %s" % (kind, sorted(set(found)))
