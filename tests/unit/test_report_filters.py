"""verify.yml's report filters: one row per firewall from its result, the same rows the old per-host loop built."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailoauth.sophos.plugins.filter.report import report_csv, verify_rows

HOSTVARS = {
    "fw01": {"firewall_notification_result": {"changed": False, "failed": False}},
    "fw02": {"firewall_notification_result": {
        "changed": True,
        "diff": {"before": {"Port": "25", "MailServer": "a"}, "after": {"Port": "587", "MailServer": "a", "ClientID": "x"}},
    }},
    "fw03": {"firewall_notification_result": {"failed": True, "msg": "login refused (check sfos_password)"}},
    "fw04": {},
}


def held(state, detail=""):
    return {"firewall": "-", "ledger": state, "ledger_detail": detail, "secret_key_id": "k1",
            "secret_expires": "2027-06-01", "secret_in_app": "yes", "pushed_at": "2026-12-01"}


LEDGER = [held("ok"), held("ok"), held("ok"), held("ok"), held("stale", "holds an older secret")]
HELD = {"secret_key_id": "k1", "secret_expires": "2027-06-01", "secret_in_app": "yes", "pushed_at": "2026-12-01"}


def test_one_row_per_host_in_order_with_status_detail_and_ledger():
    hostvars = dict(HOSTVARS, fw05={"firewall_notification_result": {"changed": False}})
    assert verify_rows(["fw01", "fw02", "fw03", "fw04", "fw05"], hostvars, LEDGER) == [
        dict(HELD, firewall="fw01", status="ok", detail="settings match"),
        dict(HELD, firewall="fw02", status="drift", detail="Port differs, ClientID differs"),
        dict(HELD, firewall="fw03", status="error", detail="login refused (check sfos_password)"),
        dict(HELD, firewall="fw04", status="error", detail="not reached"),
        dict(HELD, firewall="fw05", status="stale", detail="settings match; holds an older secret"),
    ]


def test_without_a_ledger_every_state_is_not_checked():
    row = verify_rows(["fw01"], HOSTVARS)[0]
    assert (row["status"], row["detail"], row["secret_key_id"]) == (
        "not checked", "settings match; the application could not be read", "")
    assert report_csv([row], ["firewall", "status"]) == "firewall,status\nfw01,not checked\n"


def test_a_host_unknown_to_hostvars_is_not_reached_and_bad_input_is_named():
    assert verify_rows(["fw99"], HOSTVARS)[0]["detail"] == "not reached"
    with pytest.raises(AnsibleFilterError, match="ansible_play_hosts_all"):
        verify_rows("fw01", HOSTVARS)
    with pytest.raises(AnsibleFilterError, match="same order"):
        verify_rows(["fw01", "fw02"], HOSTVARS, [held("ok")])
