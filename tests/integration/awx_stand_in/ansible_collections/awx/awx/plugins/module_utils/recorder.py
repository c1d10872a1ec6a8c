"""Shared by the stand-in awx.awx modules: validate the options as awx.awx 24 documents them, append them to
$AWX_STAND_IN_RECORD (a JSON line each), report a change. A credential's inputs are recorded by name only; their values
are AWX's to keep (plugins/modules/credential.py)."""

import json
import os

from ansible.module_utils.basic import AnsibleModule

STATE = dict(default="present", choices=["present", "absent", "exists"])


def record(resource, params):
    path = os.environ.get("AWX_STAND_IN_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"resource": resource, "params": params}) + "\n")


def run(resource, argument_spec):
    module = AnsibleModule(argument_spec=dict(argument_spec, state=STATE))
    record(resource, dict(module.params))
    module.exit_json(changed=True)
