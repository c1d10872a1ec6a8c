"""The filters that work out the tenants of a run (tenants, tenant_firewalls, tenant_finishers) and verify's
per-tenant report (tenant_rows, tenant_summaries)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailoauth.sophos.plugins.filter.report import tenant_rows, tenant_summaries
from ansible_collections.mailoauth.sophos.plugins.filter.tenants import (
    app_firewalls,
    tenant_apps,
    tenant_finishers,
    tenant_firewalls,
    tenants,
)

COMPARED = ["mailoauth_tenant_id", "mailoauth_mailbox"]
GROUPS = {"all": ["fw1", "fw2", "fw3", "fw4"], "customer_a": ["fw1", "fw2"], "customer_b": ["fw3", "fw4"]}


def customer(tenant, mailbox, **more):
    return dict({"mailoauth_tenant_id": tenant, "mailoauth_mailbox": mailbox}, **more)


HOSTVARS = {
    "fw1": customer("tenant-a", "a@a.example"),
    "fw3": customer("tenant-b", "b@b.example"),
    "fw2": customer("tenant-a", "a@a.example"),
    "fw4": customer("tenant-b", "b@b.example"),
}


def test_one_entry_per_tenant_in_order_with_its_lead_and_firewalls():
    assert tenants(["fw1", "fw3", "fw2", "fw4"], HOSTVARS, COMPARED, GROUPS) == [
        {"label": "tenant-a", "lead": "fw1", "firewalls": ["fw1", "fw2"], "tenant_id": "tenant-a", "app": None,
         "conflicts": []},
        {"label": "tenant-b", "lead": "fw3", "firewalls": ["fw3", "fw4"], "tenant_id": "tenant-b", "app": None,
         "conflicts": []},
    ]


# MSP model 2: customers b and c consent to the MSP's multitenant app, registered in tenant-msp; a has its own app.
MSP_HOSTVARS = {
    "fw1": customer("tenant-a", "a@a.example"),
    "fw2": customer("tenant-a", "a@a.example", mailoauth_app_tenant_id="TENANT-A"),   # its own tenant: model 1
    "fw3": customer("tenant-b", "b@b.example", mailoauth_app_tenant_id="tenant-msp", mailoauth_app_unique_name="msp"),
    "fw4": customer("tenant-c", "c@c.example", mailoauth_app_tenant_id="tenant-msp", mailoauth_app_unique_name="msp",
                    mailoauth_app_credentials_file="/elsewhere.yml"),
    "fw5": customer("tenant-c", "c@c.example", mailoauth_app_tenant_id="tenant-msp", mailoauth_app_unique_name="msp"),
    "fw6": customer("tenant-d", "d@d.example", mailoauth_app_tenant_id="tenant-msp",   # another app: default name
                    mailoauth_app_client_secret="stored", mailoauth_app_client_secret_key_id="k1"),
}
MSP_APP = {"key": "tenant-msp/msp", "tenant_id": "tenant-msp", "unique_name": "msp"}


def test_a_tenant_that_names_another_tenants_app_consents_to_that_multitenant_app():
    run = tenants(sorted(MSP_HOSTVARS), MSP_HOSTVARS, COMPARED)
    assert [(t["label"], t["app"]) for t in run] == [
        ("tenant-a", None), ("tenant-b", MSP_APP), ("tenant-c", MSP_APP),
        ("tenant-d", {"key": "tenant-msp/", "tenant_id": "tenant-msp", "unique_name": None})]
    apps = tenant_apps(run, MSP_HOSTVARS, ["mailoauth_app_credentials_file"])
    assert apps == [
        dict(MSP_APP, lead="fw3", tenants=["tenant-b", "tenant-c"], leads=["fw3", "fw4"], secret_kept=False,
             conflicts=[{"variable": "mailoauth_app_credentials_file",
                         "holders": ["hosts fw3, fw5 (not set)", "host fw4"]}]),
        {"key": "tenant-msp/", "tenant_id": "tenant-msp", "unique_name": None, "lead": "fw6", "tenants": ["tenant-d"],
         "leads": ["fw6"], "conflicts": [], "secret_kept": True}]
    # The firewalls of the app in the whole inventory, whichever of its tenants are in the play.
    assert app_firewalls(sorted(MSP_HOSTVARS), MSP_HOSTVARS, "tenant-msp/msp") == ["fw3", "fw4", "fw5"]


def test_a_multitenant_app_needs_the_consenting_tenants_own_id():
    hostvars = {"fw1": {"mailoauth_tenant_name": "contoso", "mailoauth_app_tenant_id": "tenant-msp"}}
    assert tenants(["fw1"], hostvars, [])[0]["tenant_id"] is None   # tasks/tenants.yml refuses it


def test_a_tenant_name_groups_before_the_tenant_id_and_none_is_default():
    hostvars = {"fw1": customer("contoso.example", "a@a.example", mailoauth_tenant_name="contoso"),
                "fw2": customer("", "a@a.example", mailoauth_tenant_name="contoso"),
                "fw3": {"mailoauth_mailbox": "c@c.example"}}
    result = tenants(["fw1", "fw2", "fw3"], hostvars, ["mailoauth_mailbox"])
    assert [(t["label"], t["firewalls"]) for t in result] == [("contoso", ["fw1", "fw2"]), ("default", ["fw3"])]


def test_firewalls_of_one_tenant_that_disagree_are_named_by_group_never_by_value():
    hostvars = dict(HOSTVARS, fw4=customer("tenant-a", "secret-mailbox@b.example"))
    hostvars["fw3"] = customer("tenant-a", "secret-mailbox@b.example")
    result = tenants(["fw1", "fw2", "fw3", "fw4"], hostvars, COMPARED, GROUPS)
    assert len(result) == 1
    assert result[0]["conflicts"] == [
        {"variable": "mailoauth_mailbox", "holders": ["group customer_a", "group customer_b"]}]
    assert "secret-mailbox" not in repr(result)


def test_tenant_firewalls_takes_the_label_given_at_the_start_over_a_later_tenant_id():
    hostvars = dict(HOSTVARS)
    # fw1 is in the play: the tenant steps replaced its mailoauth_tenant_id by the GUID; fw2 is outside the play.
    hostvars["fw1"] = customer("0f0f0f0f-guid", "a@a.example", mailoauth_tenant_label="tenant-a")
    assert tenant_firewalls(["fw1", "fw2", "fw3", "fw4"], hostvars, "tenant-a") == ["fw1", "fw2"]
    assert tenant_firewalls(["fw1", "fw2", "fw3", "fw4"], hostvars, "tenant-b") == ["fw3", "fw4"]


def test_the_filters_need_hostvars():
    with pytest.raises(AnsibleFilterError):
        tenants(["fw1"], None, COMPARED)
    with pytest.raises(AnsibleFilterError):
        tenant_firewalls(["fw1"], None, "tenant-a")
    with pytest.raises(AnsibleFilterError):
        app_firewalls(["fw1"], None, "tenant-msp/msp")
    with pytest.raises(AnsibleFilterError):
        tenant_finishers([], None, [])


FINISHING = [{"label": "tenant-a", "lead": "fw1", "firewalls": ["fw1", "fw2", "fw3"]},
             {"label": "tenant-b", "lead": "fw4", "firewalls": ["fw4", "fw5"]},
             {"label": "tenant-c", "lead": "fw6", "firewalls": ["fw6"]},
             {"label": "tenant-d", "lead": "fw7", "firewalls": ["fw7", "fw8"]}]
READY = {"fw%d" % n: {"mailoauth_tenant_ready": True} for n in range(1, 9)}


@pytest.mark.parametrize("alive, expected", [
    pytest.param(["fw1", "fw2", "fw3", "fw4", "fw5", "fw6", "fw7", "fw8"],
                 [("tenant-a", "fw1", []), ("tenant-b", "fw4", []), ("tenant-c", "fw6", []), ("tenant-d", "fw7", [])],
                 id="every-lead-alive-finishes-its-tenant"),
    pytest.param(["fw3", "fw4", "fw6", "fw7", "fw8"],
                 [("tenant-a", "fw3", ["fw1", "fw2"]), ("tenant-b", "fw4", ["fw5"]), ("tenant-c", "fw6", []),
                  ("tenant-d", "fw7", [])],
                 id="a-failed-lead-hands-over-to-the-first-firewall-of-its-tenant-still-alive"),
    pytest.param(["fw1", "fw2", "fw3", "fw4", "fw5", "fw7"],
                 [("tenant-a", "fw1", []), ("tenant-b", "fw4", []), ("tenant-c", "", ["fw6"]),
                  ("tenant-d", "fw7", ["fw8"])],
                 id="a-tenant-with-no-firewall-alive-has-no-finisher-and-names-its-failed-ones"),
])
def test_tenant_finishers(alive, expected):
    result = tenant_finishers(FINISHING, READY, alive)
    assert [(entry["label"], entry["finisher"], entry["failed"]) for entry in result] == expected
    assert all(entry["lead"] == tenant["lead"] for entry, tenant in zip(result, FINISHING))


def test_a_tenant_whose_steps_failed_has_no_finisher_its_firewalls_stopped_unchanged():
    hostvars = dict(READY, fw4={})   # tenant-b's lead never handed its values over
    assert [entry["label"] for entry in tenant_finishers(FINISHING, hostvars, ["fw1", "fw5", "fw6", "fw7"])] == [
        "tenant-a", "tenant-c", "tenant-d"]


RUN = [{"label": "tenant-a", "lead": "fw1", "firewalls": ["fw1", "fw2"]},
       {"label": "tenant-b", "lead": "fw3", "firewalls": ["fw3"]}]


def ledger_row(state):
    return {"ledger": state, "ledger_detail": "", "secret_key_id": "k", "secret_expires": "2027-01-01",
            "secret_in_app": "yes", "pushed_at": "2026-12-01"}


def test_tenant_rows_group_the_firewalls_by_tenant_with_each_tenants_ledger():
    hostvars = {
        "fw1": {"firewall_notification_result": {"changed": False},
                "verify_ledger": [ledger_row("ok"), ledger_row("old secret")]},
        "fw2": {"firewall_notification_result": {"changed": False}},
        "fw3": {"firewall_notification_result": {"failed": True, "msg": "The tenant steps of the tenant tenant-b"}},
    }
    rows = tenant_rows(RUN, hostvars)
    assert [(row["tenant"], row["firewall"], row["status"]) for row in rows] == [
        ("tenant-a", "fw1", "ok"), ("tenant-a", "fw2", "old secret"), ("tenant-b", "fw3", "error")]
    assert list(rows[0])[:2] == ["tenant", "firewall"]
    assert rows[2]["secret_key_id"] == ""   # tenant-b's lead recorded no ledger: not checked


def test_tenant_summaries_one_row_per_tenant_and_a_failed_tenant_is_an_error():
    checks = {"client_secret": "ok", "refresh_token": "ok", "smtp_xoauth2": "ok"}
    hostvars = {"fw1": {"verify_tenant": checks, "verify_tenant_secret": {"key_id": "k1", "expires": "2027-06-01"}},
                "fw3": {}}
    assert tenant_summaries(RUN, hostvars) == [
        dict(checks, tenant="tenant-a", firewalls=2, secret_key_id="k1", secret_expires="2027-06-01"),
        {"tenant": "tenant-b", "firewalls": 1, "secret_key_id": "", "secret_expires": "",
         "client_secret": "error: the tenant steps did not run (see the failed task of fw3)",
         "refresh_token": "not checked", "smtp_xoauth2": "not checked"},
    ]


def test_tenant_report_filters_refuse_anything_but_the_runs_tenants():
    with pytest.raises(AnsibleFilterError):
        tenant_rows("tenant-a", {})
    with pytest.raises(AnsibleFilterError):
        tenant_summaries([1], {})
