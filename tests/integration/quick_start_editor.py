"""The "$EDITOR" of test_readme_quick_start.py: makes the edits the README asks of a user, with the sandbox's values.

Called as `$EDITOR inventory/hosts.yml inventory/group_vars/all/tenant.yml inventory/group_vars/firewalls/sfos.yml`;
the values come from the JSON file named by QUICK_START_SANDBOX. Host names stay as the example has them; their
sfos_host and sfos_port become the emulated firewalls'. tenant.yml also gets the sandbox's endpoints and CA, which a
real tenant leaves at their defaults.
"""

import json
import os
import sys

import yaml


def hosts(data, values):
    firewalls = iter(values["firewalls"])

    def walk(group):
        for host in (group.get("hosts") or {}).values():
            fw = next(firewalls)
            host.update(sfos_host=fw["host"], sfos_port=fw["port"])
        for child in (group.get("children") or {}).values():
            walk(child)

    walk(data["firewalls"])
    return data


def tenant(data, values):
    data.update(mailoauth_tenant_id=values["tenant"], mailoauth_mailbox=values["mailbox"],
                mailoauth_ca_path=values["ca_file"], **values["endpoints"])
    return data


def sfos(data, values):
    data.update(sfos_username=values["sfos_username"], sfos_ca_path=values["ca_file"])
    return data


EDITS = {"hosts.yml": hosts, "tenant.yml": tenant, "sfos.yml": sfos}


def main(paths):
    with open(os.environ["QUICK_START_SANDBOX"], encoding="utf-8") as handle:
        values = json.load(handle)
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        data = EDITS[os.path.basename(path)](data, values)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv[1:])
