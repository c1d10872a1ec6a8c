"""MSP model 2: one multitenant app registered in the MSP's tenant, admin-consented in each customer tenant."""

import os
import urllib.parse

import jwt
import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.smtp import SmtpCheckError, smtp_oauth_login
from tests.sandbox._http import AppServer, server_ssl_context, start_in_thread
from tests.sandbox.browser import sign_in
from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT, GRAPH_DEFAULT
from tests.sandbox.smtp import server as smtp_server

LOOPBACK = "http://localhost:53682/"
MSP, CUSTOMER, OTHER = 0, 1, 2


@pytest.fixture
def ms(three, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", three.ca_file)
    three.control("reset?tenant=all", "POST")
    return three


@pytest.fixture
def msp_app(ms):
    """The MSP's multitenant app (registered and consented in the MSP tenant) and its secret."""
    return ms.register_web_app(redirect_uris=(LOOPBACK,), audience="AzureADMultipleOrgs", tenant=MSP)


def tid(ms, index):
    return ms.tenants[index]["tenant"]["id"]


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def sign_in_with_msal(ms, app, secret, index, authority="common"):
    """The mailbox of tenant ``index`` signs in through msal's auth code flow; returns (msal client, result)."""
    client = ms.confidential(app["appId"], secret, tenant=authority)
    flow = client.initiate_auth_code_flow([EXCHANGE_DEFAULT], redirect_uri=LOOPBACK)
    mailbox = ms.tenants[index]["mailbox"]
    location = sign_in(flow["auth_uri"], mailbox["upn"], mailbox["password"], ms.ca_file)
    reply = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    if "error" in reply:
        return client, reply
    return client, client.acquire_token_by_auth_code_flow(flow, reply)


def test_consent_creates_the_customers_service_principal_for_the_msp_app(ms, msp_app):
    app, dummy = msp_app
    sp = ms.consent(app["appId"], tenant=CUSTOMER)
    assert sp["appOwnerOrganizationId"] == tid(ms, MSP)
    assert sp["appDisplayName"] == app["displayName"]
    customer = ms.control("state", tenant=CUSTOMER)
    assert app["appId"] not in {a["appId"] for a in customer["applications"]}
    assert app["appId"] in {s["appId"] for s in customer["service_principals"]}
    graph = ms.session(ms.app_token(tenant=CUSTOMER))
    listed = graph.get(ms.graph + "/applications").json()["value"]
    assert app["appId"] not in {a["appId"] for a in listed}
    again = graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]})
    assert again.status_code == 409


def test_a_single_tenant_app_gets_no_service_principal_elsewhere(ms):
    app, dummy = ms.register_web_app(audience="AzureADMyOrg", tenant=MSP)
    graph = ms.session(ms.app_token(tenant=CUSTOMER))
    reply = graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]})
    assert reply.status_code == 400
    assert "does not reference a valid application object" in reply.json()["error"]["message"]


def test_customer_mailbox_signs_in_with_the_msp_app_and_gets_customer_tokens(ms, msp_app):
    app, secret = msp_app
    ms.consent(app["appId"], tenant=CUSTOMER)
    client, result = sign_in_with_msal(ms, app, secret, CUSTOMER)
    assert result.get("refresh_token"), result
    claims = claims_of(result["access_token"])
    assert (claims["tid"], claims["upn"], claims["appid"], claims["scp"]) == (
        tid(ms, CUSTOMER), ms.tenants[CUSTOMER]["mailbox"]["upn"], app["appId"], "SMTP.Send")
    assert claims["iss"] == "https://sts.windows.net/%s/" % tid(ms, CUSTOMER)
    assert result["id_token_claims"]["tid"] == tid(ms, CUSTOMER)
    # the refresh token lives in the customer tenant, not in the MSP's
    assert [r["upn"] for r in ms.control("state", tenant=CUSTOMER)["refresh_tokens"]] == [
        ms.tenants[CUSTOMER]["mailbox"]["upn"]]
    assert ms.control("state", tenant=MSP)["refresh_tokens"] == []
    refreshed = client.acquire_token_by_refresh_token(result["refresh_token"], [EXCHANGE_DEFAULT])
    assert claims_of(refreshed["access_token"])["tid"] == tid(ms, CUSTOMER)
    own = ms.confidential(app["appId"], secret, tenant=ms.tenants[CUSTOMER]["tenant"]["domain"])
    assert "access_token" in own.acquire_token_by_refresh_token(result["refresh_token"], [EXCHANGE_DEFAULT])


@pytest.mark.parametrize("where", [MSP, OTHER])
def test_the_customers_refresh_token_fails_at_another_tenants_authority(ms, msp_app, where):
    app, secret = msp_app
    ms.consent(app["appId"], tenant=CUSTOMER)
    ms.consent(app["appId"], tenant=OTHER)
    dummy, result = sign_in_with_msal(ms, app, secret, CUSTOMER)
    elsewhere = ms.confidential(app["appId"], secret, tenant=tid(ms, where))
    refused = elsewhere.acquire_token_by_refresh_token(result["refresh_token"], [EXCHANGE_DEFAULT])
    assert refused.get("error_codes") == [700005], refused


def test_without_consent_in_the_customer_tenant_sign_in_stops_at_consent(ms, msp_app):
    app, secret = msp_app
    dummy, reply = sign_in_with_msal(ms, app, secret, CUSTOMER)
    assert reply["error"] == "consent_required"
    assert "AADSTS65001" in reply["error_description"]
    # and at the customer's token endpoint the app is not in that directory
    user = ms.tenants[CUSTOMER]["mailbox"]
    refused = ms.post_token({"grant_type": "client_credentials", "client_id": app["appId"], "client_secret": secret,
                             "scope": GRAPH_DEFAULT}, tenant=tid(ms, CUSTOMER))
    assert refused.json()["error_codes"] == [700016]
    assert user["password"] not in refused.text


def test_consent_without_the_smtp_scope_is_not_enough(ms, msp_app):
    app, secret = msp_app
    ms.consent(app["appId"], scope="User.Read", tenant=CUSTOMER)
    dummy, reply = sign_in_with_msal(ms, app, secret, CUSTOMER)
    assert reply["error"] == "consent_required"


def test_a_single_tenant_app_cannot_sign_in_other_tenants_users(ms):
    app, secret = ms.register_web_app(redirect_uris=(LOOPBACK,), audience="AzureADMyOrg", tenant=MSP)
    query = urllib.parse.urlencode({"client_id": app["appId"], "response_type": "code", "redirect_uri": LOOPBACK,
                                    "scope": EXCHANGE_DEFAULT + " offline_access"})
    page = ms.session().get("%s/%s/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], tid(ms, CUSTOMER), query))
    assert "AADSTS700016" in page.text
    common = ms.session().get("%s/common/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], query),
                              allow_redirects=False)
    assert "AADSTS50194" in urllib.parse.unquote_plus(common.headers["Location"])
    del secret


def test_removing_the_msp_secret_stops_redemption_in_every_tenant(ms, msp_app):
    app, secret = msp_app
    ms.consent(app["appId"], tenant=CUSTOMER)
    dummy, result = sign_in_with_msal(ms, app, secret, CUSTOMER)
    graph = ms.session(ms.app_token(tenant=MSP))
    key_id = graph.get(ms.graph + "/applications/%s" % app["id"]).json()["passwordCredentials"][0]["keyId"]
    reply = graph.post(ms.graph + "/applications/%s/removePassword" % app["id"], json={"keyId": key_id})
    assert reply.status_code == 204, reply.text
    for authority in ("common", tid(ms, CUSTOMER)):
        refused = ms.confidential(app["appId"], secret, tenant=authority).acquire_token_by_refresh_token(
            result["refresh_token"], [EXCHANGE_DEFAULT])
        assert refused.get("error_codes") == [7000215], refused


def test_deleting_the_customers_service_principal_removes_its_consent(ms, msp_app):
    app, secret = msp_app
    sp = ms.consent(app["appId"], tenant=CUSTOMER)
    dummy, result = sign_in_with_msal(ms, app, secret, CUSTOMER)
    graph = ms.session(ms.app_token(tenant=CUSTOMER))
    assert graph.delete(ms.graph + "/servicePrincipals/%s" % sp["id"]).status_code == 204
    assert not [g for g in ms.control("state", tenant=CUSTOMER)["oauth2_permission_grants"] if g["clientId"] == sp["id"]]
    refused = ms.confidential(app["appId"], secret, tenant="common").acquire_token_by_refresh_token(
        result["refresh_token"], [EXCHANGE_DEFAULT])
    assert refused.get("error_codes") == [700016], refused
    # the MSP's own consent is untouched
    dummy, own = sign_in_with_msal(ms, app, secret, MSP)
    assert claims_of(own["access_token"])["tid"] == tid(ms, MSP)


@pytest.fixture
def smtp(ms):
    """The SMTP emulator in-process against this Microsoft emulator, its control app on its own port."""
    directory = os.path.dirname(ms.ca_file)
    context = server_ssl_context(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
    service = smtp_server.start_smtp(context, ms.ca_file, ms.ready)
    control = AppServer(service.control_app, context)
    stop = start_in_thread([control])
    yield service, "https://127.0.0.1:%d/_sandbox/" % control.port
    stop.set()
    service.stop()


def test_smtp_records_each_login_with_the_mailbox_and_its_tenant(ms, msp_app, smtp):
    service, control = smtp
    app, secret = msp_app
    ms.consent(app["appId"], tenant=CUSTOMER)
    ms.control("config", "POST", {"org_smtp_auth_disabled": False}, tenant=CUSTOMER)
    ms.control("config", "POST", {"org_smtp_auth_disabled": False}, tenant=MSP)
    tokens = {index: sign_in_with_msal(ms, app, secret, index)[1]["access_token"] for index in (MSP, CUSTOMER)}
    for index, token in tokens.items():
        smtp_oauth_login("127.0.0.1", service.port, ms.tenants[index]["mailbox"]["upn"], token, ca_path=ms.ca_file)
    # a customer token presented as the MSP's mailbox is refused
    with pytest.raises(SmtpCheckError):
        smtp_oauth_login("127.0.0.1", service.port, ms.tenants[MSP]["mailbox"]["upn"], tokens[CUSTOMER],
                         ca_path=ms.ca_file)
    logins = ms.session().get(control + "logins").json()["logins"]
    assert [(entry["mailbox"], entry["tenant"]) for entry in logins] == [
        (ms.tenants[index]["mailbox"]["upn"], tid(ms, index)) for index in (MSP, CUSTOMER)]
    attempts = ms.session().get(control + "auth_log").json()["attempts"]
    assert attempts[-1]["reason"] == "user= does not match the token's user"
    assert all(token not in str(attempts) for token in tokens.values())


def test_smtp_checks_the_mailbox_in_the_tokens_tenant(ms, msp_app, smtp):
    service, dummy = smtp
    app, secret = msp_app
    ms.consent(app["appId"], tenant=CUSTOMER)
    # the org switch of the MSP tenant says nothing about the customer's mailbox
    ms.control("config", "POST", {"org_smtp_auth_disabled": False}, tenant=MSP)
    token = sign_in_with_msal(ms, app, secret, CUSTOMER)[1]["access_token"]
    with pytest.raises(SmtpCheckError) as err:
        smtp_oauth_login("127.0.0.1", service.port, ms.tenants[CUSTOMER]["mailbox"]["upn"], token, ca_path=ms.ca_file)
    assert err.value.code.startswith("535 5.7.139")


def test_a_customer_code_redeemed_at_the_msp_authority_is_refused(ms, msp_app):
    app, secret = msp_app
    ms.consent(app["appId"], tenant=CUSTOMER)
    query = urllib.parse.urlencode({"client_id": app["appId"], "response_type": "code", "redirect_uri": LOOPBACK,
                                    "scope": EXCHANGE_DEFAULT + " offline_access", "state": "s"})
    mailbox = ms.tenants[CUSTOMER]["mailbox"]
    location = sign_in("%s/common/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], query), mailbox["upn"],
                       mailbox["password"], ms.ca_file)
    form = {"grant_type": "authorization_code", "client_id": app["appId"], "client_secret": secret, "redirect_uri": LOOPBACK,
            "code": dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]}
    refused = ms.post_token(form, tenant=tid(ms, MSP))
    assert (refused.status_code, refused.json()["error_codes"]) == (400, [700005])
    redeemed = ms.post_token(form, tenant=tid(ms, CUSTOMER))
    assert claims_of(redeemed.json()["access_token"])["tid"] == tid(ms, CUSTOMER)
