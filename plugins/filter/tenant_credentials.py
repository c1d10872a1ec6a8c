# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The stored credentials of several tenants in one AWX credential (extensions/awx/credential_types/
mail_app_oauth_tenants.yml): read one tenant's entry, and make the whole mapping to write back."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from ansible.errors import AnsibleFilterError

# The credential's key for each value, and the facts of a tenant's lead that hold it (the first one set wins).
FIELDS = {
    "client_id": ("mailoauth_client_id",),
    "client_secret": ("mailoauth_client_secret",),
    "client_secret_key_id": ("mailoauth_client_secret_key_id", "mailoauth_secret_key_id"),
    "client_secret_expires": ("mailoauth_secret_expires", "mailoauth_client_secret_expires"),
    "refresh_token": ("mailoauth_refresh_token",),
    "refresh_token_issued": ("mailoauth_refresh_token_issued",),
}


_NOT_A_MAPPING = (
    "The \"Sophos notification OAuth 2.0, several tenants\" credential's field is not a YAML mapping of tenant labels "
    "to their values: leave it empty for the playbooks to fill in, or give one entry per tenant label "
    "(mailoauth_tenant_name, else mailoauth_tenant_id) with client_id, client_secret, client_secret_key_id, "
    "client_secret_expires, refresh_token and refresh_token_issued")


def _stored(value):
    """The stored mapping, from the credential's text (as injected) or already loaded."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load(str(value))
        except yaml.YAMLError:
            raise AnsibleFilterError(_NOT_A_MAPPING) from None  # never the parser's excerpt: it holds secrets
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(entry, Mapping) for entry in value.values()):
        raise AnsibleFilterError(_NOT_A_MAPPING)  # never the value itself: it holds secrets
    return {str(label): {str(key): "" if item is None else str(item) for key, item in entry.items()}
            for label, entry in value.items()}


def tenant_credentials(stored, label):
    """One tenant's entry of the stored mapping ({} when it has none yet)."""
    return _stored(stored).get(str(label), {})


def _fact(host_variables, names):
    for name in names:
        try:
            value = host_variables[name]
        except (KeyError, AnsibleFilterError):
            continue
        if value is not None and str(value) != "":
            return str(value)
    return ""


def _signed_in(host_variables):
    """Whether the lead got its refresh token from a sign-in in this run (not by renewing the stored one)."""
    try:
        result = host_variables["refresh_token_result"]
    except (KeyError, AnsibleFilterError):
        return False
    return isinstance(result, Mapping) and bool(result.get("refresh_token")) and result.get("mode") != "refresh_token"


def tenant_credentials_merged(stored, run_tenants, hostvars, renewed_tokens=False):
    """The mapping to write back: the stored one, each tenant of this run overlaid with what its lead knows now.

    A tenant whose lead failed after creating a value (a new secret, then a failed sign-in) keeps that value too:
    the old one may already be gone from the app. A refresh token is taken only from a sign-in, unless
    ``renewed_tokens`` (rotate keeps the one renewed with the new secret), as the one-tenant credential is kept."""
    merged = _stored(stored)
    for tenant in run_tenants:
        host_variables = hostvars[tenant["lead"]]
        known = {key: _fact(host_variables, names) for key, names in FIELDS.items()}
        if not (renewed_tokens or _signed_in(host_variables)):
            known.update(refresh_token="", refresh_token_issued="")
        entry = dict(merged.get(tenant["label"], {}))
        entry.update({key: value for key, value in known.items() if value})
        if entry:
            merged[tenant["label"]] = entry
    return merged


class FilterModule:
    def filters(self):
        return {"tenant_credentials": tenant_credentials, "tenant_credentials_merged": tenant_credentials_merged}
