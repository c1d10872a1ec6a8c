#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: exo_smtp_auth
short_description: Turn Authenticated SMTP on or off for an Exchange Online mailbox
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Ensures the mailbox setting C(SmtpClientAuthenticationDisabled) (Authenticated SMTP in the Microsoft 365 admin
    centre) through the Exchange Online admin API that the ExchangeOnlineManagement v3 PowerShell module uses
    (C(/adminapi/beta/<tenant>/InvokeCommand), C(Get-CASMailbox) / C(Set-CASMailbox)).
  - Reads first and changes only when the value differs.
  - Also reads the organisation-wide switch (C(Get-TransportConfig)) and warns when the organisation has SMTP AUTH
    disabled and the mailbox follows it, because mail sent by the firewall then fails with C(535 5.7.139).
  - Signs in with an app-only token for the Exchange resource. The automation app needs the application
    permission C(Exchange.ManageAsApp) of C(Office 365 Exchange Online) with admin consent, and the Entra role
    Exchange Administrator (or Exchange Recipient Administrator) on its service principal.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.attributes
options:
  mailbox:
    description:
      - The sending mailbox, by user principal name or primary SMTP address.
    type: str
    required: true
    aliases: [identity]
  state:
    description:
      - V(enabled) sets C(SmtpClientAuthenticationDisabled=false) (the firewall can log in).
      - V(disabled) sets it to C(true).
      - V(inherit) clears it (C(null)) so the mailbox follows the organisation's switch.
    type: str
    default: enabled
    choices: [enabled, disabled, inherit]
  exchange_endpoint:
    description:
      - The Exchange Online admin API base URL; requests go to C(<exchange_endpoint>/adminapi/beta/<tenant>/InvokeCommand).
      - Defaults to the O(cloud)'s Exchange host, for example C(https://outlook.office365.com).
      - Tokens are still requested for the O(cloud)'s Exchange resource id.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Microsoft does not document the admin API endpoint itself; it is what ExchangeOnlineManagement v3 calls.
  - A change can take a few minutes to reach every Exchange server; a login test right after may still fail.
seealso:
  - name: Enable or disable SMTP AUTH in Exchange Online
    description: Microsoft's article on the per-mailbox and organisation switches.
    link: https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission
"""

EXAMPLES = r"""
- name: Turn on Authenticated SMTP for the firewall's sending mailbox
  mailoauth.sophos.exo_smtp_auth:
    tenant_id: "{{ mailoauth_tenant_id }}"
    client_id: "{{ automation_client_id }}"
    client_secret: "{{ automation_client_secret }}"
    mailbox: firewall-alerts@contoso.com
    state: enabled

- name: Let the mailbox follow the organisation again
  mailoauth.sophos.exo_smtp_auth:
    mailbox: firewall-alerts@contoso.com
    state: inherit
"""

RETURN = r"""
mailbox:
  description: The mailbox as Exchange names it (primary SMTP address when known).
  returned: success
  type: str
  sample: firewall-alerts@contoso.com
smtp_client_authentication_disabled:
  description: The mailbox's C(SmtpClientAuthenticationDisabled) after the run (in check mode, what it would be); null follows the organisation.
  returned: success
  type: bool
  sample: false
organization_smtp_client_authentication_disabled:
  description: The organisation's C(SmtpClientAuthenticationDisabled) from C(Get-TransportConfig).
  returned: success
  type: bool
  sample: true
smtp_auth_enabled:
  description: Whether SMTP AUTH is in effect for the mailbox, from both switches.
  returned: success
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.exchange import ExchangeClient, effective_smtp_auth
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    ENTRA_AUTH_RULES,
    EntraIdentity,
    check_required_libs,
    entra_auth_argument_spec,
)

WANTED = {"enabled": False, "disabled": True, "inherit": None}
SETTING = "SmtpClientAuthenticationDisabled"


def org_warning(mailbox):
    return ("SMTP AUTH is disabled for the organisation (Get-TransportConfig SmtpClientAuthenticationDisabled=true) "
            "and %s follows it (null): the firewall's mail will fail with 535 5.7.139. Use state=enabled to turn "
            "it on for this mailbox only." % mailbox)


def main():
    argument_spec = entra_auth_argument_spec()
    argument_spec.update(
        mailbox={"type": "str", "required": True, "aliases": ["identity"]},
        state={"type": "str", "default": "enabled", "choices": list(WANTED)},
        exchange_endpoint={"type": "str"},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True, **ENTRA_AUTH_RULES)
    check_required_libs(module)
    mailbox = module.params["mailbox"]
    wanted = WANTED[module.params["state"]]
    warnings = []
    try:
        identity = EntraIdentity.from_params(module.params)
        resource = identity.cloud.exchange_resource
        identity.token(resource)
        exchange = ExchangeClient(identity.cloud.exchange_endpoint, identity.tenant_id,
                                  lambda: identity.token(resource), identity.session)
        current = exchange.get_cas_mailbox(mailbox)
        org_disabled = bool(exchange.get_transport_config(mailbox.rpartition("@")[2]).get(SETTING))
        before = current.get(SETTING)
        changed = before != wanted
        if changed and not module.check_mode:
            warnings = exchange.set_smtp_client_auth_disabled(mailbox, wanted)
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    for warning in warnings:
        module.warn("Exchange: %s" % warning)
    after = wanted if changed else before
    if after is None and org_disabled:
        module.warn(org_warning(mailbox))
    result = {
        "changed": changed,
        "mailbox": current.get("PrimarySmtpAddress") or mailbox,
        "smtp_client_authentication_disabled": after,
        "organization_smtp_client_authentication_disabled": org_disabled,
        "smtp_auth_enabled": effective_smtp_auth(after, org_disabled),
    }
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": {SETTING: before}, "after": {SETTING: after},
                          "before_header": mailbox, "after_header": mailbox}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
