# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfos_notification_info runs here, in the controller's worker: exactly one Get per firewall."""

from __future__ import annotations

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import (
    NOTIFICATION_ARGSPEC, current_settings, oauth_configured)
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError, entity_fields, masked_entity
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import (
    CONNECTION_ARGSPEC, CONNECTION_VARIABLES, client_for_module, oauth_element_names, oauth_supported)
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import ActionModuleBase

ENTITY = "Notification"


class ActionModule(ActionModuleBase):
    option_variables = CONNECTION_VARIABLES

    def argument_spec(self):
        return dict(CONNECTION_ARGSPEC, oauth_element_names=NOTIFICATION_ARGSPEC["oauth_element_names"]), {}

    def run_module(self, module, task_vars):
        client = client_for_module(module)
        try:
            reply = client.get(ENTITY)
        except SfosError as exc:
            module.fail_json(msg=str(exc), api_version=client.api_version, **exc.details())
        finally:
            client.close()
        names = oauth_element_names(client.api_version, module.params["oauth_element_names"])
        secret_tags = (names["client_secret"], names["refresh_token"]) if names else ()
        fields = entity_fields(reply.entity)
        module.exit_json(
            changed=False, api_version=client.api_version, oauth_supported=oauth_supported(client.api_version),
            oauth_element_names=names, oauth_configured=oauth_configured(fields, names),
            settings=current_settings(fields, names),
            notification=masked_entity(reply.entity, secret_tags) if reply.entity is not None else {})
