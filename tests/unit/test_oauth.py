"""The firewall app's sign-in helpers: scopes, redirect URIs, pasted redirects, token results, flows."""

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.clouds import resolve_cloud
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import IdentityError
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import (
    default_scopes,
    is_loopback_uri,
    loopback_redirect_uri,
    msal_scopes,
    parse_redirect,
    redirect_error,
    token_set,
)


@pytest.mark.parametrize("given, expected", [
    (["https://outlook.office365.com/.default", "offline_access"], ["https://outlook.office365.com/.default"]),
    (["https://outlook.office365.com/.default offline_access openid profile"], ["https://outlook.office365.com/.default"]),
    (["https://outlook.office365.com/SMTP.Send", "https://outlook.office365.com/SMTP.Send"],
     ["https://outlook.office365.com/SMTP.Send"]),
], ids=["runbook-scope-drops-offline_access", "space-separated-string-is-split", "duplicates-dropped"])
def test_msal_scopes(given, expected):
    assert msal_scopes(given) == expected


def test_msal_scopes_without_a_resource_names_the_option():
    with pytest.raises(IdentityError) as err:
        msal_scopes(["offline_access", "openid"])
    assert err.value.code == "scopes"
    assert "outlook.office365.com/.default" in err.value.hint


@pytest.mark.parametrize("cloud, first", [
    ("public", "https://outlook.office365.com/.default"),
    ("usgov", "https://outlook.office365.us/.default"),
    ("china", "https://partner.outlook.cn/.default"),
])
def test_default_scopes_follow_the_cloud(cloud, first):
    assert default_scopes(resolve_cloud(cloud)) == [first, "offline_access"]


@pytest.mark.parametrize("registered, port, expected", [
    ("http://localhost/", 53682, "http://localhost:53682/"),
    ("http://localhost", 8400, "http://localhost:8400/"),
    ("http://127.0.0.1/callback", 9000, "http://127.0.0.1:9000/callback"),
    ("http://localhost:1234/", 5555, "http://localhost:5555/"),
], ids=["registered-localhost-gets-the-port", "missing-slash-added", "path-kept", "registered-port-replaced"])
def test_loopback_redirect_uri(registered, port, expected):
    assert loopback_redirect_uri(registered, port) == expected


@pytest.mark.parametrize("uri", ["https://outlook.office365.com/", "https://localhost/", "http://example.com/"],
                         ids=["runbook-outlook-uri", "https-localhost", "remote-http-host"])
def test_loopback_mode_refuses_other_redirect_uris(uri):
    assert not is_loopback_uri(uri)
    with pytest.raises(IdentityError) as err:
        loopback_redirect_uri(uri, 1234)
    assert err.value.code == "redirect_uri"
    assert "authorization_response" in err.value.hint


def test_parse_redirect_reads_code_and_state():
    params = parse_redirect("  https://outlook.office365.com/?code=0.AAA-secret&state=abc&session_state=x \n")
    assert params == {"code": "0.AAA-secret", "state": "abc", "session_state": "x"}


def test_parse_redirect_without_code_explains_what_to_paste():
    with pytest.raises(IdentityError) as err:
        parse_redirect("https://outlook.office365.com/")
    assert err.value.code == "authorization_response"
    assert "whole address" in err.value.hint


def test_redirect_error_carries_the_aadsts_code():
    params = parse_redirect("http://localhost/?error=access_denied&error_description=AADSTS65004%3A+User+declined"
                            "+to+consent.+Trace+ID%3A+1&state=s")
    err = redirect_error(params, "The sign-in")
    assert err.code == "AADSTS65004"
    assert "User declined to consent" in str(err)
    assert "Trace ID" not in str(err)


def _jwt(claims):
    import base64  # pylint: disable=import-outside-toplevel
    import json  # pylint: disable=import-outside-toplevel
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return "e30." + body + ".sig"


def test_token_set_reads_user_tenant_and_scope():
    result = {"access_token": _jwt({"upn": "fw@contoso.example", "tid": "t-1"}), "refresh_token": "RT-value",
              "scope": "https://outlook.office365.com/SMTP.Send", "expires_in": "3599"}
    tokens = token_set(result, "Redeeming")
    assert tokens.public() == {"scope": ["https://outlook.office365.com/SMTP.Send"], "expires_in": 3599,
                               "user": "fw@contoso.example", "tenant_id": "t-1"}
    assert "RT-value" not in repr(tokens)


def test_token_set_without_refresh_token_points_at_offline_access():
    with pytest.raises(IdentityError) as err:
        token_set({"access_token": _jwt({}), "scope": "x"}, "Redeeming the code")
    assert err.value.code == "offline_access"


@pytest.mark.parametrize("number, error, fragment", [
    (50011, "invalid_request", "redirect URI"),
    (54005, "invalid_grant", "already redeemed"),
    (70008, "invalid_grant", "expired"),
    (65001, "invalid_grant", "admin consent"),
    (7000215, "invalid_client", "client_secret is wrong"),
    (50076, "invalid_grant", "MFA"),
    (700025, "invalid_client", "public client"),
], ids=["redirect-mismatch", "code-used", "code-expired", "consent-missing", "wrong-secret", "mfa-required",
        "public-client-misuse"])
def test_token_errors_name_cause_and_fix(number, error, fragment):
    result = {"error": error, "error_codes": [number], "trace_id": "trace-1",
              "error_description": "AADSTS%d: Something failed. Trace ID: trace-1 Correlation ID: c Timestamp: t"
                                   % number}
    with pytest.raises(IdentityError) as err:
        token_set(result, "Redeeming the authorization code for app-1", secrets=("s3cret",))
    assert err.value.code == "AADSTS%d" % number
    assert err.value.request_id == "trace-1"
    assert fragment in err.value.hint
    assert str(err.value).startswith("Redeeming the authorization code for app-1 failed: Something failed")


class _Page:
    def __init__(self, status, text):
        self.status_code = status
        self.text = text


class _PageSession:
    def __init__(self, page):
        self.page = page
        self.urls = []

    def get(self, url, allow_redirects=True):
        assert allow_redirects is False
        self.urls.append(url)
        return self.page


def test_sign_in_page_showing_aadsts50011_is_reported_before_anyone_signs_in():
    from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import check_authorize_page  # pylint: disable=import-outside-toplevel
    page = _Page(200, "<p id=\"error\">AADSTS50011: The redirect URI &#x27;http://localhost:1/&#x27; specified in the "
                      "request does not match. Trace ID: t Correlation ID: c</p>")
    with pytest.raises(IdentityError) as err:
        check_authorize_page(_PageSession(page), "https://login.example/common/oauth2/v2.0/authorize?x=1")
    assert err.value.code == "AADSTS50011"
    assert "http://localhost:1/" in str(err.value)
    assert "redirect URI registered" in err.value.hint


def test_ordinary_sign_in_page_passes_the_check():
    from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import check_authorize_page  # pylint: disable=import-outside-toplevel
    check_authorize_page(_PageSession(_Page(200, "<form id=\"signin\"></form>")), "https://login.example/a")
