"""The Exchange Online admin API (what ExchangeOnlineManagement v3 calls): InvokeCommand with a few cmdlets."""

import json
import uuid

import jwt

from .._http import Response, json_response
from ._store import EXCHANGE_ADMINISTRATOR, EXCHANGE_RECIPIENT_ADMINISTRATOR
from ._tokens import EXCHANGE_APP_ID, EXCHANGE_RESOURCE

AUDIENCES = (EXCHANGE_RESOURCE, EXCHANGE_RESOURCE + "/", EXCHANGE_APP_ID)
SUFFICIENT_DIRECTORY_ROLES = (
    EXCHANGE_ADMINISTRATOR,
    "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
    EXCHANGE_RECIPIENT_ADMINISTRATOR,
)
SERVER = "AM0PR01MB0001.EURPRD01.PROD.OUTLOOK.COM"
CAS_BOOLEANS = ("ImapEnabled", "PopEnabled", "ActiveSyncEnabled", "OWAEnabled", "MAPIEnabled", "EwsEnabled")
PARAMETERS = {
    "Get-CASMailbox": {"Identity", "ResultSize"},
    "Set-CASMailbox": {"Identity", "SmtpClientAuthenticationDisabled"} | set(CAS_BOOLEANS),
    "Get-Mailbox": {"Identity", "ResultSize"},
    "Get-TransportConfig": set(),
    "Set-TransportConfig": {"SmtpClientAuthenticationDisabled"},
}


class CmdletError(Exception):
    def __init__(self, status, exception_type, message):
        super().__init__(message)
        self.status = status
        self.exception_type = exception_type
        self.message = message


def error_response(status, exception_type, message):
    """The admin API's error: 'Invalid Operation' on top, the useful text in innererror and details[0]."""
    body = {"error": {
        "code": "InternalServerError" if status >= 500 else "BadRequest",
        "message": "Invalid Operation",
        "details": [{"code": "Context", "target": "", "message": "|%s|%s" % (exception_type, message)}],
        "innererror": {"message": "Invalid Operation", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                       "stacktrace": "", "internalexception": {"message": message, "type": exception_type,
                                                               "stacktrace": ""}},
        "@adminapi.warnings": [],
    }}
    return json_response(body, status, {"request-id": str(uuid.uuid4())})


class ExchangeApp:
    """``app(request)`` for the Exchange host: ``POST /adminapi/beta/{tenant}/InvokeCommand``."""

    def __init__(self, store, signer, urls):
        self.store = store
        self.signer = signer
        self.urls = urls

    def __call__(self, request):
        parts = [p for p in request.path.split("/") if p]
        if len(parts) != 4 or parts[:2] != ["adminapi", "beta"] or parts[3] != "InvokeCommand":
            return Response(404, "", content_type="text/html")
        if request.method != "POST":
            return Response(405, "", {"Allow": "POST"})
        denied = self.authorize(request, parts[2])
        if denied is not None:
            return denied
        fault = self.store.take_fault("exchange")
        if fault:
            status, retry_after = fault
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return json_response({"error": {"code": "TooManyRequests" if status == 429 else "ServiceUnavailable",
                                            "message": "The request was throttled. Retry later." if status == 429
                                            else "The service is temporarily unavailable."}}, status, headers)
        try:
            payload = request.json()
            cmdlet = payload["CmdletInput"]["CmdletName"]
            params = payload["CmdletInput"].get("Parameters") or {}
            if not isinstance(params, dict) or not isinstance(cmdlet, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return error_response(400, "System.ArgumentException",
                                  "The request body must be {\"CmdletInput\":{\"CmdletName\":...,\"Parameters\":{...}}}.")
        try:
            with self.store.lock:
                value = self.run(cmdlet, params)
        except CmdletError as err:
            return error_response(err.status, err.exception_type, err.message)
        return json_response({"@odata.context": "%s/adminapi/beta/%s/$metadata#Collection(Exchange.GenericHashTable)"
                                                % (self.urls["exchange_url"], parts[2]),
                              "@adminapi.warnings": [], "value": value})

    def authorize(self, request, tenant_segment):
        """401 without a valid token carrying Exchange.ManageAsApp; 403 (a NUL-byte body) without a directory role."""
        unauthorized = Response(401, b"", {"WWW-Authenticate": 'Bearer client_id="%s", trusted_issuers="00000001-0000-'
                                           '0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_'
                                           'app_v1", authorization_uri="%s/common/oauth2/authorize", error="invalid_token"'
                                           % (EXCHANGE_APP_ID, self.urls["login_url"])})
        token = request.bearer()
        if not token:
            return unauthorized
        try:
            claims = self.signer.verify(token, AUDIENCES, self.store.now())
        except jwt.InvalidTokenError:
            return unauthorized
        tenant = self.store.tenant
        if claims.get("tid") != tenant["id"] or tenant_segment.lower() not in (tenant["id"], tenant["domain"].lower()):
            return unauthorized
        if "roles" in claims:
            if "Exchange.ManageAsApp" not in claims["roles"]:
                return unauthorized
            sp = self.store.service_principals.get(claims.get("oid"))
            if sp is None or not set(self.store.directory_roles_of(sp["id"])) & set(SUFFICIENT_DIRECTORY_ROLES):
                return Response(403, b"\x00" * 32, content_type="application/octet-stream")
            return None
        user = self.store.user(claims.get("upn"))
        if "Exchange.Manage" not in (claims.get("scp") or "").split() or user is None:
            return unauthorized
        if not user["_admin"]:
            return Response(403, b"\x00" * 32, content_type="application/octet-stream")
        return None

    # -- cmdlets -----------------------------------------------------------------------------------------
    def run(self, cmdlet, params):
        if cmdlet not in PARAMETERS:
            raise CmdletError(400, "System.Management.Automation.CommandNotFoundException",
                              "The term '%s' is not recognized as a name of a cmdlet, function, script file, or "
                              "executable program." % cmdlet)
        for name in params:
            if name not in PARAMETERS[cmdlet]:
                raise CmdletError(400, "System.Management.Automation.ParameterBindingException",
                                  "A parameter cannot be found that matches parameter name '%s'." % name)
        return getattr(self, cmdlet.replace("-", "_").lower())(params)

    def mailbox(self, identity):
        if not isinstance(identity, str) or not identity:
            raise CmdletError(400, "System.Management.Automation.ParameterBindingException",
                              "Cannot bind argument to parameter 'Identity' because it is an empty string.")
        wanted = identity.lower()
        for upn, user in self.store.users.items():
            if wanted in (upn, user["id"], upn.partition("@")[0], user["displayName"].lower()):
                return upn
        raise CmdletError(400, "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                          "The operation couldn't be performed because object '%s' couldn't be found on '%s'." %
                          (identity, SERVER))

    def cas_view(self, upn):
        user, box = self.store.users[upn], self.store.mailboxes[upn]
        alias = upn.partition("@")[0]
        view = {"Identity": alias, "Name": alias, "DisplayName": user["displayName"],
                "PrimarySmtpAddress": user["userPrincipalName"], "ExternalDirectoryObjectId": user["id"],
                "Guid": str(uuid.uuid5(uuid.NAMESPACE_URL, user["id"]))}
        view.update(box)
        return view

    def get_casmailbox(self, params):
        if "Identity" in params:
            return [self.cas_view(self.mailbox(params["Identity"]))]
        return [self.cas_view(upn) for upn in sorted(self.store.mailboxes)]

    def get_mailbox(self, params):
        upns = [self.mailbox(params["Identity"])] if "Identity" in params else sorted(self.store.mailboxes)
        return [{"Identity": upn.partition("@")[0], "UserPrincipalName": self.store.users[upn]["userPrincipalName"],
                 "PrimarySmtpAddress": self.store.users[upn]["userPrincipalName"], "RecipientTypeDetails": "UserMailbox",
                 "ExternalDirectoryObjectId": self.store.users[upn]["id"]} for upn in upns]

    def set_casmailbox(self, params):
        if "Identity" not in params:
            raise CmdletError(400, "System.Management.Automation.ParameterBindingException",
                              "Cannot process command because of one or more missing mandatory parameters: Identity.")
        upn = self.mailbox(params["Identity"])
        changes = {}
        for name, value in params.items():
            if name == "Identity":
                continue
            if not isinstance(value, bool) and not (value is None and name == "SmtpClientAuthenticationDisabled"):
                raise CmdletError(400, "System.Management.Automation.ParameterBindingException",
                                  "Cannot process argument transformation on parameter '%s'. Cannot convert value "
                                  "\"%s\" to type \"System.%s\"." % (name, json.dumps(value), "Nullable`1[System.Boolean]"
                                                                    if name == "SmtpClientAuthenticationDisabled"
                                                                    else "Boolean"))
            changes[name] = value
        self.store.mailboxes[upn].update(changes)
        return []

    def get_transportconfig(self, params):
        del params
        return [{"Identity": "Transport Settings", "Name": "Transport Settings",
                 "SmtpClientAuthenticationDisabled": self.store.config["org_smtp_auth_disabled"]}]

    def set_transportconfig(self, params):
        value = params.get("SmtpClientAuthenticationDisabled")
        if "SmtpClientAuthenticationDisabled" in params:
            if not isinstance(value, bool):
                raise CmdletError(400, "System.Management.Automation.ParameterBindingException",
                                  "Cannot process argument transformation on parameter 'SmtpClientAuthenticationDisabled'. "
                                  "Cannot convert value \"%s\" to type \"System.Boolean\"." % json.dumps(value))
            self.store.config["org_smtp_auth_disabled"] = value
        return []
