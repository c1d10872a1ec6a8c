"""Conformance of the emulated Microsoft Graph: real semantics, real error shapes, the documented faults."""

import json
import urllib.parse

import pytest


GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


@pytest.fixture
def graph(ms):
    return ms.session(ms.app_token())


def state_app(ms, app_id):
    return [app for app in ms.control("state")["applications"] if app["appId"] == app_id]


def test_add_password_returns_the_secret_text_only_once(ms, graph):
    app = graph.post(ms.graph + "/applications", json={"displayName": "secret holder"}).json()
    graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]})
    reply = graph.post(ms.graph + "/applications/%s/addPassword" % app["id"],
                       json={"passwordCredential": {"displayName": "firewalls"}})
    assert reply.status_code == 200
    created = reply.json()
    secret = created["secretText"]
    assert created["hint"] == secret[:3] and created["displayName"] == "firewalls"
    read = graph.get(ms.graph + "/applications/%s" % app["id"]).json()
    assert [(c["keyId"], c["secretText"]) for c in read["passwordCredentials"]] == [(created["keyId"], None)]
    assert secret not in json.dumps(ms.control("state"))
    assert [c["keyId"] for c in state_app(ms, app["appId"])[0]["passwordCredentials"]] == [created["keyId"]]
    result = ms.confidential(app["appId"], secret).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result
    assert graph.post(ms.graph + "/applications/%s/removePassword" % app["id"],
                      json={"keyId": created["keyId"]}).status_code == 204
    assert state_app(ms, app["appId"])[0]["passwordCredentials"] == []
    again = ms.confidential(app["appId"], secret).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert again["error_codes"] == [7000215]


def test_unique_name_upsert_creates_then_updates(ms, graph):
    url = ms.graph + "/applications(uniqueName='mailoauth-sophos')"
    headers = {"Prefer": "create-if-missing"}
    created = graph.patch(url, json={"displayName": "Sophos notifications"}, headers=headers)
    assert created.status_code == 201
    app = created.json()
    assert app["uniqueName"] == "mailoauth-sophos" and app["id"] != app["appId"]
    updated = graph.patch(url, json={"displayName": "Renamed", "signInAudience": "AzureADMultipleOrgs"}, headers=headers)
    assert updated.status_code == 204
    [stored] = state_app(ms, app["appId"])
    assert (stored["displayName"], stored["signInAudience"]) == ("Renamed", "AzureADMultipleOrgs")
    assert graph.get(ms.graph + "/applications(appId='%s')" % app["appId"]).json()["uniqueName"] == "mailoauth-sophos"
    found = graph.get(ms.graph + "/applications", params={"$filter": "uniqueName eq 'mailoauth-sophos'"}).json()
    assert [a["id"] for a in found["value"]] == [app["id"]]
    change = graph.patch(ms.graph + "/applications/%s" % app["id"], json={"uniqueName": "other"})
    assert change.status_code == 400
    missing = graph.patch(ms.graph + "/applications(uniqueName='absent')", json={"displayName": "x"})
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_display_names_are_not_unique(ms, graph):
    ids = {graph.post(ms.graph + "/applications", json={"displayName": "twin"}).json()["id"] for dummy in range(2)}
    listed = graph.get(ms.graph + "/applications", params={"$filter": "displayName eq 'twin'"}).json()["value"]
    assert len(ids) == 2 and {a["id"] for a in listed} == ids


def test_limited_app_is_denied_with_a_real_error_shape(ms):
    limited = ms.session(ms.app_token("limited_app"))
    reply = limited.post(ms.graph + "/applications", json={"displayName": "nope"})
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["code"] == "Authorization_RequestDenied"
    assert error["message"] == "Insufficient privileges to complete the operation."
    assert error["innerError"]["request-id"] == reply.headers["request-id"]
    assert all(app["displayName"] != "nope" for app in ms.control("state")["applications"])


@pytest.mark.parametrize("token, message", [
    pytest.param(None, "Access token is empty.", id="no-token"),
    pytest.param("exchange", "Invalid audience", id="exchange-audience"),
    pytest.param("garbage", "JWT is not well formed", id="not-a-jwt"),
])
def test_bad_tokens_get_401(ms, token, message):
    if token == "exchange":
        token = ms.app_token(scope="https://outlook.office365.com/.default")
    reply = ms.session(token).get(ms.graph + "/applications")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert message in reply.json()["error"]["message"]


def test_expired_token_gets_401(ms):
    token = ms.app_token()
    ms.control("clock", "POST", {"advance_seconds": 3700})
    reply = ms.session(token).get(ms.graph + "/applications")
    assert reply.status_code == 401 and "expired" in reply.json()["error"]["message"]


def test_injected_throttling_carries_retry_after(ms, graph):
    ms.control("faults", "POST", {"graph": {"429": 2, "retry_after": 3, "503": 1}})
    replies = [graph.get(ms.graph + "/applications") for dummy in range(4)]
    assert [r.status_code for r in replies] == [429, 429, 503, 200]
    assert replies[0].headers["Retry-After"] == "3"
    assert replies[0].json()["error"]["code"] == "TooManyRequests"
    assert replies[2].json()["error"]["code"] == "ServiceUnavailable"


def test_replication_delay_hides_a_fresh_object(ms, graph):
    ms.control("faults", "POST", {"graph": {"replication_delay_requests": 2}})
    app = graph.post(ms.graph + "/applications", json={"displayName": "fresh"}).json()
    statuses = [graph.get(ms.graph + "/applications/%s" % app["id"]).status_code for dummy in range(3)]
    assert statuses == [404, 404, 200]


def test_service_principal_reference_to_a_replicating_app_is_refused(ms, graph):
    ms.control("faults", "POST", {"graph": {"replication_delay_requests": 1}})
    app = graph.post(ms.graph + "/applications", json={"displayName": "fresh"}).json()
    first = graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]})
    assert first.status_code == 400
    assert graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]}).status_code == 201


def test_paging_follows_next_links(ms, graph):
    for index in range(5):
        graph.post(ms.graph + "/applications", json={"displayName": "paged %d" % index})
    url, params, names = ms.graph + "/applications", {"$filter": "startswith(displayName,'paged')", "$top": "2"}, []
    pages = 0
    while url:
        body = graph.get(url, params=params).json()
        names += [a["displayName"] for a in body["value"]]
        url, params, pages = body.get("@odata.nextLink"), None, pages + 1
    assert sorted(names) == ["paged %d" % i for i in range(5)] and pages == 3


def test_admin_consent_grant_lifecycle(ms, graph):
    app = graph.post(ms.graph + "/applications", json={"displayName": "consented"}).json()
    sp = graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]}).json()
    assert graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]}).status_code == 409
    graph_sp = graph.get(ms.graph + "/servicePrincipals", params={"$filter": "appId eq '%s'" % GRAPH_APP_ID}).json()
    resource = graph_sp["value"][0]
    assert {"SMTP.Send", "offline_access"} <= {s["value"] for s in resource["oauth2PermissionScopes"]}
    grant = {"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": resource["id"], "scope": "SMTP.Send"}
    created = graph.post(ms.graph + "/oauth2PermissionGrants", json=grant)
    assert created.status_code == 201
    assert graph.post(ms.graph + "/oauth2PermissionGrants", json=grant).status_code == 409
    grant_id = created.json()["id"]
    assert graph.patch(ms.graph + "/oauth2PermissionGrants/%s" % grant_id,
                       json={"scope": "SMTP.Send offline_access"}).status_code == 204
    listed = graph.get(ms.graph + "/oauth2PermissionGrants", params={"$filter": "clientId eq '%s'" % sp["id"]}).json()
    assert [g["scope"] for g in listed["value"]] == ["SMTP.Send offline_access"]
    assert graph.delete(ms.graph + "/applications/%s" % app["id"]).status_code == 204
    state = ms.control("state")
    assert all(g["clientId"] != sp["id"] for g in state["oauth2_permission_grants"])
    assert all(s["appId"] != app["appId"] for s in state["service_principals"])
    assert [a["id"] for a in state["deleted_applications"]] == [app["id"]]


def test_grant_writes_need_the_grant_permission(ms):
    ms.control("service_principals/%s/roles" % ms.ready["limited_app"]["client_id"], "POST",
               {"app_roles": {GRAPH_APP_ID: ["Application.ReadWrite.All"]}})
    limited = ms.session(ms.app_token("limited_app"))
    app = limited.post(ms.graph + "/applications", json={"displayName": "owned"})
    assert app.status_code == 201
    sp = limited.post(ms.graph + "/servicePrincipals", json={"appId": app.json()["appId"]}).json()
    graph_sp = limited.get(ms.graph + "/servicePrincipals(appId='%s')" % GRAPH_APP_ID).json()
    reply = limited.post(ms.graph + "/oauth2PermissionGrants", json={
        "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": "SMTP.Send"})
    assert reply.status_code == 403


@pytest.mark.parametrize("body, fragment", [
    pytest.param({"displayName": "x", "colour": "blue"}, "'colour' does not exist", id="unknown-property"),
    pytest.param({"signInAudience": "AzureADMultipleOrgs"}, "'displayName'", id="display-name-missing"),
    pytest.param({"displayName": "x", "signInAudience": "Everyone"}, "'signInAudience'", id="sign-in-audience-unknown"),
    pytest.param({"displayName": "x", "web": {"redirectUris": ["http://example.com/cb"]}}, "'web.redirectUris'",
                 id="redirect-uri-http-not-loopback"),
    pytest.param({"displayName": "x", "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
        {"id": "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "type": "Delegated"}]}]}, "'requiredResourceAccess'",
        id="resource-access-type-wrong"),
    pytest.param({"displayName": "x", "passwordCredentials": []}, "addPassword", id="password-credentials-set-directly"),
])
def test_bad_application_bodies(ms, graph, body, fragment):
    before = len(ms.control("state")["applications"])
    reply = graph.post(ms.graph + "/applications", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "Request_BadRequest"
    assert fragment in reply.json()["error"]["message"]
    assert len(ms.control("state")["applications"]) == before


def test_secret_lifetime_is_capped_by_the_tenant_policy(ms, graph):
    ms.control("config", "POST", {"secret_max_lifetime_days": 180})
    app = graph.post(ms.graph + "/applications", json={"displayName": "policy"}).json()
    reply = graph.post(ms.graph + "/applications/%s/addPassword" % app["id"], json={"passwordCredential": {
        "displayName": "too long", "endDateTime": "2099-01-01T00:00:00Z"}})
    assert reply.status_code == 400 and "policy" in reply.json()["error"]["message"]
    assert state_app(ms, app["appId"])[0]["passwordCredentials"] == []


def test_unsupported_filter_is_a_400(ms, graph):
    reply = graph.get(ms.graph + "/applications", params={"$filter": "notes eq 'x'"})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_key_literals_are_decoded_after_splitting_the_path(ms, graph):
    name = "o'brien/fw"
    key = urllib.parse.quote(name.replace("'", "''"), safe="")
    created = graph.patch(ms.graph + "/applications(uniqueName='%s')" % key, json={"displayName": "quoted"},
                          headers={"Prefer": "create-if-missing"})
    assert created.status_code == 201 and created.json()["uniqueName"] == name
    assert graph.get(ms.graph + "/applications(uniqueName='%s')" % key).json()["id"] == created.json()["id"]
