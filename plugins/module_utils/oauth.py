# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The firewall app's delegated sign-in: authorization URL (PKCE + state), redemption, refresh, loopback listener.

The refresh token must come from a confidential client (client id + secret), because the firewall redeems it
with the secret later; so every grant here goes through msal's ConfidentialClientApplication::

    client = OAuthClient.from_params(module.params)                   # tenant, client id/secret, endpoints, CA
    flow = client.start_flow(redirect_uri, scopes)                    # flow["auth_uri"], state, code_verifier
    tokens = client.redeem_flow(flow, parse_redirect(pasted_url))     # TokenSet: refresh_token, user, scope
    tokens = client.redeem_refresh_token(stored_refresh_token)

A headless sign-in (AWX) spans two job runs with nothing carried between them but the URL the person pastes::

    flow = client.start_flow(redirect_uri, scopes, stateless=True)    # run 1: show flow["auth_uri"], stop
    tokens = client.redeem_stateless(parse_redirect(pasted_url), redirect_uri, scopes)   # run 2

msal reserves openid, profile and offline_access and always adds them, so they are removed from scope lists.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import html
import http.server
import re
import socket
import threading
import time
import urllib.parse
import warnings
from dataclasses import dataclass, field
from secrets import token_urlsafe

from ansible_collections.mailoauth.sophos.plugins.module_utils.clouds import CLOUD_NAMES, resolve_cloud
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    IdentityError,
    build_msal_app,
    http_session,
    identity_error_from_result,
    jwt_claims,
    msal,
    requests,
    scrub,
    sign_in_service_error,
)

_TRACE_SUFFIX = re.compile(r"\s*(Trace ID:|Correlation ID:|Timestamp:|Request Id:).*$", re.S)

RESERVED_SCOPES = frozenset(("openid", "profile", "offline_access"))
DEFAULT_REDIRECT_URI = "http://localhost/"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


def msal_scopes(scopes):
    """The scopes to hand msal: reserved ones removed (msal adds them), order kept, duplicates dropped."""
    result = []
    for scope in scopes or ():
        for item in str(scope).split():
            if item not in RESERVED_SCOPES and item not in result:
                result.append(item)
    if not result:
        raise IdentityError("The scopes list holds no resource scope", code="scopes",
                            hint="ask for the Exchange resource, e.g. https://outlook.office365.com/.default "
                                 "(offline_access is always added)")
    return result


def default_scopes(cloud):
    return [cloud.exchange_resource.rstrip("/") + "/.default", "offline_access"]


def is_loopback_uri(uri):
    parts = urllib.parse.urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def loopback_redirect_uri(registered, port):
    """The registered ``http://localhost/`` with the listener's port; Entra ignores the port for loopback hosts."""
    parts = urllib.parse.urlsplit(registered)
    if not is_loopback_uri(registered):
        raise IdentityError("The loopback sign-in needs a loopback redirect URI, got %s" % registered,
                            code="redirect_uri",
                            hint="register http://localhost/ on the app (entra_app redirect_uris) and set "
                                 "redirect_uri to it, or use mode=authorization_response for %s" % registered)
    return urllib.parse.urlunsplit(("http", "%s:%d" % (parts.hostname, port), parts.path or "/", "", ""))


def parse_redirect(url):
    """The query parameters of the URL the browser was sent to (code, state, or error + error_description)."""
    text = (url or "").strip()
    parts = urllib.parse.urlsplit(text)
    params = dict(urllib.parse.parse_qsl(parts.query or parts.fragment, keep_blank_values=True))
    if not params.get("code") and not params.get("error"):
        raise IdentityError("The authorization response holds neither a code nor an error", code="authorization_response",
                            hint="paste the whole address the browser shows after signing in; it starts with the "
                                 "redirect URI and contains ?code=...&state=...")
    return params


def redirect_error(params, action):
    """IdentityError for a redirect that carries error/error_description instead of a code."""
    return flow_error({"error": params.get("error"), "error_description": params.get("error_description")}, action)


_PAGE_ERROR = re.compile(r"AADSTS(50011|700016|90002)\b[:\s]*([^<]{0,300})")


def check_authorize_page(session, url):
    """Load the sign-in page once, as a browser would, and report the errors Entra shows there instead of redirecting.

    An unregistered redirect URI (AADSTS50011) never reaches the redirect URI: the person would only see an error
    page. Asking first turns it into an error naming the option to fix, before anyone is asked to sign in.
    """
    try:
        response = session.get(url, allow_redirects=False)
    except requests.RequestException:
        return  # the browser will show the problem; the sign-in itself reports connection errors
    if 300 <= response.status_code < 400:
        return
    found = _PAGE_ERROR.search(html.unescape(response.text or ""))
    if found:
        number = int(found.group(1))
        description = _TRACE_SUFFIX.sub("", found.group(2)).strip().rstrip(". ")
        raise flow_error({"error": "invalid_request", "error_codes": [number],
                          "error_description": "AADSTS%d: %s" % (number, description)},
                         "The sign-in page refused the request")


# ---------------------------------------------------------------------------------------------------------------
# The headless sign-in across two job runs (AWX): the second run rebuilds the flow from the pasted URL.
#
# msal keeps the one-time values of a sign-in (PKCE verifier, nonce) in a flow dict the caller must store until the
# redirect comes back, and nothing is shared between two AWX jobs. So run 1 does not draw them at random: it draws
# a random state and derives them from it with the app's client secret (HMAC-SHA256 under distinct labels); run 2
# derives them again from the state in the pasted URL. Why this keeps the protections:
# - PKCE binds the code to whoever holds the verifier. Here that is whoever holds the client secret, and a
#   confidential client's code cannot be redeemed without the client secret anyway (AADSTS7000218): someone who
#   intercepts the code (it is in the pasted URL) still needs the secret, exactly as with a random verifier.
# - The state stays random per sign-in (and is checked): it carries a tag, an HMAC of its random part and of the
#   mailbox the sign-in is for (whose domain names its tenant), so a state that was tampered with or made elsewhere
#   (another app, another secret, msal's own random state, another tenant's sign-in with the same multitenant app
#   and secret) is refused here with a clear message before the code is sent anywhere. The same binding lets one job
#   over several tenants pick each tenant's own address out of several pasted ones (sign_in_positions). A code and
#   a state from two different sign-ins fail at the token endpoint (the derived verifier does not match that
#   code's challenge, AADSTS501481).
# - The nonce (which ties the ID token to this sign-in) is derived the same way; msal sends its SHA-256 and checks
#   the ID token against it as usual.
# - The code itself stays single-use and short-lived (Entra: AADSTS54005, AADSTS70008).
# - As with any pasted address, whoever may launch the second run can paste a sign-in of their own; the
#   refresh_token role checks that the token belongs to the sending mailbox.

_STATE_LABEL = "mailoauth-state:"
_PKCE_LABEL = "mailoauth-pkce:"
_NONCE_LABEL = "mailoauth-nonce:"
_STATE_TAG_LENGTH = 22          # 132 bits of HMAC-SHA256
_STATE = re.compile(r"^([A-Za-z0-9_-]{16,})\.([A-Za-z0-9_-]{%d})$" % _STATE_TAG_LENGTH)


def _mac(client_secret, label, value):
    """base64url (no padding) of HMAC-SHA256(client_secret, label + value): 43 characters of [A-Za-z0-9_-]."""
    digest = hmac.new(client_secret.encode("utf-8"), (label + value).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_in_binding(login_hint):
    """What a headless sign-in's state is bound to besides the app's secret: the mailbox, which also names its tenant
    (a UPN's domain is verified in one tenant only). Not the tenant_id option: one tenant has several spellings (its
    id, a domain, "organizations"), and a run may know only some of them before the app's steps."""
    return (login_hint or "").lower()


def _state_tag(client_secret, random_part, binding):
    return _mac(client_secret, _STATE_LABEL, random_part + "\n" + binding)[:_STATE_TAG_LENGTH]


def new_state(client_secret, random_part=None, binding=""):
    """A fresh random state with its tag: ``<random>.<HMAC tag>``, the tag bound to ``binding`` (sign_in_binding)."""
    random_part = random_part or token_urlsafe(18)
    return "%s.%s" % (random_part, _state_tag(client_secret, random_part, binding))


def state_is_ours(client_secret, state, binding=""):
    """Whether ``state`` was made by new_state with this client secret and binding (constant-time comparison)."""
    found = _STATE.match(state or "")
    if not found or not client_secret:
        return False
    return hmac.compare_digest(found.group(2), _state_tag(client_secret, found.group(1), binding))


_ADDRESS_START = re.compile(r"(?=https?://)")


def split_addresses(pasted):
    """The addresses in one pasted answer: separated by whitespace, or by nothing at all, as a browser's password
    field leaves several lines pasted into it (it drops line breaks; an address holds no unencoded ``http://``)."""
    return [address for chunk in (pasted or "").split() for address in _ADDRESS_START.split(chunk) if address]


def sign_in_positions(pasted, client_secret, binding):
    """The 1-based positions, among the addresses in ``pasted`` (split_addresses), of those whose state belongs to
    a headless sign-in for ``binding`` with this client secret. Addresses without a readable state count as
    nobody's; nothing of an address is ever returned."""
    positions = []
    for position, address in enumerate(split_addresses(pasted), 1):
        try:
            state = (urllib.parse.parse_qs(urllib.parse.urlsplit(address).query).get("state") or [""])[0]
        except ValueError:
            continue
        if state_is_ours(client_secret, state, binding):
            positions.append(position)
    return positions


def derived_secrets(client_secret, state):
    """The PKCE code verifier (RFC 7636: 43 characters of the unreserved set) and the OIDC nonce of a sign-in."""
    return _mac(client_secret, _PKCE_LABEL, state), _mac(client_secret, _NONCE_LABEL, state)


def pkce_challenge(code_verifier):
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def nonce_hash(nonce):
    """What msal (1.39, oauth2cli.oidc) sends as ``nonce`` and expects back in the ID token: hex SHA-256."""
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def msal_flow_scope(scopes):
    """The ``scope`` list msal's flow holds: the resource scopes plus the reserved ones msal always adds."""
    return msal_scopes(scopes) + sorted(RESERVED_SCOPES)


def with_derived_secrets(flow, client_secret):
    """msal's flow with its random PKCE verifier and nonce replaced by the ones derived from its state.

    The authorization URL is msal's own (same parameters, client_info, login hint...); only the code_challenge and
    the nonce in it are swapped for the derived values, so the redirect can be redeemed by a rebuilt flow.
    """
    verifier, nonce = derived_secrets(client_secret, flow["state"])
    parts = urllib.parse.urlsplit(flow["auth_uri"])
    params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    replace = {"code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256", "nonce": nonce_hash(nonce)}
    if not set(replace) <= {key for key, dummy in params}:
        raise IdentityError("msal built an authorization URL without PKCE or nonce; the headless sign-in cannot "
                            "rebuild it", code="msal", hint="install msal >= 1.28 (see requirements.txt)")
    query = urllib.parse.urlencode([(key, replace.get(key, value)) for key, value in params])
    return dict(flow, auth_uri=urllib.parse.urlunsplit(parts._replace(query=query)), code_verifier=verifier,
                nonce=nonce)


def rebuild_flow(client_secret, state, redirect_uri, scopes, binding=""):
    """The flow of a headless sign-in, from the state the redirect carries back: what run 2 redeems with."""
    if not state_is_ours(client_secret, state, binding):
        raise IdentityError(
            "The pasted address does not come from a sign-in URL made for this app and mailbox (login_hint) with "
            "this client secret (its state is missing, altered or from another sign-in)",
            code="authorization_response",
            hint="run again without refresh_token_authorization_response (authorization_response) for a new sign-in "
                 "URL, sign in there, and paste the whole address the browser ends on, unchanged")
    verifier, nonce = derived_secrets(client_secret, state)
    return {"state": state, "redirect_uri": redirect_uri, "scope": msal_flow_scope(scopes), "code_verifier": verifier,
            "nonce": nonce, "claims_challenge": None}


@dataclass
class TokenSet:
    """What a successful redemption gives; only refresh_token is ever returned to a playbook (no_log)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    scope: list
    expires_in: int
    user: str
    tenant_id: str

    def public(self):
        return {"scope": self.scope, "expires_in": self.expires_in, "user": self.user, "tenant_id": self.tenant_id}


# Codes met only in these flows (identity.py holds the hints shared with the automation sign-in).
_FLOW_HINTS = {
    "AADSTS500112": ("redeem the code with the redirect URI of the sign-in that produced it (the same redirect_uri as "
                     "when the URL was made, or auth_flow unchanged)"),
    "AADSTS65004": "the user declined consent: grant admin consent (entra_admin_consent) and sign in again",
    "AADSTS9002313": "the refresh token is malformed or truncated: copy it again or sign in again",
    "AADSTS50034": "the account does not exist in the tenant: sign in as the sending mailbox",
}


def flow_error(result, action, secrets=()):
    err = identity_error_from_result(result, action, secrets)
    if not err.hint:
        err.hint = _FLOW_HINTS.get(err.code)
    return err


def token_set(result, action, secrets=()):
    if "access_token" not in result:
        raise flow_error(result, action, secrets)
    if not result.get("refresh_token"):
        raise IdentityError("%s returned no refresh token" % action, code="offline_access",
                            hint="the app needs the delegated offline_access permission with admin consent "
                                 "(entra_app + entra_admin_consent)")
    claims = result.get("id_token_claims") or {}
    access = jwt_claims(result["access_token"])
    user = (claims.get("preferred_username") or access.get("upn") or access.get("preferred_username")
            or access.get("unique_name") or "")
    scope = result.get("scope") or ""
    return TokenSet(
        access_token=result["access_token"], refresh_token=result["refresh_token"],
        scope=scope.split() if isinstance(scope, str) else list(scope),
        expires_in=int(result.get("expires_in") or 0), user=user,
        tenant_id=claims.get("tid") or access.get("tid") or "")


class OAuthClient:
    """One confidential client (the firewall's app) on one authority, with the CA and endpoints the user gave."""

    def __init__(self, authority_host, tenant_id, client_id, client_secret, session=None):
        self.authority = "%s/%s" % (authority_host.rstrip("/"), tenant_id)
        self.client_id = client_id
        self._secret = client_secret
        self._secrets = (client_secret,)
        self.session = session or http_session()
        self._app = None

    @classmethod
    def from_params(cls, params, session=None):
        cloud = resolve_cloud(params.get("cloud") or "public", authority_host=params.get("authority_host"))
        if not cloud.authority_host.startswith("https://"):
            raise IdentityError("authority_host must be an https:// URL, got %s" % cloud.authority_host,
                                code="authority_host", hint="use e.g. https://login.microsoftonline.com")
        return cls(cloud.authority_host, params.get("tenant_id") or "common", params["client_id"],
                   params.get("client_secret"), session or http_session(params.get("ca_path")))

    def add_secret(self, value):
        self._secrets += (value,)

    @property
    def app(self):
        if self._app is None:
            try:
                self._app = build_msal_app(self.client_id, self.authority, self.session, self._secret)
            except ValueError as exc:
                raise IdentityError("Reading the sign-in metadata from %s failed: %s"
                                    % (self.authority, scrub(str(exc), self._secrets)), code="authority",
                                    hint="check tenant_id and cloud/authority_host") from None
            except requests.RequestException as exc:
                raise self._connection_error(exc) from None
        return self._app

    def _call(self, action, func, *args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except requests.RequestException as exc:
            raise self._connection_error(exc) from None
        except msal.exceptions.MsalServiceError as exc:
            raise sign_in_service_error(action, exc) from None
        return token_set(result, action, self._secrets)

    def start_flow(self, redirect_uri, scopes, login_hint=None, prompt=None, stateless=False):
        """msal's auth-code flow (state, PKCE verifier, nonce); flow["auth_uri"] is the URL to open.

        ``stateless``: verifier and nonce derived from a fresh random state and the client secret, so that
        redeem_stateless can rebuild the flow from the redirect alone (see with_derived_secrets).
        """
        if stateless and not self._secret:
            raise IdentityError("A sign-in redeemed in a later run needs the app's client secret to make its URL",
                                code="client_secret",
                                hint="set client_secret (the firewall app's secret), or keep the returned auth_flow "
                                     "and pass it to oauth_refresh_token")
        app = self.app
        # form_post needs a web server that receives a POST; the loopback listener and a pasted address bar URL
        # both need the code in the query, so msal's advice does not apply here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            flow = app.initiate_auth_code_flow(msal_scopes(scopes), redirect_uri=redirect_uri,
                                               login_hint=login_hint or None, prompt=prompt or None,
                                               response_mode="query",
                                               state=new_state(self._secret, binding=sign_in_binding(login_hint))
                                               if stateless else None)
        if stateless:
            flow = with_derived_secrets(flow, self._secret)
        self._secrets += (flow["code_verifier"],)
        check_authorize_page(self.session, flow["auth_uri"])
        return flow

    def redeem_flow(self, flow, params):
        """Check the redirect's state against the flow and redeem its code (PKCE verifier from the flow)."""
        if params.get("state") != flow.get("state"):
            raise IdentityError("The authorization response belongs to another sign-in (state does not match)",
                                code="state_mismatch",
                                hint="use the redirect URL of the sign-in started with this auth_flow / state; "
                                     "start a new sign-in if in doubt")
        action = "Redeeming the authorization code for %s" % self.client_id
        if params.get("error"):
            raise redirect_error(params, "The sign-in")
        try:
            return self._call(action, self.app.acquire_token_by_auth_code_flow, dict(flow), params)
        except ValueError as exc:
            raise IdentityError("%s failed: %s" % (action, scrub(str(exc).split(":", maxsplit=1)[0], self._secrets)),
                                code="auth_flow",
                                hint="pass the auth_flow returned by oauth_authorize_url unchanged") from None
        except RuntimeError as exc:  # msal's ID token checks (nonce, max_age) after the code was redeemed
            raise IdentityError("%s returned an ID token that does not belong to this sign-in (%s)"
                                % (action, scrub(str(exc).split("(", maxsplit=1)[0].strip(), self._secrets)),
                                code="id_token", hint="start a new sign-in") from None

    def redeem_stateless(self, params, redirect_uri, scopes, login_hint=None):
        """Redeem the redirect of a sign-in made with start_flow(stateless=True), possibly in an earlier run, for the
        same login_hint."""
        if params.get("error"):  # nothing to redeem: the reason matters more than whose sign-in it was
            raise redirect_error(params, "The sign-in")
        flow = rebuild_flow(self._secret, params.get("state"), redirect_uri, scopes,
                            sign_in_binding(login_hint))
        self._secrets += (flow["code_verifier"],)
        try:
            return self.redeem_flow(flow, params)
        except IdentityError as err:
            if err.code == "AADSTS501481":
                err.hint = ("the code and the state in the pasted address come from two sign-ins: run again without "
                            "the address for a new sign-in URL and paste the address of that one sign-in, unchanged")
            raise

    def redeem_refresh_token(self, refresh_token, scopes):
        self.add_secret(refresh_token)
        return self._call("Redeeming the refresh token for %s" % self.client_id,
                          self.app.acquire_token_by_refresh_token, refresh_token, msal_scopes(scopes))

    def password_grant(self, username, password, scopes):
        self.add_secret(password)
        _skip_user_realm_discovery_on_custom_port(self.authority)
        return self._call("Signing in %s with a password (ROPC)" % username,
                          self.app.acquire_token_by_username_password, username, password, msal_scopes(scopes))

    def _connection_error(self, exc):
        return IdentityError("Could not reach the sign-in endpoint %s (%s)" % (self.authority, type(exc).__name__),
                             code="connection",
                             hint="check cloud/authority_host, the network or proxy, and ca_path for TLS trust")


def _skip_user_realm_discovery_on_custom_port(authority):
    """msal builds its user-realm URL from the host name alone and drops an explicit port (a proxy, a sandbox), so
    the lookup would go to port 443 of that host. A host on another port is a proxy or a test double, not a federated
    realm: mark it as one without user-realm discovery, which is msal's own fallback to the plain password grant."""
    parts = urllib.parse.urlsplit(authority)
    if parts.port and parts.port != 443:
        try:
            from msal.authority import Authority  # pylint: disable=import-outside-toplevel
            Authority._domains_without_user_realm_discovery.add(parts.hostname)  # pylint: disable=protected-access
        except (ImportError, AttributeError):
            pass


# ---------------------------------------------------------------------------------------------------------------
# The loopback listener (RFC 8252 section 7.3): 127.0.0.1 and ::1 only, one sign-in, state checked before it counts.

_PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"
         "<body><h1>%s</h1><p>%s</p></body></html>")


class _RedirectHandler(http.server.BaseHTTPRequestHandler):
    server_version = "mailoauth"
    sys_version = ""

    def do_GET(self):  # pylint: disable=invalid-name
        listener = self.server.listener
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True))
        if not params.get("code") and not params.get("error"):
            self._answer(404, "Not found", "Nothing here.", "This address only receives the sign-in redirect.")
            return
        if params.get("state") != listener.state:
            listener.rejected += 1
            self._answer(400, "Sign-in not accepted", "This sign-in does not belong to the running playbook.",
                         "The state parameter does not match. Start the sign-in from the URL the playbook printed.")
            return
        if params.get("error"):
            self._answer(200, "Sign-in failed", "The sign-in failed.",
                         "Return to the terminal: the playbook reports the reason.")
        else:
            self._answer(200, "Signed in", "Sign-in complete.", "You can close this window and return to the terminal.")
        listener.deliver(params)

    def _answer(self, status, title, heading, text):
        body = (_PAGE % (html.escape(title), html.escape(heading), html.escape(text))).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        # The request line carries the authorization code: never log it.
        return


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


class _IPv6Server(_Server):
    address_family = socket.AF_INET6

    def server_bind(self):
        # ::1 only, never an IPv4-mapped wildcard.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


# The redirect URI says localhost, which a browser may resolve to ::1 before 127.0.0.1; a machine without IPv6
# loopback has no ::1 at all (and then resolves localhost to 127.0.0.1 only).
_NO_IPV6_LOOPBACK = frozenset((errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT))
_PORT_TRIES = 8


class LoopbackListener:
    """Listens on 127.0.0.1:port and [::1]:port (where the machine has ::1) for the redirect; ``wait(timeout)``
    returns its query parameters or None."""

    def __init__(self, port=0):
        self.state = None
        self.rejected = 0
        self._params = None
        self._event = threading.Event()
        for dummy in range(_PORT_TRIES if not port else 1):
            self._servers = [self._bind(_Server, "127.0.0.1", port)]
            self.port = self._servers[0].server_address[1]
            try:
                self._servers.append(_IPv6Server(("::1", self.port), _RedirectHandler))
            except OSError as exc:
                if exc.errno in _NO_IPV6_LOOPBACK:
                    break
                self._servers[0].server_close()
                if not port and exc.errno == errno.EADDRINUSE:
                    continue  # the free IPv4 port is taken on ::1: try another
                raise IdentityError("Cannot listen on [::1]:%s for the sign-in redirect (%s)" % (
                    self.port, exc.strerror), code="loopback_port",
                    hint="another program uses this port on ::1, where a browser may send the redirect: choose "
                         "another loopback_port, or 0 for any free port") from None
            break
        else:
            raise IdentityError("Cannot find a port free on both 127.0.0.1 and ::1 for the sign-in redirect",
                                code="loopback_port", hint="set loopback_port to a port free on both") from None
        for server in self._servers:
            server.listener = self
        self._threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
                         for server in self._servers]

    @staticmethod
    def _bind(server_class, host, port):
        try:
            return server_class((host, port), _RedirectHandler)
        except OSError as exc:
            raise IdentityError("Cannot listen on %s:%s for the sign-in redirect (%s)" % (host, port, exc.strerror),
                                code="loopback_port",
                                hint="choose another loopback_port, or 0 for any free port") from None

    def start(self, state):
        self.state = state
        for thread in self._threads:
            thread.start()
        return self

    def deliver(self, params):
        if self._params is None:
            self._params = params
            self._event.set()

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while not self._event.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return None
        return self._params

    def close(self):
        for server, thread in zip(self._servers, self._threads):
            if thread.is_alive():
                server.shutdown()
            server.server_close()


# ---------------------------------------------------------------------------------------------------------------
# Options shared by oauth_authorize_url, oauth_refresh_token and smtp_oauth_check (doc_fragments/oauth_client.py)


def oauth_client_argument_spec(secret_required=True):
    spec = {
        "cloud": {"type": "str", "default": "public", "choices": list(CLOUD_NAMES)},
        "authority_host": {"type": "str"},
        "tenant_id": {"type": "str", "default": "common"},
        "client_id": {"type": "str", "required": True},
        "scopes": {"type": "list", "elements": "str"},
        "ca_path": {"type": "path"},
    }
    if secret_required:
        spec["client_secret"] = {"type": "str", "required": True, "no_log": True}
    return spec


def requested_scopes(params):
    return params.get("scopes") or default_scopes(resolve_cloud(params.get("cloud") or "public"))
