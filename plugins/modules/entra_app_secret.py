#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_app_secret
short_description: Ensure an Entra application has a usable client secret
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - A client secret's value can only be read in the reply that creates it, so this module works by a contract.
  - Secrets whose description equals O(display_name) are "ours". When none of ours is valid for at least
    O(min_valid_days) more days, or when O(rotate=true), a new one valid for O(valid_days) is created and its value
    returned in RV(secret), once.
  - Otherwise nothing changes and the newest of ours is reported (RV(key_id), RV(expires)); the caller is expected to
    have kept its value (a vault, an AWX credential) from the run that created it.
  - With O(current_secret) (and O(current_key_id)) the caller says which secret it holds instead. That one is kept
    while it is valid for O(min_valid_days) more days; when the caller holds none, or a value that matches none of the
    application's secrets (a run stopped after creating a secret and before storing it), a new one is created. So a
    lost value never needs a manual flag; the secret whose value was lost stays until it is removed explicitly.
  - O(remove_older_than) and O(remove_key_ids) delete old secrets, but never the newest of ours, so the firewalls keep
    working while they are updated with a new one.
  - The task result is hidden from the output (as with C(no_log)) whenever it holds a new secret's value; register it
    and pass RV(secret) on.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.entra_auth.app
  - mailoauth.sophos.attributes
options:
  display_name:
    description:
      - The description of the secrets this module creates and considers its own.
    type: str
    default: mailoauth.sophos
  valid_days:
    description:
      - How many days a new secret is valid. A tenant's app management policy may allow less; Graph then rejects the
        request and the error says so.
    type: int
    default: 180
  min_valid_days:
    description:
      - A secret of ours that expires in fewer days than this does not count as usable, so a new one is created.
      - Must be less than O(valid_days).
    type: int
    default: 30
  rotate:
    description:
      - Create a new secret even when a usable one exists. Every run with V(true) creates one.
    type: bool
    default: false
  current_secret:
    description:
      - The value of the client secret the caller holds (from a vault, an AWX credential), or an empty string when it
        holds none. Only its first three characters are compared, with the hint Graph keeps.
      - When given, a new secret is created unless the held one exists and stays valid for O(min_valid_days).
    type: str
  current_key_id:
    description:
      - The key id recorded together with O(current_secret) when it was created. It tells apart secrets with the same
        hint; a recorded id whose hint contradicts O(current_secret) counts as not held.
    type: str
  remove_older_than:
    description:
      - Delete our secrets created more than this many days ago (after creating a new one if needed).
    type: int
  remove_key_ids:
    description:
      - Delete the secrets with these key ids (of any description). Ids that are not there are ignored.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - The signed-in identity needs the Graph application permission C(Application.ReadWrite.All).
"""

EXAMPLES = r"""
- name: Ensure a client secret valid for at least 30 more days
  mailoauth.sophos.entra_app_secret:
    unique_name: sophos-firewall-notifications
    valid_days: 180
    min_valid_days: 30
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ automation_client_id }}"
    client_secret: "{{ automation_client_secret }}"
  register: app_secret

- name: Keep the new value (only present when it was created)
  ansible.builtin.set_fact:
    mailoauth_client_secret: "{{ app_secret.secret }}"
  no_log: true
  when: app_secret.secret is defined

- name: Keep the secret whose value is stored; make a new one if that value was lost or never stored
  mailoauth.sophos.entra_app_secret:
    unique_name: sophos-firewall-notifications
    current_secret: "{{ mailoauth_client_secret | default('') }}"
    current_key_id: "{{ mailoauth_client_secret_key_id | default(omit) }}"
  register: app_secret

- name: After the firewalls got the new secret, remove the older ones
  mailoauth.sophos.entra_app_secret:
    unique_name: sophos-firewall-notifications
    remove_older_than: 1
"""

RETURN = r"""
secret:
  description:
    - The new secret's value. Only returned when a secret was created in this run (never in check mode).
    - The whole task result is hidden from the output when this is present.
  returned: when created
  type: str
  sample: <hidden>
created:
  description: Whether a new secret was created (or would be, in check mode).
  returned: always
  type: bool
  sample: false
key_id:
  description: The key id of the newest secret of ours (the new one if created). Empty in check mode for a new one.
  returned: always
  type: str
  sample: 9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
current_key_id:
  description:
    - The key id of the secret whose value the caller holds (O(current_secret), O(current_key_id)) before this run;
      empty when it holds none that exists.
  returned: always
  type: str
  sample: 1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b
expires:
  description: When that secret expires (ISO 8601, UTC).
  returned: always
  type: str
  sample: '2027-05-24T10:00:00Z'
removed_key_ids:
  description: The key ids deleted in this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: []
secrets:
  description: Every secret of the application after the run, without values.
  returned: always
  type: list
  elements: dict
  sample:
    - key_id: 9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
      display_name: mailoauth.sophos
      hint: Abc
      start: '2026-11-25T10:00:00Z'
      expires: '2027-05-24T10:00:00Z'
client_id:
  description: The application (client) id.
  returned: always
  type: str
  sample: 0c9d3b2e-4f8a-4b6e-9a51-2f1d1c2a7e10
object_id:
  description: The application's object id.
  returned: always
  type: str
  sample: 6a4e1f2b-8c3d-4e5f-a6b7-c8d9e0f1a2b3
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
    UTC,
    app_module_spec,
    find_referenced_application,
    format_time,
    GraphClient,
    GraphError,
    held_secret,
    parse_time,
    secret_view,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import check_required_libs


def tracks_held_value(params):
    return params.get("current_secret") is not None or bool(params.get("current_key_id"))


def plan_secret(credentials, params, now):
    """Decide what to do: (create, newest_of_ours, key_ids_to_remove). Pure, so tests pin the contract.

    newest_of_ours is the secret kept and reported: the held one when the caller says what it holds.
    """
    ours = [c for c in credentials if c.get("displayName") == params["display_name"]]
    ours.sort(key=lambda c: (parse_time(c.get("startDateTime")) or now, c.get("keyId") or ""))
    usable_until = now + datetime.timedelta(days=params["min_valid_days"])
    if tracks_held_value(params):
        held = held_secret(credentials, params.get("current_secret"), params.get("current_key_id"))
        usable = [held] if held and (parse_time(held.get("endDateTime")) or now) >= usable_until else []
    else:
        usable = [c for c in ours if (parse_time(c.get("endDateTime")) or now) >= usable_until]
    create = params["rotate"] or not usable
    newest = None if create else usable[-1]
    protected = newest["keyId"] if newest else None
    remove = []
    if params.get("remove_older_than") is not None:
        cutoff = now - datetime.timedelta(days=params["remove_older_than"])
        remove.extend(c["keyId"] for c in ours if (parse_time(c.get("startDateTime")) or now) < cutoff)
    present = {c.get("keyId") for c in credentials}
    remove.extend(key_id for key_id in params.get("remove_key_ids") or [] if key_id in present)
    # Never the newest: without a new secret that is the one the firewalls are using right now.
    remove = [key_id for key_id in dict.fromkeys(remove) if key_id != protected]
    return create, newest, remove


def validate(params):
    problems = []
    if params["valid_days"] < 1:
        problems.append("valid_days must be at least 1")
    if params["min_valid_days"] < 0:
        problems.append("min_valid_days must not be negative")
    if params["min_valid_days"] >= params["valid_days"]:
        problems.append("min_valid_days (%d) must be less than valid_days (%d), or every run would create a secret"
                        % (params["min_valid_days"], params["valid_days"]))
    if params["remove_older_than"] is not None and params["remove_older_than"] < 0:
        problems.append("remove_older_than must not be negative")
    return problems


def main():
    argument_spec, rules = app_module_spec(
        display_name={"type": "str", "default": "mailoauth.sophos"},
        valid_days={"type": "int", "default": 180},
        min_valid_days={"type": "int", "default": 30},
        rotate={"type": "bool", "default": False},
        remove_older_than={"type": "int"},
        remove_key_ids={"type": "list", "elements": "str", "default": [], "no_log": False},
        current_secret={"type": "str", "no_log": True},
        current_key_id={"type": "str", "no_log": False},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    params = module.params
    problems = validate(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    now = datetime.datetime.now(UTC)
    result = {"changed": False, "created": False, "key_id": "", "current_key_id": "", "expires": "",
              "removed_key_ids": [], "secrets": [], "client_id": "", "object_id": "", "tenant_id": ""}
    try:
        graph = GraphClient.from_params(params)
        app = find_referenced_application(graph, params, module.check_mode)
        credentials = list((app or {}).get("passwordCredentials") or [])
        create, newest, remove = plan_secret(credentials, params, now)
        if tracks_held_value(params):
            held = held_secret(credentials, params.get("current_secret"), params.get("current_key_id"))
            result["current_key_id"] = held["keyId"] if held else ""
        before = [secret_view(c) for c in credentials]
        after = [c for c in before if c["key_id"] not in remove]
        new_secret = None
        if create:
            expires = format_time(now + datetime.timedelta(days=params["valid_days"]))
            new_view = {"key_id": "", "display_name": params["display_name"], "hint": None,
                        "start": format_time(now), "expires": expires}
            if not module.check_mode:
                try:
                    new_secret = graph.add_password(app["id"], params["display_name"], expires)
                except GraphError as exc:
                    if exc.status == 400:
                        exc.hint = ("the tenant may cap secret lifetimes by an app management policy: lower "
                                    "valid_days (now %d)" % params["valid_days"])
                    raise
                new_view = secret_view(new_secret)
            after.append(new_view)
            result.update(created=True, key_id=new_view["key_id"] or "", expires=new_view["expires"] or "")
        elif newest:
            result.update(key_id=newest["keyId"], expires=newest.get("endDateTime") or "")
        if remove and not module.check_mode:
            for key_id in remove:
                graph.remove_password(app["id"], key_id)
        result.update(
            changed=create or bool(remove),
            removed_key_ids=remove,
            secrets=after,
            client_id=(app or {}).get("appId") or params["app_id"] or "",
            object_id=(app or {}).get("id", ""),
            tenant_id=graph.tenant_id or "",
            diff={"before": {"secrets": [_diff_line(c) for c in before]},
                  "after": {"secrets": [_diff_line(c) for c in after]}},
        )
        if new_secret is not None:
            result["secret"] = new_secret["secretText"]
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


def _diff_line(view):
    return "%s %s until %s" % (view["key_id"] or "<new>", view["display_name"], view["expires"])


if __name__ == "__main__":
    main()
