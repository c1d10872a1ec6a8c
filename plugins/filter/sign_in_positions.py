# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which of several pasted sign-in addresses belong to one tenant's headless sign-in (an AWX job over several
tenants takes every tenant's address in one survey answer; each tenant's lead picks its own)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import sign_in_binding, split_addresses
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import sign_in_positions as _positions


def _text(pasted, name):
    if pasted is not None and not isinstance(pasted, str):
        raise AnsibleFilterError("%s takes the pasted addresses as one string (one per line or separated by spaces), "
                                 "got a %s" % (name, type(pasted).__name__))
    return pasted


def sign_in_positions(pasted, client_secret, mailbox):
    return _positions(_text(pasted, "sign_in_positions"), client_secret or "", sign_in_binding(mailbox))


def sign_in_addresses(pasted):
    return split_addresses(_text(pasted, "sign_in_addresses"))


class FilterModule:
    def filters(self):
        return {"sign_in_positions": sign_in_positions, "sign_in_addresses": sign_in_addresses}
