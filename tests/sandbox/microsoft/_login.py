"""The identity platform: OpenID discovery, JWKS, the token endpoint, the sign-in pages and the device flow."""

import base64
import hashlib
import html
import hmac
import secrets
import string
import urllib.parse
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._http import Response, json_response, redirect
from ._errors import LoginError, aadsts
from ._store import EXCHANGE_HONOURS_GRAPH, iso, parse_iso
from ._tokens import EXCHANGE_APP_ID, EXCHANGE_RESOURCE, GRAPH_APP_ID, GRAPH_RESOURCE, client_info, digest, opaque

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
RESOURCE_ALIASES = {
    GRAPH_RESOURCE: GRAPH_APP_ID, GRAPH_APP_ID: GRAPH_APP_ID, "https://graph.microsoft.com/": GRAPH_APP_ID,
    EXCHANGE_RESOURCE: EXCHANGE_APP_ID, "https://outlook.office.com": EXCHANGE_APP_ID, EXCHANGE_APP_ID: EXCHANGE_APP_ID,
}
RESOURCE_IDS = {GRAPH_APP_ID: GRAPH_RESOURCE, EXCHANGE_APP_ID: EXCHANGE_RESOURCE}
REDIRECT_FIELDS = ("client_id", "response_type", "redirect_uri", "response_mode", "scope", "state", "nonce",
                   "code_challenge", "code_challenge_method", "login_hint", "prompt", "domain_hint")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def redirect_uri_matches(registered, requested):
    """Exact match, except that loopback http redirect URIs ignore the port (as Entra does)."""
    if registered == requested:
        return True
    reg, req = urllib.parse.urlsplit(registered), urllib.parse.urlsplit(requested)
    loopback = ("localhost", "127.0.0.1")
    return (reg.scheme == req.scheme == "http" and reg.hostname in loopback and reg.hostname == req.hostname
            and (reg.path or "/") == (req.path or "/") and reg.query == req.query)


def pkce_s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


class LoginApp:
    """``app(request)`` for the login host. ``urls`` is filled in once every port is bound."""

    def __init__(self, store, signer, urls):
        self.store = store
        self.signer = signer
        self.urls = urls

    # -- routing -----------------------------------------------------------------------------------------
    def __call__(self, request):
        parts = [p for p in request.path.split("/") if p]
        try:
            if parts == ["devicelogin"]:
                return self.device_login(request)
            if len(parts) == 3 and parts[:2] == ["common", "userrealm"]:
                return self.user_realm(parts[2])
            if parts == ["common", "discovery", "instance"]:
                return self.instance_discovery(request)
            if not parts:
                return Response(404, "not found")
            segment = parts[0]
            rest = parts[1:]
            if rest == ["v2.0", ".well-known", "openid-configuration"]:
                self.tenant_for(segment)
                return json_response(self.openid_configuration(segment))
            if rest == ["discovery", "v2.0", "keys"] or rest == ["discovery", "keys"]:
                return json_response(self.signer.jwks())
            if rest == ["oauth2", "v2.0", "token"] and request.method == "POST":
                fault = self.store.take_fault("token")
                if fault:
                    return self.fault_response(*fault)
                self.tenant_for(segment)
                return self.token(request, segment)
            if rest == ["oauth2", "v2.0", "authorize"]:
                return self.authorize(request, segment)
            if rest == ["oauth2", "v2.0", "devicecode"] and request.method == "POST":
                self.tenant_for(segment)
                return self.device_code(request, segment)
            if rest == ["oauth2", "v2.0", "logout"]:
                return Response(200, "<html><body>You signed out of your account.</body></html>",
                                content_type="text/html; charset=utf-8")
        except LoginError as err:
            return err.response(self.store.now())
        return Response(404, "not found")

    def fault_response(self, status, retry_after):
        """An injected failure: 429 is the request-loop throttle (AADSTS50196), 5xx a transient error (AADSTS90033)."""
        response = LoginError(50196 if status == 429 else 90033).response(self.store.now())
        response.status = status
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def tenant_for(self, segment):
        tenant = self.store.tenant
        if segment.lower() in ("common", "organizations", tenant["id"], tenant["domain"].lower()):
            return tenant
        raise LoginError(90002, tenant=segment)

    # -- discovery ---------------------------------------------------------------------------------------
    def openid_configuration(self, segment):
        base = self.urls["login_url"]
        issuer_tenant = "{tenantid}" if segment.lower() in ("common", "organizations") else self.store.tenant["id"]
        endpoint = "%s/%s/oauth2/v2.0/" % (base, segment)
        return {
            "token_endpoint": endpoint + "token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": "%s/%s/discovery/v2.0/keys" % (base, segment),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": "%s/%s/v2.0" % (base, issuer_tenant),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": self.urls["graph_url"] + "/oidc/userinfo",
            "authorization_endpoint": endpoint + "authorize",
            "device_authorization_endpoint": endpoint + "devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": endpoint + "logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                                 "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": "%s/%s/kerberos" % (base, segment),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def instance_discovery(self, request):
        endpoint = request.query.get("authorization_endpoint", "")
        parts = [p for p in urllib.parse.urlsplit(endpoint).path.split("/") if p]
        segment = parts[0] if parts else "common"
        host = urllib.parse.urlsplit(self.urls["login_url"]).netloc
        return json_response({
            "tenant_discovery_endpoint": "%s/%s/v2.0/.well-known/openid-configuration" % (self.urls["login_url"], segment),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })

    def user_realm(self, username):
        domain = username.rpartition("@")[2].lower()
        if any(domain == store.tenant["domain"].lower() for store in self.store.directory or [self.store]):
            return json_response({"ver": "1.0", "account_type": "Managed", "domain_name": domain,
                                  "cloud_instance_name": "microsoftonline.com",
                                  "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
        return json_response({"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "microsoftonline.com"})

    # -- clients -----------------------------------------------------------------------------------------
    def client_app(self, client_id):
        app = self.store.client_by_app_id(client_id)
        if app is None:
            raise LoginError(700016, client_id=client_id, tenant=self.store.tenant["id"])
        return app

    def authenticate_client(self, app, form, required):
        """Check the client secret or assertion; returns appidacr ("0" none, "1" secret, "2" certificate)."""
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        public = bool(app.get("isFallbackPublicClient"))
        if (secret or assertion) and public:
            raise LoginError(700025)
        if secret:
            now = self.store.now()
            matches = [cred for cred in app["passwordCredentials"]
                       if hmac.compare_digest(cred["_secret_hash"], digest(secret))]
            if not matches:
                raise LoginError(7000215, client_id=app["appId"])
            if all(parse_iso(cred["endDateTime"]) <= now for cred in matches):
                raise LoginError(7000222, client_id=app["appId"])
            return "1"
        if assertion:
            self.verify_assertion(app, form)
            return "2"
        if required or not public:
            raise LoginError(7000218)
        return "0"

    def verify_assertion(self, app, form):
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise LoginError(900144, parameter="client_assertion_type")
        try:
            header = jwt.get_unverified_header(form["client_assertion"])
        except jwt.InvalidTokenError as exc:
            raise LoginError(700027, reason="The assertion is not a valid JWT: %s." % exc) from None
        for cred in app.get("keyCredentials") or []:
            try:
                cert = x509.load_der_x509_certificate(base64.b64decode(cred.get("key") or ""))
            except ValueError:
                continue
            der = cert.public_bytes(Encoding.DER)
            # x5t is the certificate's SHA-1 thumbprint (RFC 7515), x5t#S256 its SHA-256 one; msal sends them padded
            thumbs = {base64.urlsafe_b64encode(hashlib.new(name, der).digest()).rstrip(b"=").decode()
                      for name in ("sha1", "sha256")}
            sent = {str(header.get(name, "")).rstrip("=") for name in ("x5t", "x5t#S256")}
            if sent & thumbs:
                if parse_iso(cred["endDateTime"]) <= self.store.now():
                    raise LoginError(700027, reason="The certificate has expired.")
                try:
                    claims = jwt.decode(form["client_assertion"], cert.public_key(), algorithms=["RS256", "PS256"],
                                        options={"verify_aud": False})
                except jwt.InvalidTokenError as exc:
                    raise LoginError(700027, reason="%s." % exc) from None
                if claims.get("iss") != app["appId"] or claims.get("sub") != app["appId"]:
                    raise LoginError(700027, reason="The assertion's iss and sub must be the client id.")
                if "/oauth2/" not in str(claims.get("aud", "")) and self.urls["login_url"] not in str(claims.get("aud")):
                    raise LoginError(700027, reason="The assertion's audience must be the token endpoint.")
                return
        raise LoginError(700027, reason="Key was not found for the thumbprint in the assertion header.")

    # -- scopes ------------------------------------------------------------------------------------------
    def parse_scopes(self, scope_text):
        """(resource service principal, requested scope names, '.default' asked, OIDC scopes)."""
        resource_app_id, names, default, oidc = None, [], False, []
        for item in (scope_text or "").split():
            if item.lower() in OIDC_SCOPES:
                oidc.append(item.lower())
                continue
            if "/" in item:
                resource, dummy, name = item.rpartition("/")
                app_id = RESOURCE_ALIASES.get(resource) or self.custom_resource(resource)
            else:
                app_id, name = GRAPH_APP_ID, item
            if resource_app_id not in (None, app_id):
                raise LoginError(28000, scope=scope_text)
            resource_app_id = app_id
            if name == ".default":
                default = True
            elif name:
                names.append(name)
            else:
                raise LoginError(70011, scope=item)
        resource_sp = self.store.sp_by_app_id(resource_app_id or GRAPH_APP_ID)
        if resource_sp is None:
            raise LoginError(500011, resource=resource_app_id, tenant=self.store.tenant["id"])
        return resource_sp, names, default or not names, oidc

    def custom_resource(self, resource):
        for app in self.store.applications.values():
            if resource in (app.get("identifierUris") or []) or resource == app["appId"]:
                return app["appId"]
        raise LoginError(500011, resource=resource, tenant=self.store.tenant["id"])

    def delegated_scopes(self, app, resource_sp, names, default, oidc):
        """The scopes the user's token carries: only what an admin consented tenant-wide (else AADSTS65001)."""
        store = self.store
        client_sp = store.sp_by_app_id(app["appId"])
        graph_sp = store.sp_by_app_id(GRAPH_APP_ID)
        if client_sp is None:
            raise LoginError(65001, client_id=app["appId"], name=app["displayName"])
        consented = store.consented_scopes(client_sp, resource_sp)
        graph_consented = store.consented_scopes(client_sp, graph_sp)
        if resource_sp["appId"] == EXCHANGE_APP_ID:
            consented |= graph_consented & set(EXCHANGE_HONOURS_GRAPH)
        consented.discard("offline_access")
        if "offline_access" in oidc and "offline_access" not in graph_consented:
            raise LoginError(65001, client_id=app["appId"], name=app["displayName"])
        if default:
            granted = sorted(consented)
        else:
            missing = [name for name in names if name not in consented]
            if missing:
                raise LoginError(65001, client_id=app["appId"], name=app["displayName"])
            granted = names
        if not granted:
            raise LoginError(65001, client_id=app["appId"], name=app["displayName"])
        return granted

    # -- token endpoint ----------------------------------------------------------------------------------
    def token(self, request, segment):
        form = request.form()
        grant_type = form.get("grant_type")
        if not grant_type:
            raise LoginError(900144, parameter="grant_type")
        if not form.get("client_id"):
            raise LoginError(900144, parameter="client_id")
        with self.store.lock:
            app = self.client_app(form["client_id"])
            if grant_type == "client_credentials":
                # an app-only token has no user to tell the tenant: it needs the tenant's own authority
                if segment.lower() == "common":
                    raise LoginError(9001023)
                if segment.lower() == "organizations":
                    raise LoginError(50059)
                acr = self.authenticate_client(app, form, required=True)
                return self.client_credentials(app, form, acr)
            handlers = {"authorization_code": self.redeem_code, "refresh_token": self.redeem_refresh_token,
                        "password": self.password_grant, DEVICE_GRANT: self.redeem_device_code}
            if grant_type not in handlers:
                raise LoginError(70003, grant_type=grant_type)
            acr = self.authenticate_client(app, form, required=False)
            return handlers[grant_type](app, form, acr, segment)

    def client_credentials(self, app, form, acr):
        scope = form.get("scope", "")
        if not scope:
            raise LoginError(900144, parameter="scope")
        items = scope.split()
        if len(items) != 1 or not items[0].endswith("/.default"):
            raise LoginError(1002012, scope=scope)
        resource_sp, dummy, dummy2, dummy3 = self.parse_scopes(scope)
        client_sp = self.store.sp_by_app_id(app["appId"])
        if client_sp is None:
            raise LoginError(700016, client_id=app["appId"], tenant=self.store.tenant["id"])
        roles = self.store.app_roles_of(client_sp, resource_sp["appId"])
        now = int(self.store.now())
        tid = self.store.tenant["id"]
        claims = {"aud": RESOURCE_IDS.get(resource_sp["appId"], resource_sp["appId"]),
                  "iss": "https://sts.windows.net/%s/" % tid, "iat": now, "nbf": now,
                  "exp": now + self.store.config["access_token_lifetime_seconds"], "aio": secrets.token_urlsafe(16),
                  "appid": app["appId"], "azp": app["appId"], "appidacr": acr, "idp": "https://sts.windows.net/%s/" % tid,
                  "idtyp": "app", "oid": client_sp["id"], "sub": client_sp["id"], "tid": tid,
                  "uti": secrets.token_urlsafe(16), "ver": "1.0"}
        if roles:
            claims["roles"] = roles
        wids = self.store.directory_roles_of(client_sp["id"])
        if wids:
            claims["wids"] = wids
        lifetime = self.store.config["access_token_lifetime_seconds"]
        return self.token_response({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                                    "access_token": self.signer.sign(claims)})

    def user_tokens(self, app, user, scope_text, acr, form, nonce=None, mfa=False):
        """Access token (+ refresh token with offline_access, + ID token with openid) for a signed-in user."""
        resource_sp, names, default, oidc = self.parse_scopes(scope_text)
        granted = self.delegated_scopes(app, resource_sp, names, default, oidc)
        store = self.store
        now = int(store.now())
        tid = store.tenant["id"]
        lifetime = store.config["access_token_lifetime_seconds"]
        resource = RESOURCE_IDS.get(resource_sp["appId"], resource_sp["appId"])
        claims = {"aud": resource, "iss": "https://sts.windows.net/%s/" % tid, "iat": now, "nbf": now,
                  "exp": now + lifetime, "acr": "1", "amr": ["pwd", "mfa"] if mfa else ["pwd"],
                  "appid": app["appId"], "azp": app["appId"], "appidacr": acr, "name": user["displayName"],
                  "oid": user["id"], "scp": " ".join(granted), "sub": digest(user["id"] + app["appId"])[:43],
                  "tid": tid, "unique_name": user["userPrincipalName"], "upn": user["userPrincipalName"],
                  "preferred_username": user["userPrincipalName"], "uti": secrets.token_urlsafe(16), "ver": "1.0"}
        prefix = "" if resource_sp["appId"] == GRAPH_APP_ID else resource + "/"
        body = {"token_type": "Bearer", "scope": " ".join(prefix + name for name in granted),
                "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": self.signer.sign(claims)}
        if "offline_access" in oidc:
            body["refresh_token"] = self.mint_refresh_token(app, user)
        if "openid" in oidc:
            id_claims = {"aud": app["appId"], "iss": "%s/%s/v2.0" % (self.urls["login_url"], tid), "iat": now,
                         "nbf": now, "exp": now + lifetime, "name": user["displayName"], "oid": user["id"],
                         "preferred_username": user["userPrincipalName"], "sub": claims["sub"], "tid": tid,
                         "ver": "2.0", "uti": claims["uti"]}
            if nonce:
                id_claims["nonce"] = nonce
            body["id_token"] = self.signer.sign(id_claims)
        if form.get("client_info") == "1":
            body["client_info"] = client_info(user["id"], tid)
        return self.token_response(body)

    @staticmethod
    def token_response(body):
        return json_response(body, 200, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    def mint_refresh_token(self, app, user):
        value = opaque("0.A")
        now = self.store.now()
        self.store.refresh_tokens[digest(value)] = {"client_id": app["appId"], "upn": user["userPrincipalName"],
                                                    "issued": now, "last_used": now}
        return value

    def check_other_tenant(self, kind, value):
        """A code or refresh token another tenant issued is refused at this tenant's authority (AADSTS700005)."""
        other = self.store.directory.holding(kind, value) if self.store.directory else None
        if other is not None and other is not self.store:
            raise LoginError(700005)

    def check_user_flow_audience(self, app, segment):
        if segment.lower() in ("common", "organizations") and app["signInAudience"] == "AzureADMyOrg":
            raise LoginError(50194, client_id=app["appId"], name=app["displayName"])

    def check_not_revoked(self, user, issued):
        if issued < user["_tokens_valid_from"]:
            raise LoginError(50173, issued=_stamp(issued), valid_from=_stamp(user["_tokens_valid_from"]))

    def redeem_code(self, app, form, acr, segment):
        for name in ("code", "redirect_uri"):
            if not form.get(name):
                raise LoginError(900144, parameter=name)
        record = self.store.codes.get(digest(form["code"]))
        if record is None:
            self.check_other_tenant("codes", form["code"])
        if record is None or record["client_id"] != app["appId"]:
            raise LoginError(70000)
        if record["used"]:
            raise LoginError(54005)
        if self.store.now() > record["issued"] + self.store.config["code_lifetime_seconds"]:
            raise LoginError(70008)
        if form["redirect_uri"] != record["redirect_uri"]:
            raise LoginError(500112, redirect_uri=form["redirect_uri"])
        if record["challenge"]:
            verifier = form.get("code_verifier") or ""
            if record["method"] == "S256":
                computed = pkce_s256(verifier) if verifier else ""
            else:
                computed = verifier
            if not hmac.compare_digest(computed, record["challenge"]):
                raise LoginError(501481)
        user = self.store.user(record["upn"])
        self.check_not_revoked(user, record["issued"])
        record["used"] = True
        return self.user_tokens(app, user, form.get("scope") or record["scope"], acr, form, nonce=record["nonce"],
                                mfa=user["_mfa"])

    def redeem_refresh_token(self, app, form, acr, segment):
        if not form.get("refresh_token"):
            raise LoginError(900144, parameter="refresh_token")
        record = self.store.refresh_tokens.get(digest(form["refresh_token"]))
        if record is None:
            self.check_other_tenant("refresh_tokens", form["refresh_token"])
            raise LoginError(9002313)
        if record["client_id"] != app["appId"]:
            raise LoginError(70000)
        user = self.store.user(record["upn"])
        self.check_not_revoked(user, record["issued"])
        now = self.store.now()
        inactive = now - record["last_used"]
        if inactive > self.store.config["refresh_token_max_inactive_seconds"]:
            raise LoginError(700082, issued=_stamp(record["issued"]), inactive="%d.%02d:%02d:%02d" % (
                inactive // 86400, inactive % 86400 // 3600, inactive % 3600 // 60, inactive % 60))
        response = self.user_tokens(app, user, form.get("scope", ""), acr, form)
        record["last_used"] = now  # the old token stays valid, as Entra keeps it
        return response

    def password_grant(self, app, form, acr, segment):
        for name in ("username", "password"):
            if not form.get(name):
                raise LoginError(900144, parameter=name)
        self.check_user_flow_audience(app, segment)
        user = self.store.user(form["username"])
        if user is None:
            raise LoginError(50034, tenant=self.store.tenant["domain"])
        if not hmac.compare_digest(user["_password_hash"], digest(form["password"])):
            raise LoginError(50126)
        if user["_mfa"]:
            resource_sp = self.parse_scopes(form.get("scope"))[0]
            raise LoginError(50076, resource=resource_sp["appId"])
        return self.user_tokens(app, user, form.get("scope", ""), acr, form)

    # -- device flow -------------------------------------------------------------------------------------
    def device_code(self, request, segment):
        form = request.form()
        if not form.get("client_id"):
            raise LoginError(900144, parameter="client_id")
        with self.store.lock:
            app = self.client_app(form["client_id"])
            self.parse_scopes(form.get("scope", ""))
            device_code = opaque("DAQABAAEAAA")
            user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for dummy in range(9))
            config = self.store.config
            self.store.device_codes[digest(device_code)] = {
                "user_code": user_code, "client_id": app["appId"], "scope": form.get("scope", ""), "status": "pending",
                "upn": None, "any_tenant": segment.lower() in ("common", "organizations"), "expires": self.store.now() + config["device_code_lifetime_seconds"]}
        uri = self.urls["login_url"] + "/devicelogin"
        return json_response({
            "user_code": user_code, "device_code": device_code, "verification_uri": uri,
            "expires_in": config["device_code_lifetime_seconds"], "interval": config["device_code_interval_seconds"],
            "message": "To sign in, use a web browser to open the page %s and enter the code %s to authenticate." % (
                uri, user_code)})

    def approve_device_code(self, user_code, upn):
        """Approve a pending device code as ``upn`` (the device login page and the control endpoint)."""
        if self.store.directory is not None:
            return self.store.directory.approve_device_code(user_code, upn)
        with self.store.lock:
            if self.store.user(upn) is None:
                return False
            for record in self.store.device_codes.values():
                if record["user_code"] == user_code.strip().upper() and record["status"] == "pending":
                    record["status"], record["upn"] = "approved", upn
                    return True
        return False

    def redeem_device_code(self, app, form, acr, segment):
        code = form.get("device_code") or form.get("code")
        if not code:
            raise LoginError(900144, parameter="device_code")
        record = self.store.device_codes.get(digest(code))
        if record is None or record["client_id"] != app["appId"] or record["status"] == "redeemed":
            raise LoginError(70000)
        if self.store.now() > record["expires"]:
            raise LoginError(70020)
        if record["status"] == "pending":
            raise LoginError(70016)
        user = self.store.user(record["upn"])
        response = self.user_tokens(app, user, form.get("scope") or record["scope"], acr, form, mfa=True)
        record["status"] = "redeemed"
        return response

    def device_login(self, request):
        if request.method == "POST":
            form = request.form()
            user = self.store.user(form.get("login"))
            if user is None or not hmac.compare_digest(user["_password_hash"], digest(form.get("passwd", ""))):
                return _page("Device sign-in", "<p id=\"error\">Your account or password is incorrect.</p>")
            if self.approve_device_code(form.get("otc", ""), user["userPrincipalName"]):
                return _page("Device sign-in", "<p id=\"done\">You have signed in. You may now close this window.</p>")
            return _page("Device sign-in", "<p id=\"error\">That code didn't work. Check the code and try again.</p>")
        return _page("Device sign-in", '<form method="post" action="/devicelogin"><input name="otc">'
                     '<input name="login"><input type="password" name="passwd"><button>Next</button></form>')

    # -- interactive sign-in -----------------------------------------------------------------------------
    def authorize(self, request, segment):
        params = request.form() if request.method == "POST" else dict(request.query)
        try:
            self.tenant_for(segment)
            if not params.get("client_id"):
                raise LoginError(900144, parameter="client_id")
            # another tenant's multitenant app is known here before its admin consented: the sign-in then stops
            # at consent (no service principal here, AADSTS65001) rather than at "application not found"
            app = (self.store.client_by_app_id(params["client_id"])
                   or self.store.foreign_multitenant_app(params["client_id"])[0] or self.client_app(params["client_id"]))
            redirect_uri = params.get("redirect_uri", "")
            registered = (app["web"].get("redirectUris") or []) + (app["publicClient"].get("redirectUris") or [])
            if not any(redirect_uri_matches(uri, redirect_uri) for uri in registered):
                raise LoginError(50011, redirect_uri=redirect_uri, client_id=app["appId"])
        except LoginError as err:
            return err.page(self.store.now())
        try:
            self.check_user_flow_audience(app, segment)
            if params.get("response_type") != "code":
                return self.error_redirect(params, "unsupported_response_type",
                                           "AADSTS700054: response_type '%s' is not enabled for the application." %
                                           params.get("response_type"))
            if params.get("prompt") == "none" and request.method != "POST":
                # the emulator keeps no browser session, so a silent sign-in always needs interaction
                return self.error_redirect(params, "login_required", "AADSTS50058: A silent sign-in request was sent "
                                           "but no user is signed in.")
            if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in ("S256", "plain"):
                raise LoginError(900144, parameter="code_challenge_method")
            with self.store.lock:
                resource_sp, names, default, oidc = self.parse_scopes(params.get("scope", ""))
                if request.method != "POST":
                    return self.sign_in_form(params, segment)
                user = self.store.user(params.get("login"))
                if user is None:
                    return self.sign_in_form(params, segment, "This username may be incorrect. (AADSTS50034)")
                if not hmac.compare_digest(user["_password_hash"], digest(params.get("passwd", ""))):
                    return self.sign_in_form(params, segment, "Your account or password is incorrect. (AADSTS50126)")
                self.delegated_scopes(app, resource_sp, names, default, oidc)
                code = opaque("1.A")
                now = self.store.now()
                self.store.codes[digest(code)] = {
                    "client_id": app["appId"], "redirect_uri": params["redirect_uri"], "scope": params.get("scope", ""),
                    "upn": user["userPrincipalName"], "challenge": params.get("code_challenge"),
                    "method": params.get("code_challenge_method", "plain"), "nonce": params.get("nonce"),
                    "issued": now, "used": False}
        except LoginError as err:
            dummy, body = aadsts(err.code, self.store.now(), **err.values)
            error = "consent_required" if err.code == 65001 else body["error"]
            return self.error_redirect(params, error, body["error_description"])
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        query["session_state"] = str(uuid.uuid4())
        return redirect(_with_query(params["redirect_uri"], query))

    @staticmethod
    def error_redirect(params, error, description):
        query = {"error": error, "error_description": description}
        if "state" in params:
            query["state"] = params["state"]
        return redirect(_with_query(params["redirect_uri"], query))

    def sign_in_form(self, params, segment, error=None):
        hidden = "".join('<input type="hidden" name="%s" value="%s">' % (name, html.escape(params[name], quote=True))
                         for name in REDIRECT_FIELDS if name in params)
        hint = html.escape(params.get("login_hint", ""), quote=True)
        body = ('%s<form method="post" action="/%s/oauth2/v2.0/authorize" id="signin">%s'
                '<input type="email" name="login" value="%s"><input type="password" name="passwd">'
                '<input type="submit" value="Sign in"></form>') % (
            '<p id="error">%s</p>' % html.escape(error) if error else "", html.escape(segment, quote=True), hidden, hint)
        return _page("Sign in to your account", body)


def _with_query(uri, query):
    parts = urllib.parse.urlsplit(uri)
    extra = urllib.parse.urlencode(query)
    return urllib.parse.urlunsplit(parts._replace(query=parts.query + "&" + extra if parts.query else extra))


def _page(title, body):
    return Response(200, "<!DOCTYPE html><html><head><title>%s</title></head><body>%s</body></html>" % (title, body),
                    content_type="text/html; charset=utf-8")


def _stamp(moment):
    return iso(moment).replace("T", " ")
