# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfos_notification runs here, in the controller's worker: one Get, and one Set only when something changes."""

from __future__ import annotations

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import (
    NOTIFICATION_ARGSPEC, OAUTH_VARIABLES, check_options, ensure_notification, refuse_stand_ins)
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import (
    CONNECTION_ARGSPEC, CONNECTION_VARIABLES, client_for_module)
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import ActionModuleBase


class ActionModule(ActionModuleBase):
    settings_option = "settings"
    option_variables = dict(CONNECTION_VARIABLES, **{"oauth." + key: (var,) for key, var in OAUTH_VARIABLES.items()})

    def argument_spec(self):
        return dict(CONNECTION_ARGSPEC, **NOTIFICATION_ARGSPEC), {}

    def run_module(self, module, task_vars):
        def check(params):
            check_options(params)
            if not module.check_mode:
                refuse_stand_ins(params)

        client = client_for_module(module, check)
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
