"""entra_admin_consent with app_home_tenant_id (MSP model 2): the module run in-process against the three-tenant
emulator, consenting in a customer tenant to a multitenant app registered in the MSP's tenant."""

import contextlib
import functools
import json
import urllib.parse
import uuid

import jwt
import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19 (make test-matrix): the module reads its arguments from _ANSIBLE_ARGS
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from ansible_collections.mailoauth.sophos.plugins.module_utils import graph as graph_utils
from ansible_collections.mailoauth.sophos.plugins.module_utils._retry import RetryPolicy
from ansible_collections.mailoauth.sophos.plugins.modules import entra_admin_consent
from tests.sandbox.browser import sign_in
from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT

LOOPBACK = "http://localhost:53682/"
MSP, CUSTOMER = 0, 1
SCOPES = ["SMTP.Send", "offline_access"]
SERVICE_PRINCIPALS = "/v1.0/servicePrincipals"
REPLICATION_ATTEMPTS = 5  # GraphClient's replication policy; the general policy allows 6 tries over 120 s


class FakeTime:
    """Sleeps recorded, not slept: the clock is the sum of the sleeps."""

    def __init__(self):
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)

    def clock(self):
        return sum(self.sleeps)


@pytest.fixture
def ms(three):
    three.control("reset?tenant=all", "POST")
    return three


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(graph_utils, "RetryPolicy", functools.partial(RetryPolicy, sleep=fake.sleep, clock=fake.clock))
    return fake


@pytest.fixture
def consent(ms, fake_time, capsys, tmp_path):
    """consent(tenant index, check=False, **options) -> the module's result (failed ones included)."""
    def run(tenant, check=False, **options):
        seed = ms.tenants[tenant]
        args = {"authority_host": ms.ready["login_url"], "graph_endpoint": ms.ready["graph_url"],
                "ca_path": ms.ca_file, "tenant_id": seed["tenant"]["id"],
                "client_id": seed["automation_app"]["client_id"],
                "client_secret": seed["automation_app"]["client_secret"],
                "token_cache_path": str(tmp_path / "cache.json"), "_ansible_check_mode": check, "_ansible_diff": True}
        args.update(options)
        capsys.readouterr()
        with patch_module_args(args), pytest.raises(SystemExit):
            entra_admin_consent.main()
        return json.loads(capsys.readouterr().out)
    return run


@pytest.fixture
def msp_app(ms):
    """The MSP's multitenant app, registered (and consented) in the MSP tenant; (app, secret)."""
    return ms.register_web_app(redirect_uris=(LOOPBACK,), audience="AzureADMultipleOrgs", tenant=MSP)


def tid(ms, index):
    return ms.tenants[index]["tenant"]["id"]


def tenant_state(ms, index):
    return ms.control("state", tenant=index)


def app_sps(ms, index, app_id):
    return [sp for sp in tenant_state(ms, index)["service_principals"] if sp["appId"] == app_id]


def grants_of(ms, index, sp_id):
    return [g for g in tenant_state(ms, index)["oauth2_permission_grants"] if g["clientId"] == sp_id]


def graph_requests(ms, index, method=None, path=None):
    return [r for r in ms.control("requests", tenant=index)["requests"]
            if r["service"] == "graph" and method in (None, r["method"]) and path in (None, r["path"])]


def test_the_msp_app_is_consented_in_the_customer_tenant_once(ms, msp_app, consent):
    app, dummy = msp_app
    options = {"app_id": app["appId"], "app_home_tenant_id": tid(ms, MSP)}

    predicted = consent(CUSTOMER, check=True, **options)
    assert predicted["changed"] is True, predicted
    assert predicted["diff"] == {"before": {"service_principal": False, "scopes": []},
                                 "after": {"service_principal": True, "scopes": SCOPES}}
    assert app_sps(ms, CUSTOMER, app["appId"]) == []
    assert graph_requests(ms, CUSTOMER, "POST") == []

    done = consent(CUSTOMER, **options)
    assert done["changed"] is True, done
    assert done["diff"] == predicted["diff"]
    assert (done["client_id"], done["tenant_id"]) == (app["appId"], tid(ms, CUSTOMER))
    [sp] = app_sps(ms, CUSTOMER, app["appId"])
    assert sp["appOwnerOrganizationId"] == tid(ms, MSP)
    assert done["service_principal_id"] == sp["id"]
    graph_sp = app_sps(ms, CUSTOMER, graph_utils.GRAPH_APP_ID)[0]
    assert [(g["id"], g["consentType"], g["resourceId"], g["scope"]) for g in grants_of(ms, CUSTOMER, sp["id"])] == [
        (done["grant_id"], "AllPrincipals", graph_sp["id"], "SMTP.Send offline_access")]
    # the app stays the MSP's: not registered in the customer tenant, never looked up there
    assert app["appId"] not in {a["appId"] for a in tenant_state(ms, CUSTOMER)["applications"]}
    assert not [r for r in graph_requests(ms, CUSTOMER) if r["path"].startswith("/v1.0/applications")]

    again = consent(CUSTOMER, **options)
    assert again["changed"] is False, again
    assert (again["service_principal_id"], again["grant_id"]) == (sp["id"], done["grant_id"])
    assert consent(CUSTOMER, check=True, **options)["changed"] is False
    assert len(app_sps(ms, CUSTOMER, app["appId"])) == 1
    assert len(grants_of(ms, CUSTOMER, sp["id"])) == 1


def test_a_home_tenant_that_is_this_tenant_uses_the_app_registered_here(ms, msp_app, consent):
    app, dummy = msp_app
    result = consent(MSP, app_id=app["appId"], app_home_tenant_id=tid(ms, MSP).upper())
    assert result["changed"] is False, result
    assert graph_requests(ms, MSP, "GET", "/v1.0/applications(appId='%s')" % app["appId"])


@pytest.mark.parametrize("audience", ["AzureADMyOrg", None], ids=["single-tenant-app", "no-such-app"])
def test_an_app_other_tenants_cannot_use_fails_plainly_within_the_replication_bound(ms, consent, fake_time,
                                                                                    audience):
    if audience:
        app_id = ms.register_web_app(audience=audience, tenant=MSP)[0]["appId"]
    else:
        app_id = str(uuid.uuid4())
    seeded_grants = tenant_state(ms, CUSTOMER)["oauth2_permission_grants"]
    result = consent(CUSTOMER, app_id=app_id, app_home_tenant_id=tid(ms, MSP))
    assert result.get("failed") is True, result
    assert result["msg"].startswith("Graph could not create the service principal of app %s in tenant %s (%d tries): "
                                    "the app %s is not a multitenant app of tenant %s (or does not exist there)"
                                    % (app_id, tid(ms, CUSTOMER), REPLICATION_ATTEMPTS, app_id, tid(ms, MSP)))
    assert "set its sign-in audience to AzureADMultipleOrgs (entra_app sign_in_audience)" in result["hint"]
    assert (result["http_status"], result["error_code"]) == (400, "Request_BadRequest")
    assert len(graph_requests(ms, CUSTOMER, "POST", SERVICE_PRINCIPALS)) == REPLICATION_ATTEMPTS
    assert len(fake_time.sleeps) == REPLICATION_ATTEMPTS - 1
    assert app_sps(ms, CUSTOMER, app_id) == []
    assert tenant_state(ms, CUSTOMER)["oauth2_permission_grants"] == seeded_grants
    assert ms.tenants[CUSTOMER]["automation_app"]["client_secret"] not in json.dumps(result)


def test_absent_revokes_the_grant_and_keeps_the_service_principal(ms, msp_app, consent):
    app, dummy = msp_app
    options = {"app_id": app["appId"], "app_home_tenant_id": tid(ms, MSP)}
    assert consent(CUSTOMER, **options)["changed"] is True
    [sp] = app_sps(ms, CUSTOMER, app["appId"])

    predicted = consent(CUSTOMER, check=True, state="absent", **options)
    assert predicted["changed"] is True
    assert len(grants_of(ms, CUSTOMER, sp["id"])) == 1
    revoked = consent(CUSTOMER, state="absent", **options)
    assert revoked["changed"] is True, revoked
    assert revoked["diff"]["before"]["scopes"] == SCOPES and revoked["diff"]["after"]["scopes"] == []
    assert grants_of(ms, CUSTOMER, sp["id"]) == []
    assert app_sps(ms, CUSTOMER, app["appId"]) == [sp]
    assert consent(CUSTOMER, state="absent", **options)["changed"] is False
    # the MSP's own consent is another tenant's business
    [own] = app_sps(ms, MSP, app["appId"])
    assert len(grants_of(ms, MSP, own["id"])) == 1


def test_app_home_tenant_id_without_app_id_is_refused_before_any_request(ms, consent):
    result = consent(CUSTOMER, unique_name="sophos-firewall-notifications", app_home_tenant_id=tid(ms, MSP))
    assert result.get("failed") is True, result
    assert result["msg"] == ("app_home_tenant_id needs app_id: an app registered in another tenant cannot be found by "
                             "unique_name here; set app_id to the app's application (client) id instead")
    assert graph_requests(ms, CUSTOMER) == []
    assert ms.control("requests", tenant=CUSTOMER)["requests"] == []


def test_after_consent_a_customer_user_redeems_a_code_with_the_msp_app_at_the_customer_authority(ms, msp_app,
                                                                                                 consent):
    app, secret = msp_app
    assert consent(CUSTOMER, app_id=app["appId"], app_home_tenant_id=tid(ms, MSP))["changed"] is True
    client = ms.confidential(app["appId"], secret, tenant=tid(ms, CUSTOMER))
    flow = client.initiate_auth_code_flow([EXCHANGE_DEFAULT], redirect_uri=LOOPBACK)
    mailbox = ms.tenants[CUSTOMER]["mailbox"]
    location = sign_in(flow["auth_uri"], mailbox["upn"], mailbox["password"], ms.ca_file)
    reply = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert "code" in reply, reply
    result = client.acquire_token_by_auth_code_flow(flow, reply)
    assert result.get("refresh_token"), {k: v for k, v in result.items() if "token" not in k}
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert (claims["tid"], claims["upn"], claims["appid"], claims["scp"]) == (
        tid(ms, CUSTOMER), mailbox["upn"], app["appId"], "SMTP.Send")
    assert [r["upn"] for r in tenant_state(ms, CUSTOMER)["refresh_tokens"]] == [mailbox["upn"]]
