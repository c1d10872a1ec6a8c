# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The firewall app's delegated sign-in options (module_utils/oauth.py oauth_client_argument_spec)."""

    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - The Microsoft cloud whose sign-in endpoint and Exchange resource are used by default.
    type: str
    default: public
    choices: [china, public, usgov, usgov_dod]
  authority_host:
    description:
      - The sign-in (login) endpoint, C(https://HOST), without the tenant.
      - Defaults to the O(cloud)'s host, for example C(https://login.microsoftonline.com).
      - For a host that is not a Microsoft cloud (a proxy or a test double), msal's instance discovery is turned off.
    type: str
  tenant_id:
    description:
      - The tenant of the mailbox, as a GUID or a verified domain, or V(common) as the runbook uses for a
        multitenant app.
    type: str
    default: common
  client_id:
    description:
      - The application (client) id of the app registered for the firewall (the one C(entra_app) created), not the
        automation app.
    type: str
    required: true
  scopes:
    description:
      - The scopes of the delegated token.
      - Defaults to the O(cloud)'s Exchange resource, C(https://outlook.office365.com/.default offline_access) in the
        public cloud, as the runbook asks.
      - V(offline_access), V(openid) and V(profile) are always requested by msal and removed from this list before it
        is handed over; a refresh token is only returned when the app has C(offline_access) consented.
    type: list
    elements: str
  ca_path:
    description:
      - A PEM bundle of CA certificates to trust for the sign-in endpoint.
      - If not set, E(REQUESTS_CA_BUNDLE) or the system's trust store is used. TLS is always verified.
    type: path
requirements:
  - msal >= 1.28
  - requests >= 2.31
"""

    SECRET = r"""
options:
  client_secret:
    description:
      - The firewall app's client secret (its value, from C(entra_app_secret)).
      - The refresh token is bound to this confidential client, so the firewall can redeem it with the same client id
        and secret.
    type: str
    required: true
"""
