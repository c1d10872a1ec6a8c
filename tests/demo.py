"""`make demo`: the whole flow against the sandbox, as a user would run it, then once more to show it converged.

1. starts the sandbox (a tenant with a mailbox, 5 firewalls) in .sandbox/;
2. writes an inventory like examples/fleet/ with the sandbox's endpoints, secrets in ansible-vault;
3. runs playbooks/setup.yml: the sign-in of step 5 is played by the sandbox's test browser, which Python's
   webbrowser module starts through the BROWSER environment variable, as it would start a real one;
4. shows what each firewall stored (secrets masked) and what the SMTP server saw;
5. runs setup.yml again and checks that nothing changed, then verify.yml for the summary;
6. stops the sandbox.
"""

import os
import re
import shutil
import subprocess
import sys

from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def say(text):
    print("\n\033[1m== %s\033[0m" % text, flush=True)


def run_playbook(name, inventory, password_file, env):
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "--vault-password-file", password_file,
           os.path.join(REPO_ROOT, "playbooks", name)]
    say("ansible-playbook playbooks/%s" % name)
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    proc.wait()
    recap = {m[0]: {"changed": int(m[2]), "failed": int(m[4]) + int(m[3])} for m in RECAP.findall("".join(lines))}
    return proc.returncode, recap


def show_firewalls(box):
    say("What each firewall stored (read from the emulated firewalls; secrets masked)")
    for fw in box.services["sfos"]["firewalls"]:
        stored = box.control("https://%s:%d" % (fw["host"], fw["port"]), "state")["notification"]
        masked = {key: ("<set, %d chars>" % len(stored[key]) if stored[key] else "<empty>")
                  for key in ("ClientSecret", "RefreshToken")}
        print("%s: %s:%s %s, %s OAuth 2.0, client ID %s, sending as %s, to %s, client secret %s, refresh token %s" % (
            fw["name"], stored["MailServer"], stored["Port"], stored["ConnectionSecurity"], stored["Oauth2Provider"],
            stored["ClientID"], stored["Username"], stored["Recepient"], masked["ClientSecret"],
            masked["RefreshToken"]))


def show_smtp(box):
    say("What the SMTP server saw (XOAUTH2 logins)")
    control = box.services["smtp"]["control_url"]
    for entry in box.control(control, "auth_log")["attempts"]:
        print("AUTH XOAUTH2 user=%s -> %s" % (entry["user"], entry["reply"]))


def main():
    directory = os.path.join(REPO_ROOT, ".sandbox")
    say("Starting the sandbox: Microsoft identity platform + Graph + Exchange, SMTP, 5 Sophos Firewalls")
    box = Sandbox.start(directory, firewalls=5)
    try:
        workdir = os.path.join(directory, "demo")
        shutil.rmtree(workdir, ignore_errors=True)  # a fresh tenant: credentials of an earlier demo mean nothing
        os.makedirs(workdir)
        inventory, password_file, browser = write_inventory(box, workdir)
        print("inventory: %s (secrets in ansible-vault)" % inventory)
        print("The mailbox sign-in of step 5 is played by the sandbox's test browser (BROWSER=tests.sandbox.browser).")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO_ROOT, ".build", "collections"),
                   ANSIBLE_NOCOLOR="1", BROWSER=browser, PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
                   **fact_cache_env(workdir))  # the ledger of what each firewall holds, as examples/fleet/ansible.cfg keeps it
        env.pop("REQUESTS_CA_BUNDLE", None)  # the inventory's ca_path options are what make the sandbox trusted
        rc, recap = run_playbook("setup.yml", inventory, password_file, env)
        if rc != 0:
            say("setup.yml failed (rc=%d)" % rc)
            return rc
        show_firewalls(box)
        show_smtp(box)
        rc, recap = run_playbook("setup.yml", inventory, password_file, env)
        changed = sum(host["changed"] for host in recap.values())
        say("Second run: rc=%d, changed=%d on %d hosts" % (rc, changed, len(recap)))
        if rc != 0 or changed:
            return rc or 1
        rc, recap = run_playbook("verify.yml", inventory, password_file, env)
        say("verify.yml: rc=%d" % rc)
        return rc
    finally:
        say("Stopping the sandbox")
        box.stop()


if __name__ == "__main__":
    sys.exit(main())
