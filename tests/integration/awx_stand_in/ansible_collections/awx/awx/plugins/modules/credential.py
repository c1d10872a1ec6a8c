#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Stand-in for awx.awx.credential with the options the collection uses: stores the inputs as AWX would.

The "database" is the JSON file named by AWX_STAND_IN_DATABASE: {credential name: {"credential_type", "inputs"}}.
With update_secrets the given inputs replace the stored ones, as the real module's PATCH of ``inputs`` does.
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={
        "name": {"type": "str", "required": True},
        "credential_type": {"type": "str", "required": True},
        "organization": {"type": "str"},
        "inputs": {"type": "dict", "no_log": True},
        "update_secrets": {"type": "bool", "default": True},
        "state": {"type": "str", "default": "present", "choices": ["present"]},
    }, supports_check_mode=True)
    path = os.environ["AWX_STAND_IN_DATABASE"]
    database = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            database = json.load(handle)
    stored = database.get(module.params["name"])
    if stored and stored["credential_type"] != module.params["credential_type"]:
        module.fail_json(msg="credential %s has another type" % module.params["name"])
    inputs = dict(stored["inputs"]) if stored else {}
    if module.params["update_secrets"] or not stored:
        inputs = dict(module.params["inputs"] or {})
    changed = not stored or inputs != stored["inputs"]
    if changed and not module.check_mode:
        database[module.params["name"]] = {"credential_type": module.params["credential_type"], "inputs": inputs}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(database, handle)
    module.exit_json(changed=changed, name=module.params["name"])


if __name__ == "__main__":
    main()
