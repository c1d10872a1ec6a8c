"""Shared by the mock awx.awx modules: validate the options, append them to $MOCK_AWX_RECORD, report a change.

A credential's inputs are AWX's to keep, not the record's: they go to $MOCK_AWX_CREDENTIALS (0600, merged per
credential name as AWX updates a credential's inputs), from where a test injects them into the next job.
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def run(resource, argument_spec):
    module = AnsibleModule(argument_spec=dict(argument_spec, state=dict(default="present",
                                                                        choices=["present", "absent", "exists"])))
    params = dict(module.params)
    if resource == "credential":
        store_path = os.environ.get("MOCK_AWX_CREDENTIALS")
        if store_path:
            store = {}
            if os.path.exists(store_path):
                with open(store_path, encoding="utf-8") as handle:
                    store = json.load(handle)
            store.setdefault(params["name"], {}).update(params["inputs"] or {})
            with open(os.open(store_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
                json.dump(store, out)
        params["inputs"] = sorted(params["inputs"] or {})
    record_path = os.environ.get("MOCK_AWX_RECORD")
    if record_path:
        with open(record_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"resource": resource, "params": params}) + "\n")
    module.exit_json(changed=True)
