"""Microsoft Graph v1.0: applications, service principals, delegated permission grants, deleted items."""

import base64
import re
import secrets
import urllib.parse
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .._http import Response, json_response
from ._errors import GraphError, graph_error_response
from ._store import DIRECTORY_ROLES, iso, merge, new_secret, parse_iso, password_credential, public
from ._tokens import GRAPH_APP_ID, GRAPH_RESOURCE

AUDIENCES = (GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID)
SEGMENT = re.compile(r"^(\w+)(?:\((\w+)='((?:[^']|'')*)'\))?$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CLAUSE_EQ = re.compile(r"^\s*(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(true|false|null))\s*$", re.I)
CLAUSE_STARTSWITH = re.compile(r"^\s*startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$", re.I)
AUDIENCE_VALUES = ("AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount")
APP_PROPERTIES = {"displayName", "description", "notes", "signInAudience", "identifierUris", "tags", "isFallbackPublicClient",
                  "web", "publicClient", "spa", "requiredResourceAccess", "keyCredentials", "uniqueName", "api", "info",
                  "optionalClaims", "groupMembershipClaims", "appRoles", "serviceManagementReference",
                  "tokenEncryptionKeyId", "parentalControlSettings", "isDeviceOnlyAuthSupported", "samlMetadataUrl"}
SP_PROPERTIES = {"appId", "accountEnabled", "tags", "notes", "description", "appRoleAssignmentRequired",
                 "preferredSingleSignOnMode", "loginUrl", "notificationEmailAddresses", "homepage"}
FILTERABLE = {
    "applications": ("id", "appId", "displayName", "uniqueName", "signInAudience", "publisherDomain"),
    "servicePrincipals": ("id", "appId", "displayName", "servicePrincipalType", "accountEnabled"),
    "oauth2PermissionGrants": ("id", "clientId", "resourceId", "consentType", "principalId"),
    "roleAssignments": ("id", "principalId", "roleDefinitionId", "directoryScopeId"),
}
RESOURCE_NAMES = {"applications": "Application", "servicePrincipals": "ServicePrincipal",
                  "oauth2PermissionGrants": "OAuth2PermissionGrant", "roleAssignments": "UnifiedRoleAssignment"}
READ_ROLES = {"applications": ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                               "Directory.ReadWrite.All"),
              "oauth2PermissionGrants": ("DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All",
                                         "Directory.ReadWrite.All")}
WRITE_ROLES = {"applications": ("Application.ReadWrite.All", "Directory.ReadWrite.All"),
               "oauth2PermissionGrants": ("DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All")}
# Granting an app role takes AppRoleAssignment.ReadWrite.All *and* a permission to read the service principals.
ASSIGNMENT_SEGMENTS = ("appRoleAssignedTo", "appRoleAssignments")
APP_ROLE_ASSIGNMENT_WRITE = ("AppRoleAssignment.ReadWrite.All",)
ROLE_MANAGEMENT_READ = ("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All",
                        "Directory.ReadWrite.All")
ROLE_MANAGEMENT_WRITE = ("RoleManagement.ReadWrite.Directory",)


def _bad(message, code="Request_BadRequest", status=400):
    return GraphError(status, code, message)


def _not_found(key):
    return GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                                                       "reference-property objects are not present." % key)


def _invalid(prop, resource):
    return _bad("Invalid value specified for property '%s' of resource '%s'." % (prop, resource))


class GraphApp:
    """``app(request)`` for the Graph host; the API lives under /v1.0."""

    def __init__(self, store, signer, urls):
        self.store = store
        self.signer = signer
        self.urls = urls

    def __call__(self, request):
        try:
            if not request.path.startswith("/v1.0/"):
                raise _bad("Invalid version: %s" % request.path.split("/")[1:2], "BadRequest")
            claims = self.authenticate(request)
            fault = self.store.take_fault("graph")
            if fault:
                status, retry_after = fault
                code = {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "UnknownError")
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                raise GraphError(status, code, "Too many requests." if status == 429 else
                                 "The service is currently unavailable. Please retry.", headers)
            # split before decoding: a key literal may hold an encoded "/"
            segments = [urllib.parse.unquote(s) for s in request.raw_path[len("/v1.0/"):].split("/") if s]
            with self.store.lock:
                response = self.route(request, segments, claims)
        except GraphError as err:
            response = graph_error_response(request, err.status, err.code, err.message, err.headers)
        response.headers.setdefault("request-id", str(uuid.uuid4()))
        response.headers.setdefault("client-request-id", request.headers.get("client-request-id")
                                    or response.headers["request-id"])
        return response

    # -- auth --------------------------------------------------------------------------------------------
    def authenticate(self, request):
        token = request.bearer()
        headers = {"WWW-Authenticate": 'Bearer realm="", authorization_uri="%s/common/oauth2/authorize", client_id="%s"'
                                       % (self.urls["login_url"], GRAPH_APP_ID)}
        if not token:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", headers)
        try:
            claims = self.signer.verify(token, AUDIENCES, self.store.now())
        except jwt.ExpiredSignatureError:
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.",
                             headers) from None
        except jwt.InvalidAudienceError:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.",
                             headers) from None
        except jwt.InvalidTokenError:
            raise GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).",
                             headers) from None
        if claims.get("tid") != self.store.tenant["id"]:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.", headers)
        return claims

    def require(self, claims, allowed):
        held = set(claims.get("roles") or []) | set((claims.get("scp") or "").split())
        # a delegated call is limited by the signed-in user's own directory role too
        user = self.store.user(claims.get("upn")) if "scp" in claims else None
        if not held & set(allowed) or ("scp" in claims and not (user and user["_admin"])):
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

    # -- routing -----------------------------------------------------------------------------------------
    def route(self, request, segments, claims):
        if not segments:
            raise _bad("Resource not found for the segment ''.", "BadRequest")
        match = SEGMENT.match(segments[0])
        if segments[:2] == ["directory", "deletedItems"]:
            self.require(claims, WRITE_ROLES["applications"])
            return self.deleted_items(request, segments[2:])
        if segments[:3] == ["roleManagement", "directory", "roleAssignments"]:
            self.require(claims, ROLE_MANAGEMENT_WRITE if request.method != "GET" else ROLE_MANAGEMENT_READ)
            return self.role_assignments(request, segments[3:])
        if not match or match.group(1) not in FILTERABLE:
            raise _bad("Resource not found for the segment '%s'." % segments[0], "BadRequest")
        collection, key_name, key_value = match.group(1), match.group(2), match.group(3)
        roles = "oauth2PermissionGrants" if collection == "oauth2PermissionGrants" else "applications"
        write = request.method != "GET"
        if collection == "servicePrincipals" and write and set(segments[1:]) & set(ASSIGNMENT_SEGMENTS):
            self.require(claims, APP_ROLE_ASSIGNMENT_WRITE)
            write = False
        self.require(claims, WRITE_ROLES[roles] if write else READ_ROLES[roles])
        if key_value is not None:
            key_value = key_value.replace("''", "'")
            if key_name not in {"applications": ("appId", "uniqueName"), "servicePrincipals": ("appId",)}.get(collection, ()):
                raise _bad("The alternate key '%s' is not supported on %s." % (key_name, collection), "BadRequest")
        elif len(segments) > 1:
            key_name, key_value = "id", segments[1]
            segments = segments[:1] + segments[2:]
        else:
            return self.collection(request, collection)
        return getattr(self, "one_" + collection)(request, key_name, key_value, segments[1:])

    def find(self, collection, key_name, key_value, replicated=True):
        objects = {"applications": self.store.applications, "servicePrincipals": self.store.service_principals,
                   "oauth2PermissionGrants": self.store.grants}[collection]
        for obj in objects.values():
            if str(obj.get(key_name) or "").lower() == key_value.lower():
                if replicated and not self.store.replicated(obj["id"]):
                    break
                return obj
        if key_name == "id":
            raise _not_found(key_value)
        raise _not_found("%s(%s='%s')" % (collection, key_name, key_value))

    # -- collections -------------------------------------------------------------------------------------
    def collection(self, request, collection):
        if request.method == "POST":
            body = self.body(request)
            created = getattr(self, "create_" + collection)(body)
            return json_response(self.view(collection, created), 201,
                                 {"Location": "%s/v1.0/%s/%s" % (self.urls["graph_url"], collection, created["id"])})
        if request.method != "GET":
            raise GraphError(405, "Request_BadRequest", "Method not allowed.")
        objects = {"applications": self.store.applications, "servicePrincipals": self.store.service_principals,
                   "oauth2PermissionGrants": self.store.grants}[collection]
        matches = self.filter(collection, list(objects.values()), request.query.get("$filter"))
        try:
            top = min(int(request.query.get("$top", 100)), 999)
            offset = int(base64.urlsafe_b64decode(request.query["$skiptoken"]).decode()) if "$skiptoken" in request.query else 0
        except ValueError:
            raise _bad("Invalid $top or $skiptoken value.") from None
        if top < 1:
            raise _bad("Invalid page size specified: '%d'. Must be between 1 and 999 inclusive." % top)
        page = matches[offset:offset + top]
        body = {"@odata.context": "%s/v1.0/$metadata#%s" % (self.urls["graph_url"], collection),
                "value": [self.select(self.view(collection, obj), request) for obj in page]}
        if offset + top < len(matches):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = base64.urlsafe_b64encode(str(offset + top).encode()).decode()
            body["@odata.nextLink"] = "%s%s?%s" % (self.urls["graph_url"], request.raw_path, urllib.parse.urlencode(query))
        return json_response(body)

    def filter(self, collection, objects, text):
        if not text:
            return [obj for obj in objects if obj["id"] not in self.store.invisible or self.store.replicated(obj["id"])]
        tests = []
        for clause in re.split(r"\s+and\s+", text, flags=re.I):
            match_eq, match_sw = CLAUSE_EQ.match(clause), CLAUSE_STARTSWITH.match(clause)
            match = match_eq or match_sw
            if not match or match.group(1) not in FILTERABLE[collection]:
                prop = match.group(1) if match else clause.strip()
                raise _bad("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'."
                           % (prop, RESOURCE_NAMES[collection]), "Request_UnsupportedQuery")
            if match_eq:
                literal = match.group(2).replace("''", "'") if match.group(2) is not None else \
                    {"true": True, "false": False, "null": None}[match.group(3).lower()]
                tests.append((match.group(1), "eq", literal))
            else:
                tests.append((match.group(1), "startswith", match.group(2).replace("''", "'")))
        result = []
        for obj in objects:
            if all(_matches(obj.get(prop), op, literal) for prop, op, literal in tests):
                if obj["id"] in self.store.invisible and not self.store.replicated(obj["id"]):
                    continue
                result.append(obj)
        return result

    @staticmethod
    def select(view, request):
        fields = [f.strip() for f in request.query.get("$select", "").split(",") if f.strip()]
        return {k: v for k, v in view.items() if k in fields or k.startswith("@")} if fields else view

    @staticmethod
    def body(request):
        try:
            body = request.json()
        except ValueError:
            raise _bad("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
                       "valid JSON format.") from None
        if not isinstance(body, dict):
            raise _bad("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
                       "valid JSON format.")
        return body

    def view(self, collection, obj):
        view = public(obj)
        if collection == "applications":
            for cred in view["passwordCredentials"]:
                cred["secretText"] = None
            # Graph returns a certificate's key only to GET /applications/{id}?$select=keyCredentials.
            for cred in view["keyCredentials"]:
                cred["key"] = None
        return view

    # -- applications ------------------------------------------------------------------------------------
    def validate_application(self, body, existing=None):
        for prop in body:
            if prop.startswith("@odata."):
                continue
            if prop == "passwordCredentials":
                raise _bad("Property 'passwordCredentials' is read-only and cannot be set: use addPassword.")
            if prop not in APP_PROPERTIES:
                raise _bad("Property '%s' does not exist as a declared property or extension property." % prop)
        if existing is None and not (isinstance(body.get("displayName"), str) and body["displayName"].strip()):
            raise _invalid("displayName", "Application")
        if "displayName" in body and not (isinstance(body["displayName"], str) and body["displayName"].strip()):
            raise _invalid("displayName", "Application")
        if "signInAudience" in body and body["signInAudience"] not in AUDIENCE_VALUES:
            raise _invalid("signInAudience", "Application")
        if "uniqueName" in body:
            if existing is not None and existing.get("uniqueName") and body["uniqueName"] != existing["uniqueName"]:
                raise _bad("Property 'uniqueName' is immutable and cannot be changed once set.")
            if not isinstance(body["uniqueName"], str) or not body["uniqueName"]:
                raise _invalid("uniqueName", "Application")
            clash = [a for a in self.store.applications.values()
                     if (a.get("uniqueName") or "").lower() == body["uniqueName"].lower() and a is not existing]
            if clash:
                raise GraphError(400, "Request_MultipleObjectsWithSameKeyValue",
                                 "Another object with the same value for property uniqueName already exists.")
        for platform in ("web", "publicClient", "spa"):
            if platform in body:
                value = body[platform]
                if not isinstance(value, dict) or not isinstance(value.get("redirectUris", []), list):
                    raise _invalid(platform, "Application")
                for uri in value.get("redirectUris", []):
                    if not _valid_redirect_uri(uri, platform):
                        raise _invalid(platform + ".redirectUris", "Application")
        if "requiredResourceAccess" in body:
            rra = body["requiredResourceAccess"]
            if not isinstance(rra, list) or not all(
                    isinstance(item, dict) and GUID.match(str(item.get("resourceAppId", ""))) and
                    isinstance(item.get("resourceAccess"), list) and all(
                        isinstance(access, dict) and GUID.match(str(access.get("id", ""))) and
                        access.get("type") in ("Scope", "Role") for access in item["resourceAccess"])
                    for item in rra):
                raise _invalid("requiredResourceAccess", "Application")
        if "keyCredentials" in body:
            creds = body["keyCredentials"]
            if not isinstance(creds, list):
                raise _invalid("keyCredentials", "Application")
            key_ids = set()
            for cred in creds:
                if not isinstance(cred, dict) or cred.get("type") != "AsymmetricX509Cert" or \
                        cred.get("usage", "Verify") != "Verify" or not isinstance(cred.get("key"), str):
                    raise _invalid("keyCredentials", "Application")
                try:
                    cert = x509.load_der_x509_certificate(base64.b64decode(cred["key"], validate=True))
                except ValueError:
                    raise _invalid("keyCredentials", "Application") from None
                cred.setdefault("keyId", str(uuid.uuid4()))
                if cred["keyId"] in key_ids:
                    raise _invalid("keyCredentials", "Application")
                key_ids.add(cred["keyId"])
                cred.setdefault("usage", "Verify")
                cred.setdefault("startDateTime", iso(cert.not_valid_before_utc.timestamp()))
                cred.setdefault("endDateTime", iso(cert.not_valid_after_utc.timestamp()))
                cred.setdefault("displayName", cert.subject.rfc4514_string())
                cred.setdefault("customKeyIdentifier",
                                base64.b64encode(cert.fingerprint(hashes.SHA1())).decode("ascii"))  # nosec - thumbprint

    def create_applications(self, body):
        self.validate_application(body)
        app = self.store.new_application(body)
        self.store.mark_created(app["id"])
        return app

    def one_applications(self, request, key_name, key_value, rest):
        if key_name == "uniqueName" and request.method == "PATCH" and not rest:
            return self.upsert_application(request, key_value)
        app = self.find("applications", key_name, key_value)
        if rest == ["addPassword"] and request.method == "POST":
            return self.add_password(request, app)
        if rest == ["removePassword"] and request.method == "POST":
            return self.remove_password(request, app)
        if rest:
            raise _bad("Resource not found for the segment '%s'." % rest[0], "BadRequest")
        if request.method == "GET":
            view = self.view("applications", app)
            if "keyCredentials" in request.query.get("$select", "").split(","):
                view["keyCredentials"] = public(app["keyCredentials"])
            return json_response(self.select(dict(view, **{
                "@odata.context": "%s/v1.0/$metadata#applications/$entity" % self.urls["graph_url"]}), request))
        if request.method == "PATCH":
            body = self.body(request)
            self.validate_application(body, existing=app)
            merge(app, body)
            return Response(204)
        if request.method == "DELETE":
            self.delete_application(app)
            return Response(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    def upsert_application(self, request, unique_name):
        body = self.body(request)
        if "uniqueName" in body and body["uniqueName"] != unique_name:
            raise _bad("The uniqueName in the body must match the key in the URL.")
        body = dict(body, uniqueName=unique_name)
        try:
            app = self.find("applications", "uniqueName", unique_name, replicated=False)
        except GraphError:
            app = None
        if app is not None:
            self.validate_application(body, existing=app)
            merge(app, body)
            return Response(204)
        if "create-if-missing" not in request.headers.get("Prefer", "").lower():
            raise _not_found("applications(uniqueName='%s')" % unique_name)
        created = self.create_applications(body)
        return json_response(self.view("applications", created), 201)

    def delete_application(self, app):
        store = self.store
        del store.applications[app["id"]]
        app["deletedDateTime"] = iso(store.now())
        store.deleted[app["id"]] = app
        sp = store.sp_by_app_id(app["appId"])
        if sp is not None:
            self.delete_service_principal(sp)

    def add_password(self, request, app):
        body = self.body(request) if request.body else {}
        spec = body.get("passwordCredential") or {}
        now = self.store.now()
        try:
            start = parse_iso(spec["startDateTime"]) if spec.get("startDateTime") else now
            end = parse_iso(spec["endDateTime"]) if spec.get("endDateTime") else start + 2 * 365 * 86400
        except (TypeError, ValueError):
            raise _invalid("endDateTime", "PasswordCredential") from None
        if end <= start:
            raise _bad("Key credential end date is invalid.")
        if end - start > self.store.config["secret_max_lifetime_days"] * 86400 + 86400:
            raise _bad("Credential lifetime exceeds the max value allowed as per assigned policy.")
        secret = new_secret()
        cred = password_credential(secret, spec.get("displayName"), start, end)
        app["passwordCredentials"].append(cred)
        result = dict(public(cred), secretText=secret)
        result["@odata.context"] = "%s/v1.0/$metadata#microsoft.graph.passwordCredential" % self.urls["graph_url"]
        return json_response(result)

    def remove_password(self, request, app):
        key_id = self.body(request).get("keyId")
        for cred in app["passwordCredentials"]:
            if cred["keyId"] == key_id:
                app["passwordCredentials"].remove(cred)
                return Response(204)
        raise _bad("No password credential found with keyId '%s'." % key_id)

    # -- service principals ------------------------------------------------------------------------------
    def create_servicePrincipals(self, body):  # pylint: disable=invalid-name
        for prop in body:
            if prop not in SP_PROPERTIES and not prop.startswith("@odata."):
                raise _bad("Property '%s' does not exist as a declared property or extension property." % prop)
        app_id = body.get("appId")
        app = self.store.application_for_service_principal(app_id) if isinstance(app_id, str) else None
        if app is None or not self.store.replicated(app["id"]):
            raise _bad("The appId '%s' of the service principal does not reference a valid application object." % app_id)
        if self.store.sp_by_app_id(app_id) is not None:
            raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be created, "
                             "updated, or restored because the service principal name %s is already in use." % app_id)
        extra = {k: v for k, v in body.items() if k != "appId" and not k.startswith("@")}
        sp = self.store.new_service_principal(app_id, extra)
        self.store.mark_created(sp["id"])
        return sp

    def one_servicePrincipals(self, request, key_name, key_value, rest):  # pylint: disable=invalid-name
        sp = self.find("servicePrincipals", key_name, key_value)
        if rest and rest[0] in ASSIGNMENT_SEGMENTS:
            return self.app_role_assignments(request, sp, rest[0], rest[1:])
        if rest:
            raise _bad("Resource not found for the segment '%s'." % rest[0], "BadRequest")
        if request.method == "GET":
            return json_response(self.select(dict(self.view("servicePrincipals", sp), **{
                "@odata.context": "%s/v1.0/$metadata#servicePrincipals/$entity" % self.urls["graph_url"]}), request))
        if request.method == "PATCH":
            body = self.body(request)
            for prop in body:
                if prop not in SP_PROPERTIES or prop == "appId":
                    raise _bad("Property '%s' does not exist as a declared property or extension property." % prop)
            merge(sp, body)
            return Response(204)
        if request.method == "DELETE":
            self.delete_service_principal(sp)
            return Response(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    def delete_service_principal(self, sp):
        del self.store.service_principals[sp["id"]]
        self.store.forget_principal(sp["id"])
        for grant_id in [g["id"] for g in self.store.grants.values() if sp["id"] in (g["clientId"], g["resourceId"])]:
            del self.store.grants[grant_id]

    # -- app role assignments (application permissions and their admin consent) -------------------------
    def app_role_assignments(self, request, sp, segment, rest):
        """``appRoleAssignedTo``: the assignments of this resource's roles; ``appRoleAssignments``: this principal's."""
        side = "resourceId" if segment == "appRoleAssignedTo" else "principalId"
        mine = [a for a in self.store.app_role_assignments.values() if a[side] == sp["id"]]
        context = "%s/v1.0/$metadata#servicePrincipals('%s')/%s" % (self.urls["graph_url"], sp["id"], segment)
        if not rest and request.method == "GET":
            return json_response({"@odata.context": context, "value": [public(a) for a in mine]})
        if not rest and request.method == "POST":
            assignment = self.create_app_role_assignment(self.body(request), sp)
            return json_response(dict(public(assignment), **{"@odata.context": context + "/$entity"}), 201)
        if len(rest) == 1:
            found = next((a for a in mine if a["id"] == rest[0]), None)
            if found is None:
                raise _not_found(rest[0])
            if request.method == "GET":
                return json_response(dict(public(found), **{"@odata.context": context + "/$entity"}))
            if request.method == "DELETE":
                del self.store.app_role_assignments[found["id"]]
                return Response(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    def create_app_role_assignment(self, body, url_sp):
        allowed = {"principalId", "resourceId", "appRoleId", "principalType"}
        for prop in body:
            if prop not in allowed and not prop.startswith("@odata."):
                raise _bad("Property '%s' does not exist as a declared property or extension property." % prop)
        for prop in ("principalId", "resourceId", "appRoleId"):
            if not isinstance(body.get(prop), str) or not GUID.match(body[prop]):
                raise _invalid(prop, "AppRoleAssignment")
        sps = self.store.service_principals
        if url_sp["id"] not in (body["principalId"], body["resourceId"]):
            raise _bad("The service principal in the request URL must be the principal or the resource of the "
                       "assignment.")
        for prop in ("principalId", "resourceId"):
            if body[prop] not in sps or not self.store.replicated(body[prop]):
                raise _not_found(body[prop])
        principal, resource = sps[body["principalId"]], sps[body["resourceId"]]
        role = next((r for r in resource.get("appRoles", []) if r["id"] == body["appRoleId"]), None)
        if role is None or "Application" not in role.get("allowedMemberTypes", []):
            raise _bad("Permission being assigned was not found on application '%s'." % resource["appId"])
        for existing in self.store.app_role_assignments.values():
            if (existing["principalId"], existing["resourceId"], existing["appRoleId"]) == (
                    principal["id"], resource["id"], role["id"]):
                raise _bad("Permission being assigned already exists on the object.")
        assignment = self.store.new_app_role_assignment(principal, resource, role["id"])
        self.store.mark_created(assignment["id"])
        return assignment

    # -- directory role assignments ----------------------------------------------------------------------
    def role_assignments(self, request, rest):
        context = "%s/v1.0/$metadata#roleManagement/directory/roleAssignments" % self.urls["graph_url"]
        store = self.store
        if not rest and request.method == "GET":
            matches = self.filter("roleAssignments", list(store.role_assignments.values()), request.query.get("$filter"))
            return json_response({"@odata.context": context, "value": [public(a) for a in matches]})
        if not rest and request.method == "POST":
            assignment = self.create_role_assignment(self.body(request))
            return json_response(dict(public(assignment), **{"@odata.context": context + "/$entity"}), 201,
                                 {"Location": "%s/v1.0/roleManagement/directory/roleAssignments/%s"
                                              % (self.urls["graph_url"], assignment["id"])})
        if len(rest) == 1:
            found = store.role_assignments.get(rest[0])
            if found is None:
                raise _not_found(rest[0])
            if request.method == "GET":
                return json_response(dict(public(found), **{"@odata.context": context + "/$entity"}))
            if request.method == "DELETE":
                del store.role_assignments[found["id"]]
                return Response(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    def create_role_assignment(self, body):
        allowed = {"principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"}
        for prop in body:
            if prop not in allowed and not prop.startswith("@odata."):
                raise _bad("Property '%s' does not exist as a declared property or extension property." % prop)
        if body.get("roleDefinitionId") not in DIRECTORY_ROLES:
            raise _invalid("roleDefinitionId", "UnifiedRoleAssignment")
        if not body.get("directoryScopeId") and not body.get("appScopeId"):
            raise _bad("Either directoryScopeId or appScopeId must be specified.")
        scope = body.get("directoryScopeId") or "/"
        principal = body.get("principalId")
        users = {u["id"] for u in self.store.users.values()}
        if not isinstance(principal, str) or not GUID.match(principal):
            raise _invalid("principalId", "UnifiedRoleAssignment")
        if (principal not in self.store.service_principals and principal not in users) or \
                not self.store.replicated(principal):
            raise _not_found(principal)
        for existing in self.store.role_assignments.values():
            if (existing["principalId"], existing["roleDefinitionId"], existing["directoryScopeId"]) == (
                    principal, body["roleDefinitionId"], scope):
                raise _bad("A conflicting object with one or more of the specified property values is present in the "
                           "directory.")
        assignment = self.store.new_role_assignment(principal, body["roleDefinitionId"], scope)
        self.store.mark_created(assignment["id"])
        return assignment

    # -- delegated permission grants ---------------------------------------------------------------------
    def validate_grant_scope(self, resource_sp, scope):
        if not isinstance(scope, str):
            raise _invalid("scope", "OAuth2PermissionGrant")
        known = {s["value"] for s in resource_sp.get("oauth2PermissionScopes", [])}
        unknown = [name for name in scope.split() if name not in known]
        if unknown:
            raise _bad("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant': "
                       "'%s' is not a delegated permission of '%s'." % (" ".join(unknown), resource_sp["displayName"]))

    def create_oauth2PermissionGrants(self, body):  # pylint: disable=invalid-name
        allowed = {"clientId", "consentType", "principalId", "resourceId", "scope"}
        for prop in body:
            if prop not in allowed and not prop.startswith("@odata."):
                raise _bad("Property '%s' does not exist as a declared property or extension property." % prop)
        sps = self.store.service_principals
        for prop in ("clientId", "resourceId"):
            ref = body.get(prop)
            if not isinstance(ref, str) or ref not in sps or not self.store.replicated(ref):
                raise _invalid(prop, "OAuth2PermissionGrant")
        consent = body.get("consentType")
        if consent not in ("AllPrincipals", "Principal"):
            raise _invalid("consentType", "OAuth2PermissionGrant")
        principal = body.get("principalId")
        if (consent == "Principal") != bool(principal):
            raise _invalid("principalId", "OAuth2PermissionGrant")
        if principal and principal not in {u["id"] for u in self.store.users.values()}:
            raise _invalid("principalId", "OAuth2PermissionGrant")
        scope = body.get("scope", "")
        self.validate_grant_scope(sps[body["resourceId"]], scope)
        for grant in self.store.grants.values():
            if (grant["clientId"], grant["resourceId"], grant["consentType"], grant["principalId"]) == (
                    body["clientId"], body["resourceId"], consent, principal):
                raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        grant = {"id": secrets.token_urlsafe(32), "clientId": body["clientId"], "consentType": consent,
                 "principalId": principal, "resourceId": body["resourceId"], "scope": scope}
        self.store.grants[grant["id"]] = grant
        self.store.mark_created(grant["id"])
        return grant

    def one_oauth2PermissionGrants(self, request, key_name, key_value, rest):  # pylint: disable=invalid-name
        grant = self.find("oauth2PermissionGrants", key_name, key_value)
        if rest:
            raise _bad("Resource not found for the segment '%s'." % rest[0], "BadRequest")
        if request.method == "GET":
            return json_response(self.select(dict(public(grant), **{
                "@odata.context": "%s/v1.0/$metadata#oauth2PermissionGrants/$entity" % self.urls["graph_url"]}), request))
        if request.method == "PATCH":
            body = self.body(request)
            if set(body) - {"scope"}:
                raise _bad("Only 'scope' can be updated on an oAuth2PermissionGrant.")
            if "scope" in body:
                self.validate_grant_scope(self.store.service_principals[grant["resourceId"]], body["scope"])
                grant["scope"] = body["scope"]
            return Response(204)
        if request.method == "DELETE":
            del self.store.grants[grant["id"]]
            return Response(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    # -- deleted items -----------------------------------------------------------------------------------
    def deleted_items(self, request, rest):
        deleted = self.store.deleted
        if rest == ["microsoft.graph.application"] and request.method == "GET":
            return json_response({"@odata.context": "%s/v1.0/$metadata#directoryObjects" % self.urls["graph_url"],
                                  "value": [self.view("applications", app) for app in deleted.values()]})
        if not rest or rest[0] not in deleted:
            raise _not_found(rest[0] if rest else "")
        app = deleted[rest[0]]
        if rest[1:] == [] and request.method == "DELETE":
            del deleted[rest[0]]
            return Response(204)
        if rest[1:] == ["restore"] and request.method == "POST":
            del deleted[rest[0]]
            app["deletedDateTime"] = None
            self.store.applications[app["id"]] = app
            return json_response(self.view("applications", app))
        raise _bad("Unsupported request on deleted items.")


def _matches(value, op, literal):
    if isinstance(literal, str):
        if not isinstance(value, str):
            return False
        return value.casefold() == literal.casefold() if op == "eq" else value.casefold().startswith(literal.casefold())
    return value == literal


def _valid_redirect_uri(uri, platform):
    if not isinstance(uri, str):
        return False
    parts = urllib.parse.urlsplit(uri)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc) or "#" in uri:
        return False
    if platform == "publicClient":
        return True
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"))
