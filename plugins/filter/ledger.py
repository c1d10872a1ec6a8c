# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ledger of what each firewall holds (the cacheable fact mailoauth_ledger), judged against the application.

A firewall's stored secret reads back hashed, so the ledger is the only record of which secret it has. retire.yml
removes old secrets only when every firewall's row is on the current one; verify.yml fails on every other row.
"""

from __future__ import annotations

import datetime

from ansible.errors import AnsibleFilterError

# Why a firewall is not on the current secret, worst first; the verify report names these.
STATES = ("unknown", "other app", "removed", "old sign-in", "expiring", "old secret", "ok")


def _parse(value):
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if "." in text:
        head, tail = text.split(".", 1)
        digits = "".join(c for c in tail if c.isdigit())
        text = head + "." + digits[:6] + tail[len(digits):]
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def earlier_sign_in(held, signed_in):
    """True when a firewall recorded with the refresh token of the sign-in ``held`` is behind the mailbox's latest
    sign-in ``signed_in``. An unknown latest sign-in (empty) says nothing; an unrecorded ``held`` is behind a known one.
    Either may come as a datetime (YAML loads an unquoted ISO timestamp as one), or in another ISO 8601 spelling."""
    latest = _parse(signed_in)
    if latest is None:
        return False
    recorded = _parse(held)
    return recorded is None or recorded < latest


def judge(ledger, secrets, current_key_id, client_id, warning_days, now, signed_in=""):
    """One firewall's ledger entry: (state, detail). Pure, so the unit tests pin what verify and retire decide.

    signed_in: when the mailbox last signed in (the tenant's refresh_token_issued; renewals keep it). A firewall
    recorded with a refresh token from before it may hold one that was revoked (the sign-in's usual cause).
    """
    if not isinstance(ledger, dict) or not ledger.get("secret_key_id"):
        return "unknown", ("no ledger entry: nothing records which secret this firewall holds; push to it "
                           "(mailoauth.sophos.push) with a persistent fact cache configured")
    key_id = ledger["secret_key_id"]
    if client_id and ledger.get("client_id") and ledger["client_id"] != client_id:
        return "other app", "holds a secret of the app %s, not of %s" % (ledger["client_id"], client_id)
    secret = next((s for s in secrets if s.get("key_id") == key_id), None)
    if secret is None:
        return "removed", "its secret %s is no longer in the app: it cannot send mail" % key_id
    if earlier_sign_in(ledger.get("refresh_token_issued"), signed_in):
        return "old sign-in", ("holds a refresh token of an earlier sign-in (%s) than the mailbox's latest (%s), which "
                               "may have been revoked: push to it" % (ledger.get("refresh_token_issued") or "not recorded",
                                                                      signed_in))
    expires = _parse(secret.get("expires") or ledger.get("secret_expires"))
    if expires is not None and expires - now < datetime.timedelta(days=warning_days):
        return "expiring", "its secret %s expires %s (within %d days)" % (key_id, secret.get("expires"), warning_days)
    if current_key_id and key_id != current_key_id:
        return "old secret", "still on the old secret %s, not the current %s" % (key_id, current_key_id)
    return "ok", ""


def ledger_report(hosts, facts, secrets, current_key_id="", client_id="", warning_days=30, now=None, signed_in=""):
    """One row per firewall: its ledger entry and how it stands against the application's secrets."""
    if not isinstance(hosts, list) or not isinstance(facts, list) or len(hosts) != len(facts):
        raise AnsibleFilterError("ledger_report expects the host names and, in the same order, their ansible_facts")
    if not isinstance(secrets, list):
        raise AnsibleFilterError("ledger_report expects the application's secrets as a list (entra_app_info secrets)")
    now = _parse(now) if now else datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for host, host_facts in zip(hosts, facts):
        ledger = (host_facts or {}).get("mailoauth_ledger") if isinstance(host_facts, dict) else None
        state, detail = judge(ledger, secrets, current_key_id, client_id, int(warning_days), now, signed_in)
        ledger = ledger if isinstance(ledger, dict) else {}
        key_id = ledger.get("secret_key_id", "")
        rows.append({
            "firewall": host,
            "ledger": state,
            "ledger_detail": detail,
            "secret_key_id": key_id,
            "secret_expires": ledger.get("secret_expires", ""),
            "secret_in_app": "yes" if any(s.get("key_id") == key_id for s in secrets) and key_id else "no",
            "pushed_at": ledger.get("pushed_at", ""),
            "refresh_token_issued": ledger.get("refresh_token_issued", ""),
        })
    return rows


class FilterModule:
    def filters(self):
        return {"ledger_report": ledger_report, "earlier_sign_in": earlier_sign_in}
