#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_app_info
short_description: Read an Entra application, its permissions, consent and secret expiry
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Reads the application, its Graph delegated permissions, its service principal, the tenant-wide consent grants and
    its client secrets with their expiry dates. Secret values are never readable after creation and never returned.
  - Changes nothing; use it for drift and expiry reports.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.entra_auth.app
  - mailoauth.sophos.attributes
options:
  expiry_warning_days:
    description:
      - Secrets that expire within this many days are listed in RV(expiring_key_ids).
    type: int
    default: 30
  current_secret:
    description:
      - The value of the client secret the caller holds; RV(current_key_id) then names the secret it belongs to. Only
        its first three characters are compared, with the hint Graph keeps.
    type: str
  current_key_id:
    description:
      - The key id recorded together with O(current_secret); it tells apart secrets with the same hint.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The signed-in identity needs C(Application.Read.All) (or C(Application.ReadWrite.All)); reading the grants needs
    C(DelegatedPermissionGrant.ReadWrite.All) or C(Directory.Read.All).
"""

EXAMPLES = r"""
- name: Report the app and when its secrets expire
  mailoauth.sophos.entra_app_info:
    unique_name: sophos-firewall-notifications
    expiry_warning_days: 45
  register: info

- name: Fail when a secret is about to expire
  ansible.builtin.assert:
    that: info.expiring_key_ids | length == 0
"""

RETURN = r"""
current_key_id:
  description: The key id of the secret given by O(current_secret) and O(current_key_id); empty when none matches.
  returned: always
  type: str
  sample: 9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
exists:
  description: Whether the application exists.
  returned: always
  type: bool
  sample: true
application:
  description: The application's settings (empty when it does not exist).
  returned: always
  type: dict
  sample:
    object_id: 6a4e1f2b-8c3d-4e5f-a6b7-c8d9e0f1a2b3
    client_id: 0c9d3b2e-4f8a-4b6e-9a51-2f1d1c2a7e10
    display_name: Sophos Firewall notifications
    unique_name: sophos-firewall-notifications
    sign_in_audience: AzureADMultipleOrgs
    redirect_uris: ['https://outlook.office365.com/']
    delegated_permissions: [SMTP.Send, offline_access]
service_principal_id:
  description: The object id of the app's service principal, empty when there is none.
  returned: always
  type: str
  sample: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
consent:
  description: The tenant-wide (AllPrincipals) delegated grants of the app, one per resource.
  returned: always
  type: list
  elements: dict
  sample:
    - grant_id: Ld3rPT0Av0uZlr8nGkBCVqNdPTxHsm1Ni4T0yWEBcNo
      resource_id: 1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d
      scopes: [SMTP.Send, offline_access]
secrets:
  description: The client secrets, without values, oldest first, with the days left.
  returned: always
  type: list
  elements: dict
  sample:
    - key_id: 9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
      display_name: mailoauth.sophos
      hint: Abc
      start: '2026-11-25T10:00:00Z'
      expires: '2027-05-24T10:00:00Z'
      days_left: 180
expiring_key_ids:
  description: Key ids of secrets that expire within O(expiry_warning_days) (or have expired).
  returned: always
  type: list
  elements: str
  sample: []
tenant_id:
  description: The tenant id.
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import (
    app_module_spec,
    application_view,
    GraphClient,
    held_secret,
    parse_time,
    secret_view,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import check_required_libs


def secrets_report(credentials, now, warning_days):
    """The secrets oldest first with days left, and the key ids that expire within ``warning_days``."""
    views = []
    for credential in sorted(credentials, key=lambda c: c.get("startDateTime") or ""):
        view = secret_view(credential)
        end = parse_time(credential.get("endDateTime"))
        view["days_left"] = (end - now).days if end else None
        views.append(view)
    expiring = [v["key_id"] for v in views if v["days_left"] is not None and v["days_left"] < warning_days]
    return views, expiring


def main():
    argument_spec, rules = app_module_spec(expiry_warning_days={"type": "int", "default": 30},
                                           current_secret={"type": "str", "no_log": True},
                                           current_key_id={"type": "str", "no_log": False})
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    params = module.params

    result = {"changed": False, "exists": False, "application": {}, "service_principal_id": "", "consent": [],
              "secrets": [], "expiring_key_ids": [], "current_key_id": "", "tenant_id": ""}
    try:
        graph = GraphClient.from_params(params)
        app = graph.get_application(unique_name=params["unique_name"], app_id=params["app_id"])
        if app:
            application = application_view(app)
            application.update(object_id=app.get("id"), client_id=app.get("appId"))
            secrets, expiring = secrets_report(app.get("passwordCredentials") or [],
                                               datetime.datetime.now(datetime.timezone.utc),
                                               params["expiry_warning_days"])
            result.update(exists=True, application=application, secrets=secrets, expiring_key_ids=expiring)
            if params["current_secret"] or params["current_key_id"]:
                held = held_secret(app.get("passwordCredentials") or [], params["current_secret"],
                                   params["current_key_id"])
                result["current_key_id"] = held["keyId"] if held else ""
            sp = graph.get_service_principal(app["appId"])
            if sp:
                result["service_principal_id"] = sp["id"]
                result["consent"] = [
                    {"grant_id": grant["id"], "resource_id": grant.get("resourceId"),
                     "scopes": [name for name in (grant.get("scope") or "").split(" ") if name]}
                    for grant in graph.list_grants(sp["id"]) if grant.get("consentType") == "AllPrincipals"]
        result["tenant_id"] = graph.tenant_id or ""
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
