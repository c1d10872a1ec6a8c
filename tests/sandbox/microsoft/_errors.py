"""Error replies shaped like the real services' (identity platform AADSTS JSON, Graph OData errors)."""

import datetime
import html
import uuid

from .._http import Response, json_response

# AADSTS code -> (OAuth error, message template). Texts follow the identity platform's published messages.
AADSTS = {
    50011: ("invalid_request", "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                               "configured for the application '{client_id}'. Make sure the redirect URI sent in the request "
                               "matches one added to your application in the Azure portal. Navigate to "
                               "https://aka.ms/redirectUriMismatchError to learn more about how to fix this."),
    50034: ("invalid_grant", "The user account {{EUII Hidden}} does not exist in the {tenant} directory. To sign into this "
                             "application, the account must be added to the directory."),
    50076: ("invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a new "
                             "location, you must use multi-factor authentication to access '{resource}'."),
    50126: ("invalid_grant", "Error validating credentials due to invalid username or password."),
    50196: ("temporarily_unavailable", "The server terminated an operation because it encountered a client request "
                                       "loop. Please contact your app vendor."),
    50173: ("invalid_grant", "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
                             "might have changed or reset their password. The grant was issued on '{issued}' and the "
                             "TokensValidFrom date (before which tokens are not valid) for this user is '{valid_from}'."),
    50194: ("invalid_request", "Application '{client_id}'({name}) is not configured as a multi-tenant application. Usage of "
                               "the /common endpoint is not supported for such applications created after '10/15/2018'. "
                               "Use a tenant-specific endpoint or configure the application to be multi-tenant."),
    9001023: ("invalid_request", "The grant type is not supported over the /common or /consumers endpoints. Please use "
                                 "the /organizations or tenant-specific endpoint."),
    50059: ("invalid_request", "No tenant-identifying information found in either the request or implied by any "
                               "provided credentials."),
    700005: ("invalid_grant", "Provided Authorization Code is intended to use against other tenant, thus rejected."),
    54005: ("invalid_grant", "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
                             "existing refresh token."),
    65001: ("invalid_grant", "The user or administrator has not consented to use the application with ID '{client_id}' named "
                             "'{name}'. Send an interactive authorization request for this user and resource."),
    70000: ("invalid_grant", "The request was denied because one or more scopes requested are unauthorized or expired. The "
                             "user must first sign in and grant the client application access to the requested scope."),
    70002: ("invalid_client", "The client does not exist or is not enabled for consumers."),
    70003: ("unsupported_grant_type", "The app requested an unsupported grant type '{grant_type}'."),
    70008: ("invalid_grant", "The provided authorization code or refresh token has expired due to inactivity. Send a new "
                             "interactive authorization request for this user and resource."),
    70011: ("invalid_scope", "The provided request must include a 'scope' input parameter. The provided value for the input "
                             "parameter 'scope' is not valid. The scope '{scope}' is not valid."),
    70016: ("authorization_pending", "OAuth 2.0 device flow error. Authorization is pending. Continue polling."),
    70019: ("authorization_declined", "Verification code expired."),
    70020: ("expired_token", "The provided value for the input parameter 'device_code' is not valid. The device code has expired."),
    28000: ("invalid_scope", "Provided value for the input parameter scope is not valid because it contains more than one "
                             "resource. Scope {scope} is not valid."),
    90002: ("invalid_request", "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                               "into the correct cloud. Check with your subscription administrator, this may happen if there "
                               "are no active subscriptions for the tenant."),
    90033: ("temporarily_unavailable", "A transient error has occurred. Please try again."),
    900144: ("invalid_request", "The request body must contain the following parameter: '{parameter}'."),
    9002313: ("invalid_request", "Invalid request. Request is malformed or invalid."),
    500011: ("invalid_resource", "The resource principal named {resource} was not found in the tenant named {tenant}. This can "
                                 "happen if the application has not been installed by the administrator of the tenant or "
                                 "consented to by any user in the tenant. You might have sent your authentication request to "
                                 "the wrong tenant."),
    500112: ("invalid_grant", "The reply address '{redirect_uri}' does not match the reply address provided when requesting "
                              "Authorization code."),
    501481: ("invalid_grant", "The Code_Verifier does not match the code_challenge supplied in the authorization request."),
    700016: ("unauthorized_client", "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This "
                                    "can happen if the application has not been installed by the administrator of the tenant "
                                    "or consented to by any user in the tenant. You may have sent your authentication request "
                                    "to the wrong tenant."),
    700025: ("invalid_client", "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."),
    700027: ("invalid_client", "Client assertion failed signature validation. {reason}"),
    700082: ("invalid_grant", "The refresh token has expired due to inactivity. The token was issued on {issued} and was "
                              "inactive for {inactive}."),
    1002012: ("invalid_scope", "The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                               "value with /.default suffixed to the resource identifier (application ID URI)."),
    7000215: ("invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                                "secret value, not the client secret ID, for a secret added to app '{client_id}'."),
    7000218: ("invalid_client", "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    7000222: ("invalid_client", "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to "
                                "create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate "
                                "credentials for added security: https://aka.ms/certCreds."),
}


class _SafeDict(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def now_stamp(now=None):
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc) if now else datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def aadsts(code, now=None, **values):
    """The JSON body and status of an identity-platform error for AADSTS ``code``."""
    error, template = AADSTS[code]
    trace_id, correlation_id, stamp = str(uuid.uuid4()), str(uuid.uuid4()), now_stamp(now)
    message = template.format_map(_SafeDict(values))
    body = {
        "error": error,
        "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
            code, message, trace_id, correlation_id, stamp),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    }
    status = 401 if error == "invalid_client" else 500 if code == 90033 else 400
    return status, body


class LoginError(Exception):
    """Raised inside the login app; becomes an AADSTS reply."""

    def __init__(self, code, **values):
        super().__init__(code)
        self.code = code
        self.values = values

    def response(self, now=None):
        status, body = aadsts(self.code, now, **self.values)
        return json_response(body, status, {"x-ms-request-id": body["trace_id"], "Cache-Control": "no-store, no-cache"})

    def page(self, now=None):
        """The HTML error page the login UI shows when it must not redirect (e.g. AADSTS50011)."""
        dummy, body = aadsts(self.code, now, **self.values)
        text = ("<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>"
                "<h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">%s</p>"
                "<p>Request Id: %s</p><p>Correlation Id: %s</p></body></html>") % (
            html.escape(body["error_description"]), body["trace_id"], body["correlation_id"])
        return Response(400 if self.code != 50011 else 200, text, content_type="text/html; charset=utf-8")


class GraphError(Exception):
    """Raised inside the Graph app; becomes an OData error reply."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def graph_error_response(request, status, code, message, headers=None):
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    body = {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id, "client-request-id": client_request_id}}}
    all_headers = {"request-id": request_id, "client-request-id": client_request_id}
    all_headers.update(headers or {})
    return json_response(body, status, all_headers)
