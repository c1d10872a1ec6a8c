"""An inventory for the sandbox, written the way examples/fleet/ is: endpoints in group_vars, secrets in ansible-vault.

Used by `make demo` and by the end-to-end tests, so both run the playbooks exactly as a user would.
"""

import json
import os
import secrets
import sys

from ansible.parsing.vault import VaultLib, VaultSecret


def vaulted(vault, value):
    body = vault.encrypt(value).decode("ascii")
    return "!vault |\n" + "".join("  " + line + "\n" for line in body.splitlines())


def fact_cache_env(workdir):
    """Ansible's fact cache as examples/fleet/ansible.cfg sets it up (jsonfile, never expiring): the ledger of what
    each firewall holds lives there between runs."""
    return {"ANSIBLE_CACHE_PLUGIN": "jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(workdir, "fact-cache"),
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0"}


def write_inventory(box, workdir):
    ms = box.services["microsoft"]
    smtp = box.services["smtp"]
    firewalls = box.services["sfos"]["firewalls"]
    password_file = os.path.join(workdir, "vault-password")
    with open(os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(24))
    with open(password_file, encoding="utf-8") as handle:
        vault = VaultLib([("default", VaultSecret(handle.read().encode("utf-8")))])
    inventory = os.path.join(workdir, "inventory")
    for sub in ("group_vars/all", "group_vars/firewalls", "host_vars"):
        os.makedirs(os.path.join(inventory, sub), exist_ok=True)
    with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
        handle.write("firewalls:\n  hosts:\n")
        for fw in firewalls:
            handle.write("    %s:\n      sfos_host: %s\n      sfos_port: %d\n" % (fw["name"], fw["host"], fw["port"]))
    for fw in firewalls:
        os.makedirs(os.path.join(inventory, "host_vars", fw["name"]), exist_ok=True)
        with open(os.path.join(inventory, "host_vars", fw["name"], "vault.yml"), "w", encoding="utf-8") as handle:
            handle.write("sfos_username: %s\nsfos_password: %s" % (fw["username"], vaulted(vault, fw["password"])))
    with open(os.path.join(inventory, "group_vars", "firewalls", "sfos.yml"), "w", encoding="utf-8") as handle:
        handle.write("ansible_connection: local\nsfos_ca_path: %s\n"
                     "firewall_notification_recipients:\n  - soc@%s\n" % (box.ca_file, ms["tenant"]["domain"]))
    with open(os.path.join(inventory, "group_vars", "all", "tenant.yml"), "w", encoding="utf-8") as handle:
        handle.write(
            "# The sandbox's endpoints: on a real tenant leave these out (mailoauth_cloud picks the defaults).\n"
            "mailoauth_authority_host: %s\nmailoauth_graph_endpoint: %s\nmailoauth_exchange_endpoint: %s\n"
            "mailoauth_smtp_host: %s\nmailoauth_smtp_port: %d\nmailoauth_ca_path: %s\n"
            "mailoauth_tenant_id: %s\nmailoauth_mailbox: %s\n"
            "mailoauth_automation_client_id: %s\nmailoauth_automation_client_secret: %s"
            "mailoauth_credentials_file: %s\nmailoauth_vault_password_file: %s\n" % (
                ms["login_url"], ms["graph_url"], ms["exchange_url"], smtp["host"], smtp["port"], box.ca_file,
                ms["tenant"]["id"], ms["mailbox"]["upn"], ms["automation_app"]["client_id"],
                vaulted(vault, ms["automation_app"]["client_secret"]),
                os.path.join(inventory, "group_vars", "all", "mailoauth_credentials.yml"), password_file))
    browser_password = os.path.join(workdir, "mailbox-password")
    with open(os.open(browser_password, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(ms["mailbox"]["password"])
    browser = "%s -m tests.sandbox.browser --user %s --password-file %s --ca-file %s %%s" % (
        sys.executable, ms["mailbox"]["upn"], browser_password, box.ca_file)
    return inventory, password_file, browser


# The sign-in "browser" for many mailboxes: signs in as the mailbox the sign-in URL's login_hint names.
MSP_BROWSER_SCRIPT = """\
import json, subprocess, sys, urllib.parse
url = sys.argv[1]
hint = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["login_hint"][0].lower()
with open(%(users)r, encoding="utf-8") as handle:
    password_file = json.load(handle)[hint]
sys.exit(subprocess.call([sys.executable, "-m", "tests.sandbox.browser", "--user", hint, "--password-file",
                          password_file, "--ca-file", %(ca)r, url], cwd=%(repo)r))
"""


def write_msp_inventory(box, workdir, customers, multitenant_app=None):
    """An MSP's inventory, as the README's MSP example: every customer a group under ``firewalls`` with its own
    tenant, mailbox, automation identity and credentials file in the group's group_vars (MSP model 1, an app per
    tenant).

    ``customers``: {group name: (index into ``box.tenants``, [firewalls from box.services["sfos"]["firewalls"]])}.
    ``multitenant_app``: (index of the app's home tenant, its unique name, [customer groups]): those customers consent
    to one multitenant app registered in that tenant (MSP model 2), managed there by that tenant's automation
    identity (group_vars/all/mailoauth_app.yml), its secret kept in group_vars/all/mailoauth_app_credentials.yml.
    Returns (inventory directory, vault password file, browser command): the browser signs in as whichever
    customer's mailbox the sign-in URL names.
    """
    inventory, password_file, dummy = write_inventory(box, workdir)
    with open(password_file, encoding="utf-8") as handle:
        vault = VaultLib([("default", VaultSecret(handle.read().encode("utf-8")))])
    with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
        handle.write("firewalls:\n  children:\n")
        for customer, (dummy, firewalls) in customers.items():
            handle.write("    %s:\n      hosts:\n" % customer)
            for fw in firewalls:
                handle.write("        %s: {sfos_host: %s, sfos_port: %d}\n" % (fw["name"], fw["host"], fw["port"]))
    users = {}
    for customer, (index, dummy) in customers.items():
        seed = box.tenants[index]
        group_vars = os.path.join(inventory, "group_vars", customer)
        os.makedirs(group_vars, exist_ok=True)
        with open(os.path.join(group_vars, "tenant.yml"), "w", encoding="utf-8") as handle:
            handle.write(
                "mailoauth_tenant_id: %s\nmailoauth_mailbox: %s\nmailoauth_firewall_group: %s\n"
                "firewall_notification_recipients:\n  - soc@%s\n"
                "mailoauth_automation_client_id: %s\nmailoauth_automation_client_secret: %s"
                "mailoauth_credentials_file: %s\n" % (
                    seed["tenant"]["id"], seed["mailbox"]["upn"], customer, seed["tenant"]["domain"],
                    seed["automation_app"]["client_id"], vaulted(vault, seed["automation_app"]["client_secret"]),
                    os.path.join(group_vars, "mailoauth_credentials.yml")))
        if multitenant_app and customer in multitenant_app[2]:
            with open(os.path.join(group_vars, "tenant.yml"), "a", encoding="utf-8") as handle:
                handle.write("mailoauth_app_tenant_id: %s\nmailoauth_app_unique_name: %s\n" % (
                    box.tenants[multitenant_app[0]]["tenant"]["id"], multitenant_app[1]))
        mailbox_password = os.path.join(workdir, "mailbox-password-%s" % customer)
        with open(os.open(mailbox_password, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                  encoding="utf-8") as handle:
            handle.write(seed["mailbox"]["password"])
        users[seed["mailbox"]["upn"].lower()] = mailbox_password
    if multitenant_app:
        home = box.tenants[multitenant_app[0]]["automation_app"]
        all_vars = os.path.join(inventory, "group_vars", "all")
        with open(os.path.join(all_vars, "mailoauth_app.yml"), "w", encoding="utf-8") as handle:
            handle.write("mailoauth_app_automation_client_id: %s\nmailoauth_app_automation_client_secret: %s"
                         "mailoauth_app_credentials_file: %s\n" % (
                             home["client_id"], vaulted(vault, home["client_secret"]),
                             os.path.join(all_vars, "mailoauth_app_credentials.yml")))
    users_file = os.path.join(workdir, "browser-users.json")
    with open(users_file, "w", encoding="utf-8") as handle:
        json.dump(users, handle)
    script = os.path.join(workdir, "msp-browser.py")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(MSP_BROWSER_SCRIPT % {"users": users_file, "ca": box.ca_file,
                                           "repo": os.path.dirname(os.path.dirname(os.path.dirname(
                                               os.path.abspath(__file__))))})
    return inventory, password_file, "%s %s %%s" % (sys.executable, script)
