# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Endpoints per Microsoft cloud. Every value is only a default: each module lets the user override it."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str      # login endpoint, https://HOST (authority = authority_host/tenant)
    graph_endpoint: str      # where Graph is called
    graph_resource: str      # the resource identifier tokens are issued for (aud)
    exchange_endpoint: str   # where the Exchange admin API is called
    exchange_resource: str
    smtp_host: str


CLOUDS = {
    "public": Cloud("public", "https://login.microsoftonline.com", "https://graph.microsoft.com",
                    "https://graph.microsoft.com", "https://outlook.office365.com", "https://outlook.office365.com",
                    "smtp.office365.com"),
    "usgov": Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us",
                   "https://graph.microsoft.us", "https://outlook.office365.us", "https://outlook.office365.us",
                   "smtp.office365.us"),
    # The DoD SMTP host is not documented publicly; users should confirm it (see docs).
    "usgov_dod": Cloud("usgov_dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us",
                       "https://dod-graph.microsoft.us", "https://webmail.apps.mil", "https://webmail.apps.mil",
                       "smtp.office365.us"),
    "china": Cloud("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn",
                   "https://microsoftgraph.chinacloudapi.cn", "https://partner.outlook.cn",
                   "https://partner.outlook.cn", "smtp.partner.outlook.cn"),
}

CLOUD_NAMES = sorted(CLOUDS)

# Hosts msal knows; for any other authority host (a proxy, a sandbox) instance discovery must be off.
KNOWN_AUTHORITY_HOSTS = frozenset(
    c.authority_host.split("://", 1)[1] for c in CLOUDS.values()
) | frozenset(("login.microsoft.com", "login.windows.net", "sts.windows.net", "login.microsoftonline.de"))


def resolve_cloud(name="public", **overrides):
    """The cloud's endpoints with any non-empty override applied (trailing slashes removed)."""
    cloud = CLOUDS[name]
    changes = {key: value.rstrip("/") if isinstance(value, str) else value
               for key, value in overrides.items() if value}
    return replace(cloud, **changes) if changes else cloud


def is_known_authority(authority_host):
    host = authority_host.split("://", 1)[-1].split("/", 1)[0].lower()
    return host in KNOWN_AUTHORITY_HOSTS
