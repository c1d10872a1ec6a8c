"""What Exchange Online checks before it accepts AUTH XOAUTH2, and the reply it gives when a check fails.

The signing keys come from the Microsoft emulator's published JWKS (found through its OpenID discovery
document), and the mailbox's effective SMTP AUTH switch from its control endpoint, so this emulator agrees
with whatever the tenant emulator holds at the moment of the login.
"""

import json
import logging
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request

import jwt

log = logging.getLogger("sandbox.smtp.tokens")

EXCHANGE_AUDIENCES = ("https://outlook.office365.com", "https://outlook.office.com",
                      "00000002-0000-0ff1-ce00-000000000000")
OK = "235 2.7.0 Authentication successful"
BAD_TOKEN = "535 5.7.3 Authentication unsuccessful [SANDBOX.PROD.OUTLOOK.COM]"
TEMPORARY = "454 4.7.0 Temporary authentication failure"
DISABLED = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
            "Tenant/Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. "
            "[SANDBOX.PROD.OUTLOOK.COM]")


class TokenChecker:
    """check(user, token) -> (reply, reason). The reason is for the sandbox's auth log; it never holds the token."""

    def __init__(self, microsoft, ca_file):
        self.login_url = (microsoft.get("login_url") or "").rstrip("/")
        self.tenant = (microsoft.get("tenant") or {}).get("id") or "common"
        self._ssl = ssl.create_default_context(cafile=ca_file)
        self._jwks = None
        self._lock = threading.Lock()

    def _get(self, url):
        try:
            with urllib.request.urlopen(url, context=self._ssl, timeout=10) as resp:
                return resp.status, json.loads(resp.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as err:
            return err.code, None

    def _jwk_client(self):
        with self._lock:
            if self._jwks is None:
                status, config = self._get("%s/%s/v2.0/.well-known/openid-configuration" % (self.login_url, self.tenant))
                if status != 200 or not config or "jwks_uri" not in config:
                    raise RuntimeError("Microsoft emulator discovery answered %s" % status)
                self._jwks = jwt.PyJWKClient(config["jwks_uri"], cache_jwk_set=True, lifespan=60, ssl_context=self._ssl)
            return self._jwks

    def _claims(self, token):
        try:
            key = self._jwk_client().get_signing_key_from_jwt(token)
            return jwt.decode(token, key.key, algorithms=["RS256"], audience=list(EXCHANGE_AUDIENCES),
                              options={"require": ["exp", "aud"]}, leeway=0)
        except jwt.ExpiredSignatureError:
            raise ValueError("token expired") from None
        except jwt.InvalidAudienceError:
            raise ValueError("token audience is not Exchange Online") from None
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise ValueError("token rejected: %s" % type(exc).__name__) from None

    def mailbox(self, upn, tenant=None):
        """The mailbox's SMTP AUTH state in ``tenant`` (the token's tid), or None if that tenant has no such mailbox."""
        url = "%s/_sandbox/mailboxes/%s" % (self.login_url, urllib.parse.quote(upn, safe="@"))
        if tenant:
            url += "?tenant=" + urllib.parse.quote(tenant, safe="")
        status, body = self._get(url)
        return body if status == 200 else None

    def check(self, user, token):
        """(reply, reason) for an XOAUTH2 login."""
        return self.check_login(user, token)[:2]

    def check_login(self, user, token):
        """(reply, reason, tenant id or None): the mailbox is looked up in the tenant that issued the token."""
        try:
            claims = self._claims(token)
        except ValueError as exc:
            return BAD_TOKEN, str(exc), None
        except (RuntimeError, OSError) as exc:
            return TEMPORARY, "Microsoft emulator unreachable: %s" % exc, None
        tenant = claims.get("tid") if isinstance(claims.get("tid"), str) else None
        scopes = (claims.get("scp") or "").split()
        if "SMTP.Send" not in scopes:
            return BAD_TOKEN, "token has no SMTP.Send scope (app-only tokens cannot log in to SMTP)", tenant
        token_user = claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name") or ""
        if token_user.lower() != user.lower():
            return BAD_TOKEN, "user= does not match the token's user", tenant
        if not tenant:
            return BAD_TOKEN, "token has no tenant (tid)", None
        try:
            mailbox = self.mailbox(user, tenant)
        except OSError as exc:
            return TEMPORARY, "Microsoft emulator unreachable: %s" % exc, tenant
        if mailbox is None:
            return BAD_TOKEN, "no such mailbox in the token's tenant", tenant
        if mailbox.get("smtp_auth_disabled"):
            return DISABLED, "SMTP AUTH disabled for the mailbox (or the organisation it follows)", tenant
        return OK, "authenticated", tenant
