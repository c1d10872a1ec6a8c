# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entra ID credentials -> access tokens, through msal, for any cloud or explicit endpoints.

Usage in a module::

    argument_spec = entra_auth_argument_spec()
    argument_spec.update(my_options)
    module = AnsibleModule(argument_spec, supports_check_mode=True, **ENTRA_AUTH_RULES)
    check_required_libs(module)
    identity = EntraIdentity.from_params(module.params)           # may raise IdentityError
    token = identity.token(identity.cloud.graph_resource)         # "<resource>/.default", cached for the run
    identity.session                                              # the requests.Session to reuse (ca_path set)

Auth methods (``auth_method: auto`` picks the first that has its inputs): access_token, client_secret,
certificate; device_code only when asked for. Errors are IdentityError with code "AADSTS<n>", the trace id as
request_id and a hint; secrets never appear in them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import time
import traceback
import warnings

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.mailoauth.sophos.plugins.module_utils.clouds import (
    CLOUD_NAMES,
    is_known_authority,
    resolve_cloud,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError

try:
    import requests
except ImportError:  # pragma: no cover - reported through check_required_libs()
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

try:
    import msal
except ImportError:  # pragma: no cover - reported through check_required_libs()
    msal = None
    MSAL_IMPORT_ERROR = traceback.format_exc()
else:
    MSAL_IMPORT_ERROR = None

USER_AGENT = "mailoauth.sophos/0.1.0"
HTTP_TIMEOUT = 30

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"

# Well-known Microsoft public clients an admin can sign in to with a device code before any app of ours exists:
# "Microsoft Graph Command Line Tools" for Graph and "Exchange Online PowerShell" for the Exchange admin API.
DEVICE_CODE_CLIENT_IDS = {
    "graph": "14d82eec-204b-4c2f-b7e8-296a70dab67e",
    "exchange": "fb78d390-0c51-40cd-8e17-fdbfab77341b",
}
DEFAULT_TOKEN_CACHE_PATH = "~/.ansible/mailoauth_sophos/msal_token_cache.json"

AUTH_METHODS = ("auto", "client_secret", "certificate", "access_token", "device_code")


def entra_auth_argument_spec():
    """The auth options every Entra/Exchange module takes (documented in doc_fragments/entra_auth.py)."""
    return {
        "cloud": {"type": "str", "default": "public", "choices": list(CLOUD_NAMES)},
        "authority_host": {"type": "str", "fallback": (env_fallback, ["AZURE_AUTHORITY_HOST"])},
        "tenant_id": {"type": "str", "fallback": (env_fallback, ["AZURE_TENANT_ID"])},
        "client_id": {"type": "str", "fallback": (env_fallback, ["AZURE_CLIENT_ID"])},
        "client_secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AZURE_CLIENT_SECRET"])},
        "client_certificate_path": {"type": "path", "fallback": (env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])},
        "client_certificate_password": {"type": "str", "no_log": True,
                                        "fallback": (env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])},
        "access_token": {"type": "str", "no_log": True},
        "auth_method": {"type": "str", "default": "auto", "choices": list(AUTH_METHODS)},
        "device_code_client_id": {"type": "str"},
        "token_cache_path": {"type": "path", "default": DEFAULT_TOKEN_CACHE_PATH, "no_log": False},
        "ca_path": {"type": "path"},
    }


# Env fallbacks are applied before mutually_exclusive is checked, so an AZURE_CLIENT_SECRET in the environment would
# clash with an explicit certificate; which credential wins is decided in EntraIdentity.from_params instead.
ENTRA_AUTH_MUTUALLY_EXCLUSIVE = []
ENTRA_AUTH_REQUIRED_TOGETHER = []
ENTRA_AUTH_REQUIRED_IF = [
    ("auth_method", "client_secret", ("client_id", "client_secret")),
    ("auth_method", "certificate", ("client_id", "client_certificate_path")),
    ("auth_method", "access_token", ("access_token",)),
]
ENTRA_AUTH_REQUIRED_BY = {"client_certificate_password": "client_certificate_path"}
ENTRA_AUTH_RULES = {
    "mutually_exclusive": ENTRA_AUTH_MUTUALLY_EXCLUSIVE,
    "required_together": ENTRA_AUTH_REQUIRED_TOGETHER,
    "required_if": ENTRA_AUTH_REQUIRED_IF,
    "required_by": ENTRA_AUTH_REQUIRED_BY,
}


class IdentityError(MailOAuthError):
    service = "Microsoft identity platform"


def check_required_libs(module):
    """fail_json with Ansible's standard message when requests or msal is missing on the controller."""
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    if MSAL_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("msal"), exception=MSAL_IMPORT_ERROR)


if requests is not None:
    class _Session(requests.Session):
        """A requests.Session with a default timeout and our User-Agent."""

        def __init__(self):
            super().__init__()
            self.headers["User-Agent"] = USER_AGENT

        def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ
            kwargs.setdefault("timeout", HTTP_TIMEOUT)
            if isinstance(self.verify, str):
                # requests lets REQUESTS_CA_BUNDLE override Session.verify; an explicit ca_path must win.
                kwargs.setdefault("verify", self.verify)
            return super().request(method, url, *args, **kwargs)


def http_session(ca_path=None):
    """One session per module run. ``ca_path`` pins the CA bundle; otherwise REQUESTS_CA_BUNDLE or the system CAs."""
    session = _Session()
    if ca_path:
        if not os.path.isfile(ca_path):
            raise IdentityError("The CA bundle %s does not exist" % ca_path, code="ca_path",
                                hint="set ca_path to a PEM file with the CA certificates to trust, or leave it unset")
        session.verify = ca_path
    return session


# ---------------------------------------------------------------------------------------------------------------
# Errors from the identity platform

_AADSTS_HINTS = {
    50011: "use exactly the redirect URI registered on the app (scheme, host, path and trailing slash matter)",
    50076: "this account needs MFA: use the authorization-code or device-code sign-in instead of a password",
    50126: "check the user name and password",
    50173: "the grant was revoked (for example a password change): sign in again",
    54005: "the authorization code was already redeemed: sign in again for a new code",
    65001: "grant admin consent for the app's delegated permissions (entra_admin_consent), then retry",
    70000: "the grant is not valid for the requested scopes: check the app's permissions and consent",
    70008: "the code or refresh token expired: sign in again",
    70011: "check the requested scope; it must look like <resource>/.default",
    90002: "check tenant_id (a tenant GUID or a verified domain) and the cloud/authority_host it belongs to",
    501481: "the PKCE code_verifier does not match the code_challenge of the sign-in: start the sign-in again",
    700016: "check client_id and tenant_id: the application is not known in that tenant",
    700025: "a public client must not send a secret: remove client_secret for this sign-in",
    700027: "the certificate in client_certificate_path is not (or no longer) a credential of the app: run "
            "bootstrap.yml again, or point client_certificate_path at the file it wrote",
    700082: "the refresh token expired after 90 days unused: sign in again and renew it more often",
    7000215: "client_secret is wrong: use the secret's value (not its id) from when it was created, or create a new "
             "one (entra_app_secret)",
    7000218: "the app is a confidential client: provide client_secret (or a certificate)",
    7000222: "the client secret expired: create a new one (entra_app_secret with rotate=true)",
}

_TRACE_SUFFIX = re.compile(r"\s*(Trace ID:|Correlation ID:|Timestamp:).*$", re.S)


def identity_error_from_result(result, action, secrets=()):
    """IdentityError from an msal error result (the token endpoint's JSON), with code, trace id and a hint."""
    codes = result.get("error_codes") or []
    description = result.get("error_description") or result.get("error") or "no error description"
    match = re.match(r"\s*AADSTS(\d+):\s*", description)
    number = codes[0] if codes else (int(match.group(1)) if match else None)
    summary = _TRACE_SUFFIX.sub("", description[match.end():] if match else description).strip()
    summary = summary.split("\r\n")[0].split("\n")[0].rstrip(". ")
    code = "AADSTS%s" % number if number is not None else result.get("error")
    hint = _AADSTS_HINTS.get(number)
    message = "%s failed: %s" % (action, summary) if summary else "%s failed" % action
    return IdentityError(scrub(message, secrets), code=code, hint=hint,
                         request_id=result.get("trace_id") or result.get("correlation_id"))


def sign_in_service_error(action, exc):
    """msal raises (no JSON body to read) when the token endpoint answers 5xx: a transient outage of the service."""
    return IdentityError("%s failed: the sign-in service answered %s" % (action, str(exc).split(",", maxsplit=1)[0]),
                         code="service_unavailable",
                         hint="the Microsoft identity platform had a transient failure; nothing was changed, run "
                              "again in a few minutes")


def scrub(text, secrets):
    """Replace every known secret value in ``text`` by <hidden> (a last line of defence for messages)."""
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "<hidden>")
    return text


def jwt_claims(token):
    """The claims of a JWT without verifying it (only to read aud/tid/exp for clear errors), or {}."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (IndexError, ValueError, UnicodeError, AttributeError):
        return {}
    return claims if isinstance(claims, dict) else {}


# ---------------------------------------------------------------------------------------------------------------
# Building msal applications

def build_msal_app(client_id, authority, session, client_credential=None, token_cache=None):
    """msal Confidential- (with a credential) or PublicClientApplication that trusts the session's CA.

    Instance discovery is turned off for authority hosts msal does not know (a proxy, the sandbox): msal would
    otherwise ask the public cloud about them.
    """
    kwargs = {"authority": authority, "http_client": session, "token_cache": token_cache}
    if not is_known_authority(authority):
        kwargs["instance_discovery"] = False
    if client_credential is None:
        return msal.PublicClientApplication(client_id, **kwargs)
    return msal.ConfidentialClientApplication(client_id, client_credential=client_credential, **kwargs)


def certificate_credential(path, password=None):
    """msal client_credential for a PEM (private key + certificate) or PKCS#12 (.pfx/.p12) file."""
    if not os.path.isfile(path):
        raise IdentityError("The client certificate file %s does not exist" % path, code="client_certificate_path",
                            hint="set client_certificate_path to a PEM file holding the private key and the "
                                 "certificate, or to a .pfx file")
    if path.lower().endswith((".pfx", ".p12")):
        credential = {"private_key_pfx_path": path}
    else:
        with open(path, encoding="utf-8") as handle:
            pem = handle.read()
        key = re.search(r"-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----",
                        pem, re.S)
        cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
        if not key or not cert:
            raise IdentityError("The client certificate file %s must hold both the private key and the certificate "
                                "in PEM form" % path, code="client_certificate_path",
                                hint="concatenate the key and certificate PEM blocks into one file, or use a .pfx")
        credential = {"private_key": key.group(0), "public_certificate": cert.group(0)}
    if password:
        credential["passphrase"] = password
    return credential


class TokenCacheFile:
    """msal's serialisable token cache kept in a file readable by its owner only (0600)."""

    def __init__(self, path):
        self.path = os.path.expanduser(path)
        self.cache = msal.SerializableTokenCache()
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as handle:
                self.cache.deserialize(handle.read())

    def save(self):
        if self.cache.has_state_changed:
            write_private_file(self.path, self.cache.serialize())

    @property
    def flow_path(self):
        return self.path + ".device_flow"


def write_private_file(path, text):
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    # The directory may be shared (a temp dir): mkstemp creates a random name with O_CREAT|O_EXCL|O_NOFOLLOW and mode
    # 0600, so nothing another user planted there is written through, followed or left readable.
    fd, tmp = tempfile.mkstemp(dir=directory or ".", prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------------------------
# The identity a module acts as

def choose_auth_method(params):
    """The auth method to use, or an IdentityError naming the option that is missing."""
    method = params.get("auth_method") or "auto"
    if method != "auto":
        return method
    if params.get("access_token"):
        return "access_token"
    if params.get("client_secret"):
        return "client_secret"
    if params.get("client_certificate_path"):
        return "certificate"
    raise IdentityError(
        "No Entra credentials were given", code="missing_credentials",
        hint="set tenant_id, client_id and client_secret (or client_certificate_path), or access_token, or the "
             "AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET environment variables; for a first run without an "
             "automation app use auth_method=device_code")


class EntraIdentity:
    """The credentials of one module run, turned into access tokens per resource on demand."""

    def __init__(self, method, cloud, tenant_id, session, client_id=None, credential=None, access_token=None,
                 token_cache_path=None, secrets=()):
        self.method = method
        self.cloud = cloud
        self._tenant_id = tenant_id
        self.session = session
        self.client_id = client_id
        self._credential = credential
        self._access_token = access_token
        self._token_cache_path = token_cache_path
        self._secrets = tuple(s for s in secrets if s)
        self._tokens = {}
        self._apps = {}
        self._token_tenant = None

    @classmethod
    def from_params(cls, params, session=None):
        """Build from module params (see entra_auth_argument_spec); raises IdentityError on incomplete input."""
        method = choose_auth_method(params)
        cloud = resolve_cloud(params.get("cloud") or "public", **{
            key: params.get(key) for key in ("authority_host", "graph_endpoint", "exchange_endpoint", "smtp_host")
            if params.get(key)})
        authority_host = cloud.authority_host
        if not authority_host.startswith("https://"):
            raise IdentityError("authority_host must be an https:// URL, got %s" % authority_host,
                                code="authority_host", hint="use e.g. https://login.microsoftonline.com")
        for option, example in (("graph_endpoint", "https://graph.microsoft.com"),
                                ("exchange_endpoint", "https://outlook.office365.com")):
            if params.get(option) and not getattr(cloud, option).startswith("https://"):
                raise IdentityError("%s must be an https:// URL, got %s" % (option, params[option]), code=option,
                                    hint="use e.g. %s, or leave %s unset to use the cloud's" % (example, option))
        if session is None:
            session = http_session(params.get("ca_path"))
        tenant_id = params.get("tenant_id")
        secrets = (params.get("client_secret"), params.get("client_certificate_password"), params.get("access_token"))
        if method == "access_token":
            if not params.get("access_token"):
                raise IdentityError("auth_method=access_token needs an access token", code="access_token",
                                    hint="set access_token (a bearer token for the resource this module calls)")
            return cls(method, cloud, tenant_id, session, access_token=params["access_token"], secrets=secrets)
        if method == "device_code":
            client_id = params.get("device_code_client_id")
            return cls(method, cloud, tenant_id or "organizations", session, client_id=client_id,
                       token_cache_path=params.get("token_cache_path") or DEFAULT_TOKEN_CACHE_PATH, secrets=secrets)
        missing = [name for name in ("tenant_id", "client_id") if not params.get(name)]
        if missing:
            raise IdentityError("auth_method=%s needs %s" % (method, " and ".join(missing)), code=missing[0],
                                hint="set %s (or the AZURE_TENANT_ID / AZURE_CLIENT_ID environment variables)"
                                     % " and ".join(missing))
        if method == "client_secret":
            if not params.get("client_secret"):
                raise IdentityError("auth_method=client_secret needs client_secret", code="client_secret",
                                    hint="set client_secret or the AZURE_CLIENT_SECRET environment variable")
            credential = params["client_secret"]
        elif method == "certificate":
            if not params.get("client_certificate_path"):
                raise IdentityError("auth_method=certificate needs client_certificate_path",
                                    code="client_certificate_path",
                                    hint="set client_certificate_path to a PEM (key + certificate) or .pfx file")
            credential = certificate_credential(params["client_certificate_path"],
                                                params.get("client_certificate_password"))
        else:
            raise IdentityError("Unknown auth_method %s" % method, code="auth_method",
                                hint="use one of %s" % ", ".join(AUTH_METHODS))
        return cls(method, cloud, tenant_id, session, client_id=params["client_id"], credential=credential,
                   secrets=secrets)

    @property
    def tenant_id(self):
        """The tenant GUID once a token told us (tid claim), else the tenant as given."""
        return self._token_tenant or self._tenant_id

    @property
    def authority(self):
        return "%s/%s" % (self.cloud.authority_host, self._tenant_id)

    def token(self, resource):
        """An access token for ``<resource>/.default``, fetched once per resource for this run."""
        resource = resource.rstrip("/")
        if resource not in self._tokens:
            if self.method == "access_token":
                self._tokens[resource] = self._given_token(resource)
            elif self.method == "device_code":
                self._tokens[resource] = self._device_code_token(resource)
            else:
                self._tokens[resource] = self._app_token(resource)
            self._token_tenant = jwt_claims(self._tokens[resource]).get("tid") or self._token_tenant
        return self._tokens[resource]

    def invalidate(self, resource):
        """Forget a cached token (after a 401 InvalidAuthenticationToken)."""
        self._tokens.pop(resource.rstrip("/"), None)

    # -- the methods -------------------------------------------------------------------------------------------
    def _given_token(self, resource):
        claims = jwt_claims(self._access_token)
        if claims:
            audience = str(claims.get("aud", "")).rstrip("/")
            accepted = {resource, _resource_app_id(self.cloud, resource)}
            if audience and audience not in accepted:
                raise IdentityError(
                    "The access_token was issued for %s, not for %s" % (audience, resource), code="access_token",
                    hint="get a token for the scope %s/.default" % resource)
            if claims.get("exp") and claims["exp"] < time.time():
                raise IdentityError("The access_token expired at %s" % time.strftime(
                    "%Y-%m-%d %H:%M:%SZ", time.gmtime(claims["exp"])), code="access_token",
                    hint="get a new token, or use client credentials so the module can fetch its own")
        return self._access_token

    def _app(self, client_id, credential=None, token_cache=None):
        key = (client_id, credential is not None)
        if key not in self._apps:
            try:
                self._apps[key] = build_msal_app(client_id, self.authority, self.session, credential, token_cache)
            except ValueError as exc:
                raise self._authority_error(exc) from None
            except requests.RequestException as exc:
                raise self._connection_error(exc) from None
        return self._apps[key]

    def _app_token(self, resource):
        app = self._app(self.client_id, self._credential)
        action = "Signing in as application %s to tenant %s" % (self.client_id, self._tenant_id)
        try:
            result = app.acquire_token_for_client(scopes=[resource + "/.default"])
        except requests.RequestException as exc:
            raise self._connection_error(exc) from None
        except msal.exceptions.MsalServiceError as exc:
            raise sign_in_service_error(action, exc) from None
        except ValueError as exc:
            raise IdentityError(scrub("%s failed: %s" % (action, exc), self._secrets), code="client_credential",
                                hint="check client_certificate_path and client_certificate_password") from None
        if "access_token" not in result:
            raise identity_error_from_result(result, action, self._secrets)
        return result["access_token"]

    def _device_code_token(self, resource):
        client_id = self.client_id or _device_code_client_id(self.cloud, resource)
        cache = TokenCacheFile(self._token_cache_path)
        app = self._app(client_id, token_cache=cache.cache)
        scopes = [resource + "/.default"]
        try:
            for account in app.get_accounts():
                result = app.acquire_token_silent(scopes, account=account)
                if result and "access_token" in result:
                    cache.save()
                    return result["access_token"]
            result = self._poll_pending_flow(app, cache, scopes)
        except requests.RequestException as exc:
            raise self._connection_error(exc) from None
        cache.save()
        return result["access_token"]

    def _poll_pending_flow(self, app, cache, scopes):
        """Finish a device-code sign-in started by an earlier run, or start one and tell the user what to do.

        A module cannot talk to the person while it runs, so the sign-in spans two runs: this run shows the code
        and keeps the pending flow in a 0600 file next to the cache; the next run redeems it.
        """
        flow = None
        if os.path.exists(cache.flow_path):
            with open(cache.flow_path, encoding="utf-8") as handle:
                flow = json.load(handle)
            if flow.get("scopes") != scopes or flow.get("authority") != self.authority \
                    or flow.get("expires_at", 0) < time.time():
                flow = None
        if flow is not None:
            with warnings.catch_warnings():
                # msal warns when polled sooner than the interval; one poll per run is never too often.
                warnings.simplefilter("ignore")
                result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
            if "access_token" in result:
                os.unlink(cache.flow_path)
                return result
            if result.get("error") not in ("authorization_pending", "slow_down"):
                os.unlink(cache.flow_path)
                raise identity_error_from_result(result, "Device-code sign-in", self._secrets)
        else:
            flow = app.initiate_device_flow(scopes=scopes)
            if "user_code" not in flow:
                raise identity_error_from_result(flow, "Starting the device-code sign-in", self._secrets)
            flow.update(scopes=scopes, authority=self.authority)
        write_private_file(cache.flow_path, json.dumps(flow))
        raise IdentityError(
            "Device-code sign-in is waiting for you: open %s and enter the code %s, sign in as an administrator, "
            "then run this again before %s" % (flow.get("verification_uri"), flow.get("user_code"),
                                               time.strftime("%H:%M:%SZ", time.gmtime(flow["expires_at"]))),
            code="device_code_pending",
            hint="the token is then kept in %s (mode 0600) for later runs" % cache.path)

    # -- errors --------------------------------------------------------------------------------------------------
    def _authority_error(self, exc):
        """msal could not read the authority's metadata: ask the endpoint ourselves to report its AADSTS code."""
        try:
            response = self.session.get(self.authority + "/v2.0/.well-known/openid-configuration")
            body = response.json()
        except (requests.RequestException, ValueError):
            body = {}
        if isinstance(body, dict) and body.get("error"):
            return identity_error_from_result(body, "Reading the sign-in metadata of tenant %s" % self._tenant_id,
                                              self._secrets)
        return IdentityError("Reading the sign-in metadata from %s failed: %s" % (self.authority, exc),
                             code="authority",
                             hint="check tenant_id and cloud/authority_host (msal expects https://HOST/TENANT)")

    def _connection_error(self, exc):
        return IdentityError("Connecting to the sign-in endpoint %s failed with %s"
                             % (self.cloud.authority_host, type(exc).__name__),
                             code="connection",
                             hint="check cloud/authority_host, the network or proxy, and ca_path for TLS trust")


def _resource_app_id(cloud, resource):
    if resource == cloud.graph_resource.rstrip("/"):
        return GRAPH_APP_ID
    if resource == cloud.exchange_resource.rstrip("/"):
        return EXCHANGE_APP_ID
    return None


def _device_code_client_id(cloud, resource):
    if resource == cloud.exchange_resource.rstrip("/"):
        return DEVICE_CODE_CLIENT_IDS["exchange"]
    return DEVICE_CODE_CLIENT_IDS["graph"]
