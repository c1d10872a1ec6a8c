# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tenants of the firewalls in play, for playbooks/tasks/tenants.yml.

A firewall's tenant is its mailoauth_tenant_name, else its mailoauth_tenant_id ("default" when neither is set: the
AZURE_TENANT_ID environment variable then names it for every firewall). Each tenant's first firewall in the play is
its lead: the tenant steps run once per tenant on the leads (the group mailoauth_tenant_leads), with the lead's own
group and host variables, and the lead hands the tenant's values to each of its firewalls. (An in-memory host per tenant, added with add_host, would
be left out of the tenant play by --limit, which every partial run and AWX's relaunch on failed hosts uses.)

A tenant whose firewalls name a mailoauth_app_tenant_id other than their own mailoauth_tenant_id consents to a
multitenant app registered in that tenant (an MSP's, "model 2"): the app steps (register it, its client secret, and
retiring old ones) run once per app, on the lead of its first tenant (the group mailoauth_app_leads), and the app's
tenants only consent to it, sign in and push.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.mailoauth.sophos.plugins.filter.tenant_conflicts import tenant_conflicts


def _get(host_variables, name):
    try:
        value = host_variables[name]
    except (KeyError, AnsibleFilterError):
        return None
    return None if value is None or value == "" else value


def tenant_label(host_variables):
    """The tenant a firewall names: mailoauth_tenant_name, else mailoauth_tenant_id, else "default"."""
    label = _get(host_variables, "mailoauth_tenant_name") or _get(host_variables, "mailoauth_tenant_id")
    return str(label or "default")


def tenant_app(host_variables):
    """The multitenant app a firewall's tenant consents to: {key, tenant_id, unique_name}, or None when the app is
    registered in the firewall's own tenant (mailoauth_app_tenant_id unset or the same as mailoauth_tenant_id)."""
    home = _get(host_variables, "mailoauth_app_tenant_id")
    own = _get(host_variables, "mailoauth_tenant_id")
    if not home or (own and str(own).lower() == str(home).lower()):
        return None
    name = _get(host_variables, "mailoauth_app_unique_name")
    return {"key": "%s/%s" % (str(home).lower(), name or ""), "tenant_id": str(home), "unique_name": name}


def app_firewalls(hosts, hostvars, key):
    """The hosts of ``hosts`` whose tenant consents to the multitenant app ``key`` (tenant_apps' key)."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("app_firewalls needs hostvars")
    return [host for host in hosts if (tenant_app(hostvars[host]) or {}).get("key") == key]


def tenant_firewalls(hosts, hostvars, label):
    """The hosts of ``hosts`` of the tenant ``label``: a firewall that holds the fact mailoauth_tenant_label (its lead
    set it in this run, after the tenant steps replaced the lead's mailoauth_tenant_id with the tenant's GUID) by that,
    the others by their inventory variables."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("tenant_firewalls needs hostvars")
    return [host for host in hosts
            if (_get(hostvars[host], "mailoauth_tenant_label") or tenant_label(hostvars[host])) == label]


def tenants(hosts, hostvars, conflict_variables, groups=None):
    """One entry per tenant of ``hosts``, in order of first appearance: its label, its lead (first firewall), its
    firewalls and the tenant variables on which they differ (tenant_conflicts: names only, never values)."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("tenants needs hostvars")
    by_label = {}
    for host in hosts:
        by_label.setdefault(tenant_label(hostvars[host]), []).append(host)
    return [{"label": label, "lead": firewalls[0], "firewalls": firewalls,
             "tenant_id": _get(hostvars[firewalls[0]], "mailoauth_tenant_id"),
             "app": tenant_app(hostvars[firewalls[0]]),
             "conflicts": tenant_conflicts(firewalls, hostvars, conflict_variables, groups)}
            for label, firewalls in by_label.items()]


def tenant_apps(run_tenants, hostvars, conflict_variables, groups=None):
    """One entry per multitenant app of ``run_tenants`` (the tenants filter's result): its key, home tenant and unique
    name, its lead (the lead of its first tenant), its tenants' labels and leads, the app variables on which the
    firewalls of its tenants differ, and whether its client secret has somewhere to be kept (secret_kept)."""
    apps = {}
    for tenant in run_tenants:
        app = tenant.get("app")
        if not app:
            continue
        entry = apps.setdefault(app["key"], dict(app, lead=tenant["lead"], tenants=[], leads=[], firewalls=[]))
        entry["tenants"].append(tenant["label"])
        entry["leads"].append(tenant["lead"])
        entry["firewalls"].extend(tenant["firewalls"])
    for entry in apps.values():
        entry["conflicts"] = tenant_conflicts(entry.pop("firewalls"), hostvars, conflict_variables, groups)
        lead = hostvars[entry["lead"]]
        entry["secret_kept"] = bool(
            (_get(lead, "mailoauth_app_credentials_file") and _get(lead, "mailoauth_vault_password_file"))
            or _get(lead, "mailoauth_app_client_secret"))
    return list(apps.values())


def tenant_finishers(run_tenants, hostvars, alive):
    """Who finishes each tenant whose steps passed (its lead handed its values over, mailoauth_tenant_ready) after the
    firewall play: its lead when the lead is among ``alive`` (ansible_play_hosts, the firewalls that did not fail),
    else the first of its firewalls that is; "" when none is. One entry per such tenant, in the order of
    ``run_tenants``, with the tenant's firewalls of the run that failed (names only)."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("tenant_finishers needs hostvars")
    alive = set(alive or [])
    finishers = []
    for tenant in run_tenants:
        if not _get(hostvars[tenant["lead"]], "mailoauth_tenant_ready"):
            continue
        survivors = [host for host in tenant["firewalls"] if host in alive]
        finishers.append({"label": tenant["label"], "lead": tenant["lead"],
                          "finisher": survivors[0] if survivors else "",
                          "failed": [host for host in tenant["firewalls"] if host not in alive]})
    return finishers


class FilterModule:
    def filters(self):
        return {"tenants": tenants, "tenant_firewalls": tenant_firewalls, "tenant_apps": tenant_apps,
                "app_firewalls": app_firewalls, "tenant_finishers": tenant_finishers}
