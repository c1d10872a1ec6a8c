"""Several tenants in one Microsoft emulator: routing by authority, tokens per tenant, nothing crosses over."""

import urllib.parse

import jwt
import pytest

from tests.sandbox.browser import sign_in
from tests.sandbox.client import Sandbox
from tests.sandbox.microsoft._tenants import tenant_seeds
from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT, GRAPH_DEFAULT

LOOPBACK = "http://localhost:53682/"
SCOPE = EXCHANGE_DEFAULT + " offline_access"


@pytest.fixture
def ms(three):
    three.control("reset?tenant=all", "POST")
    return three


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def error_code(reply):
    return reply.json()["error_codes"][0]


def tenant_id(ms, index):
    return ms.tenants[index]["tenant"]["id"]


def mailbox_refresh_token(ms, index, authority="common"):
    """Register a web app with consent in tenant ``index``, sign its mailbox in at ``authority``; (app, secret, rt)."""
    app, secret = ms.register_web_app(tenant=index)
    mailbox = ms.tenants[index]["mailbox"]
    query = {"client_id": app["appId"], "response_type": "code", "redirect_uri": LOOPBACK, "scope": SCOPE, "state": "s"}
    location = sign_in("%s/%s/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], authority, urllib.parse.urlencode(query)),
                       mailbox["upn"], mailbox["password"], ms.ca_file)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]
    reply = ms.post_token({"grant_type": "authorization_code", "client_id": app["appId"], "client_secret": secret,
                           "code": code, "redirect_uri": LOOPBACK, "scope": SCOPE}, tenant=authority)
    assert reply.status_code == 200, reply.text
    return app, secret, reply.json()["refresh_token"]


def test_each_tenant_has_its_own_seed_and_tenant_zero_stays_at_the_top(ms):
    domains = [seed["tenant"]["domain"] for seed in ms.tenants]
    assert domains == ["contoso.example", "fabrikam.example", "northwind.example"]
    assert len({seed["tenant"]["id"] for seed in ms.tenants}) == 3
    assert len({seed["automation_app"]["client_id"] for seed in ms.tenants}) == 3
    assert [seed["mailbox"]["upn"] for seed in ms.tenants] == ["notifications@" + d for d in domains]
    assert ms.ready["tenant"] == ms.tenants[0]["tenant"]
    assert ms.ready["automation_app"] == ms.tenants[0]["automation_app"]
    assert ms.control("tenants")["tenants"] == [seed["tenant"] for seed in ms.tenants]


def test_one_tenant_is_the_default(harness):
    assert len(harness.tenants) == 1
    assert harness.tenants[0]["tenant"] == harness.ready["tenant"]


@pytest.mark.parametrize("by", ["id", "domain"])
def test_the_authority_picks_the_tenant_by_id_or_domain(ms, by):
    seed = ms.tenants[1]
    authority = seed["tenant"]["id"] if by == "id" else seed["tenant"]["domain"].upper()
    creds = seed["automation_app"]
    reply = ms.post_token({"grant_type": "client_credentials", "client_id": creds["client_id"],
                           "client_secret": creds["client_secret"], "scope": GRAPH_DEFAULT}, tenant=authority)
    assert reply.status_code == 200, reply.text
    claims = claims_of(reply.json()["access_token"])
    assert claims["tid"] == seed["tenant"]["id"]
    assert claims["iss"] == "https://sts.windows.net/%s/" % seed["tenant"]["id"]
    config = ms.session().get("%s/%s/v2.0/.well-known/openid-configuration" % (ms.ready["login_url"], authority)).json()
    assert config["issuer"].endswith("/%s/v2.0" % seed["tenant"]["id"])
    assert ms.session().get(config["jwks_uri"]).json()["keys"]


def test_an_app_signs_in_only_at_its_own_tenant(ms):
    creds = ms.tenants[1]["automation_app"]
    reply = ms.post_token({"grant_type": "client_credentials", "client_id": creds["client_id"],
                           "client_secret": creds["client_secret"], "scope": GRAPH_DEFAULT}, tenant=tenant_id(ms, 2))
    assert (reply.status_code, error_code(reply)) == (400, 700016)
    assert tenant_id(ms, 2) in reply.json()["error_description"]


@pytest.mark.parametrize("authority, code", [("common", 9001023), ("organizations", 50059)])
def test_client_credentials_need_a_tenant_authority(ms, authority, code):
    creds = ms.tenants[1]["automation_app"]
    reply = ms.post_token({"grant_type": "client_credentials", "client_id": creds["client_id"],
                           "client_secret": creds["client_secret"], "scope": GRAPH_DEFAULT}, tenant=authority)
    assert (reply.status_code, error_code(reply)) == (400, code)


def test_graph_and_exchange_act_on_the_tenant_of_the_token(ms):
    app, dummy = ms.register_web_app(tenant=2)
    for index in range(3):
        graph = ms.session(ms.app_token(tenant=index))
        names = {a["appId"] for a in graph.get(ms.graph + "/applications").json()["value"]}
        assert (app["appId"] in names) == (index == 2)
        assert ms.tenants[index]["automation_app"]["client_id"] in names
    exchange = ms.session(ms.app_token(scope=EXCHANGE_DEFAULT, tenant=1))
    url = "%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], tenant_id(ms, 1))
    boxes = exchange.post(url, json={"CmdletInput": {"CmdletName": "Get-CASMailbox"}}).json()["value"]
    assert {box["PrimarySmtpAddress"] for box in boxes} == {
        ms.tenants[1][key]["upn"] for key in ("mailbox", "admin_user", "mfa_user")}
    # a token of tenant 1 at tenant 2's admin API URL is refused
    other = "%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], tenant_id(ms, 2))
    assert exchange.post(other, json={"CmdletInput": {"CmdletName": "Get-CASMailbox"}}).status_code == 401


def test_exchange_changes_stay_in_their_tenant(ms):
    exchange = ms.session(ms.app_token(scope=EXCHANGE_DEFAULT, tenant=2))
    upn = ms.tenants[2]["mailbox"]["upn"]
    url = "%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], tenant_id(ms, 2))
    reply = exchange.post(url, json={"CmdletInput": {"CmdletName": "Set-CASMailbox", "Parameters": {
        "Identity": upn, "SmtpClientAuthenticationDisabled": False}}})
    assert reply.status_code == 200, reply.text
    assert ms.control("mailboxes/" + upn, tenant=2)["smtp_auth_disabled"] is False
    assert ms.control("mailboxes/" + ms.tenants[0]["mailbox"]["upn"])["smtp_auth_disabled"] is True
    assert ms.control("state", tenant=0)["mailboxes"].keys() == {
        ms.tenants[0][key]["upn"] for key in ("mailbox", "admin_user", "mfa_user")}


@pytest.mark.parametrize("authority", ["common", "organizations", "own-domain"])
def test_users_of_two_tenants_get_tokens_of_their_own_tenant(ms, authority):
    for index in (1, 2):
        where = ms.tenants[index]["tenant"]["domain"] if authority == "own-domain" else authority
        dummy, dummy2, refresh = mailbox_refresh_token(ms, index, where)
        state = ms.control("state", tenant=index)
        assert [t["upn"] for t in state["refresh_tokens"]] == [ms.tenants[index]["mailbox"]["upn"]]
        assert ms.control("state", tenant=0)["refresh_tokens"] == []
        assert refresh


def test_a_refresh_token_redeems_only_in_its_own_tenant(ms):
    app, secret, refresh = mailbox_refresh_token(ms, 1)
    form = {"grant_type": "refresh_token", "client_id": app["appId"], "client_secret": secret, "refresh_token": refresh,
            "scope": SCOPE}
    for authority in ("common", tenant_id(ms, 1), ms.tenants[1]["tenant"]["domain"]):
        reply = ms.post_token(form, tenant=authority)
        assert reply.status_code == 200, (authority, reply.text)
        claims = claims_of(reply.json()["access_token"])
        assert (claims["tid"], claims["upn"]) == (tenant_id(ms, 1), ms.tenants[1]["mailbox"]["upn"])
    # at another tenant's authority the app itself is unknown there
    reply = ms.post_token(form, tenant=tenant_id(ms, 2))
    assert (reply.status_code, error_code(reply)) == (400, 700016)


def test_password_and_device_code_at_common_find_the_users_tenant(ms):
    app, dummy = ms.register_web_app(tenant=2, public_client=True, consent="SMTP.Send offline_access")
    user = ms.tenants[2]["mailbox"]
    reply = ms.post_token({"grant_type": "password", "client_id": app["appId"], "username": user["upn"],
                           "password": user["password"], "scope": SCOPE}, tenant="organizations")
    assert reply.status_code == 200, reply.text
    assert claims_of(reply.json()["access_token"])["tid"] == tenant_id(ms, 2)
    started = ms.session().post("%s/common/oauth2/v2.0/devicecode" % ms.ready["login_url"],
                                data={"client_id": app["appId"], "scope": SCOPE}).json()
    ms.control("devicecode/approve", "POST", {"user_code": started["user_code"], "upn": user["upn"]})
    reply = ms.post_token({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": app["appId"],
                           "device_code": started["device_code"]}, tenant="common")
    assert reply.status_code == 200, reply.text
    assert claims_of(reply.json()["access_token"])["tid"] == tenant_id(ms, 2)


def test_a_user_of_another_tenant_cannot_sign_in_at_this_tenant(ms):
    app, dummy = ms.register_web_app(tenant=1, public_client=True)
    user = ms.tenants[2]["mailbox"]
    reply = ms.post_token({"grant_type": "password", "client_id": app["appId"], "username": user["upn"],
                           "password": user["password"], "scope": SCOPE}, tenant=tenant_id(ms, 1))
    assert (reply.status_code, error_code(reply)) == (400, 50034)


def test_control_endpoints_act_per_tenant(ms):
    upn = ms.tenants[1]["mailbox"]["upn"]
    ms.control("clock", "POST", {"advance_seconds": 3600}, tenant=1)
    assert ms.control("state", tenant=1)["now"] > ms.control("state", tenant=0)["now"]
    ms.control("faults", "POST", {"graph": {"503": 1}}, tenant=1)
    assert ms.control("state", tenant=0)["faults"]["graph"] == {}
    ms.control("tenants/%s/users/%s/revoke" % (ms.tenants[1]["tenant"]["domain"], upn), "POST")
    assert ms.control("state", tenant=1)["users"][0]["tokens_valid_from"] != "1970-01-01T00:00:00Z"
    assert ms.session().get(ms.ready["login_url"] + "/_sandbox/state?tenant=nosuch.example").status_code == 404
    ms.control("reset", "POST", tenant=1)
    assert ms.control("state", tenant=1)["faults"]["graph"] == {}


def test_a_revoked_user_fails_only_in_its_tenant(ms):
    app1, secret1, refresh1 = mailbox_refresh_token(ms, 1)
    app2, secret2, refresh2 = mailbox_refresh_token(ms, 2)
    ms.control("users/%s/revoke" % ms.tenants[1]["mailbox"]["upn"], "POST", tenant=1)
    first = ms.post_token({"grant_type": "refresh_token", "client_id": app1["appId"], "client_secret": secret1,
                           "refresh_token": refresh1, "scope": SCOPE}, tenant="common")
    second = ms.post_token({"grant_type": "refresh_token", "client_id": app2["appId"], "client_secret": secret2,
                            "refresh_token": refresh2, "scope": SCOPE}, tenant="common")
    assert (first.status_code, error_code(first)) == (400, 50173)
    assert second.status_code == 200


def test_the_sandbox_runner_describes_every_tenant(tmp_path):
    box = Sandbox.start(str(tmp_path), firewalls=1, options={"microsoft": {"tenants": ["msp.example", "acme.example"]}})
    try:
        microsoft = box.services["microsoft"]
        assert [seed["tenant"]["domain"] for seed in box.tenants] == ["msp.example", "acme.example"]
        assert microsoft["tenant"] == box.tenants[0]["tenant"]
        assert box.microsoft("state", tenant=1)["tenant"]["domain"] == "acme.example"
        assert box.microsoft("state", tenant="acme.example")["tenant"] == box.tenants[1]["tenant"]
        assert box.microsoft("state")["tenant"]["domain"] == "msp.example"
        assert box.smtp_logins() == []
    finally:
        box.stop()


@pytest.mark.parametrize("value", [0, -1, True, "3", [], ["a.example", "A.example"], ["nodot"]])
def test_a_bad_tenants_option_is_refused_with_what_it_takes(value):
    with pytest.raises(ValueError, match="tenants"):
        tenant_seeds(value, "contoso.example")


def test_the_tenants_option_names_the_domains():
    assert tenant_seeds(2, "example.org") == [("example.org", "Contoso Sandbox"), ("fabrikam.example", "Fabrikam Sandbox")]
    assert [domain for domain, dummy in tenant_seeds(5, "contoso.example")][3:] == ["tenant3.example", "tenant4.example"]


def test_a_change_for_all_tenants_reaches_each_of_them(ms):
    answer = ms.control("faults?tenant=all", "POST", {"token": {"503": 1}})
    assert [entry["faults"]["token"] for entry in answer["tenants"]] == [{"503": 1}] * 3
    for index in range(3):
        creds = ms.tenants[index]["automation_app"]
        form = {"grant_type": "client_credentials", "client_id": creds["client_id"],
                "client_secret": creds["client_secret"], "scope": GRAPH_DEFAULT}
        assert ms.post_token(form, tenant=tenant_id(ms, index)).status_code == 503
        assert ms.post_token(form, tenant=tenant_id(ms, index)).status_code == 200
    assert ms.session().post(ms.ready["login_url"] + "/_sandbox/config?tenant=all", json={"nosuch": 1}).status_code == 400
