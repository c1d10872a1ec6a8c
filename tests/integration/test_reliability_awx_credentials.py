"""AWX credentials, as a table of the ways a firewall's API login can be given alongside an attached AWX credential of
the type "Sophos Firewall API user" (extensions/awx/credential_types/sfos_api_user.yml): the host's own variables
always win, the credential serves only the firewalls that have none. Each emulated firewall must receive its own
password's login, and no other.

AWX is not here: its injection is reproduced from the credential type file itself (the injector templates rendered
with the credential's inputs, given as extra vars as AWX gives them).
"""

import json
import os
import subprocess
import sys

import jinja2
import pytest
import yaml

from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT

CREDENTIAL_TYPE = os.path.join(REPO_ROOT, "extensions", "awx", "credential_types", "sfos_api_user.yml")
PLAYBOOK = os.path.join(os.path.dirname(__file__), "targets", "reliability", "read_firewalls.yml")


def awx_extra_vars(inputs):
    """What AWX injects for a credential of this type with these inputs."""
    with open(CREDENTIAL_TYPE, encoding="utf-8") as handle:
        injectors = yaml.safe_load(handle)["injectors"]
    assert set(injectors) == {"extra_vars"}, "the test reproduces extra_vars injection only"
    return {name: jinja2.Template(template).render(**inputs) for name, template in injectors["extra_vars"].items()}


def firewall_url(fw):
    return "https://%s:%d" % (fw["host"], fw["port"])


# (where fw01's login is, where fw02's login is): "host_vars", "group_vars" or "awx" (the attached credential).
LAYOUTS = {
    "own-password-in-host_vars-and-the-credential-for-the-rest": ("host_vars", "awx"),
    "own-password-in-group_vars-and-the-credential-for-the-rest": ("group_vars", "awx"),
    "every-firewall-its-own-and-a-credential-attached-anyway": ("host_vars", "host_vars"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_firewall_gets_its_own_login(layout, sandbox, tmp_path):
    first, second = sandbox.services["sfos"]["firewalls"][:2]
    assert first["password"] != second["password"]
    where = dict(zip(("fw01", "fw02"), LAYOUTS[layout]))
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "group_vars").mkdir()
    groups = {"firewalls": {"children": {"own_group": {"hosts": {}}, "rest": {"hosts": {}}}}}
    for name, fw in (("fw01", first), ("fw02", second)):
        group = "own_group" if where[name] == "group_vars" else "rest"
        groups["firewalls"]["children"][group]["hosts"][name] = {
            "sfos_host": fw["host"], "sfos_port": fw["port"], "sfos_ca_path": sandbox.ca_file}
        login = {"sfos_username": fw["username"], "sfos_password": fw["password"]}
        if where[name] == "host_vars":
            (inventory / "host_vars" / ("%s.yml" % name)).write_text(yaml.safe_dump(login))
        elif where[name] == "group_vars":
            (inventory / "group_vars" / "own_group.yml").write_text(yaml.safe_dump(login))
    (inventory / "hosts.yml").write_text(yaml.safe_dump(groups))
    # The credential holds the password of the firewall that has none of its own (or, with none such, the second's).
    awx_fw = second
    extra = tmp_path / "awx-extra-vars.json"
    extra.write_text(json.dumps(awx_extra_vars({"username": awx_fw["username"], "password": awx_fw["password"]})))

    for fw in (first, second):
        sandbox.control(firewall_url(fw), "counters", "POST")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), PLAYBOOK, "-i", str(inventory), "-e",
                           "@" + str(extra)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    counters = {fw["name"]: sandbox.control(firewall_url(fw), "state")["counters"] for fw in (first, second)}
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for fw in (first, second):
        assert counters[fw["name"]]["logins_failed"] == 0, "%s got another firewall's password" % fw["name"]
        assert counters[fw["name"]]["gets"] == 1
