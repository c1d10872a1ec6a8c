# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A filter that vault-encrypts a value with the secret of a vault password file, loaded as ansible-vault loads it."""

from __future__ import annotations

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, get_file_vault_secret


def vault_with_password_file(data, password_file, vault_id="default"):
    """``data`` encrypted for ``vault_id`` with the secret of ``password_file``: the file's first line, or what it
    prints when it is executable (a password script, or a client script asked with --vault-id), exactly as
    ``--vault-password-file`` reads it; never the script's own text."""
    if not isinstance(data, (str, bytes)):
        raise AnsibleFilterError("vault_with_password_file can only encrypt strings, not %s" % type(data).__name__)
    if not password_file:
        raise AnsibleFilterError("vault_with_password_file needs the path of a vault password file")
    try:
        secret = get_file_vault_secret(filename=password_file, vault_id=vault_id, loader=DataLoader())
        secret.load()
    except AnsibleError as exc:
        # ansible-core's own message: it names the file (or the script and its exit code), never the password.
        raise AnsibleFilterError("Cannot load the vault password from %s: %s" % (password_file, exc.message)) from None
    return to_native(VaultLib().encrypt(to_bytes(data), secret, vault_id))


class FilterModule:
    def filters(self):
        return {"vault_with_password_file": vault_with_password_file}
