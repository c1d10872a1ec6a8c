#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_directory_role_assignment
short_description: Assign a built-in Entra directory role to an application's service principal
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Ensures the application's service principal holds the built-in directory role O(role) for the whole tenant
    (a C(unifiedRoleAssignment) with C(directoryScopeId=/)).
  - Exchange Online accepts an app-only token only from an app that has C(Exchange.ManageAsApp)
    (M(mailoauth.sophos.entra_app_role_assignment)) and a directory role such as Exchange Recipient Administrator.
  - The application's service principal is created when it does not exist yet.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.entra_auth.app
  - mailoauth.sophos.attributes
options:
  role:
    description:
      - The built-in role by name, V(Exchange Recipient Administrator), V(Exchange Administrator),
        V(Application Administrator) or V(Cloud Application Administrator), or any built-in role's template id
        (a GUID, as Microsoft lists them under "Microsoft Entra built-in roles").
    type: str
    default: Exchange Recipient Administrator
  state:
    description:
      - V(absent) removes the tenant-wide assignment of O(role).
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - The signed-in identity needs the Graph permission C(RoleManagement.ReadWrite.Directory); an administrator signed
    in with a device code needs the Privileged Role Administrator (or Global Administrator) role.
"""

EXAMPLES = r"""
- name: Let the automation app manage mailboxes through the Exchange admin API
  mailoauth.sophos.entra_directory_role_assignment:
    unique_name: mailoauth-automation
    role: Exchange Recipient Administrator
    auth_method: device_code
"""

RETURN = r"""
role_definition_id:
  description: The template id of the role.
  returned: always
  type: str
  sample: 31392ffb-586c-42d1-9346-e59415a2cc4e
assignment_id:
  description: The id of the role assignment. Empty when absent, or in check mode before it exists.
  returned: always
  type: str
  sample: lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1
service_principal_id:
  description: The object id of the application's service principal. Empty in check mode before it exists.
  returned: always
  type: str
  sample: 6a4e1f2b-8c3d-4e5f-a6b7-c8d9e0f1a2b3
client_id:
  description: The application (client) id.
  returned: always
  type: str
  sample: 0c9d3b2e-4f8a-4b6e-9a51-2f1d1c2a7e10
tenant_id:
  description: The tenant (a GUID once a token was obtained).
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import (
    DIRECTORY_ROLE_TEMPLATES,
    GraphClient,
    app_module_spec,
    find_referenced_application,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import check_required_libs

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def role_definition_id(role):
    """The template id for a role name or GUID, or None when it is neither."""
    if GUID.match(role):
        return role.lower()
    wanted = role.strip().casefold()
    return next((tid for name, tid in DIRECTORY_ROLE_TEMPLATES.items() if name.casefold() == wanted), None)


def main():
    argument_spec, rules = app_module_spec(
        role={"type": "str", "default": "Exchange Recipient Administrator"},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    params = module.params
    present = params["state"] == "present"
    definition = role_definition_id(params["role"])
    if definition is None:
        module.fail_json(msg="role %r is neither a known role name (%s) nor a template id (GUID)" % (
            params["role"], ", ".join(DIRECTORY_ROLE_TEMPLATES)))
    name = next((n for n, tid in DIRECTORY_ROLE_TEMPLATES.items() if tid == definition), definition)

    try:
        graph = GraphClient.from_params(params)
        app = find_referenced_application(graph, params, module.check_mode)
        app_id = app["appId"] if app else (params["app_id"] or "")
        sp = graph.get_service_principal(app_id) if app_id else None
        existing = [a for a in graph.list_role_assignments(sp["id"], definition)
                    if a.get("directoryScopeId") == "/"] if sp else []
        before = {"role": name, "assigned": bool(existing)}
        changed = (present and not existing) or (not present and bool(existing))
        assignment_id = existing[0]["id"] if existing and present else ""
        if changed and not module.check_mode:
            if present:
                sp, fresh = graph.ensure_service_principal(app_id) if sp is None else (sp, False)
                assignment = graph.create_role_assignment(sp["id"], definition, just_created=fresh)
                assignment_id = assignment.get("id", "")
                changed = not assignment.get("existed")
            else:
                for found in existing:
                    graph.delete_role_assignment(found["id"])
        result = {
            "changed": changed,
            "role_definition_id": definition,
            "assignment_id": assignment_id,
            "service_principal_id": sp["id"] if sp else "",
            "client_id": app_id,
            "tenant_id": graph.tenant_id or "",
            "diff": {"before": before, "after": {"role": name, "assigned": present}},
        }
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
