"""GraphClient against a scripted session: OData errors, retries, replication 404s, paging, upsert create."""

import json

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._retry import RetryPolicy
from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import GraphClient, GraphError, graph_error
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import EntraIdentity, entra_auth_argument_spec

GRAPH = "https://graph.example/v1.0"
TOKEN = "opaque-access-token-value"


class Reply:
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.headers = dict(headers or {})
        self.content = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.text = self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)


def odata(status, code, message, request_id="req-1", headers=None):
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-11-25T10:00:00", "request-id": request_id}}}
    return Reply(status, body, dict(headers or {}, **{"request-id": request_id}))


class ScriptedSession:
    """Answers requests from a list, recording what was sent."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.sent = []

    def request(self, method, url, json=None, headers=None):  # pylint: disable=redefined-outer-name
        self.sent.append({"method": method, "url": url, "json": json, "headers": headers})
        return self.replies.pop(0)


def client(*replies, **policy):
    session = ScriptedSession(*replies)
    options = {name: spec.get("default") for name, spec in entra_auth_argument_spec().items()}
    options.update(access_token=TOKEN, graph_endpoint="https://graph.example/")
    sleeps = []
    retry = RetryPolicy(sleep=sleeps.append, clock=lambda: sum(sleeps), random=lambda: 0.5, **policy)
    graph = GraphClient(EntraIdentity.from_params(options, session=session), endpoint="https://graph.example/",
                        session=session, policy=retry)
    return graph, session, sleeps


def test_requests_carry_the_bearer_token_and_go_to_the_endpoint_option():
    graph, session, dummy = client(Reply(200, {"id": "o1", "appId": "a1"}))
    assert graph.get_application(unique_name="fw-mail")["id"] == "o1"
    assert session.sent[0]["url"] == GRAPH + "/applications(uniqueName='fw-mail')"
    assert session.sent[0]["headers"]["Authorization"] == "Bearer " + TOKEN


def test_keys_are_quoted_as_odata_literals():
    graph, session, dummy = client(Reply(200, {"id": "o1"}))
    graph.get_application(unique_name="o'brien app")
    assert session.sent[0]["url"] == GRAPH + "/applications(uniqueName='o%27%27brien%20app')"


def test_missing_application_is_none_not_an_error():
    graph, dummy, dummy2 = client(odata(404, "Request_ResourceNotFound", "Resource not found."))
    assert graph.get_application(app_id="nope") is None


def test_create_is_an_upsert_on_the_unique_name():
    graph, session, dummy = client(Reply(201, {"id": "o1", "appId": "a1", "uniqueName": "fw"}))
    created = graph.create_application("fw", {"displayName": "FW"})
    assert created["appId"] == "a1"
    assert session.sent[0]["method"] == "PATCH"
    assert session.sent[0]["headers"]["Prefer"] == "create-if-missing"


def test_throttling_is_retried_as_the_server_asks_then_succeeds():
    graph, session, sleeps = client(odata(429, "TooManyRequests", "Too many requests.", headers={"Retry-After": "4"}),
                                    odata(503, "ServiceUnavailable", "Try later."), Reply(200, {"value": []}))
    assert graph.list_grants("sp1") == []
    assert len(session.sent) == 3
    assert sleeps[0] == 4.0


def test_throttling_that_never_ends_says_how_many_tries():
    graph, dummy, dummy2 = client(*[odata(429, "TooManyRequests", "Too many requests.", headers={"Retry-After": "1"})
                                    for dummy3 in range(3)], max_attempts=3)
    with pytest.raises(GraphError) as caught:
        graph.list_grants("sp1")
    assert caught.value.code == "TooManyRequests"
    assert "after 3 tries" in str(caught.value)
    assert caught.value.status == 429


def test_replication_404_after_create_is_retried_with_backoff():
    graph, session, sleeps = client(odata(404, "Request_ResourceNotFound", "Resource 'o1' does not exist."),
                                    odata(404, "Request_ResourceNotFound", "Resource 'o1' does not exist."),
                                    Reply(200, {"keyId": "k1", "secretText": "s"}))
    assert graph.add_password("o1", "mailoauth.sophos", "2027-01-01T00:00:00Z")["keyId"] == "k1"
    assert len(session.sent) == 3
    assert sleeps == [0.75, 1.5]


def test_a_plain_lookup_takes_404_as_absent_at_once():
    graph, session, dummy = client(odata(404, "Request_ResourceNotFound", "Resource not found."))
    assert graph.get_application(unique_name="fw") is None
    assert len(session.sent) == 1


def test_a_lookup_of_an_app_an_earlier_task_created_waits_for_replication_but_not_forever():
    graph, session, sleeps = client(*[odata(404, "Request_ResourceNotFound", "Resource not found.")] * 5)
    assert graph.get_application(unique_name="fw", wait_for_replication=True) is None
    assert len(session.sent) == 5
    assert sum(sleeps) <= 30


def test_404_on_a_write_that_is_not_about_a_fresh_object_is_not_retried():
    graph, session, dummy = client(odata(404, "Request_ResourceNotFound", "Resource 'g1' does not exist."))
    with pytest.raises(GraphError, match="Request_ResourceNotFound"):
        graph.delete_grant("g1")
    assert len(session.sent) == 1


def test_grant_referencing_a_fresh_service_principal_is_retried():
    graph, session, dummy = client(
        odata(400, "Request_BadRequest", "Invalid value specified for property 'clientId' of resource "
                                         "'OAuth2PermissionGrant'."),
        Reply(201, {"id": "g1"}))
    assert graph.create_grant("sp1", "graph-sp", "SMTP.Send", just_created=True)["id"] == "g1"
    assert len(session.sent) == 2


def test_service_principal_create_waits_for_the_new_application():
    graph, session, dummy = client(
        odata(400, "Request_BadRequest", "The appId 'a1' of the service principal does not reference a valid "
                                         "application object."),
        Reply(201, {"id": "sp1", "appId": "a1"}))
    assert graph.create_service_principal("a1")["id"] == "sp1"
    assert len(session.sent) == 2


NOT_AN_APP = "The appId 'a1' of the service principal does not reference a valid application object."


def test_another_tenants_app_that_has_not_replicated_yet_is_still_created():
    graph, session, dummy = client(odata(400, "Request_BadRequest", NOT_AN_APP), Reply(201, {"id": "sp1", "appId": "a1"}))
    assert graph.create_service_principal("a1", home_tenant_id="msp-tenant")["id"] == "sp1"
    assert len(session.sent) == 2


@pytest.mark.parametrize("home, tries, words", [
    ("msp-tenant", 5, "Graph could not create the service principal of app a1 in this tenant (5 tries): the app a1 "
                      "is not a multitenant app of tenant msp-tenant (or does not exist there) (Request_BadRequest, "
                      "request-id req-1): set its sign-in audience to AzureADMultipleOrgs (entra_app "
                      "sign_in_audience) in its home tenant msp-tenant, or correct app_id / app_home_tenant_id"),
    (None, 6, "Graph failed creating the service principal of app a1: The appId 'a1' of the service principal does "
              "not reference a valid application object after 6 tries"),
], ids=["another-tenants-app-stops-at-the-replication-bound", "this-tenants-app-waits-the-general-policy"])
def test_a_service_principal_for_an_app_graph_never_finds(home, tries, words):
    graph, session, sleeps = client(*[odata(400, "Request_BadRequest", NOT_AN_APP) for dummy in range(8)])
    with pytest.raises(GraphError) as err:
        graph.create_service_principal("a1", home_tenant_id=home)
    assert len(session.sent) == tries
    assert len(sleeps) == tries - 1
    assert words in str(err.value)
    assert (err.value.status, err.value.code, err.value.request_id) == (400, "Request_BadRequest", "req-1")
    assert TOKEN not in str(err.value)


def test_paging_follows_next_link_until_absent():
    graph, session, dummy = client(
        Reply(200, {"value": [{"id": "g1"}], "@odata.nextLink": GRAPH + "/oauth2PermissionGrants?$skiptoken=x"}),
        Reply(200, {"value": [{"id": "g2"}]}))
    assert [g["id"] for g in graph.list_grants("sp1")] == ["g1", "g2"]
    assert session.sent[0]["url"] == GRAPH + "/oauth2PermissionGrants?$filter=clientId%20eq%20%27sp1%27"
    assert session.sent[1]["url"].endswith("$skiptoken=x")


@pytest.mark.parametrize("reply, permission, code, words", [
    (odata(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "r-403"),
     "DelegatedPermissionGrant.ReadWrite.All", "Authorization_RequestDenied",
     "Graph denied granting admin consent (Authorization_RequestDenied, request-id r-403): the signed-in identity "
     "needs the DelegatedPermissionGrant.ReadWrite.All application permission"),
    (odata(401, "InvalidAuthenticationToken", "Access token validation failure.", "r-401"), None,
     "InvalidAuthenticationToken", "must be issued for https://graph.microsoft.com"),
    (odata(400, "Request_BadRequest", "Invalid value specified for property 'redirectUris'.", "r-400"), None,
     "Request_BadRequest", "Graph failed granting admin consent: Invalid value specified for property 'redirectUris'"),
    (Reply(502, b"<html>bad gateway</html>"), None, "HTTP 502", "Graph failed granting admin consent (HTTP 502)"),
], ids=["denied-names-the-missing-permission", "bad-token-names-the-resource", "bad-request-keeps-graphs-message",
        "non-json-body-still-gives-a-clear-error"])
def test_error_mapping(reply, permission, code, words):
    err = graph_error(reply, "granting admin consent", permission)
    assert err.code == code
    assert words in str(err)
    assert "bad gateway" not in str(err)
    assert TOKEN not in str(err)


def test_grant_that_exists_on_another_replica_is_returned_not_duplicated():
    graph, session, dummy = client(
        odata(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists."),
        Reply(200, {"value": []}),
        Reply(200, {"value": [{"id": "g1", "consentType": "AllPrincipals", "resourceId": "graph-sp",
                               "scope": "SMTP.Send"}]}))
    assert graph.create_grant("sp1", "graph-sp", "SMTP.Send offline_access")["id"] == "g1"
    assert [s["method"] for s in session.sent] == ["POST", "GET", "GET"]


def test_create_that_finds_the_app_already_there_says_so():
    graph, session, dummy = client(Reply(204), Reply(200, {"id": "o1", "appId": "a1", "uniqueName": "fw"}))
    created = graph.create_application("fw", {"displayName": "FW"})
    assert (created["appId"], created["existed"]) == ("a1", True)
    assert [s["method"] for s in session.sent] == ["PATCH", "GET"]


def test_an_app_role_assignment_that_exists_already_is_returned_not_an_error():
    existing = {"id": "as1", "principalId": "sp1", "resourceId": "graph-sp", "appRoleId": "role1"}
    graph, session, dummy = client(
        odata(400, "Request_BadRequest", "Permission being assigned already exists on the object."),
        Reply(200, {"value": [existing]}))
    found = graph.create_app_role_assignment("sp1", "graph-sp", "role1")
    assert found == dict(existing, existed=True)
    assert session.sent[0]["url"] == GRAPH + "/servicePrincipals/graph-sp/appRoleAssignedTo"
    assert session.sent[0]["json"] == {"principalId": "sp1", "resourceId": "graph-sp", "appRoleId": "role1"}
    assert session.sent[1]["url"] == GRAPH + "/servicePrincipals/sp1/appRoleAssignments"


def test_an_app_role_assignment_for_a_fresh_principal_waits_out_replication():
    graph, session, sleeps = client(
        odata(404, "Request_ResourceNotFound", "Resource 'sp1' does not exist."),
        Reply(201, {"id": "as1"}))
    assert graph.create_app_role_assignment("sp1", "graph-sp", "role1", just_created=True) == {"id": "as1"}
    assert len(sleeps) == 1 and len(session.sent) == 2


def test_a_directory_role_assignment_that_exists_already_is_returned():
    existing = {"id": "ra1", "principalId": "sp1", "roleDefinitionId": "r1", "directoryScopeId": "/"}
    graph, session, dummy = client(
        odata(400, "Request_BadRequest", "A conflicting object with one or more of the specified property values is "
                                         "present in the directory."),
        Reply(200, {"value": [existing]}))
    assert graph.create_role_assignment("sp1", "r1") == dict(existing, existed=True)
    assert session.sent[0]["json"]["directoryScopeId"] == "/"
    assert "principalId%20eq%20%27sp1%27%20and%20roleDefinitionId%20eq%20%27r1%27" in session.sent[1]["url"]


def test_other_bad_requests_are_errors():
    graph, dummy, dummy2 = client(odata(400, "Request_BadRequest",
                                        "Permission being assigned was not found on application 'x'."))
    with pytest.raises(GraphError, match="was not found on application"):
        graph.create_app_role_assignment("sp1", "graph-sp", "role1")


def test_key_credentials_are_read_with_their_keys():
    graph, session, dummy = client(Reply(200, {"id": "o1", "keyCredentials": [{"keyId": "k1", "key": "AAA"}]}))
    assert graph.get_key_credentials("o1") == [{"keyId": "k1", "key": "AAA"}]
    assert session.sent[0]["url"] == GRAPH + "/applications/o1?$select=id,keyCredentials"
