"""The vault password, as a table of the ways ansible-vault takes one: the credentials file must decrypt with exactly
what `--vault-password-file` makes of the same file, never with its source text.

A password script (an executable file, often committed) prints the password; a client script (named *-client) is
asked with --vault-id. The credentials_file role loads the secret through ansible-core's own vault secret loading,
so the file it writes decrypts with `ansible-vault view --vault-password-file <the same file>`.

Covered elsewhere: the credentials file written by setup.yml and read by the next run (test_playbooks.py), no vault
password in any output (test_reliability_secrets.py::test_no_secret_in_any_output_or_log[vault-passwords]).
"""

import json
import os
import stat
import subprocess
import sys
import uuid

import pytest

from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT

PLAYBOOK = os.path.join(os.path.dirname(__file__), "targets", "reliability", "credentials_file.yml")
PASSWORD = "vault-" + uuid.uuid4().hex
SECRET = "cs~" + uuid.uuid4().hex
TOKEN = "0.A" + uuid.uuid4().hex


def plain_file(path):
    path.write_text(PASSWORD + "\n")
    return path


def password_script(path):
    path.write_text("#!/bin/sh\n# the password is printed, not stored here\necho '%s'\n" % PASSWORD)
    path.chmod(0o700)
    return path


def client_script(path):
    path = path.with_name("vault-pass-client.sh")
    path.write_text('#!/bin/sh\n[ "$1" = "--vault-id" ] || exit 2\necho \'%s\'\n' % PASSWORD)
    path.chmod(0o700)
    return path


PASSWORD_FILES = {"plain-password-file": plain_file, "executable-password-script": password_script,
                  "client-script-asked-with-vault-id": client_script}


def environment(tmp_path):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def vaulted_values(path):
    """{name: ciphertext} of the credentials file's `name: !vault |` entries."""
    values, name = {}, None
    for line in path.read_text().splitlines():
        if line.endswith("!vault |"):
            name = line.split(":", 1)[0]
            values[name] = ""
        elif name and line.startswith("  "):
            values[name] += line.strip() + "\n"
        else:
            name = None
    return values


def vault_view(ciphertext, password_file, env):
    return subprocess.run([os.path.join(BIN, "ansible-vault"), "view", "--vault-password-file", str(password_file),
                           "-"], input=ciphertext, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("kind", sorted(PASSWORD_FILES))
def test_the_credentials_file_decrypts_as_ansible_vault_reads_the_password_file(kind, tmp_path):
    password_file = PASSWORD_FILES[kind](tmp_path / "vault-pass")
    credentials = tmp_path / "inventory" / "mailoauth_credentials.yml"
    credentials.parent.mkdir()
    env = environment(tmp_path)
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"mailoauth_credentials_file": str(credentials),
                                 "mailoauth_vault_password_file": str(password_file),
                                 "mailoauth_client_secret": SECRET, "mailoauth_refresh_token": TOKEN}))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), PLAYBOOK, "-e", "@" + str(extra)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert PASSWORD not in proc.stdout + proc.stderr
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600

    values = vaulted_values(credentials)
    assert sorted(values) == ["mailoauth_client_secret", "mailoauth_refresh_token"]
    for name, expected in (("mailoauth_client_secret", SECRET), ("mailoauth_refresh_token", TOKEN)):
        viewed = vault_view(values[name], password_file, env)
        assert viewed.returncode == 0, viewed.stderr[-2000:]
        assert viewed.stdout.rstrip("\n") == expected  # view ends its output with a line break

    # Not with the file's text, when that is a script: whoever can read the script must not be able to decrypt.
    if kind != "plain-password-file":
        source = tmp_path / "source-text"
        source.write_text(password_file.read_text())
        wrong = vault_view(values["mailoauth_client_secret"], source, env)
        assert wrong.returncode != 0 and SECRET not in wrong.stdout
