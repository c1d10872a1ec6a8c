"""A vaulted host variable that cannot be decrypted: the run names the variable and its file, and writes nothing.

The placeholder is the one examples/fleet used to ship (issue 15), in a host_vars file as a user would have it.
"""

import os

import pytest

PLACEHOLDER = "---\nsfos_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  REPLACE-WITH-ansible-vault-encrypt_string-OUTPUT\n"
PLAYBOOK = """---
- name: Configure the firewall through the role
  hosts: firewalls
  gather_facts: false
  connection: local
  roles:
    - role: mailoauth.sophos.firewall_notification
      vars:
        firewall_notification_client_id: 00000000-0000-0000-0000-000000000001
        firewall_notification_mailbox: alerts@contoso.example
        firewall_notification_client_secret: not-a-real-secret
        firewall_notification_refresh_token: not-a-real-token
"""


@pytest.fixture
def inventory(sandbox, tmp_path):
    fw = sandbox.services["sfos"]["firewalls"][-1]
    (tmp_path / "inventory" / "host_vars" / "fw-vault").mkdir(parents=True)
    (tmp_path / "inventory" / "hosts.yml").write_text(
        "firewalls:\n  hosts:\n    fw-vault:\n      sfos_host: %s\n      sfos_port: %d\n      sfos_username: %s\n"
        "      sfos_ca_path: %s\n" % (fw["host"], fw["port"], fw["username"], sandbox.ca_file))
    vault_file = tmp_path / "inventory" / "host_vars" / "fw-vault" / "sfos.vault.yml"
    vault_file.write_text(PLACEHOLDER)
    (tmp_path / "vault-password").write_text("the run's vault password\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    return fw, vault_file


def test_an_undecryptable_password_names_itself_and_its_file(sandbox, inventory, run_playbook, tmp_path):
    fw, vault_file = inventory
    url = "https://%s:%d" % (fw["host"], fw["port"])
    before = sandbox.control(url, "state")
    run = run_playbook(tmp_path / "play.yml", inventory=tmp_path / "inventory",
                       args=("--vault-password-file", str(tmp_path / "vault-password")))
    assert run.rc == 2, run
    assert run.failed_hosts() == ["fw-vault"]
    assert "The variable sfos_password (%s:2:16) cannot be decrypted: Vault format unhexlify error" % (
        os.path.realpath(vault_file)) in run.output, run
    assert "MODULE FAILURE" not in run.output and "Traceback" not in run.output
    after = sandbox.control(url, "state")
    assert after["notification"] == before["notification"]
