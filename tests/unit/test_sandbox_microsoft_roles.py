"""Conformance of the emulated tenant for the automation identity: app role assignments (application permissions
with admin consent), directory role assignments, certificate credentials, and what tokens and Exchange make of them.
"""

import base64
import datetime

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT, GRAPH_DEFAULT

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
RECIPIENT_ADMINISTRATOR = "31392ffb-586c-42d1-9346-e59415a2cc4e"


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def admin_token(ms, who="admin_user"):
    """A Graph token of an administrator signed in through a device code with Microsoft's Graph CLI client."""
    client = ms.public_client(GRAPH_CLI, tenant="organizations")
    flow = client.initiate_device_flow([GRAPH_DEFAULT])
    ms.control("devicecode/approve", "POST", {"user_code": flow["user_code"], "upn": ms.ready[who]["upn"]})
    return client.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)["access_token"]


def certificate(days=30):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "automation")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, cert


def der64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.fixture
def admin(ms):
    return ms.session(admin_token(ms))


@pytest.fixture
def new_app(ms, admin):
    """A single-tenant app with a certificate credential and its service principal, as bootstrap.yml makes them."""
    pem, cert = certificate()
    app = admin.post(ms.graph + "/applications", json={"displayName": "automation", "signInAudience": "AzureADMyOrg"})
    assert app.status_code == 201, app.text
    app = app.json()
    patched = admin.patch(ms.graph + "/applications/%s" % app["id"], json={"keyCredentials": [
        {"type": "AsymmetricX509Cert", "usage": "Verify", "key": der64(cert), "displayName": "CN=automation"}]})
    assert patched.status_code == 204, patched.text
    sp = admin.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]}).json()
    credential = {"private_key": pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}
    return {"app": app, "sp": sp, "credential": credential, "cert": cert}


def sp_of(ms, admin, app_id):
    return admin.get(ms.graph + "/servicePrincipals(appId='%s')" % app_id).json()


def role_id(resource_sp, value):
    return next(role["id"] for role in resource_sp["appRoles"] if role["value"] == value)


def app_token(ms, new_app, scope=GRAPH_DEFAULT):
    result = ms.confidential(new_app["app"]["appId"], new_app["credential"]).acquire_token_for_client([scope])
    assert "access_token" in result, result
    return result["access_token"]


def invoke(ms, token, cmdlet="Get-TransportConfig"):
    return ms.session(token).post("%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], ms.tenant),
                                  json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": {}}})


def test_app_role_assignment_is_admin_consent_the_token_shows(ms, admin, new_app):
    graph_sp = sp_of(ms, admin, GRAPH_APP_ID)
    assert "roles" not in claims_of(app_token(ms, new_app))
    body = {"principalId": new_app["sp"]["id"], "resourceId": graph_sp["id"],
            "appRoleId": role_id(graph_sp, "Application.ReadWrite.All")}
    reply = admin.post(ms.graph + "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert (created["principalType"], created["resourceDisplayName"], created["appRoleId"]) == (
        "ServicePrincipal", "Microsoft Graph", body["appRoleId"])
    assert claims_of(app_token(ms, new_app))["roles"] == ["Application.ReadWrite.All"]

    duplicate = admin.post(ms.graph + "/servicePrincipals/%s/appRoleAssignments" % new_app["sp"]["id"], json=body)
    assert duplicate.status_code == 400
    assert duplicate.json()["error"] == {**duplicate.json()["error"], "code": "Request_BadRequest",
                                         "message": "Permission being assigned already exists on the object."}
    listed = admin.get(ms.graph + "/servicePrincipals/%s/appRoleAssignments" % new_app["sp"]["id"]).json()["value"]
    assert [a["id"] for a in listed] == [created["id"]]
    assigned_to = admin.get(ms.graph + "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"]).json()["value"]
    assert created["id"] in [a["id"] for a in assigned_to]

    gone = admin.delete(ms.graph + "/servicePrincipals/%s/appRoleAssignedTo/%s" % (graph_sp["id"], created["id"]))
    assert gone.status_code == 204
    assert "roles" not in claims_of(app_token(ms, new_app))


@pytest.mark.parametrize("change, status, message", [
    pytest.param({"appRoleId": "00000000-0000-0000-0000-000000000001"}, 400,
                 "Permission being assigned was not found on application", id="role-the-resource-does-not-have"),
    pytest.param({"principalId": "00000000-0000-0000-0000-000000000002"}, 404, "does not exist",
                 id="principal-that-does-not-exist"),
    pytest.param({"appRoleId": "not-a-guid"}, 400, "Invalid value specified for property 'appRoleId'",
                 id="app-role-id-not-a-guid"),
])
def test_bad_app_role_assignment(ms, admin, new_app, change, status, message):
    graph_sp = sp_of(ms, admin, GRAPH_APP_ID)
    body = dict({"principalId": new_app["sp"]["id"], "resourceId": graph_sp["id"],
                 "appRoleId": role_id(graph_sp, "Application.ReadWrite.All")}, **change)
    reply = admin.post(ms.graph + "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    assert reply.status_code == status and message in reply.json()["error"]["message"]


@pytest.mark.parametrize("who", ["automation_app", "limited_app"])
def test_assigning_app_roles_needs_app_role_assignment_permission(ms, new_app, who):
    graph = ms.session(ms.app_token(who))
    graph_sp = graph.get(ms.graph + "/servicePrincipals(appId='%s')" % GRAPH_APP_ID).json()
    reply = graph.post(ms.graph + "/servicePrincipals/%s/appRoleAssignedTo" % GRAPH_APP_ID, json={
        "principalId": new_app["sp"]["id"], "resourceId": graph_sp.get("id", GRAPH_APP_ID),
        "appRoleId": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"})
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "Authorization_RequestDenied"


def test_exchange_takes_the_app_only_with_manage_as_app_and_a_directory_role(ms, admin, new_app):
    assert invoke(ms, app_token(ms, new_app, EXCHANGE_DEFAULT)).status_code == 401
    exchange_sp = sp_of(ms, admin, EXCHANGE_APP_ID)
    reply = admin.post(ms.graph + "/servicePrincipals/%s/appRoleAssignedTo" % exchange_sp["id"], json={
        "principalId": new_app["sp"]["id"], "resourceId": exchange_sp["id"],
        "appRoleId": role_id(exchange_sp, "Exchange.ManageAsApp")})
    assert reply.status_code == 201, reply.text
    token = app_token(ms, new_app, EXCHANGE_DEFAULT)
    assert claims_of(token)["roles"] == ["Exchange.ManageAsApp"]
    assert invoke(ms, token).status_code == 403

    url = ms.graph + "/roleManagement/directory/roleAssignments"
    body = {"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "roleDefinitionId": RECIPIENT_ADMINISTRATOR,
            "principalId": new_app["sp"]["id"], "directoryScopeId": "/"}
    created = admin.post(url, json=body)
    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in ("roleDefinitionId", "principalId", "directoryScopeId")} == {
        k: body[k] for k in ("roleDefinitionId", "principalId", "directoryScopeId")}
    token = app_token(ms, new_app, EXCHANGE_DEFAULT)
    assert claims_of(token)["wids"] == [RECIPIENT_ADMINISTRATOR]
    assert invoke(ms, token).status_code == 200

    duplicate = admin.post(url, json=body)
    assert duplicate.status_code == 400 and duplicate.json()["error"]["message"].startswith(
        "A conflicting object with one or more of the specified property values is present in the directory")
    found = admin.get(url, params={"$filter": "principalId eq '%s' and roleDefinitionId eq '%s'" % (
        new_app["sp"]["id"], RECIPIENT_ADMINISTRATOR)}).json()["value"]
    assert [a["id"] for a in found] == [created.json()["id"]]
    assert admin.delete(url + "/" + created.json()["id"]).status_code == 204
    assert invoke(ms, app_token(ms, new_app, EXCHANGE_DEFAULT)).status_code == 403


@pytest.mark.parametrize("body, status", [
    pytest.param({"roleDefinitionId": "00000000-0000-0000-0000-000000000000", "directoryScopeId": "/"}, 400,
                 id="unknown-role-definition"),
    pytest.param({"roleDefinitionId": RECIPIENT_ADMINISTRATOR}, 400, id="no-scope"),
    pytest.param({"roleDefinitionId": RECIPIENT_ADMINISTRATOR, "directoryScopeId": "/",
                  "principalId": "00000000-0000-0000-0000-000000000003"}, 404, id="principal-that-does-not-exist"),
])
def test_bad_role_assignment(ms, admin, new_app, body, status):
    reply = admin.post(ms.graph + "/roleManagement/directory/roleAssignments",
                       json=dict({"principalId": new_app["sp"]["id"]}, **body))
    assert reply.status_code == status, reply.text


def test_role_assignments_need_role_management_permission(ms, new_app):
    graph = ms.session(ms.app_token())
    reply = graph.post(ms.graph + "/roleManagement/directory/roleAssignments", json={
        "roleDefinitionId": RECIPIENT_ADMINISTRATOR, "principalId": new_app["sp"]["id"], "directoryScopeId": "/"})
    assert reply.status_code == 403


def test_ordinary_user_cannot_assign_roles(ms, new_app):
    graph = ms.session(admin_token(ms, who="mailbox"))
    reply = graph.post(ms.graph + "/roleManagement/directory/roleAssignments", json={
        "roleDefinitionId": RECIPIENT_ADMINISTRATOR, "principalId": new_app["sp"]["id"], "directoryScopeId": "/"})
    assert reply.status_code == 403


def test_key_credentials_read_back_without_key_unless_selected(ms, admin, new_app):
    url = ms.graph + "/applications/%s" % new_app["app"]["id"]
    [listed] = admin.get(url).json()["keyCredentials"]
    cert = new_app["cert"]
    assert listed["key"] is None
    assert listed["customKeyIdentifier"] == base64.b64encode(cert.fingerprint(hashes.SHA1())).decode()
    assert listed["endDateTime"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    [selected] = admin.get(url, params={"$select": "keyCredentials"}).json()["keyCredentials"]
    assert selected["key"] == der64(cert) and selected["keyId"] == listed["keyId"]


@pytest.mark.parametrize("credential", [
    pytest.param({"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(b"not DER").decode()},
                 id="key-not-a-certificate"),
    pytest.param({"type": "Symmetric", "usage": "Verify", "key": "AAAA"}, id="type-not-a-certificate"),
    pytest.param({"type": "AsymmetricX509Cert", "usage": "Verify", "key": None}, id="key-missing"),
])
def test_bad_key_credentials_are_refused(ms, admin, new_app, credential):
    reply = admin.patch(ms.graph + "/applications/%s" % new_app["app"]["id"], json={"keyCredentials": [credential]})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == (
        "Invalid value specified for property 'keyCredentials' of resource 'Application'.")


def test_removed_certificate_no_longer_signs_in(ms, admin, new_app):
    assert app_token(ms, new_app)
    admin.patch(ms.graph + "/applications/%s" % new_app["app"]["id"], json={"keyCredentials": []})
    result = ms.confidential(new_app["app"]["appId"], new_app["credential"]).acquire_token_for_client([GRAPH_DEFAULT])
    assert result["error_codes"] == [700027]


def test_deleting_the_service_principal_drops_its_assignments(ms, admin, new_app):
    graph_sp = sp_of(ms, admin, GRAPH_APP_ID)
    admin.post(ms.graph + "/servicePrincipals/%s/appRoleAssignments" % new_app["sp"]["id"], json={
        "principalId": new_app["sp"]["id"], "resourceId": graph_sp["id"],
        "appRoleId": role_id(graph_sp, "Application.ReadWrite.All")})
    admin.post(ms.graph + "/roleManagement/directory/roleAssignments", json={
        "roleDefinitionId": RECIPIENT_ADMINISTRATOR, "principalId": new_app["sp"]["id"], "directoryScopeId": "/"})
    assert admin.delete(ms.graph + "/servicePrincipals/%s" % new_app["sp"]["id"]).status_code == 204
    state = ms.control("state")
    assert not [a for a in state["app_role_assignment_objects"] if a["principalId"] == new_app["sp"]["id"]]
    assert not [a for a in state["role_assignments"] if a["principalId"] == new_app["sp"]["id"]]
