"""README.md's quick start, read out of README.md and run as one shell script against a sandbox of its own.

The console block under "## Quick start on a real tenant" runs in an empty directory with a temporary HOME, so
`~/.vault-pass` and `~/.ansible/collections` are the test's own, and with no ANSIBLE_COLLECTIONS_PATH: the playbooks
run from the collection that the block installs, never from the checkout. Only what must differ in the sandbox is
replaced, each by one rule below (SUBSTITUTIONS) or by the environment (quick_start_env):

- `ansible-galaxy collection install mailoauth.sophos` (Galaxy is out of reach) becomes the alternative the README
  gives on that line, run in a copy of the checkout: build the tarball and install it;
- `pip install` becomes `pip install --dry-run --no-index`: the requirements are checked against the test's Python,
  nothing is installed;
- the automation app's ID and secret and the firewalls' API password are the sandbox's (the sandbox tenant gets the
  README's tenant domain, every emulated firewall the same API password);
- $EDITOR is tests/integration/quick_start_editor.py, which edits what the README tells the user to edit: the
  firewalls' addresses and ports, the tenant and mailbox, the API user, plus the sandbox's endpoint variables and its
  CA (mailoauth_authority_host, ..., mailoauth_ca_path, sfos_ca_path);
- BROWSER is the sandbox's test browser, which signs in as the mailbox where a person would.
"""

import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.sandbox.client import Sandbox

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
EDITOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quick_start_editor.py")
HEADING = "## Quick start on a real tenant"
MARK = "=== quick start command %d ==="
RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.M)
INSTALL = re.compile(r"^ansible-galaxy collection install mailoauth\.sophos\s+# or, in a clone: (?P<build>.+)$")
SUBSTITUTIONS = (
    ("pip install ", '"%s" -m pip install --dry-run --no-index ' % sys.executable),
    ("AZURE_CLIENT_ID=<automation app>", 'AZURE_CLIENT_ID="$SANDBOX_AUTOMATION_CLIENT_ID"'),
    ("AZURE_CLIENT_SECRET=<its secret>", 'AZURE_CLIENT_SECRET="$SANDBOX_AUTOMATION_CLIENT_SECRET"'),
    ("'<API password>'", '"$SANDBOX_FIREWALL_PASSWORD"'),
)
FIREWALLS = 3


def quick_start_commands(readme_text):
    """The commands of the console block under the quick-start heading, continuation lines joined."""
    after = readme_text.split("\n" + HEADING + "\n", 1)[1]
    block = re.search(r"^```console\n(.*?)^```", after, re.S | re.M)
    assert block, "no ```console block under %r in README.md" % HEADING
    commands, current = [], ""
    for line in block.group(1).splitlines():
        current += line
        if current.endswith("\\"):
            current = current[:-1]
            continue
        if current.strip():
            commands.append(current.strip())
        current = ""
    return commands


def sandbox_script(commands, clone):
    """The commands with the documented substitutions, each preceded by a marker line; fails on one it cannot run."""
    lines = ["set -euo pipefail"]
    for number, command in enumerate(commands):
        install = INSTALL.match(command)
        if install:
            command = "(cd %s && %s)" % (clone, install.group("build"))
        for old, new in SUBSTITUTIONS:
            command = command.replace(old, new)
        left = re.findall(r"<[a-z][^<>]*>", command.split("#", 1)[0])
        assert not left, "README quick start: placeholder %s has no sandbox value in this test" % left
        lines += ["echo '%s'" % (MARK % number), command]
    return "\n".join(lines) + "\n"


def export_value(commands, name):
    for command in commands:
        found = re.search(r"\b%s=(\S+)" % name, command)
        if found and command.startswith("export "):
            return found.group(1)
    raise AssertionError("README quick start exports no %s" % name)


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as handle:
        commands = quick_start_commands(handle.read())
    box = Sandbox.start(str(tmp_path_factory.mktemp("quick-start-sandbox")), firewalls=FIREWALLS, options={
        "microsoft": {"tenant_domain": export_value(commands, "AZURE_TENANT_ID")}})
    try:
        yield run_quick_start(box, commands, tmp_path_factory.mktemp("quick-start"))
    finally:
        box.stop()


def copy_checkout(target):
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode("utf-8").split("\0")
    for path in listed:
        if path and os.path.isfile(os.path.join(REPO_ROOT, path)):
            os.makedirs(os.path.join(target, os.path.dirname(path)), exist_ok=True)
            shutil.copy2(os.path.join(REPO_ROOT, path), os.path.join(target, path))


def quick_start_env(box, base, password):
    ms = box.services["microsoft"]
    mailbox_password = base / "mailbox-password"
    mailbox_password.write_text(ms["mailbox"]["password"])
    mailbox_password.chmod(0o600)
    sandbox_values = base / "sandbox-values.json"
    sandbox_values.write_text(json.dumps({
        "firewalls": [{"host": fw["host"], "port": fw["port"]} for fw in box.services["sfos"]["firewalls"]],
        "sfos_username": box.services["sfos"]["firewalls"][0]["username"],
        "tenant": ms["tenant"]["domain"], "mailbox": ms["mailbox"]["upn"], "ca_file": box.ca_file,
        "endpoints": {"mailoauth_authority_host": ms["login_url"], "mailoauth_graph_endpoint": ms["graph_url"],
                      "mailoauth_exchange_endpoint": ms["exchange_url"],
                      "mailoauth_smtp_host": box.services["smtp"]["host"],
                      "mailoauth_smtp_port": box.services["smtp"]["port"]}}))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "AZURE_")) and key not in ("REQUESTS_CA_BUNDLE", "PYTHONPATH")}
    env.update({
        "HOME": str(base / "home"),
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_NOCOLOR": "1",
        "EDITOR": "%s %s" % (sys.executable, EDITOR),
        "QUICK_START_SANDBOX": str(sandbox_values),
        "BROWSER": "%s -m tests.sandbox.browser --user %s --password-file %s --ca-file %s %%s" % (
            sys.executable, ms["mailbox"]["upn"], mailbox_password, box.ca_file),
        # The browser command is the checkout's (tests.sandbox), not the collection's.
        "PYTHONPATH": REPO_ROOT,
        "SANDBOX_AUTOMATION_CLIENT_ID": ms["automation_app"]["client_id"],
        "SANDBOX_AUTOMATION_CLIENT_SECRET": ms["automation_app"]["client_secret"],
        "SANDBOX_FIREWALL_PASSWORD": password,
    })
    return env


def run_quick_start(box, commands, base):
    password = secrets.token_urlsafe(16)
    for fw in box.services["sfos"]["firewalls"]:
        box.control("https://%s:%d" % (fw["host"], fw["port"]), "config", method="POST", body={"password": password})
    clone, work = base / "clone", base / "work"
    copy_checkout(clone)
    for directory in (work, base / "home"):
        directory.mkdir()
    script = base / "quick-start.sh"
    script.write_text(sandbox_script(commands, clone))
    env = quick_start_env(box, base, password)
    proc = subprocess.run(["bash", str(script)], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=1200, check=False)
    parts = re.split(r"^=== quick start command (\d+) ===$", proc.stdout, flags=re.M)
    outputs = {commands[int(number)]: text for number, text in zip(parts[1::2], parts[2::2])}
    return {"box": box, "rc": proc.returncode, "output": proc.stdout, "outputs": outputs, "commands": commands,
            "home": base / "home", "work": work, "password": password}


def playbook_output(quick_start, playbook):
    (command,) = [c for c in quick_start["commands"] if c.startswith("ansible-playbook") and playbook in c.split()]
    assert command in quick_start["outputs"], quick_start["output"][-6000:]
    return quick_start["outputs"][command]


def app_and_firewalls(box):
    state = box.control(box.services["microsoft"]["login_url"], "state")
    (app,) = [app for app in state["applications"] if app["uniqueName"] == "sophos-firewall-notifications"]
    stored = [box.control("https://%s:%d" % (fw["host"], fw["port"]), "state")["notification"]
              for fw in box.services["sfos"]["firewalls"]]
    return app, stored


def redeems(box, notification):
    """The firewall's stored client ID, secret and refresh token work at the token endpoint, as SFOS uses them."""
    ms = box.services["microsoft"]
    body = urllib.parse.urlencode({
        "grant_type": "refresh_token", "client_id": notification["ClientID"],
        "client_secret": notification["ClientSecret"], "refresh_token": notification["RefreshToken"],
        "scope": "https://outlook.office365.com/.default offline_access"})
    status, reply = form_post(box, "%s/%s/oauth2/v2.0/token" % (ms["login_url"], ms["tenant"]["id"]), body)
    return status == 200 and reply.get("scope") == "https://outlook.office365.com/SMTP.Send"


def form_post(box, url, body):
    context = ssl.create_default_context(cafile=box.ca_file)
    try:
        with urllib.request.urlopen(url, data=body.encode("ascii"), context=context, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_quick_start_block_is_what_the_test_runs():
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as handle:
        commands = quick_start_commands(handle.read())
    assert INSTALL.match(commands[0]), commands[0]
    assert [c.split()[3] for c in commands if c.startswith("ansible-playbook")] == [
        "mailoauth.sophos.setup", "mailoauth.sophos.verify", "mailoauth.sophos.rotate"]
    assert any(c.startswith("ansible-vault encrypt_string") and "> group_vars/firewalls/sfos.vault.yml" in c
               for c in commands)


def test_the_quick_start_runs_as_written_from_the_installed_collection(quick_start):
    assert quick_start["rc"] == 0, quick_start["output"][-8000:]
    installed = quick_start["home"] / ".ansible" / "collections" / "ansible_collections" / "mailoauth" / "sophos"
    assert (installed / "MANIFEST.json").is_file()  # installed from a tarball, not a link to the checkout
    assert not (installed / "tests").exists()
    for playbook in ("mailoauth.sophos.setup", "mailoauth.sophos.verify", "mailoauth.sophos.rotate"):
        recap = {m["host"]: m for m in RECAP.finditer(playbook_output(quick_start, playbook))}
        assert sorted(recap) == ["customer-a-fw01", "customer-a-fw02", "customer-b-fw01"], playbook
        assert all(m["failed"] == "0" and m["unreachable"] == "0" for m in recap.values()), playbook


def test_setup_configured_every_firewall_and_rotate_gave_them_a_new_secret(quick_start):
    box = quick_start["box"]
    app, stored = app_and_firewalls(box)
    assert [s["ClientID"] for s in stored] == [app["appId"]] * FIREWALLS
    assert {s["Username"] for s in stored} == {box.services["microsoft"]["mailbox"]["upn"]}
    # After rotate: one secret left on the app, and it is the one every firewall holds and can redeem with.
    assert len(app["passwordCredentials"]) == 1
    assert all(s["ClientSecret"][:3] == app["passwordCredentials"][0]["hint"] for s in stored)
    assert all(redeems(box, s) for s in stored)
    credentials = quick_start["work"] / "inventory" / "group_vars" / "all" / "mailoauth_credentials.vault.yml"
    assert "$ANSIBLE_VAULT" in credentials.read_text()


def test_the_quick_start_prints_no_warning_and_no_secret(quick_start):
    output = quick_start["output"]
    assert "Using a template for task args" not in output
    assert "[WARNING]" not in output, [line for line in output.splitlines() if "[WARNING]" in line]
    box = quick_start["box"]
    for secret in (quick_start["password"], box.services["microsoft"]["automation_app"]["client_secret"],
                   box.services["microsoft"]["mailbox"]["password"]):
        assert secret not in output
