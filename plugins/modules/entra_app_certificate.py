#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_app_certificate
short_description: Ensure an Entra application signs in with a certificate whose private key stays on the controller
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Keeps a private key and a self-signed certificate in one PEM file, O(certificate_path), and the certificate in the
    application's certificate credentials (C(keyCredentials)). Only the certificate ever leaves the controller.
  - When the file does not exist, or its certificate has fewer than O(min_valid_days) days left, a new RSA key and
    certificate valid for O(valid_days) are made and written first (atomically, mode 0600, the directory 0700 when it
    is created), then uploaded. A run that failed between the two uploads the file's certificate next time.
  - When the file exists and its certificate is already on the application, nothing changes. Other certificates of
    the application are kept.
  - The file is what O(client_certificate_path) of every module of this collection (and C(AZURE_CLIENT_CERTIFICATE_PATH))
    takes to sign in as the application.
  - O(state=absent) removes the file's certificate from the application and deletes the file.
extends_documentation_fragment:
  - mailoauth.sophos.entra_auth
  - mailoauth.sophos.entra_auth.graph
  - mailoauth.sophos.entra_auth.app
  - mailoauth.sophos.attributes
options:
  certificate_path:
    description:
      - The PEM file with the private key followed by the certificate, on the machine the module runs on (the
        controller when the task is delegated to localhost).
    type: path
    required: true
  certificate_password:
    description:
      - Encrypt the private key with this password (and read an existing file with it). Pass the same value as
        O(client_certificate_password) when signing in with the file.
    type: str
  subject:
    description:
      - The common name of a new self-signed certificate.
    type: str
    default: mailoauth.sophos automation
  display_name:
    description:
      - The description of the certificate credential on the application.
    type: str
    default: mailoauth.sophos
  valid_days:
    description:
      - How many days a new certificate is valid.
    type: int
    default: 365
  min_valid_days:
    description:
      - A certificate in the file with fewer days left than this is replaced by a new one (the old credential stays on
        the application until it expires or is removed). Must be less than O(valid_days).
    type: int
    default: 30
  key_size:
    description:
      - The size of a new RSA key in bits.
    type: int
    default: 2048
    choices: [2048, 3072, 4096]
  state:
    description:
      - V(absent) removes the file's certificate from the application and deletes the file.
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
requirements:
  - cryptography (installed with msal)
notes:
  - The signed-in identity needs the Graph application permission C(Application.ReadWrite.All).
"""

EXAMPLES = r"""
- name: A certificate credential for the automation app, the key kept on the controller
  mailoauth.sophos.entra_app_certificate:
    unique_name: mailoauth-automation
    certificate_path: ~/.ansible/mailoauth_sophos/automation.pem
    auth_method: device_code
  delegate_to: localhost
  register: automation_certificate

- name: Later runs sign in with it
  mailoauth.sophos.entra_app_info:
    unique_name: sophos-firewall-notifications
    tenant_id: "{{ tenant_id }}"
    client_id: "{{ automation_certificate.client_id }}"
    client_certificate_path: ~/.ansible/mailoauth_sophos/automation.pem
"""

RETURN = r"""
certificate_path:
  description: The PEM file (private key and certificate).
  returned: always
  type: str
  sample: /home/admin/.ansible/mailoauth_sophos/automation.pem
thumbprint:
  description: The SHA-1 thumbprint of the file's certificate, as the Entra admin centre shows it. Empty in check mode
    before the certificate exists, and with O(state=absent).
  returned: always
  type: str
  sample: 3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A
expires:
  description: When the file's certificate expires (ISO 8601, UTC). Empty when there is none.
  returned: always
  type: str
  sample: '2027-12-01T10:00:00Z'
created:
  description: Whether a new key and certificate were made (or would be, in check mode).
  returned: always
  type: bool
  sample: true
certificates:
  description: The application's certificate credentials after the run (without keys).
  returned: always
  type: list
  elements: dict
  sample:
    - key_id: 9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
      display_name: mailoauth.sophos
      thumbprint: 3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A
      expires: '2027-12-01T10:00:00Z'
client_id:
  description: The application (client) id, the value for O(client_id) / C(AZURE_CLIENT_ID).
  returned: always
  type: str
  sample: 0c9d3b2e-4f8a-4b6e-9a51-2f1d1c2a7e10
tenant_id:
  description: The tenant (a GUID once a token was obtained), the value for O(tenant_id) / C(AZURE_TENANT_ID).
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailoauth.sophos.plugins.module_utils._certificate import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    new_certificate,
    read_certificate_file,
    thumbprint_of,
    write_certificate_file,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import (
    GraphClient,
    app_module_spec,
    find_referenced_application,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import check_required_libs

PREDICTED = "(new certificate)"


def credential_view(credential):
    return {"key_id": credential.get("keyId"), "display_name": credential.get("displayName"),
            "thumbprint": thumbprint_of(credential.get("key")) or credential.get("customKeyIdentifier"),
            "expires": credential.get("endDateTime")}


def main():
    argument_spec, rules = app_module_spec(
        certificate_path={"type": "path", "required": True},
        certificate_password={"type": "str", "no_log": True},
        subject={"type": "str", "default": "mailoauth.sophos automation"},
        display_name={"type": "str", "default": "mailoauth.sophos"},
        valid_days={"type": "int", "default": 365},
        min_valid_days={"type": "int", "default": 30},
        key_size={"type": "int", "default": 2048, "choices": [2048, 3072, 4096]},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True, **rules)
    check_required_libs(module)
    if CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    params = module.params
    present = params["state"] == "present"
    path = params["certificate_path"]
    if present and not 0 <= params["min_valid_days"] < params["valid_days"]:
        module.fail_json(msg="min_valid_days (%d) must be at least 0 and less than valid_days (%d)"
                             % (params["min_valid_days"], params["valid_days"]))

    try:
        local = read_certificate_file(path, params["certificate_password"])
        graph = GraphClient.from_params(params)
        app = find_referenced_application(graph, params, module.check_mode)
        credentials = graph.get_key_credentials(app["id"]) if app else []
        on_app = {thumbprint_of(c.get("key")): c for c in credentials}
        before = {"file": local.view() if local else None,
                  "certificates": [credential_view(c) for c in credentials]}
        renew = present and (local is None or local.valid_days_left() < params["min_valid_days"])
        upload = present and (renew or local.thumbprint not in on_app)
        remove = (not present) and local is not None and local.thumbprint in on_app
        delete_file = (not present) and local is not None
        changed = upload or remove or delete_file

        after_credentials = [credential_view(c) for c in credentials]
        if changed and not module.check_mode:
            if renew:
                local = new_certificate(params["subject"], params["valid_days"], params["key_size"],
                                        params["certificate_password"])
                write_certificate_file(path, local)
            if upload:
                credentials = credentials + [{"type": "AsymmetricX509Cert", "usage": "Verify",
                                              "key": local.der_base64, "displayName": params["display_name"]}]
                graph.set_key_credentials(app["id"], credentials)
                credentials = graph.get_key_credentials(app["id"])
            if remove:
                credentials = [c for c in credentials if thumbprint_of(c.get("key")) != local.thumbprint]
                graph.set_key_credentials(app["id"], credentials)
            if delete_file:
                os.unlink(path)
            after_credentials = [credential_view(c) for c in credentials]
        elif changed:
            if upload:
                predicted = local.view() if not renew else {"thumbprint": PREDICTED, "expires": None}
                after_credentials.append({"key_id": None, "display_name": params["display_name"],
                                          "thumbprint": predicted["thumbprint"], "expires": predicted["expires"]})
            if remove:
                after_credentials = [c for c in after_credentials if c["thumbprint"] != local.thumbprint]

        file_after = None
        if present:
            file_after = local.view() if local and not (renew and module.check_mode) else \
                {"thumbprint": PREDICTED, "subject": params["subject"], "expires": None}
        shown = local if present and local and not (renew and module.check_mode) else None
        result = {
            "changed": changed,
            "created": renew,
            "certificate_path": path,
            "thumbprint": shown.thumbprint if shown else "",
            "expires": shown.view()["expires"] if shown else "",
            "certificates": after_credentials,
            "client_id": app["appId"] if app else (params["app_id"] or ""),
            "tenant_id": graph.tenant_id or "",
            "diff": {"before": before, "after": {"file": file_after, "certificates": after_credentials}},
        }
    except MailOAuthError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
