"""The ledger filter: what verify reports and retire decides for each firewall's record of the secret it holds."""

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailoauth.sophos.plugins.filter.ledger import earlier_sign_in, judge, ledger_report

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
APP = "11111111-1111-1111-1111-111111111111"


def secret(key_id, days_left):
    expires = (NOW + datetime.timedelta(days=days_left)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return {"key_id": key_id, "display_name": "mailoauth.sophos", "hint": "abc", "expires": expires}


def entry(key_id, client_id=APP):
    return {"client_id": client_id, "secret_key_id": key_id, "secret_expires": "", "pushed_at": "2026-11-30T10:00:00Z",
            "refresh_token_issued": "2026-11-30T10:00:00Z", "tenant_id": "t"}


SECRETS = [secret("old", 100), secret("new", 180), secret("soon", 10)]


@pytest.mark.parametrize("ledger, current, state", [
    (None, "new", "unknown"),
    ({}, "new", "unknown"),
    (entry("new"), "new", "ok"),
    (entry("old"), "new", "old secret"),
    (entry("gone"), "new", "removed"),
    (entry("soon"), "soon", "expiring"),
    (entry("new", client_id="another-app"), "new", "other app"),
    (entry("old"), "", "ok"),
], ids=["no-ledger-is-unknown", "empty-ledger-is-unknown", "current-secret-is-ok", "older-secret-is-stranded",
        "deleted-secret-is-removed", "expiring-within-the-window", "another-apps-secret", "no-current-known-checks-the-rest"])
def test_judge(ledger, current, state):
    assert judge(ledger, SECRETS, current, APP, 30, NOW)[0] == state


def test_the_report_keeps_the_order_and_never_needs_a_value():
    rows = ledger_report(["fw01", "fw02", "fw03"], [{"mailoauth_ledger": entry("new")}, {"mailoauth_ledger": entry("old")},
                                                    {}], SECRETS, "new", APP, 30, now="2026-12-01T12:00:00Z")
    assert [(r["firewall"], r["ledger"], r["secret_in_app"]) for r in rows] == [
        ("fw01", "ok", "yes"), ("fw02", "old secret", "yes"), ("fw03", "unknown", "no")]
    assert "no ledger entry" in rows[2]["ledger_detail"]


def test_hosts_and_facts_must_pair_up():
    with pytest.raises(AnsibleFilterError, match="same order"):
        ledger_report(["fw01"], [], SECRETS)


@pytest.mark.parametrize("held, signed_in, state", [
    ("2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z", "ok"),
    ("2026-11-30T10:00:00Z", "2026-12-01T09:00:00Z", "old sign-in"),
    ("", "2026-12-01T09:00:00Z", "old sign-in"),
    ("2026-12-01T09:00:00Z", "2026-11-30T10:00:00Z", "ok"),
    ("2026-11-30T10:00:00Z", "", "ok"),
], ids=["same-sign-in-is-ok", "earlier-sign-in-is-named", "unrecorded-sign-in-is-named", "later-record-is-ok",
        "no-sign-in-known-leaves-the-token-out"])
def test_judge_names_a_firewall_on_a_token_of_an_earlier_sign_in(held, signed_in, state):
    ledger = dict(entry("new"), refresh_token_issued=held)
    verdict, detail = judge(ledger, SECRETS, "new", APP, 30, NOW, signed_in)
    assert verdict == state
    if state == "old sign-in":
        assert signed_in in detail and "push" in detail


def test_a_removed_secret_is_worse_than_an_old_sign_in():
    ledger = dict(entry("gone"), refresh_token_issued="2026-11-30T10:00:00Z")
    assert judge(ledger, SECRETS, "new", APP, 30, NOW, "2026-12-01T09:00:00Z")[0] == "removed"


def test_the_report_passes_the_sign_in_on():
    rows = ledger_report(["fw1", "fw2"], [{"mailoauth_ledger": entry("new")},
                                          {"mailoauth_ledger": dict(entry("new"), refresh_token_issued="2026-12-01T09:00:00Z")}],
                         SECRETS, "new", APP, 30, now=NOW.isoformat(), signed_in="2026-12-01T09:00:00Z")
    assert [row["ledger"] for row in rows] == ["old sign-in", "ok"]


@pytest.mark.parametrize("held, signed_in, earlier", [
    ("2026-11-30T10:00:00Z", "2026-12-01T09:00:00Z", True),
    ("2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z", False),
    ("2026-12-01T09:00:00Z", datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.timezone.utc), False),
    ("2026-12-01 09:00:00+00:00", "2026-12-01T09:00:00Z", False),
    (datetime.datetime(2026, 11, 30, 10, 0), "2026-12-01T09:00:00Z", True),
    (None, "2026-12-01T09:00:00Z", True),
    ("", "2026-12-01T09:00:00Z", True),
    ("2026-11-30T10:00:00Z", "", False),
    ("2026-11-30T10:00:00Z", None, False),
], ids=["earlier", "the-same", "the-same-as-a-yaml-datetime", "the-same-in-another-spelling", "naive-datetime-is-utc",
        "not-recorded", "recorded-empty", "latest-unknown", "latest-none"])
def test_earlier_sign_in(held, signed_in, earlier):
    assert earlier_sign_in(held, signed_in) is earlier
