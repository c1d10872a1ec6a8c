# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Microsoft Graph v1.0 client for applications, service principals and delegated-permission grants.

It reads top to bottom: well-known ids, options, error mapping, the client. One requests.Session and one token per
module run; retries (429/503/504 and the 404 Graph answers right after a create) are decided by _retry.py; every
OData error becomes a GraphError with code, message, request-id and a hint; lists follow @odata.nextLink.
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import quote

from ansible_collections.mailoauth.sophos.plugins.module_utils._retry import (
    RETRYABLE_STATUS,
    RetryPolicy,
    next_delay,
    send_with_retries,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import (
    ENTRA_AUTH_RULES,
    GRAPH_APP_ID,
    EntraIdentity,
    entra_auth_argument_spec,
    http_session,
)

# Delegated Graph permissions (type Scope) this collection knows by name. Ids are the same in every tenant.
GRAPH_DELEGATED_SCOPES = {
    "SMTP.Send": "258f6531-6087-4cc4-bb90-092c5fb3ed3f",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "Mail.Send": "e383f46e-2787-4529-855e-0e479a3ffac0",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
}

APPLICATIONS_PERMISSION = "Application.ReadWrite.All"
GRANTS_PERMISSION = "DelegatedPermissionGrant.ReadWrite.All"
APP_ROLE_ASSIGNMENT_PERMISSION = "AppRoleAssignment.ReadWrite.All"
ROLE_MANAGEMENT_PERMISSION = "RoleManagement.ReadWrite.Directory"

# Built-in directory roles by name -> template id (the roleDefinitionId of a built-in role in every tenant).
DIRECTORY_ROLE_TEMPLATES = {
    "Exchange Recipient Administrator": "31392ffb-586c-42d1-9346-e59415a2cc4e",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
}

# Graph's answers to a create that already exists (documented texts, status 400): a replica we listed had not seen
# it yet, or a retried request.
APP_ROLE_ASSIGNMENT_EXISTS = "Permission being assigned already exists on the object"
DIRECTORY_OBJECT_CONFLICT = "A conflicting object with one or more of the specified property values"
# Graph's answer to POST /servicePrincipals for an appId it cannot instantiate here: an app that has not replicated
# yet, or another tenant's app that is single-tenant or does not exist.
NOT_AN_APPLICATION = "does not reference a valid application"


def graph_argument_spec():
    """The Graph endpoint option (doc fragment mailoauth.sophos.entra_auth.graph)."""
    return {"graph_endpoint": {"type": "str"}}


class GraphError(MailOAuthError):
    service = "Microsoft Graph"


# ---------------------------------------------------------------------------------------------------------------
# Errors

def _hint(code, status, permission, attempts, graph_resource):
    if status == 403 or code == "Authorization_RequestDenied":
        needed = permission or APPLICATIONS_PERMISSION
        return ("the signed-in identity needs the %s application permission (Graph) with admin consent; grant it to "
                "the automation app and run again" % needed)
    if status == 401 or code == "InvalidAuthenticationToken":
        return ("Graph did not accept the access token: it must be issued for %s (check cloud and graph_endpoint "
                "belong together) and not be expired" % graph_resource)
    if status in RETRYABLE_STATUS:
        return ("Graph kept throttling or was unavailable after %d tries; run again in a few minutes or with fewer "
                "parallel runs" % attempts)
    if status == 404:
        return "the object does not exist in this tenant: check the id, app_id or unique_name"
    if status == 400:
        return "check the option values the message names"
    return None


def graph_error(response, action, permission=None, attempts=1, graph_resource="https://graph.microsoft.com"):
    """One GraphError from a failed response: what failed, Graph's code and request-id, and what to do."""
    status = response.status_code
    code = message = request_id = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innerError") or error.get("innererror") or {}
        request_id = inner.get("request-id") if isinstance(inner, dict) else None
    request_id = response.headers.get("request-id") or request_id
    code = code or "HTTP %d" % status
    if status == 403 or code == "Authorization_RequestDenied":
        text = "Graph denied %s" % action
    else:
        text = "Graph failed %s" % action
        if message:
            text += ": " + message.rstrip(". ")
    if attempts > 1:
        text += " after %d tries" % attempts
    return GraphError(text, code=code, request_id=request_id, status=status,
                      hint=_hint(code, status, permission, attempts, graph_resource))


def _error_code(response):
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _key(value):
    """An OData key literal: single quotes doubled, then URL-encoded."""
    return quote(value.replace("'", "''"), safe="")


# ---------------------------------------------------------------------------------------------------------------
# The client

class GraphClient:
    """Graph calls for one module run: one session, one token, bounded retries."""

    def __init__(self, identity, endpoint=None, session=None, policy=None, replication_policy=None):
        self.identity = identity
        self.session = session or identity.session
        self.endpoint = (endpoint or identity.cloud.graph_endpoint).rstrip("/")
        self.base_url = self.endpoint + "/v1.0"
        self.resource = identity.cloud.graph_resource
        self.policy = policy or RetryPolicy()
        # How long a read waits for an object that an earlier task created and that may not have replicated yet.
        self.replication_policy = replication_policy or RetryPolicy(
            max_attempts=5, total_seconds=30, base_delay=1.0, max_delay=8.0, sleep=self.policy.sleep,
            clock=self.policy.clock, random=self.policy.random)

    @classmethod
    def from_params(cls, params, session=None, policy=None):
        session = session or http_session(params.get("ca_path"))
        identity = EntraIdentity.from_params(params, session=session)
        return cls(identity, endpoint=params.get("graph_endpoint"), session=session, policy=policy)

    @property
    def tenant_id(self):
        return self.identity.tenant_id

    # -- transport -----------------------------------------------------------------------------------------------
    def request(self, method, path, action, body=None, headers=None, ok=(200, 201, 204), permission=None,
                retry_not_found=False, missing_ok=False, retry_bad_reference=None, policy=None):
        """Send one Graph call with retries; return the parsed JSON (or None for an empty reply).

        ``retry_not_found``: the object was just created (by this run), so a 404 is the replication delay Graph
        documents, not an answer. ``retry_bad_reference``: likewise for a 400 whose message contains this text (a
        body that references an object created seconds ago). ``missing_ok``: return None on 404 instead of raising.
        """
        url = path if path.startswith("https://") else self.base_url + path
        all_headers = {"Authorization": "Bearer " + self.identity.token(self.resource), "Accept": "application/json"}
        all_headers.update(headers or {})

        def send():
            return self.session.request(method, url, json=body, headers=all_headers)

        def retry_on(response):
            if response.status_code in RETRYABLE_STATUS:
                return True
            if retry_bad_reference and response.status_code == 400 and retry_bad_reference in response.text:
                return True
            return retry_not_found and response.status_code == 404

        response, attempts = send_with_retries(send, policy or self.policy, retry_on=retry_on)
        not_found = (None, "Request_ResourceNotFound", "ResourceNotFound")
        if missing_ok and response.status_code == 404 and _error_code(response) in not_found:
            return None
        if response.status_code not in ok:
            error = graph_error(response, action, permission, attempts, self.resource)
            if error.status == 403 and self.identity.method == "device_code":
                # a person signed in: what is missing is their role or the sign-in client's delegated consent
                error.hint = ("the signed-in user must be an administrator allowed to do this (Privileged Role "
                              "Administrator or Global Administrator), and the sign-in client needs admin consent for "
                              "the delegated permission %s; sign in again as such an administrator"
                              % (permission or APPLICATIONS_PERMISSION))
            raise error
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GraphError("Graph answered %s with a body that is not JSON" % action, code="HTTP %d"
                             % response.status_code, request_id=response.headers.get("request-id"),
                             status=response.status_code,
                             hint="check graph_endpoint points at Microsoft Graph") from None

    def get_all(self, path, action, permission=None):
        """Every item of a collection, following @odata.nextLink."""
        items = []
        page = self.request("GET", path, action, permission=permission)
        while True:
            items.extend(page.get("value", []))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return items
            page = self.request("GET", next_link, action, permission=permission)

    # -- applications --------------------------------------------------------------------------------------------
    def get_application(self, unique_name=None, app_id=None, wait_for_replication=False):
        """The application by its uniqueName or appId, or None.

        ``wait_for_replication``: the application is expected to exist (an earlier task created it), so a 404 is
        retried for a while before it counts as "absent".
        """
        if unique_name:
            path = "/applications(uniqueName='%s')" % _key(unique_name)
        else:
            path = "/applications(appId='%s')" % _key(app_id)
        return self.request("GET", path, "reading the application", permission=APPLICATIONS_PERMISSION,
                            missing_ok=True, retry_not_found=wait_for_replication,
                            policy=self.replication_policy if wait_for_replication else None)

    def create_application(self, unique_name, body):
        """Create through the uniqueName upsert: a retried request cannot create a second app."""
        created = self.request("PATCH", "/applications(uniqueName='%s')" % _key(unique_name),
                               "creating the application", body=body, headers={"Prefer": "create-if-missing"},
                               permission=APPLICATIONS_PERMISSION)
        if created is None:  # 204: it existed after all (a retried create, or not replicated to our read yet)
            existing = self.get_application(unique_name=unique_name, wait_for_replication=True)
            created = dict(existing or {}, existed=True)
        return created

    def update_application(self, object_id, changes):
        self.request("PATCH", "/applications/%s" % _key(object_id), "updating the application", body=changes,
                     permission=APPLICATIONS_PERMISSION, retry_not_found=True)

    def delete_application(self, object_id):
        self.request("DELETE", "/applications/%s" % _key(object_id), "deleting the application",
                     permission=APPLICATIONS_PERMISSION, retry_not_found=True)

    def add_password(self, object_id, display_name, end_date_time):
        """A new client secret; the reply is the only time its value (secretText) can be read.

        The application was just read, so a 404 can only be a replica that has not seen it yet: retry.
        """
        return self.request("POST", "/applications/%s/addPassword" % _key(object_id), "adding a client secret",
                            body={"passwordCredential": {"displayName": display_name, "endDateTime": end_date_time}},
                            permission=APPLICATIONS_PERMISSION, retry_not_found=True)

    def remove_password(self, object_id, key_id):
        self.request("POST", "/applications/%s/removePassword" % _key(object_id), "removing a client secret",
                     body={"keyId": key_id}, permission=APPLICATIONS_PERMISSION, retry_not_found=True)

    # -- service principals --------------------------------------------------------------------------------------
    def get_service_principal(self, app_id, wait_for_replication=False):
        return self.request("GET", "/servicePrincipals(appId='%s')" % _key(app_id),
                            "reading the service principal of app %s" % app_id,
                            permission=APPLICATIONS_PERMISSION, missing_ok=True,
                            retry_not_found=wait_for_replication,
                            policy=self.replication_policy if wait_for_replication else None)

    def delete_service_principal(self, object_id):
        self.request("DELETE", "/servicePrincipals/%s" % _key(object_id), "deleting the service principal",
                     permission=APPLICATIONS_PERMISSION, retry_not_found=True)

    def graph_service_principal(self):
        found = self.get_service_principal(GRAPH_APP_ID)
        if found is None:
            raise GraphError("The tenant has no Microsoft Graph service principal", code="Request_ResourceNotFound",
                             hint="check tenant_id; every Entra tenant has one (appId %s)" % GRAPH_APP_ID)
        return found

    def create_service_principal(self, app_id, home_tenant_id=None):
        """Create the app's service principal in this tenant.

        Graph answers 400 "does not reference a valid application" while an application created seconds ago has not
        replicated yet, so that answer is retried. ``home_tenant_id`` names another tenant whose multitenant app this
        is (an MSP's app consented in a customer tenant): there the same answer far more often means the app is
        single-tenant or does not exist, so it is retried only within the replication policy and then explained.
        """
        def retry_on(response):
            if response.status_code in RETRYABLE_STATUS or response.status_code == 404:
                return True
            return response.status_code == 400 and NOT_AN_APPLICATION in response.text

        url = self.base_url + "/servicePrincipals"
        headers = {"Authorization": "Bearer " + self.identity.token(self.resource), "Accept": "application/json"}
        response, attempts = send_with_retries(
            lambda: self.session.request("POST", url, json={"appId": app_id}, headers=headers),
            self.replication_policy if home_tenant_id else self.policy, retry_on=retry_on)
        if response.status_code == 409:  # it exists: a retried create, or a replica we read had not seen it yet
            existing = self.get_service_principal(app_id, wait_for_replication=True)
            if existing is not None:
                return dict(existing, existed=True)
        if response.status_code != 201:
            error = graph_error(response, "creating the service principal of app %s" % app_id,
                                APPLICATIONS_PERMISSION, attempts, self.resource)
            if home_tenant_id and response.status_code == 400 and NOT_AN_APPLICATION in response.text:
                raise GraphError(
                    "Graph could not create the service principal of app %s in %s (%d tries): the app %s is not a "
                    "multitenant app of tenant %s (or does not exist there)"
                    % (app_id, "tenant %s" % self.tenant_id if self.tenant_id else "this tenant", attempts, app_id,
                       home_tenant_id),
                    code=error.code, request_id=error.request_id, status=error.status,
                    hint="set its sign-in audience to AzureADMultipleOrgs (entra_app sign_in_audience) in its home "
                         "tenant %s, or correct app_id / app_home_tenant_id" % home_tenant_id)
            raise error
        return response.json()

    def ensure_service_principal(self, app_id):
        """The app's service principal, created when missing; returns (service principal, whether it was created)."""
        existing = self.get_service_principal(app_id)
        if existing is not None:
            return existing, False
        created = self.create_service_principal(app_id)
        return created, not created.get("existed")

    # -- application permissions: app role assignments ----------------------------------------------------------
    def list_app_role_assignments(self, principal_sp_id):
        """The app roles a service principal holds (its application permissions with admin consent)."""
        return self.get_all("/servicePrincipals/%s/appRoleAssignments" % _key(principal_sp_id),
                            "listing the app role assignments", permission=APP_ROLE_ASSIGNMENT_PERMISSION)

    def create_app_role_assignment(self, principal_sp_id, resource_sp_id, app_role_id, just_created=False):
        """Grant one app role; if Graph says it exists already, return the existing assignment (``existed``)."""
        body = {"principalId": principal_sp_id, "resourceId": resource_sp_id, "appRoleId": app_role_id}
        try:
            return self.request("POST", "/servicePrincipals/%s/appRoleAssignedTo" % _key(resource_sp_id),
                                "granting the application permission %s" % app_role_id, body=body,
                                permission=APP_ROLE_ASSIGNMENT_PERMISSION, retry_not_found=just_created)
        except GraphError as exc:
            if exc.status != 400 or APP_ROLE_ASSIGNMENT_EXISTS not in str(exc):
                raise
        for assignment in self.list_app_role_assignments(principal_sp_id):
            if (assignment.get("resourceId"), assignment.get("appRoleId")) == (resource_sp_id, app_role_id):
                return dict(assignment, existed=True)
        return dict(body, id="", existed=True)

    def delete_app_role_assignment(self, resource_sp_id, assignment_id):
        self.request("DELETE", "/servicePrincipals/%s/appRoleAssignedTo/%s" % (_key(resource_sp_id),
                                                                               _key(assignment_id)),
                     "removing an application permission", permission=APP_ROLE_ASSIGNMENT_PERMISSION,
                     missing_ok=True)

    # -- directory roles -------------------------------------------------------------------------------------------
    def list_role_assignments(self, principal_id, role_definition_id=None):
        clause = "principalId eq '%s'" % principal_id.replace("'", "''")
        if role_definition_id:
            clause += " and roleDefinitionId eq '%s'" % role_definition_id.replace("'", "''")
        return self.get_all("/roleManagement/directory/roleAssignments?$filter=%s" % quote(clause, safe=""),
                            "listing the directory role assignments", permission=ROLE_MANAGEMENT_PERMISSION)

    def create_role_assignment(self, principal_id, role_definition_id, just_created=False):
        """Assign a directory role tenant-wide; an assignment that exists already is returned (``existed``)."""
        body = {"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "roleDefinitionId": role_definition_id,
                "principalId": principal_id, "directoryScopeId": "/"}
        try:
            return self.request("POST", "/roleManagement/directory/roleAssignments",
                                "assigning the directory role %s" % role_definition_id, body=body,
                                permission=ROLE_MANAGEMENT_PERMISSION, retry_not_found=just_created)
        except GraphError as exc:
            if exc.status != 400 or DIRECTORY_OBJECT_CONFLICT not in str(exc):
                raise
        for assignment in self.list_role_assignments(principal_id, role_definition_id):
            if assignment.get("directoryScopeId") == "/":
                return dict(assignment, existed=True)
        return dict(body, id="", existed=True)

    def delete_role_assignment(self, assignment_id):
        self.request("DELETE", "/roleManagement/directory/roleAssignments/%s" % _key(assignment_id),
                     "removing a directory role assignment", permission=ROLE_MANAGEMENT_PERMISSION, missing_ok=True)

    # -- certificate credentials -----------------------------------------------------------------------------------
    def get_key_credentials(self, object_id):
        """The application's certificates with their public keys (Graph returns ``key`` only to this $select)."""
        app = self.request("GET", "/applications/%s?$select=id,keyCredentials" % _key(object_id),
                           "reading the application's certificates", permission=APPLICATIONS_PERMISSION,
                           retry_not_found=True)
        return (app or {}).get("keyCredentials") or []

    def set_key_credentials(self, object_id, key_credentials):
        """Replace the whole keyCredentials collection (Graph has no call that adds one certificate)."""
        self.request("PATCH", "/applications/%s" % _key(object_id), "updating the application's certificates",
                     body={"keyCredentials": key_credentials}, permission=APPLICATIONS_PERMISSION,
                     retry_not_found=True)

    # -- delegated permission grants -----------------------------------------------------------------------------
    def list_grants(self, client_sp_id):
        return self.get_all("/oauth2PermissionGrants?$filter=%s" % quote("clientId eq '%s'" % client_sp_id, safe=""),
                            "listing the app's permission grants", permission=GRANTS_PERMISSION)

    def create_grant(self, client_sp_id, resource_sp_id, scope, just_created=False):
        """Create the AllPrincipals grant; if Graph says it exists (a replica we listed had not seen it yet, or a
        retried create), return the existing one instead, so the caller can bring its scope in line."""
        body = {"clientId": client_sp_id, "consentType": "AllPrincipals", "resourceId": resource_sp_id,
                "scope": scope}
        try:
            return self.request("POST", "/oauth2PermissionGrants", "granting admin consent", body=body,
                                permission=GRANTS_PERMISSION, retry_not_found=just_created,
                                retry_bad_reference="Invalid value specified for property 'clientId'" if just_created
                                else None)
        except GraphError as exc:
            if exc.status != 409:
                raise
            conflict = exc
        policy = self.replication_policy
        started = policy.clock()
        for attempt in range(1, policy.max_attempts + 1):
            for grant in self.list_grants(client_sp_id):
                if grant.get("consentType") == "AllPrincipals" and grant.get("resourceId") == resource_sp_id:
                    return dict(grant, existed=True)
            delay = next_delay(policy, attempt, policy.clock() - started)
            if delay is None:
                break
            policy.sleep(delay)
        raise conflict

    def update_grant(self, grant_id, scope):
        self.request("PATCH", "/oauth2PermissionGrants/%s" % _key(grant_id), "changing the consented scopes",
                     body={"scope": scope}, permission=GRANTS_PERMISSION, retry_not_found=True)

    def delete_grant(self, grant_id):
        self.request("DELETE", "/oauth2PermissionGrants/%s" % _key(grant_id), "revoking the admin consent",
                     permission=GRANTS_PERMISSION)


# ---------------------------------------------------------------------------------------------------------------
# What the entra_* modules share

def app_reference_argument_spec():
    """How entra_admin_consent, entra_app_secret and entra_app_info name the app (fragment entra_auth.app)."""
    return {"app_id": {"type": "str"}, "unique_name": {"type": "str"}}


APP_REFERENCE_RULES = {"mutually_exclusive": [("app_id", "unique_name")],
                       "required_one_of": [("app_id", "unique_name")]}


def app_module_spec(**options):
    """Argument spec and rules of a module that works on an existing app: auth, graph_endpoint, the app, ``options``."""
    spec = entra_auth_argument_spec()
    spec.update(graph_argument_spec())
    spec.update(app_reference_argument_spec())
    spec.update(options)
    rules = dict(ENTRA_AUTH_RULES)
    rules["mutually_exclusive"] = list(rules["mutually_exclusive"]) + APP_REFERENCE_RULES["mutually_exclusive"]
    rules["required_one_of"] = APP_REFERENCE_RULES["required_one_of"]
    return spec, rules


def find_referenced_application(graph, params, check_mode=False):
    """The application named by app_id or unique_name; a GraphError that says how to fix it when absent.

    In check mode a missing application is not an error (None): the play's entra_app task would have created it,
    so later modules predict their changes instead of failing.
    """
    app = graph.get_application(unique_name=params.get("unique_name"), app_id=params.get("app_id"),
                                wait_for_replication=not check_mode)
    if app is None and not check_mode:
        key = ("unique_name", params["unique_name"]) if params.get("unique_name") else ("app_id", params["app_id"])
        raise GraphError("No application with %s %s exists in tenant %s" % (key[0], key[1], graph.tenant_id),
                         code="Request_ResourceNotFound", status=404,
                         hint="create it with mailoauth.sophos.entra_app first, or correct %s" % key[0])
    return app


_SCOPE_NAMES = {scope_id: name for name, scope_id in GRAPH_DELEGATED_SCOPES.items()}
UTC = datetime.timezone.utc


def application_view(app):
    """The settings entra_app manages, from a Graph application object ({} for none)."""
    if not app:
        return {}
    scopes = []
    for entry in app.get("requiredResourceAccess") or []:
        if entry.get("resourceAppId") == GRAPH_APP_ID:
            scopes.extend(_SCOPE_NAMES.get(access["id"], access["id"]) for access in entry.get("resourceAccess", [])
                          if access.get("type") == "Scope")
    return {
        "display_name": app.get("displayName"),
        "unique_name": app.get("uniqueName"),
        "sign_in_audience": app.get("signInAudience"),
        "redirect_uris": list((app.get("web") or {}).get("redirectUris") or []),
        "delegated_permissions": scopes,
    }


def secret_view(credential):
    """A password credential without anything secret (Graph returns no values on reads; be sure anyway)."""
    return {"key_id": credential.get("keyId"), "display_name": credential.get("displayName"),
            "hint": credential.get("hint"), "start": credential.get("startDateTime"),
            "expires": credential.get("endDateTime")}


def held_secret(credentials, value=None, key_id=None):
    """The password credential whose value the caller holds, or None.

    Graph never returns a secret's value again, only its first three characters (``hint``). The key id recorded
    with the value decides; without one, the newest secret whose hint matches the value does. A recorded key id whose
    hint contradicts the value means the record is stale, so nothing is held.
    """
    hint = value[:3] if value else None
    if key_id:
        match = [c for c in credentials if c.get("keyId") == key_id]
        if match and (hint is None or match[0].get("hint") in (None, hint)):
            return match[0]
        return None
    if not hint:
        return None
    match = [c for c in credentials if c.get("hint") == hint]
    match.sort(key=lambda c: (c.get("startDateTime") or "", c.get("keyId") or ""))
    return match[-1] if match else None


def parse_time(value):
    """Graph's ISO 8601 timestamps (up to 7 fractional digits, Z) as aware datetimes; None stays None."""
    if not value:
        return None
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    parsed = datetime.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
