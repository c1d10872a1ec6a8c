"""Conformance of the emulated identity platform: msal works against it unmodified and errors look real."""

import hashlib
import json
import logging
import urllib.parse

import jwt
import msal
import pytest

from tests.sandbox.browser import BrowserError, sign_in
from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT, GRAPH_DEFAULT, pkce_pair

LOOPBACK = "http://localhost:53682/"


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def authorize_url(ms, app, redirect_uri=LOOPBACK, scope=EXCHANGE_DEFAULT + " offline_access", **extra):
    query = dict(client_id=app["appId"], response_type="code", redirect_uri=redirect_uri, response_mode="query",
                 scope=scope, state="s1", **extra)
    return "%s/common/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], urllib.parse.urlencode(query))


def code_from(location):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert query.get("state") == "s1"
    return query


def aadsts_code(reply):
    body = reply.json() if hasattr(reply, "json") else reply
    return body["error_codes"][0]


def test_msal_client_credentials_token_has_the_real_claims(ms, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ms.ca_file)
    creds = ms.ready["automation_app"]
    app = msal.ConfidentialClientApplication(creds["client_id"], client_credential=creds["client_secret"],
                                             authority="%s/%s" % (ms.ready["login_url"], ms.tenant),
                                             instance_discovery=False)
    result = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert result["token_type"] == "Bearer"
    jwks = ms.session().get("%s/%s/discovery/v2.0/keys" % (ms.ready["login_url"], ms.tenant)).json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(result["access_token"], key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["tid"] == ms.tenant
    assert claims["appid"] == creds["client_id"]
    assert set(claims["roles"]) == {"Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"}
    assert "scp" not in claims


def test_exchange_token_carries_manage_as_app(ms):
    claims = claims_of(ms.app_token(scope=EXCHANGE_DEFAULT))
    assert claims["aud"] == "https://outlook.office365.com"
    assert claims["roles"] == ["Exchange.ManageAsApp"]


def test_wrong_secret_is_invalid_client_and_the_secret_is_nowhere(ms):
    wrong = "Abc8Q~this-is-not-the-secret-value-000000"
    result = ms.confidential(ms.ready["automation_app"]["client_id"], wrong).acquire_token_for_client([GRAPH_DEFAULT])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: ")
    assert "Trace ID: " in result["error_description"] and "Correlation ID: " in result["error_description"]
    assert wrong not in json.dumps(result)


@pytest.mark.parametrize("tenant, client, code", [
    pytest.param("11111111-2222-3333-4444-555555555555", "automation_app", 90002, id="unknown-tenant"),
    pytest.param(None, "00000000-1111-2222-3333-444444444444", 700016, id="unknown-app"),
])
def test_token_endpoint_rejects_unknown_names(ms, tenant, client, code):
    client_id = ms.ready[client]["client_id"] if client in ms.ready else client
    reply = ms.post_token({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x",
                           "scope": GRAPH_DEFAULT}, tenant=tenant)
    assert reply.status_code == 400
    assert aadsts_code(reply) == code


def test_msal_refuses_an_unknown_tenant_at_discovery(ms):
    reply = ms.session().get("%s/nosuchtenant.example/v2.0/.well-known/openid-configuration" % ms.ready["login_url"])
    assert (reply.status_code, aadsts_code(reply)) == (400, 90002)
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        ms.confidential(ms.ready["automation_app"]["client_id"], "x", tenant="nosuchtenant.example")


def test_client_credentials_needs_a_default_scope(ms):
    creds = ms.ready["automation_app"]
    reply = ms.post_token({"grant_type": "client_credentials", "client_id": creds["client_id"],
                           "client_secret": creds["client_secret"], "scope": "https://graph.microsoft.com/User.Read"})
    assert reply.status_code == 400 and aadsts_code(reply) == 1002012


def test_auth_code_flow_through_the_browser_yields_an_exchange_token_and_refresh_token(ms):
    app, secret = ms.register_web_app()
    client = ms.confidential(app["appId"], secret, tenant="common")
    flow = client.initiate_auth_code_flow([EXCHANGE_DEFAULT], redirect_uri=LOOPBACK)
    location = sign_in(flow["auth_uri"], ms.ready["mailbox"]["upn"], ms.ready["mailbox"]["password"], ms.ca_file)
    assert location.startswith(LOOPBACK + "?code=")
    result = client.acquire_token_by_auth_code_flow(flow, dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)))
    assert result.get("refresh_token"), result
    assert result["scope"] == "https://outlook.office365.com/SMTP.Send"
    claims = claims_of(result["access_token"])
    assert (claims["aud"], claims["scp"], claims["upn"]) == ("https://outlook.office365.com", "SMTP.Send",
                                                             ms.ready["mailbox"]["upn"])
    # msal sends the SHA-256 of its nonce in the authorize request; the ID token echoes what was sent
    assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    again = client.acquire_token_by_auth_code_flow(flow, dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)))
    assert again["error_codes"] == [54005]


def test_refresh_tokens_rotate_and_old_ones_stay_valid(ms):
    app, secret = ms.register_web_app()
    location = sign_in(authorize_url(ms, app), ms.ready["mailbox"]["upn"], ms.ready["mailbox"]["password"], ms.ca_file)
    form = {"grant_type": "authorization_code", "client_id": app["appId"], "client_secret": secret,
            "code": code_from(location)["code"], "redirect_uri": LOOPBACK, "scope": EXCHANGE_DEFAULT + " offline_access"}
    first = ms.post_token(form).json()["refresh_token"]
    refresh = {"grant_type": "refresh_token", "client_id": app["appId"], "client_secret": secret, "refresh_token": first,
               "scope": EXCHANGE_DEFAULT + " offline_access"}
    second = ms.post_token(refresh).json()
    assert second["refresh_token"] != first
    assert second["scope"] == "https://outlook.office365.com/SMTP.Send"
    assert ms.post_token(refresh).status_code == 200
    no_secret = ms.post_token(dict(refresh, client_secret=""))
    assert (no_secret.status_code, aadsts_code(no_secret)) == (401, 7000218)
    ms.control("users/%s/revoke" % ms.ready["mailbox"]["upn"], "POST")
    revoked = ms.post_token(refresh)
    assert (revoked.status_code, aadsts_code(revoked)) == (400, 50173)


def test_unused_refresh_token_expires_after_the_inactivity_window(ms):
    app, secret = ms.register_web_app()
    location = sign_in(authorize_url(ms, app), ms.ready["mailbox"]["upn"], ms.ready["mailbox"]["password"], ms.ca_file)
    tokens = ms.post_token({"grant_type": "authorization_code", "client_id": app["appId"], "client_secret": secret,
                            "code": code_from(location)["code"], "redirect_uri": LOOPBACK,
                            "scope": EXCHANGE_DEFAULT + " offline_access"}).json()
    ms.control("clock", "POST", {"advance_seconds": 91 * 86400})
    reply = ms.post_token({"grant_type": "refresh_token", "client_id": app["appId"], "client_secret": secret,
                           "refresh_token": tokens["refresh_token"], "scope": EXCHANGE_DEFAULT})
    assert aadsts_code(reply) == 700082


@pytest.mark.parametrize("tamper, code", [
    pytest.param({"code_verifier": "another-verifier-that-does-not-match-the-challenge-000"}, 501481, id="pkce-mismatch"),
    pytest.param({"code_verifier": ""}, 501481, id="pkce-verifier-missing"),
    pytest.param({"redirect_uri": "http://localhost:9999/"}, 500112, id="redirect-uri-differs"),
    pytest.param({"client_secret": "wrong"}, 7000215, id="wrong-secret"),
    pytest.param({"expire": True}, 70008, id="code-expired"),
])
def test_bad_code_redemption(ms, tamper, code):
    app, secret = ms.register_web_app()
    verifier, challenge = pkce_pair()
    url = authorize_url(ms, app, code_challenge=challenge, code_challenge_method="S256")
    location = sign_in(url, ms.ready["mailbox"]["upn"], ms.ready["mailbox"]["password"], ms.ca_file)
    form = {"grant_type": "authorization_code", "client_id": app["appId"], "client_secret": secret,
            "code": code_from(location)["code"], "redirect_uri": LOOPBACK, "scope": EXCHANGE_DEFAULT,
            "code_verifier": verifier}
    if tamper.pop("expire", False):
        ms.control("clock", "POST", {"advance_seconds": 601})
    reply = ms.post_token(dict(form, **tamper))
    assert aadsts_code(reply) == code
    assert ms.post_token(form).status_code == (400 if code == 70008 else 200)


def test_unregistered_redirect_uri_shows_aadsts50011_and_does_not_redirect(ms):
    app, dummy = ms.register_web_app(redirect_uris=("https://outlook.office365.com/",))
    with pytest.raises(BrowserError, match="AADSTS50011"):
        sign_in(authorize_url(ms, app, redirect_uri="https://evil.example/"), ms.ready["mailbox"]["upn"],
                ms.ready["mailbox"]["password"], ms.ca_file)
    reply = ms.session().get(authorize_url(ms, app, redirect_uri="https://evil.example/"), allow_redirects=False)
    assert "Location" not in reply.headers and "AADSTS50011" in reply.text


def test_redirect_uri_port_is_ignored_only_for_loopback(ms):
    app, dummy = ms.register_web_app(redirect_uris=("http://localhost/", "https://app.example/cb"))
    user = ms.ready["mailbox"]
    assert sign_in(authorize_url(ms, app, redirect_uri="http://localhost:40123/"), user["upn"], user["password"],
                   ms.ca_file).startswith("http://localhost:40123/?code=")
    with pytest.raises(BrowserError, match="AADSTS50011"):
        sign_in(authorize_url(ms, app, redirect_uri="https://app.example:8443/cb"), user["upn"], user["password"],
                ms.ca_file)


def test_missing_admin_consent_redirects_with_aadsts65001(ms):
    app, dummy = ms.register_web_app(consent=None)
    location = sign_in(authorize_url(ms, app), ms.ready["mailbox"]["upn"], ms.ready["mailbox"]["password"], ms.ca_file)
    query = code_from(location)
    assert query["error"] == "consent_required" and query["error_description"].startswith("AADSTS65001: ")
    assert "code" not in query


def test_wrong_password_on_the_sign_in_page_does_not_redirect(ms):
    app, dummy = ms.register_web_app()
    with pytest.raises(BrowserError, match="AADSTS50126"):
        sign_in(authorize_url(ms, app), ms.ready["mailbox"]["upn"], "not-the-password", ms.ca_file)


def test_single_tenant_app_cannot_use_common(ms):
    app, dummy = ms.register_web_app(audience="AzureADMyOrg")
    location = sign_in(authorize_url(ms, app), ms.ready["mailbox"]["upn"], ms.ready["mailbox"]["password"], ms.ca_file)
    assert code_from(location)["error_description"].startswith("AADSTS50194: ")


@pytest.mark.parametrize("user, password, code", [
    pytest.param("mfa_user", None, 50076, id="mfa-user-needs-interactive-sign-in"),
    pytest.param("mailbox", "wrong-password", 50126, id="wrong-password"),
    pytest.param("nobody@contoso.example", "x", 50034, id="unknown-user"),
])
def test_ropc_errors(ms, user, password, code):
    app, secret = ms.register_web_app()
    username = ms.ready[user]["upn"] if user in ms.ready else user
    reply = ms.post_token({"grant_type": "password", "client_id": app["appId"], "client_secret": secret,
                           "username": username, "password": password or ms.ready[user]["password"],
                           "scope": EXCHANGE_DEFAULT + " offline_access"}, tenant=ms.tenant)
    assert (reply.status_code, aadsts_code(reply)) == (400, code)


def test_ropc_works_for_a_user_without_mfa(ms):
    app, secret = ms.register_web_app()
    reply = ms.post_token({"grant_type": "password", "client_id": app["appId"], "client_secret": secret,
                           "username": ms.ready["mailbox"]["upn"], "password": ms.ready["mailbox"]["password"],
                           "scope": EXCHANGE_DEFAULT + " offline_access"})
    assert reply.status_code == 200 and reply.json()["refresh_token"]


def test_public_client_must_not_send_a_secret(ms):
    app, dummy = ms.register_web_app(public_client=True)
    reply = ms.post_token({"grant_type": "password", "client_id": app["appId"], "client_secret": "x",
                           "username": ms.ready["mailbox"]["upn"], "password": ms.ready["mailbox"]["password"],
                           "scope": EXCHANGE_DEFAULT})
    assert (reply.status_code, aadsts_code(reply)) == (401, 700025)


def test_device_code_flow_with_msal(ms):
    ms.control("config", "POST", {"device_code_interval_seconds": 1})
    app, dummy = ms.register_web_app(public_client=True)
    client = ms.public_client(app["appId"])
    flow = client.initiate_device_flow([EXCHANGE_DEFAULT])
    pending = ms.post_token({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": app["appId"],
                             "device_code": flow["device_code"]})
    assert (pending.json()["error"], aadsts_code(pending)) == ("authorization_pending", 70016)
    ms.control("devicecode/approve", "POST", {"user_code": flow["user_code"], "upn": ms.ready["mfa_user"]["upn"]})
    result = client.acquire_token_by_device_flow(flow)
    assert claims_of(result["access_token"])["upn"] == ms.ready["mfa_user"]["upn"]
    assert result["refresh_token"]


def test_expired_client_secret_is_aadsts7000222(ms):
    graph = ms.session(ms.app_token())
    app = graph.post(ms.graph + "/applications", json={"displayName": "short-lived"}).json()
    graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]})
    end = ms.control("state")["now"]
    secret = graph.post(ms.graph + "/applications/%s/addPassword" % app["id"], json={"passwordCredential": {
        "endDateTime": end[:-3] + "59Z"}}).json()["secretText"]
    ms.control("clock", "POST", {"advance_seconds": 120})
    result = ms.confidential(app["appId"], secret).acquire_token_for_client([GRAPH_DEFAULT])
    assert result["error_codes"] == [7000222]


def test_certificate_credential_through_msal(ms):
    import datetime  # pylint: disable=import-outside-toplevel
    import base64  # pylint: disable=import-outside-toplevel
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "mailoauth test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    graph = ms.session(ms.app_token())
    app = graph.post(ms.graph + "/applications", json={"displayName": "cert app", "keyCredentials": [
        {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode()}]}).json()
    graph.post(ms.graph + "/servicePrincipals", json={"appId": app["appId"]})
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    good = ms.confidential(app["appId"], {"private_key": pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()})
    assert "access_token" in good.acquire_token_for_client([GRAPH_DEFAULT])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = ms.confidential(app["appId"], {"private_key": other, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()})
    assert forged.acquire_token_for_client([GRAPH_DEFAULT])["error_codes"] == [700027]


def test_token_faults_answer_transient_errors(ms):
    ms.control("faults", "POST", {"token": {"429": 1, "500": 1, "retry_after": 2}})
    creds = ms.ready["automation_app"]
    form = {"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": creds["client_secret"],
            "scope": GRAPH_DEFAULT}
    throttled = ms.post_token(form)
    assert (throttled.status_code, aadsts_code(throttled), throttled.headers["Retry-After"]) == (429, 50196, "2")
    failed = ms.post_token(form)
    assert (failed.status_code, aadsts_code(failed)) == (500, 90033)
    assert ms.post_token(form).status_code == 200


def test_no_secret_reaches_the_logs(ms, caplog):
    caplog.set_level(logging.DEBUG)
    app, secret = ms.register_web_app()
    user = ms.ready["mailbox"]
    location = sign_in(authorize_url(ms, app), user["upn"], user["password"], ms.ca_file)
    code = code_from(location)["code"]
    tokens = ms.post_token({"grant_type": "authorization_code", "client_id": app["appId"], "client_secret": secret,
                            "code": code, "redirect_uri": LOOPBACK, "scope": EXCHANGE_DEFAULT + " offline_access"}).json()
    state = json.dumps(ms.control("state"))
    for value in (secret, user["password"], code, tokens["refresh_token"], tokens["access_token"],
                  ms.ready["automation_app"]["client_secret"]):
        assert value not in caplog.text
        assert value not in state


@pytest.mark.parametrize("user, graph_status, exchange_status", [
    pytest.param("admin_user", 201, 200, id="administrator-may-automate"),
    pytest.param("mailbox", 403, 403, id="ordinary-user-is-denied"),
])
def test_device_code_sign_in_with_microsofts_public_clients(ms, user, graph_status, exchange_status):
    ms.control("config", "POST", {"device_code_interval_seconds": 1})
    upn = ms.ready[user]["upn"]
    tokens = {}
    for client_id, scope in (("14d82eec-204b-4c2f-b7e8-296a70dab67e", GRAPH_DEFAULT),
                             ("fb78d390-0c51-40cd-8e17-fdbfab77341b", EXCHANGE_DEFAULT)):
        client = ms.public_client(client_id, tenant="organizations")
        flow = client.initiate_device_flow([scope])
        ms.control("devicecode/approve", "POST", {"user_code": flow["user_code"], "upn": upn})
        tokens[scope] = client.acquire_token_by_device_flow(flow)["access_token"]
    assert "Application.ReadWrite.All" in claims_of(tokens[GRAPH_DEFAULT])["scp"].split()
    created = ms.session(tokens[GRAPH_DEFAULT]).post(ms.graph + "/applications", json={"displayName": "by " + user})
    assert created.status_code == graph_status
    invoke = ms.session(tokens[EXCHANGE_DEFAULT]).post(
        "%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], ms.tenant),
        json={"CmdletInput": {"CmdletName": "Get-TransportConfig", "Parameters": {}}})
    assert invoke.status_code == exchange_status
