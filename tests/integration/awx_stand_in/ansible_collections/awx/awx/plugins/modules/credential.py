#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Stand-in for awx.awx.credential with the options the collection uses: stores the inputs as AWX would.

The "database" is the JSON file named by AWX_STAND_IN_DATABASE (0600): {credential name: {"credential_type",
"inputs"}}. With update_secrets the given inputs replace the stored ones, as the real module's PATCH of ``inputs``
does. Without the variable (configure_awx.yml's run) nothing is stored; the call is recorded either way, with the
names of the inputs only.
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.awx.awx.plugins.module_utils.recorder import STATE, record


def store(module, path):
    """Keep the inputs in the database as AWX would; returns whether that changed anything."""
    database = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            database = json.load(handle)
    name, credential_type = module.params["name"], module.params["credential_type"]
    stored = database.get(name)
    if stored and credential_type and stored["credential_type"] != credential_type:
        module.fail_json(msg="credential %s has another type" % name)
    if not stored and not credential_type:
        module.fail_json(msg="credential_type is needed to create credential %s" % name)
    inputs = dict(stored["inputs"]) if stored else {}
    if module.params["update_secrets"] or not stored:
        inputs = dict(module.params["inputs"] or {})
    changed = not stored or inputs != stored["inputs"]
    if changed and not module.check_mode:
        database[name] = {"credential_type": credential_type or stored["credential_type"], "inputs": inputs}
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(database, handle)
    return changed


def main():
    module = AnsibleModule(argument_spec={
        "name": {"type": "str", "required": True},
        "credential_type": {"type": "str"},
        "organization": {"type": "str"},
        "inputs": {"type": "dict", "no_log": True},
        "update_secrets": {"type": "bool", "default": True},
        "state": STATE,
    }, supports_check_mode=True)
    record("credential", dict(module.params, inputs=sorted(module.params["inputs"] or {})))
    path = os.environ.get("AWX_STAND_IN_DATABASE")
    changed = store(module, path) if path and module.params["state"] == "present" else True
    module.exit_json(changed=changed, name=module.params["name"])


if __name__ == "__main__":
    main()
