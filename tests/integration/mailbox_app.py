"""Test set-up for steps 3-5: the firewall's app as step 1/2/4 leave it, created through the emulator's Graph API.

The modules under test here (exo_smtp_auth, oauth_refresh_token, smtp_oauth_check) need an app with a client
secret, the Web redirect URIs and admin consent for SMTP.Send + offline_access. Creating it with plain Graph calls
as the automation app keeps these tests independent of the entra_* modules (tested on their own).
"""

import json
import ssl
import urllib.parse
import urllib.request
import uuid
import warnings

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
SMTP_SEND = "258f6531-6087-4cc4-bb90-092c5fb3ed3f"
OFFLINE_ACCESS = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
REDIRECT_URIS = ["http://localhost/", "https://outlook.office365.com/"]


def _call(sandbox, method, url, token=None, body=None, form=None):
    headers = {}
    data = None
    if token:
        headers["Authorization"] = "Bearer " + token
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    context = ssl.create_default_context(cafile=sandbox.ca_file)
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        raise AssertionError("%s %s -> %s %s" % (method, url.split("?")[0], err.code, err.read()[:500])) from None
    return json.loads(raw) if raw else None


def automation_token(sandbox, resource="https://graph.microsoft.com"):
    ms = sandbox.services["microsoft"]
    result = _call(sandbox, "POST", "%s/%s/oauth2/v2.0/token" % (ms["login_url"], ms["tenant"]["id"]), form={
        "grant_type": "client_credentials", "client_id": ms["automation_app"]["client_id"],
        "client_secret": ms["automation_app"]["client_secret"], "scope": resource + "/.default"})
    return result["access_token"]


def create_mailbox_app(sandbox, scopes="SMTP.Send offline_access", redirect_uris=None, public_client=False):
    """Register the app, give it a secret and tenant-wide consent; returns {client_id, client_secret, object_id}."""
    ms = sandbox.services["microsoft"]
    graph = ms["graph_url"] + "/v1.0"
    token = automation_token(sandbox)
    app = _call(sandbox, "POST", graph + "/applications", token, {
        "displayName": "mailoauth test firewall app %s" % uuid.uuid4().hex[:8],
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"redirectUris": list(redirect_uris or REDIRECT_URIS)},
        "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
            {"id": SMTP_SEND, "type": "Scope"}, {"id": OFFLINE_ACCESS, "type": "Scope"}]}],
        "isFallbackPublicClient": public_client,
    })
    secret = _call(sandbox, "POST", "%s/applications/%s/addPassword" % (graph, app["id"]), token,
                   {"passwordCredential": {"displayName": "test"}})
    sp = _call(sandbox, "POST", graph + "/servicePrincipals", token, {"appId": app["appId"]})
    if scopes:
        graph_sp = _call(sandbox, "GET", "%s/servicePrincipals(appId='%s')" % (graph, GRAPH_APP_ID), token)
        _call(sandbox, "POST", graph + "/oauth2PermissionGrants", token, {
            "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": scopes})
    return {"client_id": app["appId"], "client_secret": secret["secretText"], "object_id": app["id"]}


def set_mailbox_smtp_auth(sandbox, disabled):
    """Set-CASMailbox through the emulator's admin API as the automation app (test set-up, not the module)."""
    ms = sandbox.services["microsoft"]
    token = automation_token(sandbox, "https://outlook.office365.com")
    _call(sandbox, "POST", "%s/adminapi/beta/%s/InvokeCommand" % (ms["exchange_url"], ms["tenant"]["id"]), token, {
        "CmdletInput": {"CmdletName": "Set-CASMailbox", "Parameters": {
            "Identity": ms["mailbox"]["upn"], "SmtpClientAuthenticationDisabled": disabled}}})


def mailbox_state(sandbox, upn=None):
    ms = sandbox.services["microsoft"]
    return sandbox.control(ms["login_url"], "mailboxes/" + (upn or ms["mailbox"]["upn"]))


def refresh_token_for(sandbox, app, user=None):
    """A refresh token for the app, signed in through the login page with msal (set-up for the SMTP checks)."""
    import msal  # pylint: disable=import-outside-toplevel
    import requests  # pylint: disable=import-outside-toplevel

    from tests.sandbox.browser import sign_in  # pylint: disable=import-outside-toplevel

    ms = sandbox.services["microsoft"]
    user = user or ms["mailbox"]
    session = requests.Session()
    session.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would override verify
    session.verify = sandbox.ca_file
    client = msal.ConfidentialClientApplication(app["client_id"], client_credential=app["client_secret"],
                                                authority=ms["login_url"] + "/common", http_client=session,
                                                instance_discovery=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # msal's advice for web apps; query mode is what we test
        flow = client.initiate_auth_code_flow(["https://outlook.office365.com/.default"],
                                              redirect_uri="http://localhost/", response_mode="query")
    redirected = sign_in(flow["auth_uri"], user["upn"], user["password"], sandbox.ca_file)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirected).query))
    result = client.acquire_token_by_auth_code_flow(flow, params)
    assert "refresh_token" in result, result.get("error_description")
    return result["refresh_token"]
