"""The emulator in-process for its own conformance tests, with the calls those tests repeat."""

import base64
import hashlib
import json
import os
import secrets
import ssl
import urllib.error
import urllib.request

import msal
import requests

from .._ca import make_ca
from .._http import server_ssl_context, start_in_thread
from ._service import build

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
EXCHANGE_DEFAULT = "https://outlook.office365.com/.default"


class Harness:
    """Start the emulated tenant(s) on three local HTTPS ports; ``close()`` stops them.

    Helpers act on tenant 0 unless given ``tenant=<index>`` (an index into ``self.tenants``)."""

    def __init__(self, directory, options=None):
        paths = make_ca(directory)
        self.ca_file = paths["ca_file"]
        self.servers, self.ready, self.store = build(server_ssl_context(paths["cert_file"], paths["key_file"]), options)
        self._stop = start_in_thread(self.servers)
        self._ssl = ssl.create_default_context(cafile=self.ca_file)
        self.tenant = self.ready["tenant"]["id"]
        self.tenants = self.ready["tenants"]
        self.graph = self.ready["graph_url"] + "/v1.0"

    def close(self):
        self._stop.set()

    # -- plain HTTP --------------------------------------------------------------------------------------
    def session(self, token=None):
        """A requests session trusting only the sandbox CA (and ignoring REQUESTS_CA_BUNDLE)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_file
        if token:
            session.headers["Authorization"] = "Bearer " + token
        return session

    def control(self, path, method="GET", body=None, tenant=None):
        data = json.dumps(body).encode() if body is not None else None
        if tenant is not None:
            path += ("&" if "?" in path else "?") + "tenant=" + self.tenants[tenant]["tenant"]["id"]
        req = urllib.request.Request(self.ready["login_url"] + "/_sandbox/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise AssertionError("control %s %s: %s %s" % (method, path, err.code, err.read())) from None

    def token_endpoint(self, tenant=None):
        return "%s/%s/oauth2/v2.0/token" % (self.ready["login_url"], tenant or self.tenant)

    def post_token(self, form, tenant=None):
        return self.session().post(self.token_endpoint(tenant), data=form)

    # -- msal --------------------------------------------------------------------------------------------
    def confidential(self, client_id, credential, tenant=None):
        return msal.ConfidentialClientApplication(
            client_id, client_credential=credential, authority="%s/%s" % (self.ready["login_url"], tenant or self.tenant),
            instance_discovery=False, verify=self.ca_file, http_client=self.session())

    def public_client(self, client_id, tenant=None):
        return msal.PublicClientApplication(
            client_id, authority="%s/%s" % (self.ready["login_url"], tenant or self.tenant),
            instance_discovery=False, http_client=self.session())

    def app_token(self, who="automation_app", scope=GRAPH_DEFAULT, tenant=0):
        seed = self.tenants[tenant]
        creds = seed[who]
        result = self.confidential(creds["client_id"], creds["client_secret"],
                                   tenant=seed["tenant"]["id"]).acquire_token_for_client([scope])
        assert "access_token" in result, result
        return result["access_token"]

    # -- tenant set-up through Graph (the way an administrator's automation would do it) -----------------
    def register_web_app(self, redirect_uris=("http://localhost/",), consent="SMTP.Send offline_access",
                         audience="AzureADMultipleOrgs", public_client=False, tenant=0):
        """Application + secret + service principal + admin consent on Graph; returns (app, secret)."""
        graph = self.session(self.app_token(tenant=tenant))
        body = {"displayName": "test app %s" % secrets.token_hex(3), "signInAudience": audience,
                "web": {"redirectUris": list(redirect_uris)}}
        if public_client:
            body["isFallbackPublicClient"] = True
        app = graph.post(self.graph + "/applications", json=body).json()
        secret = None
        if not public_client:
            secret = graph.post(self.graph + "/applications/%s/addPassword" % app["id"],
                                json={"passwordCredential": {"displayName": "test"}}).json()["secretText"]
        if consent:
            self.consent(app["appId"], consent, tenant)
        else:
            graph.post(self.graph + "/servicePrincipals", json={"appId": app["appId"]}).raise_for_status()
        return app, secret

    def consent(self, app_id, scope="SMTP.Send offline_access", tenant=0):
        """What an admin's consent does in ``tenant``: the app's service principal there (created for another
        tenant's multitenant app) and a tenant-wide grant on Graph; returns the service principal."""
        graph = self.session(self.app_token(tenant=tenant))
        reply = graph.post(self.graph + "/servicePrincipals", json={"appId": app_id})
        assert reply.status_code == 201, reply.text
        sp = reply.json()
        graph_sp = graph.get(self.graph + "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").json()
        reply = graph.post(self.graph + "/oauth2PermissionGrants", json={
            "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": scope})
        assert reply.status_code == 201, reply.text
        return sp


def pkce_pair():
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge
