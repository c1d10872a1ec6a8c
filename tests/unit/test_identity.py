"""Auth options -> identity: method choice, clear errors, AADSTS mapping, no secret in any message."""

import base64
import json
import os
import stat
import time

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils import identity
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    EntraIdentity,
    IdentityError,
    choose_auth_method,
    entra_auth_argument_spec,
    identity_error_from_result,
)

SECRET = "Zq8~verySecretValue.123"


def params(**overrides):
    values = {name: spec.get("default") for name, spec in entra_auth_argument_spec().items()}
    values.update(overrides)
    return values


def jwt(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "RS256", "typ": "JWT"}), part(claims))


def test_every_secret_option_is_no_log_and_lookalikes_are_explicitly_not():
    spec = entra_auth_argument_spec()
    assert {name for name, option in spec.items() if option.get("no_log")} == {
        "client_secret", "client_certificate_password", "access_token"}
    assert spec["token_cache_path"]["no_log"] is False


@pytest.mark.parametrize("given, expected", [
    ({"access_token": "t", "client_secret": SECRET}, "access_token"),
    ({"client_secret": SECRET, "client_certificate_path": "/x.pem"}, "client_secret"),
    ({"client_certificate_path": "/x.pem"}, "certificate"),
    ({"auth_method": "device_code"}, "device_code"),
], ids=["token-wins", "secret-before-certificate", "certificate-alone", "device-code-only-when-asked"])
def test_auto_picks_the_method_that_has_its_inputs(given, expected):
    assert choose_auth_method(params(**given)) == expected


@pytest.mark.parametrize("given, option", [
    ({}, "missing_credentials"),
    ({"client_secret": SECRET, "client_id": "c"}, "tenant_id"),
    ({"client_secret": SECRET, "tenant_id": "t"}, "client_id"),
    ({"auth_method": "client_secret", "tenant_id": "t", "client_id": "c"}, "client_secret"),
    ({"auth_method": "certificate", "tenant_id": "t", "client_id": "c"}, "client_certificate_path"),
    ({"auth_method": "certificate", "tenant_id": "t", "client_id": "c", "client_certificate_path": "/nope.pem"},
     "client_certificate_path"),
    ({"client_secret": SECRET, "tenant_id": "t", "client_id": "c", "authority_host": "http://login.example"},
     "authority_host"),
    ({"client_secret": SECRET, "tenant_id": "t", "client_id": "c", "ca_path": "/nope/ca.pem"}, "ca_path"),
], ids=["nothing-given", "secret-without-tenant", "secret-without-client-id", "method-secret-without-secret",
        "method-certificate-without-path", "certificate-file-missing", "authority-not-https", "ca-file-missing"])
def test_bad_input_names_the_option(given, option):
    with pytest.raises(IdentityError) as caught:
        EntraIdentity.from_params(params(**given))
    assert caught.value.code == option
    assert caught.value.hint
    assert SECRET not in str(caught.value)


def test_cloud_and_overrides_shape_the_authority():
    ident = EntraIdentity.from_params(params(cloud="usgov", tenant_id="contoso.us", client_id="c",
                                             client_secret=SECRET))
    assert ident.authority == "https://login.microsoftonline.us/contoso.us"
    assert ident.cloud.graph_resource == "https://graph.microsoft.us"
    ident = EntraIdentity.from_params(params(tenant_id="t", client_id="c", client_secret=SECRET,
                                             authority_host="https://127.0.0.1:8443/", graph_endpoint="https://g:1"))
    assert ident.authority == "https://127.0.0.1:8443/t"
    assert ident.cloud.graph_endpoint == "https://g:1"
    assert ident.cloud.graph_resource == "https://graph.microsoft.com"


WRONG_SECRET_RESULT = {
    "error": "invalid_client",
    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
                         "is the client secret value, not the client secret ID, for a secret added to app 'abc'. "
                         "Trace ID: 1111 Correlation ID: 2222 Timestamp: 2026-11-24 10:00:00Z",
    "error_codes": [7000215], "trace_id": "1111", "correlation_id": "2222",
}


def test_wrong_secret_maps_to_aadsts_code_trace_id_and_hint():
    err = identity_error_from_result(WRONG_SECRET_RESULT, "Signing in as application abc to tenant t")
    assert err.code == "AADSTS7000215"
    assert err.request_id == "1111"
    assert "client_secret" in err.hint
    assert str(err).startswith("Signing in as application abc to tenant t failed: Invalid client secret provided")
    assert "Trace ID" not in err.message
    assert err.details() == {"error_code": "AADSTS7000215", "hint": err.hint, "request_id": "1111"}


def test_error_code_read_from_description_when_codes_list_is_missing():
    err = identity_error_from_result({"error": "invalid_request", "error_description":
                                      "AADSTS90002: Tenant 'nope' not found. Trace ID: x"}, "Signing in")
    assert err.code == "AADSTS90002"
    assert "tenant_id" in err.hint


def test_a_secret_echoed_by_a_server_is_scrubbed():
    result = dict(WRONG_SECRET_RESULT, error_description="AADSTS7000215: bad secret %s here." % SECRET)
    err = identity_error_from_result(result, "Signing in", secrets=(SECRET,))
    assert SECRET not in str(err) and "<hidden>" in str(err)


class TestAccessToken:
    def ident(self, token):
        return EntraIdentity.from_params(params(access_token=token))

    def test_token_for_the_resource_is_used_as_is_and_tenant_read_from_it(self):
        token = jwt({"aud": "https://graph.microsoft.com", "tid": "tid-1", "exp": time.time() + 600})
        ident = self.ident(token)
        assert ident.token("https://graph.microsoft.com/") == token
        assert ident.tenant_id == "tid-1"

    def test_graph_app_id_is_an_accepted_audience(self):
        token = jwt({"aud": "00000003-0000-0000-c000-000000000000", "exp": time.time() + 600})
        assert self.ident(token).token("https://graph.microsoft.com") == token

    @pytest.mark.parametrize("claims, words", [
        ({"aud": "https://outlook.office365.com", "exp": time.time() + 600}, "issued for https://outlook"),
        ({"aud": "https://graph.microsoft.com", "exp": time.time() - 60}, "expired"),
    ], ids=["token-for-another-resource", "token-expired"])
    def test_unusable_token_is_refused_before_any_call(self, claims, words):
        token = jwt(claims)
        with pytest.raises(IdentityError) as caught:
            self.ident(token).token("https://graph.microsoft.com")
        assert words in str(caught.value)
        assert token not in str(caught.value)


class TestCertificate:
    def test_pem_with_key_and_certificate(self, tmp_path):
        pem = tmp_path / "app.pem"
        pem.write_text("-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n"
                       "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n")
        credential = identity.certificate_credential(str(pem), "pw")
        assert credential["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
        assert credential["public_certificate"].endswith("-----END CERTIFICATE-----")
        assert credential["passphrase"] == "pw"

    def test_pem_without_certificate_is_refused(self, tmp_path):
        pem = tmp_path / "key.pem"
        pem.write_text("-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n")
        with pytest.raises(IdentityError, match="both the private key and the certificate"):
            identity.certificate_credential(str(pem))

    def test_pfx_is_handed_to_msal_by_path(self, tmp_path):
        pfx = tmp_path / "app.pfx"
        pfx.write_bytes(b"\x30\x82")
        assert identity.certificate_credential(str(pfx)) == {"private_key_pfx_path": str(pfx)}


def test_private_files_are_written_0600(tmp_path):
    path = tmp_path / "sub" / "cache.json"
    identity.write_private_file(str(path), "{}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


class FakePublicApp:
    """Stands in for msal's PublicClientApplication: records device-flow calls, answers as scripted."""

    def __init__(self, poll_result=None):
        self.started = []
        self.polled = []
        self.poll_result = poll_result or {"error": "authorization_pending"}

    def get_accounts(self):
        return []

    def initiate_device_flow(self, scopes):
        self.started.append(scopes)
        return {"user_code": "ABCD1234", "device_code": "dc-%d" % len(self.started), "expires_at": time.time() + 900,
                "verification_uri": "https://login.example/devicelogin", "interval": 5}

    def acquire_token_by_device_flow(self, flow, exit_condition=None):
        assert exit_condition(flow) is True, "a module run must poll once, never block"
        self.polled.append(flow["device_code"])
        return self.poll_result


@pytest.fixture
def device_identity(tmp_path, monkeypatch):
    def make(app):
        monkeypatch.setattr(identity, "build_msal_app", lambda *args, **kwargs: app)
        return EntraIdentity.from_params(params(auth_method="device_code", token_cache_path=str(tmp_path / "c.json")))
    return make


def test_device_flow_is_started_once_then_polled_by_the_next_run(device_identity):
    app = FakePublicApp()
    for dummy in range(2):
        with pytest.raises(IdentityError) as caught:
            device_identity(app).token("https://graph.microsoft.com")
        assert caught.value.code == "device_code_pending"
        assert "enter the code ABCD1234" in str(caught.value)
    assert app.started == [["https://graph.microsoft.com/.default"]]
    assert app.polled == ["dc-1"]


def test_expired_or_other_resource_flow_starts_a_new_sign_in(device_identity, tmp_path):
    app = FakePublicApp()
    with pytest.raises(IdentityError):
        device_identity(app).token("https://graph.microsoft.com")
    with pytest.raises(IdentityError):
        device_identity(app).token("https://outlook.office365.com")
    assert app.started == [["https://graph.microsoft.com/.default"], ["https://outlook.office365.com/.default"]]
    flow_file = tmp_path / "c.json.device_flow"
    flow = json.loads(flow_file.read_text())
    flow["expires_at"] = time.time() - 1
    flow_file.write_text(json.dumps(flow))
    with pytest.raises(IdentityError):
        device_identity(app).token("https://outlook.office365.com")
    assert len(app.started) == 3 and app.polled == []


def test_declined_sign_in_reports_the_code_and_forgets_the_flow(device_identity, tmp_path):
    with pytest.raises(IdentityError):
        device_identity(FakePublicApp()).token("https://graph.microsoft.com")
    declined = FakePublicApp({"error": "authorization_declined", "error_codes": [70019],
                              "error_description": "AADSTS70019: Verification code expired. Trace ID: t1"})
    with pytest.raises(IdentityError) as caught:
        device_identity(declined).token("https://graph.microsoft.com")
    assert caught.value.code == "AADSTS70019"
    assert "Verification code expired" in str(caught.value)
    assert not (tmp_path / "c.json.device_flow").exists()
