# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Entra ID sign-in options (module_utils/identity.py entra_auth_argument_spec) and the Graph endpoint."""

    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - The Microsoft cloud whose endpoints are used by default.
      - V(public) is the worldwide cloud, V(usgov) GCC High, V(usgov_dod) DoD, V(china) the cloud operated by 21Vianet.
      - Every endpoint can be overridden on its own (O(authority_host), and the service endpoint options).
    type: str
    default: public
    choices: [china, public, usgov, usgov_dod]
  authority_host:
    description:
      - The sign-in (login) endpoint, C(https://HOST), without the tenant.
      - Defaults to the O(cloud)'s host, for example C(https://login.microsoftonline.com).
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used.
      - For a host that is not a Microsoft cloud (a proxy or a test double), msal's instance discovery is turned off.
    type: str
  tenant_id:
    description:
      - The tenant to act in, as a GUID or a verified domain name.
      - Required for O(auth_method=client_secret) and O(auth_method=certificate); the device-code sign-in defaults to
        C(organizations).
      - If not set, the environment variable E(AZURE_TENANT_ID) is used.
    type: str
  client_id:
    description:
      - The application (client) id of the automation app that signs in with a secret or a certificate.
      - Not the app this collection creates for the firewall.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - The automation app's client secret (its value, not its id).
      - If not set, the environment variable E(AZURE_CLIENT_SECRET) is used.
    type: str
  client_certificate_path:
    description:
      - A certificate credential of the automation app instead of a secret.
      - Either a PEM file holding the private key and the certificate, or a PKCS#12 file ending in C(.pfx) or C(.p12).
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
    type: path
  client_certificate_password:
    description:
      - The password of an encrypted private key or PKCS#12 file in O(client_certificate_path).
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
  access_token:
    description:
      - A bearer token that is used as it is, for example from C(az account get-access-token).
      - It must be issued for the resource the module calls (Graph for the entra modules); the module checks its
        audience and expiry before using it.
    type: str
  auth_method:
    description:
      - How to sign in.
      - V(auto) uses O(access_token) if given, else O(client_secret), else O(client_certificate_path).
      - V(device_code) is for an administrator's first run, before an automation app exists. The first run starts the
        sign-in and fails with a URL and a code to enter there; the next run (within the code's lifetime, about 15
        minutes) completes it. The tokens are then kept in O(token_cache_path) and renewed silently.
    type: str
    default: auto
    choices: [auto, client_secret, certificate, access_token, device_code]
  device_code_client_id:
    description:
      - The public client application used for O(auth_method=device_code).
      - Defaults to Microsoft's well-known C(Microsoft Graph Command Line Tools) app
        (C(14d82eec-204b-4c2f-b7e8-296a70dab67e)) for Graph, and C(Exchange Online PowerShell)
        (C(fb78d390-0c51-40cd-8e17-fdbfab77341b)) for the Exchange admin API.
    type: str
  token_cache_path:
    description:
      - The msal token cache file for O(auth_method=device_code). It is created with mode C(0600).
      - A pending sign-in is kept next to it in a file ending in C(.device_flow), also C(0600).
    type: path
    default: ~/.ansible/mailoauth_sophos/msal_token_cache.json
  ca_path:
    description:
      - A PEM bundle of CA certificates to trust for every HTTPS call (sign-in, Graph, Exchange).
      - If not set, E(REQUESTS_CA_BUNDLE) or the system's trust store is used. TLS is always verified.
    type: path
requirements:
  - msal >= 1.28
  - requests >= 2.31
notes:
  - Secrets (O(client_secret), O(client_certificate_password), O(access_token)) are never logged or returned.
"""

    GRAPH = r"""
options:
  graph_endpoint:
    description:
      - The Microsoft Graph base URL; requests go to C(<graph_endpoint>/v1.0).
      - Defaults to the O(cloud)'s Graph host, for example C(https://graph.microsoft.com).
      - Tokens are still requested for the O(cloud)'s Graph resource id.
    type: str
"""

    APP = r"""
options:
  app_id:
    description:
      - The application (client) id of the app to act on, as returned by M(mailoauth.sophos.entra_app).
      - Exactly one of O(app_id) and O(unique_name) is required.
    type: str
  unique_name:
    description:
      - The unique name (the stable key) of the app to act on, as given to M(mailoauth.sophos.entra_app).
    type: str
"""
