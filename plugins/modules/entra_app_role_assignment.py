#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_app_role_assignment
short_description: Grant an Entra application its application permissions (app roles) with admin consent
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Ensures the application's service principal holds the app roles O(app_roles) of one resource (Microsoft Graph by
    default, or for example Office 365 Exchange Online for C(Exchange.ManageAsApp)). Each one is an
    C(appRoleAssignment) to the resource's service principal, which is what "Grant admin consent" does for an
    application permission; the app's client-credentials tokens then carry the role in their C(roles) claim.
  - This is the only way to grant C(Exchange.ManageAsApp), which the Entra admin centre does not offer.
  - The application's service principal is created when it does not exist yet.
  - With O(required_resource_access=true) the roles are also listed in the application's C(requiredResourceAccess),
    so the admin centre shows them as configured and granted. Other entries are kept.
  - App roles of the resource that are assigned but not in O(app_roles) are kept; O(state=absent) removes the
    named ones.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.entra_auth.app
  - mailoauth.sophos.attributes
options:
  app_roles:
    description:
      - The application permissions by value, for example V(Application.ReadWrite.All) or V(Exchange.ManageAsApp).
      - Each must be an app role the resource offers to applications (its C(appRoles)).
    type: list
    elements: str
    required: true
  resource_app_id:
    description:
      - The application id of the resource whose roles are granted. Microsoft Graph is
        V(00000003-0000-0000-c000-000000000000), Office 365 Exchange Online V(00000002-0000-0ff1-ce00-000000000000).
    type: str
    default: 00000003-0000-0000-c000-000000000000
  required_resource_access:
    description:
      - Also list the roles in the application's C(requiredResourceAccess) (removed from it with O(state=absent)).
    type: bool
    default: true
  state:
    description:
      - V(absent) removes the assignments of the named roles.
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - The signed-in identity needs the Graph permissions C(AppRoleAssignment.ReadWrite.All) and
    C(Application.ReadWrite.All), for example an administrator signed in with O(auth_method=device_code).
"""

EXAMPLES = r"""
- name: Graph application permissions of the automation app, admin-consented
  mailoauth.sophos.entra_app_role_assignment:
    unique_name: mailoauth-automation
    app_roles: [Application.ReadWrite.All, DelegatedPermissionGrant.ReadWrite.All]
    auth_method: device_code

- name: Exchange.ManageAsApp, which the admin centre cannot grant
  mailoauth.sophos.entra_app_role_assignment:
    unique_name: mailoauth-automation
    resource_app_id: 00000002-0000-0ff1-ce00-000000000000
    app_roles: [Exchange.ManageAsApp]
    auth_method: device_code
"""

RETURN = r"""
app_roles:
  description: The named roles the service principal holds on the resource after the run (predicted in check mode).
  returned: always
  type: list
  elements: str
  sample: [Application.ReadWrite.All, DelegatedPermissionGrant.ReadWrite.All]
service_principal_id:
  description: The object id of the application's service principal. Empty in check mode before it exists.
  returned: always
  type: str
  sample: 6a4e1f2b-8c3d-4e5f-a6b7-c8d9e0f1a2b3
resource_service_principal_id:
  description: The object id of the resource's service principal in this tenant.
  returned: always
  type: str
  sample: 1d0e4a5b-2c3f-4a6b-8c7d-9e0f1a2b3c4d
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import (
    GraphClient,
    GraphError,
    app_module_spec,
    find_referenced_application,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import GRAPH_APP_ID, check_required_libs


def offered_roles(resource_sp):
    """App roles a resource lets applications hold: value -> id."""
    return {role["value"]: role["id"] for role in resource_sp.get("appRoles") or []
            if "Application" in (role.get("allowedMemberTypes") or []) and role.get("value")}


def rra_with_roles(app, resource_app_id, role_ids, present):
    """requiredResourceAccess with the roles added (or removed), everything else kept; None when nothing changes."""
    entries = [dict(entry, resourceAccess=list(entry.get("resourceAccess") or []))
               for entry in (app or {}).get("requiredResourceAccess") or []]
    entry = next((e for e in entries if (e.get("resourceAppId") or "").lower() == resource_app_id.lower()), None)
    if entry is None:
        if not present:
            return None
        entry = {"resourceAppId": resource_app_id, "resourceAccess": []}
        entries.append(entry)
    listed = {access.get("id") for access in entry["resourceAccess"] if access.get("type") == "Role"}
    if present:
        missing = [role_id for role_id in role_ids if role_id not in listed]
        if not missing:
            return None
        entry["resourceAccess"].extend({"id": role_id, "type": "Role"} for role_id in missing)
    else:
        if not listed & set(role_ids):
            return None
        entry["resourceAccess"] = [access for access in entry["resourceAccess"]
                                   if not (access.get("type") == "Role" and access.get("id") in role_ids)]
        if not entry["resourceAccess"]:
            entries.remove(entry)
    return entries


def main():
    argument_spec, rules = app_module_spec(
        app_roles={"type": "list", "elements": "str", "required": True},
        resource_app_id={"type": "str", "default": GRAPH_APP_ID},
        required_resource_access={"type": "bool", "default": True},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    params = module.params
    present = params["state"] == "present"
    wanted = list(dict.fromkeys(params["app_roles"]))
    if not wanted:
        module.fail_json(msg="app_roles is empty: name at least one application permission, for example "
                             "Application.ReadWrite.All")

    try:
        graph = GraphClient.from_params(params)
        resource_sp = graph.get_service_principal(params["resource_app_id"])
        if resource_sp is None:
            raise GraphError("The tenant has no service principal for resource_app_id %s" % params["resource_app_id"],
                             code="Request_ResourceNotFound", status=404,
                             hint="check resource_app_id (Microsoft Graph is %s)" % GRAPH_APP_ID)
        offered = offered_roles(resource_sp)
        unknown = [name for name in wanted if name not in offered]
        if unknown:
            module.fail_json(msg="app_roles %s are not application permissions of %s; use names it offers, such as %s"
                                 % (", ".join(unknown), resource_sp.get("displayName") or params["resource_app_id"],
                                    ", ".join(sorted(offered)[:8])))
        names = {role_id: name for name, role_id in offered.items()}

        app = find_referenced_application(graph, params, module.check_mode)
        app_id = app["appId"] if app else (params["app_id"] or "")
        sp = graph.get_service_principal(app_id) if app_id else None
        held = {}
        if sp is not None:
            held = {a["appRoleId"]: a for a in graph.list_app_role_assignments(sp["id"])
                    if a.get("resourceId") == resource_sp["id"]}
        before = sorted(names.get(role_id, role_id) for role_id in held)
        role_ids = [offered[name] for name in wanted]
        if present:
            to_add, to_remove = [r for r in role_ids if r not in held], []
        else:
            to_add, to_remove = [], [held[r] for r in role_ids if r in held]
        after = sorted((set(before) | set(wanted)) if present else (set(before) - set(wanted)))
        rra = rra_with_roles(app, params["resource_app_id"], role_ids, present) \
            if params["required_resource_access"] and app else None
        changed = bool(to_add or to_remove or rra is not None or (present and sp is None))

        if changed and not module.check_mode:
            fresh = False
            if present and sp is None:
                sp, fresh = graph.ensure_service_principal(app_id)
            if rra is not None:
                graph.update_application(app["id"], {"requiredResourceAccess": rra})
            created = 0
            for role_id in to_add:
                if not graph.create_app_role_assignment(sp["id"], resource_sp["id"], role_id,
                                                        just_created=fresh).get("existed"):
                    created += 1
            for assignment in to_remove:
                graph.delete_app_role_assignment(resource_sp["id"], assignment["id"])
            changed = bool(created or to_remove or rra is not None or fresh)
        result = {
            "changed": changed,
            "app_roles": after,
            "service_principal_id": sp["id"] if sp else "",
            "resource_service_principal_id": resource_sp["id"],
            "client_id": app_id,
            "tenant_id": graph.tenant_id or "",
            "diff": {"before": {"resource": resource_sp.get("displayName"), "app_roles": before},
                     "after": {"resource": resource_sp.get("displayName"), "app_roles": after}},
        }
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
