"""identity.py against the sandbox's identity platform: msal client credentials, a wrong secret, the device-code
sign-in across two runs with its 0600 cache."""

import os
import stat

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    EntraIdentity,
    IdentityError,
    entra_auth_argument_spec,
    jwt_claims,
)

GRAPH = "https://graph.microsoft.com"


@pytest.fixture
def microsoft(sandbox):
    ms = sandbox.services["microsoft"]
    sandbox.control(ms["login_url"], "reset", "POST")
    return ms


def params(sandbox, microsoft, **overrides):
    values = {name: spec.get("default") for name, spec in entra_auth_argument_spec().items()}
    values.update(authority_host=microsoft["login_url"], tenant_id=microsoft["tenant"]["id"], ca_path=sandbox.ca_file)
    values.update(overrides)
    return values


def test_msal_gets_an_app_token_for_graph_from_the_sandbox(sandbox, microsoft):
    app = microsoft["automation_app"]
    ident = EntraIdentity.from_params(params(sandbox, microsoft, client_id=app["client_id"],
                                             client_secret=app["client_secret"]))
    token = ident.token(GRAPH)
    claims = jwt_claims(token)
    assert claims["aud"] == GRAPH
    assert claims["appid"] == app["client_id"]
    assert "Application.ReadWrite.All" in claims["roles"]
    assert ident.tenant_id == microsoft["tenant"]["id"]
    assert ident.token(GRAPH + "/") is token


def test_tenant_given_as_domain_resolves_to_its_guid(sandbox, microsoft):
    app = microsoft["automation_app"]
    ident = EntraIdentity.from_params(params(sandbox, microsoft, tenant_id=microsoft["tenant"]["domain"],
                                             client_id=app["client_id"], client_secret=app["client_secret"]))
    ident.token(GRAPH)
    assert ident.tenant_id == microsoft["tenant"]["id"]


@pytest.mark.parametrize("overrides, code, words", [
    ({"client_secret": "Wr0ng~Secret.Value_123"}, "AADSTS7000215", "use the secret's value (not its id)"),
    ({"client_id": "11111111-2222-3333-4444-555555555555"}, "AADSTS700016", "check client_id and tenant_id"),
    ({"tenant_id": "no-such-tenant.example"}, "AADSTS90002", "check tenant_id"),
], ids=["wrong-secret", "unknown-client-id", "unknown-tenant"])
def test_sign_in_failures_carry_the_aadsts_code_and_no_secret(sandbox, microsoft, overrides, code, words):
    app = microsoft["automation_app"]
    options = dict(client_id=app["client_id"], client_secret=app["client_secret"])
    options.update(overrides)
    with pytest.raises(IdentityError) as caught:
        EntraIdentity.from_params(params(sandbox, microsoft, **options)).token(GRAPH)
    err = caught.value
    assert err.code == code
    assert words in err.hint
    assert err.request_id
    for text in (str(err), repr(err.details())):
        assert options["client_secret"] not in text and app["client_secret"] not in text


def test_unreachable_authority_is_a_clear_error(sandbox, microsoft):
    with pytest.raises(IdentityError) as caught:
        EntraIdentity.from_params(params(sandbox, microsoft, authority_host="https://127.0.0.1:9", client_id="c",
                                         client_secret="s3cret-value")).token(GRAPH)
    assert caught.value.code == "connection"
    assert "authority_host" in caught.value.hint


def public_client(sandbox, microsoft):
    """A public client app with admin consent for User.Read + offline_access, made as an admin would."""
    app = microsoft["automation_app"]
    token = EntraIdentity.from_params(params(sandbox, microsoft, client_id=app["client_id"],
                                             client_secret=app["client_secret"])).token(GRAPH)
    headers = {"Authorization": "Bearer " + token}
    graph = microsoft["graph_url"] + "/v1.0"
    status, created = sandbox.request(graph + "/applications", "POST", {
        "displayName": "admin device sign-in", "isFallbackPublicClient": True,
        "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": [
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"},
            {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "type": "Scope"}]}]}, headers)
    assert status == 201, created
    status, sp = sandbox.request(graph + "/servicePrincipals", "POST", {"appId": created["appId"]}, headers)
    assert status == 201, sp
    status, graph_sp = sandbox.request(graph + "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
                                       headers=headers)
    status, grant = sandbox.request(graph + "/oauth2PermissionGrants", "POST", {
        "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"],
        "scope": "User.Read offline_access"}, headers)
    assert status == 201, grant
    return created["appId"]


def test_device_code_sign_in_spans_two_runs_and_is_cached_0600(sandbox, microsoft, tmp_path):
    client_id = public_client(sandbox, microsoft)
    cache = tmp_path / "cache" / "msal.json"
    options = params(sandbox, microsoft, auth_method="device_code", device_code_client_id=client_id,
                     token_cache_path=str(cache))

    with pytest.raises(IdentityError) as caught:
        EntraIdentity.from_params(options).token(GRAPH)
    assert caught.value.code == "device_code_pending"
    pending = [d for d in sandbox.control(microsoft["login_url"], "state")["device_codes"]
               if d["client_id"] == client_id]
    assert len(pending) == 1 and pending[0]["user_code"] in str(caught.value)
    assert "%s/devicelogin" % microsoft["login_url"] in str(caught.value)
    flow_file = str(cache) + ".device_flow"
    assert stat.S_IMODE(os.stat(flow_file).st_mode) == 0o600

    with pytest.raises(IdentityError) as still:
        EntraIdentity.from_params(options).token(GRAPH)
    assert still.value.code == "device_code_pending"
    assert len([d for d in sandbox.control(microsoft["login_url"], "state")["device_codes"]
                if d["client_id"] == client_id]) == 1, "a second run must poll the same code, not start another"

    sandbox.control(microsoft["login_url"], "devicecode/approve", "POST",
                    {"user_code": pending[0]["user_code"], "upn": microsoft["admin_user"]["upn"]})
    token = EntraIdentity.from_params(options).token(GRAPH)
    claims = jwt_claims(token)
    assert claims["aud"] == GRAPH and claims["upn"].lower() == microsoft["admin_user"]["upn"].lower()
    assert not os.path.exists(flow_file)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600

    again = EntraIdentity.from_params(options).token(GRAPH)
    assert jwt_claims(again)["upn"] == claims["upn"]


def certificate_app(sandbox, microsoft, tmp_path, password=None):
    """An app whose credential is a self-signed certificate; returns (client id, PEM file with key + certificate)."""
    import base64  # pylint: disable=import-outside-toplevel
    import datetime  # pylint: disable=import-outside-toplevel
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailoauth automation")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    pem = tmp_path / "automation.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
                    + cert.public_bytes(serialization.Encoding.PEM))
    app = microsoft["automation_app"]
    token = EntraIdentity.from_params(params(sandbox, microsoft, client_id=app["client_id"],
                                             client_secret=app["client_secret"])).token(GRAPH)
    status, created = sandbox.request(microsoft["graph_url"] + "/v1.0/applications", "POST", {
        "displayName": "certificate automation", "keyCredentials": [{
            "type": "AsymmetricX509Cert", "usage": "Verify",
            "key": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()}]},
        {"Authorization": "Bearer " + token})
    assert status == 201, created
    # Like Entra, the sandbox signs an app in only where it has a service principal.
    status, sp = sandbox.request(microsoft["graph_url"] + "/v1.0/servicePrincipals", "POST",
                                 {"appId": created["appId"]}, {"Authorization": "Bearer " + token})
    assert status == 201, sp
    return created["appId"], str(pem)


@pytest.mark.parametrize("password", [None, "pem-pass-phrase"], ids=["plain-key", "encrypted-key"])
def test_certificate_credential_signs_in_through_msal(sandbox, microsoft, tmp_path, password):
    client_id, pem = certificate_app(sandbox, microsoft, tmp_path, password)
    ident = EntraIdentity.from_params(params(sandbox, microsoft, client_id=client_id, client_certificate_path=pem,
                                             client_certificate_password=password))
    assert ident.method == "certificate"
    assert jwt_claims(ident.token(GRAPH))["appid"] == client_id


def test_certificate_of_another_app_is_refused_with_its_code(sandbox, microsoft, tmp_path):
    dummy, pem = certificate_app(sandbox, microsoft, tmp_path)
    with pytest.raises(IdentityError) as caught:
        EntraIdentity.from_params(params(sandbox, microsoft, client_id=microsoft["limited_app"]["client_id"],
                                         client_certificate_path=pem)).token(GRAPH)
    assert caught.value.code.startswith("AADSTS")
    assert caught.value.request_id
