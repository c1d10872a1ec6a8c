#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_admin_consent
short_description: Ensure tenant-wide admin consent for an app's delegated permissions
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Ensures the application's service principal exists in the tenant and that admin consent for exactly the
    delegated O(scopes) is granted for all users (an C(oauth2PermissionGrant) with C(consentType=AllPrincipals) to the
    resource's service principal, Microsoft Graph by default).
  - This is the "Grant admin consent" button of the Entra admin centre, for the delegated permissions only.
  - Scopes missing from the grant are added, scopes not in O(scopes) are revoked; O(state=absent) or an empty
    O(scopes) deletes the grant. The service principal is never deleted here.
  - With O(app_home_tenant_id), the app is another tenant's multitenant app (for example an MSP's app, consented in
    each customer tenant). Its service principal is created in this tenant from O(app_id), as the admin consent of
    the Entra admin centre does; in check mode the module cannot tell yet whether the app allows other tenants, the
    real run says so.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.entra_auth.app
  - mailoauth.sophos.attributes
options:
  scopes:
    description:
      - The delegated permissions to consent to, by name, for example V(SMTP.Send).
      - Each must be a delegated permission the resource offers (its C(oauth2PermissionScopes)).
    type: list
    elements: str
    default: [SMTP.Send, offline_access]
  resource_app_id:
    description:
      - The application id of the API the scopes belong to. The default is Microsoft Graph, where the runbook adds
        C(SMTP.Send) and C(offline_access).
    type: str
    default: 00000003-0000-0000-c000-000000000000
  app_home_tenant_id:
    description:
      - The tenant where the application named by O(app_id) is registered, when that is not this tenant
        (O(tenant_id)). That is a multitenant app, for example an MSP's, given admin consent in this tenant.
      - The app is not looked up here; its service principal is created in this tenant from O(app_id).
      - Requires O(app_id) (an app of another tenant cannot be found by O(unique_name) here). The tenant id (a GUID)
        of this tenant, or no value, means the app is registered in this tenant.
      - The app must be multitenant in its home tenant (C(signInAudience=AzureADMultipleOrgs),
        O(mailoauth.sophos.entra_app#module:sign_in_audience) of M(mailoauth.sophos.entra_app)), or the module fails
        saying so.
    type: str
  state:
    description:
      - V(absent) revokes the consent (deletes the grant).
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - The signed-in identity needs the Graph application permissions C(Application.ReadWrite.All) (for the service
    principal) and C(DelegatedPermissionGrant.ReadWrite.All) (for the grant).
"""

EXAMPLES = r"""
- name: Grant admin consent for SMTP.Send and offline_access
  mailoauth.sophos.entra_admin_consent:
    unique_name: sophos-firewall-notifications
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ automation_client_id }}"
    client_secret: "{{ automation_client_secret }}"

- name: "MSP: consent in a customer tenant to the MSP's multitenant app"
  mailoauth.sophos.entra_admin_consent:
    app_id: "{{ msp_app_client_id }}"
    app_home_tenant_id: "{{ msp_tenant_id }}"
    tenant_id: "{{ customer_tenant_id }}"
    client_id: "{{ customer_automation_client_id }}"
    client_secret: "{{ customer_automation_client_secret }}"

- name: Revoke the consent
  mailoauth.sophos.entra_admin_consent:
    app_id: "{{ app.client_id }}"
    state: absent
"""

RETURN = r"""
service_principal_id:
  description: The object id of the application's service principal. Empty in check mode before it exists.
  returned: always
  type: str
  sample: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
grant_id:
  description: The id of the C(oauth2PermissionGrant). Empty when there is none (or in check mode before it exists).
  returned: always
  type: str
  sample: Ld3rPT0Av0uZlr8nGkBCVqNdPTxHsm1Ni4T0yWEBcNo
scopes:
  description: The consented scopes after the run, in the order of the O(scopes) option.
  returned: always
  type: list
  elements: str
  sample: [SMTP.Send, offline_access]
client_id:
  description: The application (client) id of the app (O(app_id) for another tenant's app).
  returned: always
  type: str
  sample: 0c9d3b2e-4f8a-4b6e-9a51-2f1d1c2a7e10
tenant_id:
  description: The id of the tenant the consent is in (this tenant, not O(app_home_tenant_id)).
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import (
    app_module_spec,
    find_referenced_application,
    GraphClient,
    GraphError,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    GRAPH_APP_ID,
    check_required_libs,
)


def scope_list(scope):
    return [name for name in (scope or "").split(" ") if name]


def plan_consent(grants, resource_sp_id, scopes):
    """What to do with the tenant-wide grants of our app to the resource: a list of (action, grant_id, scope).

    Actions: create, update, delete. Only AllPrincipals grants to this resource are ours to manage; per-user
    consents stay. Extra AllPrincipals grants to the same resource (duplicates) are folded into the first one.
    """
    ours = [grant for grant in grants
            if grant.get("consentType") == "AllPrincipals" and grant.get("resourceId") == resource_sp_id]
    steps = []
    if not scopes:
        return [("delete", grant["id"], None) for grant in ours]
    wanted = " ".join(scopes)
    if not ours:
        return [("create", None, wanted)]
    first = ours[0]
    if set(scope_list(first.get("scope"))) != set(scopes) or len(scope_list(first.get("scope"))) != len(scopes):
        steps.append(("update", first["id"], wanted))
    steps.extend(("delete", grant["id"], None) for grant in ours[1:])
    return steps


def unknown_scopes(resource_sp, scopes):
    offered = {scope.get("value") for scope in resource_sp.get("oauth2PermissionScopes") or []}
    if not offered:
        return []
    return [name for name in scopes if name not in offered]


class Consent:
    """The app's service principal and tenant-wide grant to one resource, as read from Graph."""

    def __init__(self, graph, resource_sp, sp):
        self.graph, self.resource_sp, self.sp = graph, resource_sp, sp
        self.grants = graph.list_grants(sp["id"]) if sp else []
        ours = [g for g in self.grants
                if g.get("consentType") == "AllPrincipals" and g.get("resourceId") == resource_sp["id"]]
        self.scopes = scope_list(ours[0].get("scope")) if ours else []
        self.grant_id = ours[0]["id"] if ours else ""

    def plan(self, scopes):
        return plan_consent(self.grants, self.resource_sp["id"], scopes)


def apply_consent(graph, consent, app_id, scopes, home_tenant_id=None):
    """Carry out the plan; return how many writes Graph took.

    ``consent`` is updated to what Graph holds afterwards. When a replica had not shown us the service principal or
    the grant yet, Graph refuses the duplicate (409); then the existing object is used and the plan redone, so
    nothing is created twice and ``changed`` stays honest. ``home_tenant_id``: the app is another tenant's.
    """
    writes = 0
    fresh_sp = False
    if consent.sp is None:
        sp = graph.create_service_principal(app_id, home_tenant_id=home_tenant_id)
        if sp.get("existed"):
            consent.__init__(graph, consent.resource_sp, sp)
        else:
            consent.sp, fresh_sp, writes = sp, True, writes + 1
    for action, grant_id, scope in consent.plan(scopes):
        if action == "create":
            grant = graph.create_grant(consent.sp["id"], consent.resource_sp["id"], scope, just_created=fresh_sp)
            consent.grant_id = grant["id"]
            if not grant.get("existed"):
                writes += 1
            else:
                consent.scopes = scope_list(grant.get("scope"))
                if set(consent.scopes) != set(scopes):
                    graph.update_grant(grant["id"], scope)
                    writes += 1
        elif action == "update":
            graph.update_grant(grant_id, scope)
            writes += 1
        else:
            graph.delete_grant(grant_id)
            writes += 1
    return writes


def main():
    argument_spec, rules = app_module_spec(
        scopes={"type": "list", "elements": "str", "default": ["SMTP.Send", "offline_access"]},
        resource_app_id={"type": "str", "default": GRAPH_APP_ID},
        app_home_tenant_id={"type": "str"},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    params = module.params
    if params["app_home_tenant_id"] and not params["app_id"]:
        module.fail_json(msg="app_home_tenant_id needs app_id: an app registered in another tenant cannot be found by "
                             "unique_name here; set app_id to the app's application (client) id instead")
    scopes = [] if params["state"] == "absent" else list(dict.fromkeys(params["scopes"]))

    try:
        graph = GraphClient.from_params(params)
        resource_sp = graph.get_service_principal(params["resource_app_id"])
        if resource_sp is None:
            raise GraphError("The tenant has no service principal for resource_app_id %s" % params["resource_app_id"],
                             code="Request_ResourceNotFound", status=404,
                             hint="check resource_app_id (Microsoft Graph is %s)" % GRAPH_APP_ID)
        unknown = unknown_scopes(resource_sp, scopes)
        if unknown:
            offered = sorted(s["value"] for s in resource_sp["oauth2PermissionScopes"])
            module.fail_json(msg="scopes %s are not delegated permissions of %s; use names it offers, such as %s" % (
                ", ".join(unknown), resource_sp.get("displayName") or params["resource_app_id"],
                ", ".join(offered[:8])))

        home = params["app_home_tenant_id"]
        # graph.tenant_id is the signed-in tenant's id now (from the token): the app may be this tenant's after all
        foreign = home if home and home.lower() != (graph.tenant_id or "").lower() else None
        if foreign:
            # Not in this tenant's /applications; waiting for it there would only wait out the replication policy.
            app_id = params["app_id"]
        else:
            app = find_referenced_application(graph, params, module.check_mode)
            app_id = app["appId"] if app else (params["app_id"] or "")
        consent = Consent(graph, resource_sp, graph.get_service_principal(app_id) if app_id else None)
        before = {"service_principal": consent.sp is not None, "scopes": consent.scopes}
        changed = bool(consent.plan(scopes)) or (consent.sp is None and bool(scopes))
        if changed and not module.check_mode:
            changed = apply_consent(graph, consent, app_id, scopes, foreign) > 0
            if not changed:
                before = {"service_principal": True, "scopes": consent.scopes}
        result = {
            "changed": changed,
            "service_principal_id": consent.sp["id"] if consent.sp else "",
            "grant_id": consent.grant_id if scopes else "",
            "scopes": scopes,
            "client_id": app_id,
            "tenant_id": graph.tenant_id or "",
            "diff": {"before": before,
                     "after": {"service_principal": before["service_principal"] or bool(scopes), "scopes": scopes}},
        }
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
