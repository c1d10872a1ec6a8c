#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_app
short_description: Ensure the Entra application the firewalls send mail as
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Creates, updates or removes the Microsoft Entra application registration that Sophos Firewalls use to send
    notification e-mail through Exchange Online with OAuth 2.0.
  - The application is found again on every run by its O(unique_name), an immutable alternate key, so a person may
    rename it in the portal without the module creating a second one. Use O(app_id) instead to manage an application
    that was created by hand (it has no unique name).
  - Only the settings named here are compared and changed. Permissions of other resources and Graph application
    permissions already on the app are kept; the Graph delegated permissions are set to exactly O(delegated_permissions).
  - Admin consent is a separate step, M(mailoauth.sophos.entra_admin_consent); the client secret is
    M(mailoauth.sophos.entra_app_secret).
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.attributes
options:
  display_name:
    description:
      - The name shown in the Entra admin centre. Display names are not unique.
      - Required when O(state=present).
    type: str
  unique_name:
    description:
      - The stable key the application is found by. It can only be set when the application is created.
      - Defaults to C(mailoauth-) followed by O(display_name) in lower case with every run of other characters than
        letters and digits replaced by C(-), so changing O(display_name) in the playbook without setting
        O(unique_name) creates a new application.
    type: str
  app_id:
    description:
      - The application (client) id of an existing application to manage instead of finding it by O(unique_name).
      - The module never creates an application when O(app_id) is given.
    type: str
  sign_in_audience:
    description:
      - Who may sign in. The runbook uses a multitenant app.
    type: str
    default: AzureADMultipleOrgs
    choices: [AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount, PersonalMicrosoftAccount]
  redirect_uris:
    description:
      - The Web platform redirect URIs, compared as a set and replaced as a whole.
      - Each must be C(https://...), or C(http://localhost...) / C(http://127.0.0.1...) for the loopback sign-in.
      - C(https://outlook.office365.com/) is the runbook's choice; the code is then copied from the browser's address
        bar. C(http://localhost/) lets M(mailoauth.sophos.oauth_refresh_token) catch the code itself on any port.
    type: list
    elements: str
    default: ['https://outlook.office365.com/']
  delegated_permissions:
    description:
      - The Microsoft Graph delegated permissions (scopes) the app requests.
      - Known names are V(SMTP.Send), V(offline_access), V(Mail.Send), V(User.Read), V(openid), V(profile) and V(email).
      - The firewall needs V(SMTP.Send) and V(offline_access), not V(Mail.Send).
    type: list
    elements: str
    default: [SMTP.Send, offline_access]
  state:
    description:
      - V(absent) deletes the application's service principal in this tenant (and with it the admin consent grants
        made to it), then the application with its client secrets. Entra keeps the application in the deleted items
        for 30 days, where an administrator can restore it (without its service principal and grants).
      - The diff then lists the client ID, whether a service principal existed and the key ids of the secrets.
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - The signed-in identity needs the Graph application permission C(Application.ReadWrite.All).
  - Before removing an application that firewalls use, switch them to another mail setting first;
    C(playbooks/remove.yml) does both in that order and refuses while a firewall still holds the client ID.
"""

EXAMPLES = r"""
- name: Register the application the firewalls send mail as
  mailoauth.sophos.entra_app:
    display_name: Sophos Firewall notifications
    unique_name: sophos-firewall-notifications
    redirect_uris:
      - https://outlook.office365.com/
      - http://localhost/
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ automation_client_id }}"
    client_secret: "{{ automation_client_secret }}"
  register: app

- name: Remove it again
  mailoauth.sophos.entra_app:
    unique_name: sophos-firewall-notifications
    state: absent
"""

RETURN = r"""
client_id:
  description: The application (client) id, C(appId). Empty in check mode before the application exists.
  returned: always
  type: str
  sample: 0c9d3b2e-4f8a-4b6e-9a51-2f1d1c2a7e10
object_id:
  description: The application's object id, C(id). Empty in check mode before the application exists.
  returned: always
  type: str
  sample: 6a4e1f2b-8c3d-4e5f-a6b7-c8d9e0f1a2b3
tenant_id:
  description: The tenant the application lives in (a GUID once a token was obtained).
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
application:
  description: The managed settings of the application after the run (predicted in check mode), empty when absent.
  returned: always
  type: dict
  sample:
    display_name: Sophos Firewall notifications
    unique_name: sophos-firewall-notifications
    sign_in_audience: AzureADMultipleOrgs
    redirect_uris: ['https://outlook.office365.com/']
    delegated_permissions: [SMTP.Send, offline_access]
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import (
    GRAPH_DELEGATED_SCOPES,
    GraphClient,
    application_view,
    graph_argument_spec,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    ENTRA_AUTH_RULES,
    GRAPH_APP_ID,
    check_required_libs,
    entra_auth_argument_spec,
)


def default_unique_name(display_name):
    return "mailoauth-" + re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")


def validate(params):
    """Problems with the options, each naming the option and the fix."""
    problems = []
    if params["state"] == "present":
        if not params["display_name"]:
            problems.append("display_name is required with state=present")
        for uri in params["redirect_uris"]:
            if not re.match(r"^(https://[^/\s]+|http://(localhost|127\.0\.0\.1)(:\d+)?)(/\S*)?$", uri):
                problems.append("redirect_uris entry %r must be https://..., or http://localhost/ for the loopback "
                                "sign-in" % uri)
        unknown = [name for name in params["delegated_permissions"] if name not in GRAPH_DELEGATED_SCOPES]
        if unknown:
            problems.append("delegated_permissions %s unknown; use names from %s" % (
                ", ".join(unknown), ", ".join(sorted(GRAPH_DELEGATED_SCOPES))))
    if not (params["app_id"] or params["unique_name"] or params["display_name"]):
        problems.append("give unique_name (or app_id, or display_name to derive unique_name from)")
    return problems


def wanted_view(params, current):
    return {
        "display_name": params["display_name"],
        "unique_name": current.get("unique_name") if current else params["unique_name"],
        "sign_in_audience": params["sign_in_audience"],
        "redirect_uris": list(params["redirect_uris"]),
        "delegated_permissions": list(params["delegated_permissions"]),
    }


def differing_fields(current, wanted):
    """Names of the managed settings that differ; lists compare as sets (order has no meaning in Entra)."""
    fields = []
    for name in ("display_name", "sign_in_audience", "redirect_uris", "delegated_permissions"):
        have, want = current.get(name), wanted[name]
        if isinstance(want, list):
            if set(have or []) != set(want):
                fields.append(name)
        elif have != want:
            fields.append(name)
    return fields


def required_resource_access(app, scope_names):
    """requiredResourceAccess with the Graph Scope entries replaced, everything else kept."""
    entries = [dict(entry) for entry in (app or {}).get("requiredResourceAccess") or []]
    graph = next((entry for entry in entries if entry.get("resourceAppId") == GRAPH_APP_ID), None)
    if graph is None:
        graph = {"resourceAppId": GRAPH_APP_ID, "resourceAccess": []}
        entries.append(graph)
    kept = [access for access in graph.get("resourceAccess", []) if access.get("type") != "Scope"]
    graph["resourceAccess"] = kept + [{"id": GRAPH_DELEGATED_SCOPES[name], "type": "Scope"} for name in scope_names]
    return entries


def graph_body(fields, wanted, app):
    """The Graph PATCH body for the fields that differ (the whole object when creating)."""
    body = {}
    if "display_name" in fields:
        body["displayName"] = wanted["display_name"]
    if "sign_in_audience" in fields:
        body["signInAudience"] = wanted["sign_in_audience"]
    if "redirect_uris" in fields:
        web = {key: value for key, value in ((app or {}).get("web") or {}).items() if key != "redirectUriSettings"}
        web["redirectUris"] = wanted["redirect_uris"]
        body["web"] = web
    if "delegated_permissions" in fields:
        body["requiredResourceAccess"] = required_resource_access(app, wanted["delegated_permissions"])
    return body


def main():
    argument_spec = entra_auth_argument_spec()
    argument_spec.update(graph_argument_spec())
    argument_spec.update(
        display_name={"type": "str"},
        unique_name={"type": "str"},
        app_id={"type": "str"},
        sign_in_audience={"type": "str", "default": "AzureADMultipleOrgs",
                          "choices": ["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount",
                                      "PersonalMicrosoftAccount"]},
        redirect_uris={"type": "list", "elements": "str", "default": ["https://outlook.office365.com/"]},
        delegated_permissions={"type": "list", "elements": "str", "default": ["SMTP.Send", "offline_access"]},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    rules = dict(ENTRA_AUTH_RULES)
    rules["mutually_exclusive"] = list(rules["mutually_exclusive"]) + [("app_id", "unique_name")]
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    params = dict(module.params)
    problems = validate(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not params["app_id"] and not params["unique_name"]:
        params["unique_name"] = default_unique_name(params["display_name"])

    result = {"changed": False, "client_id": "", "object_id": "", "tenant_id": "", "application": {}}
    try:
        graph = GraphClient.from_params(params)
        app = graph.get_application(unique_name=params["unique_name"], app_id=params["app_id"])
        current = application_view(app)
        if params["state"] == "absent":
            sp = graph.get_service_principal(app["appId"]) if app else None
            if app:
                result["changed"] = True
                if not module.check_mode:
                    # The service principal first: the consent grants go with it, and nothing is left behind
                    # that names a deleted application.
                    if sp:
                        graph.delete_service_principal(sp["id"])
                    graph.delete_application(app["id"])
                current = dict(current, client_id=app.get("appId", ""), service_principal=sp is not None,
                               client_secrets=[cred.get("keyId") for cred in app.get("passwordCredentials") or []])
            result["diff"] = {"before": current, "after": {}}
        else:
            if app is None and params["app_id"]:
                module.fail_json(msg="No application with app_id %s exists in tenant %s: remove app_id to create one "
                                     "by unique_name, or correct it" % (params["app_id"], graph.tenant_id))
            wanted = wanted_view(params, current)
            fields = differing_fields(current, wanted) if app else list(wanted)
            if fields:
                result["changed"] = True
                if not module.check_mode:
                    if app is None:
                        body = graph_body(fields, wanted, None)
                        app = graph.create_application(params["unique_name"], body)
                        if app.get("existed"):
                            module.warn("The application %s already existed although Graph had just answered that "
                                        "it did not (replication delay); its settings were set to the wanted ones."
                                        % params["unique_name"])
                    else:
                        graph.update_application(app["id"], graph_body(fields, wanted, app))
            result["application"] = wanted
            result["diff"] = {"before": current, "after": wanted}
        if app and params["state"] == "present":
            result.update(client_id=app.get("appId", ""), object_id=app.get("id", ""))
        result["tenant_id"] = graph.tenant_id or ""
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
