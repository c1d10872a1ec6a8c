# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters for verify.yml's report: one row per firewall from its result, and the rows as a table or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _columns(rows, columns):
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise AnsibleFilterError("expected a list of dictionaries (one per row)")
    if columns:
        return list(columns)
    seen = []
    for row in rows:
        seen.extend(key for key in row if key not in seen)
    return seen


NOT_REACHED = {"failed": True, "msg": "not reached"}
# What a row holds of the ledger when the application could not be read (no ledger_report rows).
NOT_CHECKED = {"ledger": "not checked", "ledger_detail": "the application could not be read", "secret_key_id": "",
               "secret_expires": "", "secret_in_app": "", "pushed_at": ""}
LEDGER_FIELDS = ("secret_key_id", "secret_expires", "secret_in_app", "pushed_at")


def _row(host, result, held):
    if not isinstance(result, Mapping):
        result = NOT_REACHED
    if result.get("failed"):
        status, detail = "error", str(result.get("msg", ""))
    elif result.get("changed"):
        diff = result.get("diff") or {}
        before, after = diff.get("before") or {}, diff.get("after") or {}
        status = "drift"
        detail = ", ".join("%s differs" % key for key, value in after.items() if before.get(key) != value)
    else:
        status = held.get("ledger", "")
        detail = "settings match" if status == "ok" else "settings match; %s" % held.get("ledger_detail", "")
    row = {"firewall": host, "status": status, "detail": detail}
    row.update((name, held.get(name, "")) for name in LEDGER_FIELDS)
    return row


def verify_rows(hosts, hostvars, ledger=None, result_name="firewall_notification_result"):
    """One row per host from its registered result and its ledger_report row, in one pass over the fleet."""
    if not isinstance(hosts, list):
        raise AnsibleFilterError("verify_rows expects the list of hosts, such as ansible_play_hosts_all")
    if ledger is not None and (not isinstance(ledger, list) or len(ledger) != len(hosts)):
        raise AnsibleFilterError("verify_rows expects the ledger_report rows of the same hosts, in the same order")
    rows = []
    for index, host in enumerate(hosts):
        try:
            result = hostvars[host].get(result_name)
        except KeyError:
            result = None
        held = ledger[index] if ledger is not None and isinstance(ledger[index], Mapping) else NOT_CHECKED
        rows.append(_row(str(host), result, held))
    return rows


def tenant_rows(tenants, hostvars, ledger_name="verify_ledger", result_name="firewall_notification_result"):
    """verify_rows for each tenant's firewalls (tasks/tenants.yml's entries: label, lead, firewalls), each row
    starting with the tenant's label, and the ledger rows taken from the tenant's lead (``ledger_name``)."""
    if not isinstance(tenants, list) or not all(isinstance(tenant, Mapping) for tenant in tenants):
        raise AnsibleFilterError("tenant_rows expects the tenants of the run (mailoauth_run_tenants)")
    rows = []
    for tenant in tenants:
        try:
            ledger = hostvars[tenant["lead"]].get(ledger_name)
        except KeyError:
            ledger = None
        firewalls = list(tenant["firewalls"])
        if not isinstance(ledger, list) or len(ledger) != len(firewalls):
            ledger = None
        for row in verify_rows(firewalls, hostvars, ledger, result_name):
            rows.append(dict({"tenant": str(tenant["label"])}, **row))
    return rows


TENANT_CHECKS = ("client_secret", "refresh_token", "smtp_xoauth2")


def tenant_summaries(tenants, hostvars, checks_name="verify_tenant", secret_name="verify_tenant_secret"):
    """One row per tenant: its label, how many firewalls it has in the run, its current secret and when that expires
    (``secret_name`` on its lead: key_id, expires) and its checks (``checks_name`` on its lead); a tenant whose lead
    recorded no checks reads as an error."""
    if not isinstance(tenants, list) or not all(isinstance(tenant, Mapping) for tenant in tenants):
        raise AnsibleFilterError("tenant_summaries expects the tenants of the run (mailoauth_run_tenants)")
    rows = []
    for tenant in tenants:
        try:
            lead = hostvars[tenant["lead"]]
            checks, secret = lead.get(checks_name), lead.get(secret_name)
        except KeyError:
            checks = secret = None
        if not isinstance(checks, Mapping):
            checks = {"client_secret": "error: the tenant steps did not run (see the failed task of %s)"
                      % tenant["lead"], "refresh_token": "not checked", "smtp_xoauth2": "not checked"}
        secret = secret if isinstance(secret, Mapping) else {}
        row = {"tenant": str(tenant["label"]), "firewalls": len(tenant["firewalls"]),
               "secret_key_id": str(secret.get("key_id") or ""), "secret_expires": str(secret.get("expires") or "")}
        row.update((name, str(checks.get(name, "not checked"))) for name in TENANT_CHECKS)
        rows.append(row)
    return rows


def report_table(rows, columns=None):
    """Rows as lines of a fixed-width table: a header, a rule, one line per row."""
    names = _columns(rows, columns)
    cells = [[str(row.get(name, "")) for name in names] for row in rows]
    widths = [max([len(name)] + [len(line[i]) for line in cells]) for i, name in enumerate(names)]
    fmt = "  ".join("{:<%d}" % width for width in widths)
    lines = [fmt.format(*names).rstrip(), fmt.format(*("-" * width for width in widths))]
    lines.extend(fmt.format(*line).rstrip() for line in cells)
    return lines


def report_csv(rows, columns=None):
    """Rows as a CSV document with a header line."""
    names = _columns(rows, columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class FilterModule:
    def filters(self):
        return {"report_table": report_table, "report_csv": report_csv, "verify_rows": verify_rows,
                "tenant_rows": tenant_rows, "tenant_summaries": tenant_summaries}
