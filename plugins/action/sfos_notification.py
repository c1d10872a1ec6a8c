# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfos_notification runs here, in the controller's worker: one Get, and one Set only when something changes."""

from __future__ import annotations

import re

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import (
    NOTIFICATION_ARGSPEC, ensure_notification)
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import (
    CONNECTION_ARGSPEC, CONNECTION_INVENTORY_VARS, client_from_params, missing_libraries)
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import ActionModuleBase


# Shapes the Notification page itself refuses; checked before connecting so a typo never reaches any firewall.
ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
HOST_NAME = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")
API_VERSION = re.compile(r"^\d+(\.\d+)*$")


def check_options(params):
    """Refuse option values no firewall could use, naming the option and the fix (raises SfosError)."""
    def refuse(message, hint):
        raise SfosError(message, code="invalid-option", hint=hint)

    for option in ("port", "mail_port"):
        if params.get(option) is not None and not 1 <= params[option] <= 65535:
            refuse("Option %s must be between 1 and 65535, not %s" % (option, params[option]),
                   "use the firewall's admin port (normally 4444)" if option == "port"
                   else "use the mail server's submission port (587 for Microsoft 365)")
    if params.get("timeout") is not None and params["timeout"] < 1:
        refuse("Option timeout must be at least 1 second, not %s" % params["timeout"],
               "leave timeout at its default (30) or raise it for slow links")
    if params.get("api_version") and not API_VERSION.match(params["api_version"]):
        refuse("Option api_version %r is not an XML API version" % params["api_version"],
               "give the firmware's API version such as 2100.1, or leave api_version unset to read it from the firewall")
    if params.get("mail_server") is not None and not HOST_NAME.match(params["mail_server"]):
        refuse("Option mail_server %r is not a host name" % params["mail_server"],
               "give the SMTP server's name only, e.g. smtp.office365.com (no scheme, port or path)")
    recipients = params.get("recipients")
    if recipients is not None:
        if not recipients:
            refuse("Option recipients is an empty list", "list at least one address that should receive the "
                   "notifications, or leave recipients out to keep the firewall's")
        wrong = [address for address in recipients if not ADDRESS.match(address)]
        if wrong:
            refuse("Option recipients holds %s, which is not an e-mail address" % ", ".join(map(repr, wrong)),
                   "give each recipient as one address like soc@example.com")
    oauth = params.get("oauth") or {}
    addresses = [("sender_address", params.get("sender_address")), ("oauth.username", oauth.get("username"))]
    for option, value in addresses:
        if value and not ADDRESS.match(value):
            refuse("Option %s %r is not an e-mail address" % (option, value),
                   "give the sending mailbox's address, e.g. notifications@example.com")


class ActionModule(ActionModuleBase):
    option_variables = dict({name: (var,) for name, var in CONNECTION_INVENTORY_VARS.items()},
                            host=("sfos_host", "ansible_host", "inventory_hostname"))

    def argument_spec(self):
        return dict(CONNECTION_ARGSPEC, **NOTIFICATION_ARGSPEC), {}

    def run_module(self, module, task_vars):
        for library, error in missing_libraries():
            module.fail_json(msg=missing_required_lib(library), exception=str(error))
        if not module.params["validate_certs"]:
            module.warn("validate_certs=false: the firewall's TLS certificate is not verified")
        try:
            check_options(module.params)
            client = client_from_params(module.params)
        except SfosError as exc:
            module.fail_json(msg=str(exc), **exc.details())
        try:
            plan = ensure_notification(client, module.params, module.check_mode)
        except SfosError as exc:
            module.fail_json(msg=str(exc), api_version=client.api_version, **exc.details())
        finally:
            client.close()
        result = {"changed": plan.changed, "api_version": client.api_version, "secrets_sent": plan.secrets_sent,
                  "notification": plan.after}
        if module.diff:
            result["diff"] = {"before": plan.before, "after": plan.after}
        module.exit_json(**result)
