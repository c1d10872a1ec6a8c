"""The tenant's state, shared by the login, Graph and Exchange apps: seed, clock, configuration, faults."""

import copy
import datetime
import secrets
import string
import threading
import time
import uuid

from ._tokens import EXCHANGE_APP_ID, GRAPH_APP_ID, digest

SMTP_SEND = "258f6531-6087-4cc4-bb90-092c5fb3ed3f"
OFFLINE_ACCESS = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440"
EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de"  # the directory role template id
EXCHANGE_RECIPIENT_ADMINISTRATOR = "31392ffb-586c-42d1-9346-e59415a2cc4e"
# Built-in directory roles by template id (the id roleAssignments take as roleDefinitionId for built-in roles).
DIRECTORY_ROLES = {
    EXCHANGE_ADMINISTRATOR: "Exchange Administrator",
    EXCHANGE_RECIPIENT_ADMINISTRATOR: "Exchange Recipient Administrator",
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
}

GRAPH_SCOPES = {
    "SMTP.Send": SMTP_SEND,
    "offline_access": OFFLINE_ACCESS,
    "Mail.Send": "e383f46e-2787-4529-855e-0e479a3ffac0",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    "IMAP.AccessAsUser.All": "652390e4-393a-48de-9484-05f9b1212954",
    "POP.AccessAsUser.All": "d7b7f2d9-0f45-4ea1-9d42-e50810c06991",
}
GRAPH_ROLES = {
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "DelegatedPermissionGrant.ReadWrite.All": "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "RoleManagement.ReadWrite.Directory": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
}
# Delegated versions of the automation permissions, for an administrator signed in through a device code.
GRAPH_ADMIN_SCOPES = {
    "Application.ReadWrite.All": "bdfbf15f-ee85-4955-8675-146e8e5296b5",
    "DelegatedPermissionGrant.ReadWrite.All": "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
    "Directory.Read.All": "06da0dbc-49e2-44d2-8312-53f166ab848a",
    "AppRoleAssignment.ReadWrite.All": "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
    "RoleManagement.ReadWrite.Directory": "d01b97e9-cbc0-49fe-810a-750afd5527a3",
}
# Only what the sandbox needs; the ids of the Exchange scopes below are placeholders (not in the reference).
EXCHANGE_SCOPES = {
    "Exchange.Manage": "ab4f2b77-0b06-4fc1-a9de-02113fc2ab7c",
    "EWS.AccessAsUser.All": "3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5",
    "SMTP.Send": "fb4a4a8f-3b6a-4d4f-9a2c-3c0f2a3f7c10",
}
# Microsoft's own public clients (owned by Microsoft's tenant, so not in GET /applications), with the consent an
# administrator gave when first using them: what a device-code sign-in of the automation identity relies on.
FIRST_PARTY_CLIENTS = {
    "14d82eec-204b-4c2f-b7e8-296a70dab67e": ("Microsoft Graph Command Line Tools", {
        GRAPH_APP_ID: "Application.ReadWrite.All DelegatedPermissionGrant.ReadWrite.All AppRoleAssignment.ReadWrite.All "
                      "RoleManagement.ReadWrite.Directory User.Read openid profile offline_access"}),
    "fb78d390-0c51-40cd-8e17-fdbfab77341b": ("Microsoft Exchange REST API Based Powershell", {
        EXCHANGE_APP_ID: "Exchange.Manage", GRAPH_APP_ID: "offline_access openid profile"}),
}
EXCHANGE_ROLES = {"Exchange.ManageAsApp": MANAGE_AS_APP, "full_access_as_app": "dc890d15-9560-4a4c-9b7f-a736ec74ec40"}

# Scopes consented on Graph that Exchange Online honours for its own resource (see the reference document).
EXCHANGE_HONOURS_GRAPH = ("SMTP.Send", "IMAP.AccessAsUser.All", "POP.AccessAsUser.All")

DEFAULT_CONFIG = {
    "code_lifetime_seconds": 600,
    "access_token_lifetime_seconds": 3599,
    "refresh_token_max_inactive_seconds": 90 * 86400,
    "secret_max_lifetime_days": 730,
    "device_code_lifetime_seconds": 900,
    "device_code_interval_seconds": 5,
    "org_smtp_auth_disabled": True,
}
DEFAULT_FAULTS = {"graph": {}, "exchange": {}, "token": {}}


def iso(moment):
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def new_secret():
    """A client secret shaped like Entra's: 3 hint characters, '8Q~', then 34 more."""
    alphabet = string.ascii_letters + string.digits + "-_.~"
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for dummy in range(3))
    return head + "8Q~" + "".join(secrets.choice(alphabet) for dummy in range(34))


def password_credential(secret, display_name, start, end):
    return {"customKeyIdentifier": None, "displayName": display_name, "endDateTime": iso(end), "hint": secret[:3],
            "keyId": str(uuid.uuid4()), "secretText": None, "startDateTime": iso(start), "_secret_hash": digest(secret)}


class Store:
    """Everything the emulated tenant holds. Callers take ``store.lock`` around read-modify-write sequences."""

    def __init__(self, tenant_domain="contoso.example", name="Contoso Sandbox", lock=None, directory=None):
        # every tenant of one emulator shares the lock: a multitenant app's object lives in its home tenant
        self.lock = lock or threading.RLock()
        self.directory = directory
        self.offset = 0.0
        self.seed_info = {
            "tenant": {"id": str(uuid.uuid4()), "domain": tenant_domain, "name": name},
            "automation_app": {"client_id": str(uuid.uuid4()), "client_secret": new_secret()},
            "limited_app": {"client_id": str(uuid.uuid4()), "client_secret": new_secret()},
            "mailbox": {"upn": "notifications@" + tenant_domain, "password": secrets.token_urlsafe(12)},
            "admin_user": {"upn": "admin@" + tenant_domain, "password": secrets.token_urlsafe(12)},
            "mfa_user": {"upn": "mfa.user@" + tenant_domain, "password": secrets.token_urlsafe(12)},
        }
        self.reset()

    # -- clock -------------------------------------------------------------------------------------------
    def now(self):
        """The tenant's clock: real time plus what tests advanced it by (to expire codes, tokens, secrets)."""
        return time.time() + self.offset

    # -- seed --------------------------------------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.offset = 0.0
            self.config = dict(getattr(self, "seed_config", DEFAULT_CONFIG))
            self.faults = copy.deepcopy(DEFAULT_FAULTS)
            self.applications = {}
            self.external_apps = {}
            self.service_principals = {}
            self.grants = {}
            self.app_role_assignments = {}
            self.role_assignments = {}
            self.deleted = {}
            self.users = {}
            self.mailboxes = {}
            self.codes = {}
            self.refresh_tokens = {}
            self.device_codes = {}
            self.invisible = {}
            self.requests = []
            self._seed()

    def _seed(self):
        info = self.seed_info
        tenant = info["tenant"]
        self.tenant = dict(tenant)
        now = self.now()
        graph_sp = self._add_sp(GRAPH_APP_ID, "Microsoft Graph", "Microsoft Services",
                                scopes=dict(GRAPH_SCOPES, **GRAPH_ADMIN_SCOPES), roles=GRAPH_ROLES)
        exchange_sp = self._add_sp(EXCHANGE_APP_ID, "Office 365 Exchange Online", "Microsoft Services",
                                   scopes=EXCHANGE_SCOPES, roles=EXCHANGE_ROLES)
        resources = {GRAPH_APP_ID: graph_sp, EXCHANGE_APP_ID: exchange_sp}
        for app_id, (name, consent) in FIRST_PARTY_CLIENTS.items():
            self.external_apps[app_id] = {
                "id": None, "appId": app_id, "displayName": name, "signInAudience": "AzureADMultipleOrgs",
                "isFallbackPublicClient": True, "passwordCredentials": [], "keyCredentials": [], "identifierUris": [],
                "web": {"redirectUris": []},
                "publicClient": {"redirectUris": ["http://localhost", "https://login.microsoftonline.com/common/oauth2/"
                                                  "nativeclient"]}}
            client_sp = self._add_sp(app_id, name, "Microsoft Services", scopes={}, roles={})
            for resource_app_id, scope in consent.items():
                grant_id = secrets.token_urlsafe(32)
                self.grants[grant_id] = {"id": grant_id, "clientId": client_sp["id"], "consentType": "AllPrincipals",
                                         "principalId": None, "resourceId": resources[resource_app_id]["id"],
                                         "scope": scope}
        for key, name, roles, directory_roles in (
                ("automation_app", "mailoauth automation", {
                    GRAPH_APP_ID: ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"],
                    EXCHANGE_APP_ID: ["Exchange.ManageAsApp"]}, [EXCHANGE_ADMINISTRATOR]),
                ("limited_app", "mailoauth limited", {}, [])):
            app = self.new_application({"displayName": name, "signInAudience": "AzureADMyOrg"},
                                       app_id=info[key]["client_id"])
            app["passwordCredentials"].append(password_credential(
                info[key]["client_secret"], "seed", now, now + 365 * 86400))
            sp = self.new_service_principal(app["appId"])
            self.set_app_roles(sp, roles)
            self.set_directory_roles(sp, directory_roles)
        for key, name, mfa, admin in (("mailbox", "Notifications", False, False), ("admin_user", "Sandbox Admin", False, True),
                                      ("mfa_user", "MFA User", True, False)):
            upn = info[key]["upn"]
            self.users[upn.lower()] = {"id": str(uuid.uuid4()), "userPrincipalName": upn, "displayName": name,
                                       "mail": upn, "_password_hash": digest(info[key]["password"]), "_mfa": mfa,
                                       "_admin": admin, "_tokens_valid_from": 0.0}
            self.mailboxes[upn.lower()] = {"SmtpClientAuthenticationDisabled": None, "ImapEnabled": True,
                                           "PopEnabled": True, "ActiveSyncEnabled": True, "OWAEnabled": True,
                                           "MAPIEnabled": True, "EwsEnabled": True}

    def _add_sp(self, app_id, name, owner, scopes, roles):
        sp = {"id": str(uuid.uuid4()), "appId": app_id, "displayName": name, "appDisplayName": name,
              "servicePrincipalType": "Application", "accountEnabled": True, "appOwnerOrganizationId":
              "f8cdef31-a31e-4b4a-93e4-5f571e91255a", "publisherName": owner, "servicePrincipalNames": [app_id],
              "oauth2PermissionScopes": [{"id": sid, "value": value, "type": "User", "isEnabled": True,
                                          "adminConsentDisplayName": value, "adminConsentDescription": value}
                                         for value, sid in scopes.items()],
              "appRoles": [{"id": rid, "value": value, "allowedMemberTypes": ["Application"], "isEnabled": True,
                            "displayName": value, "description": value} for value, rid in roles.items()]}
        self.service_principals[sp["id"]] = sp
        return sp

    # -- objects -----------------------------------------------------------------------------------------
    def new_application(self, body, app_id=None):
        now = self.now()
        app = {
            "id": str(uuid.uuid4()), "appId": app_id or str(uuid.uuid4()), "displayName": None, "uniqueName": None,
            "description": None, "notes": None, "signInAudience": "AzureADMyOrg", "identifierUris": [], "tags": [],
            "isFallbackPublicClient": None, "createdDateTime": iso(now), "deletedDateTime": None,
            "publisherDomain": self.tenant["domain"], "passwordCredentials": [], "keyCredentials": [],
            "requiredResourceAccess": [],
            "web": {"homePageUrl": None, "logoutUrl": None, "redirectUris": [], "redirectUriSettings": [],
                    "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False}},
            "publicClient": {"redirectUris": []}, "spa": {"redirectUris": []},
        }
        merge(app, body)
        self.applications[app["id"]] = app
        return app

    def new_service_principal(self, app_id, extra=None):
        app = self.app_by_app_id(app_id)
        owner = self.tenant["id"]
        if app is None:
            app, owner = self.foreign_multitenant_app(app_id)
        sp = {"id": str(uuid.uuid4()), "appId": app_id, "displayName": app["displayName"] if app else None,
              "appDisplayName": app["displayName"] if app else None, "servicePrincipalType": "Application",
              "accountEnabled": True, "appOwnerOrganizationId": owner, "servicePrincipalNames": [app_id],
              "oauth2PermissionScopes": [], "appRoles": [], "tags": []}
        merge(sp, extra or {})
        self.service_principals[sp["id"]] = sp
        return sp

    def app_by_app_id(self, app_id):
        for app in self.applications.values():
            if app["appId"].lower() == (app_id or "").lower():
                return app
        return None

    def client_by_app_id(self, app_id):
        """An application that can sign in here: registered in the tenant, one of Microsoft's own clients, or
        another tenant's multitenant app that has a service principal here (its admin consented)."""
        app = self.app_by_app_id(app_id) or self.external_apps.get((app_id or "").lower())
        if app is None and self.sp_by_app_id(app_id) is not None:
            app = self.foreign_multitenant_app(app_id)[0]
        return app

    def foreign_multitenant_app(self, app_id):
        """(application object, home tenant id) of another tenant's app that allows other organisations, or
        (None, None). The object is the home tenant's own: its secrets and settings count everywhere."""
        for other in (self.directory or ()):
            if other is self:
                continue
            app = other.app_by_app_id(app_id)
            if app is not None and app["signInAudience"] != "AzureADMyOrg":
                return app, other.tenant["id"]
        return None, None

    def application_for_service_principal(self, app_id):
        """What ``POST /servicePrincipals {"appId"}`` may instantiate here: a local or a foreign multitenant app."""
        return self.app_by_app_id(app_id) or self.foreign_multitenant_app(app_id)[0]

    def sp_by_app_id(self, app_id):
        for sp in self.service_principals.values():
            if sp["appId"].lower() == (app_id or "").lower():
                return sp
        return None

    # -- app role and directory role assignments --------------------------------------------------------
    def new_app_role_assignment(self, principal, resource, app_role_id):
        """An appRoleAssignment as Graph stores it: the principal holds an app role of the resource."""
        assignment = {"id": secrets.token_urlsafe(32), "appRoleId": app_role_id, "createdDateTime": iso(self.now()),
                      "deletedDateTime": None, "principalDisplayName": principal.get("displayName"),
                      "principalId": principal["id"], "principalType": "ServicePrincipal",
                      "resourceDisplayName": resource.get("displayName"), "resourceId": resource["id"]}
        self.app_role_assignments[assignment["id"]] = assignment
        return assignment

    def new_role_assignment(self, principal_id, role_definition_id, directory_scope_id="/"):
        assignment = {"id": secrets.token_urlsafe(32), "principalId": principal_id,
                      "roleDefinitionId": role_definition_id, "directoryScopeId": directory_scope_id}
        self.role_assignments[assignment["id"]] = assignment
        return assignment

    def app_roles_of(self, sp, resource_app_id):
        """The values of the app roles ``sp`` holds on the resource with ``resource_app_id`` (the token's roles)."""
        resource = self.sp_by_app_id(resource_app_id)
        if resource is None:
            return []
        names = {role["id"]: role["value"] for role in resource.get("appRoles", [])}
        return sorted({names[a["appRoleId"]] for a in self.app_role_assignments.values()
                       if a["principalId"] == sp["id"] and a["resourceId"] == resource["id"] and a["appRoleId"] in names})

    def directory_roles_of(self, principal_id):
        """Template ids of the built-in directory roles assigned to a principal tenant-wide (the token's wids)."""
        return sorted({a["roleDefinitionId"] for a in self.role_assignments.values()
                       if a["principalId"] == principal_id and a["directoryScopeId"] == "/"})

    def set_app_roles(self, sp, roles):
        """Replace the app role assignments of ``sp``: {resource appId: [role value, ...]} (seed and control)."""
        for key in [k for k, a in self.app_role_assignments.items() if a["principalId"] == sp["id"]]:
            del self.app_role_assignments[key]
        for resource_app_id, values in roles.items():
            resource = self.sp_by_app_id(resource_app_id)
            ids = {role["value"]: role["id"] for role in resource.get("appRoles", [])}
            for value in values:
                self.new_app_role_assignment(sp, resource, ids[value])

    def set_directory_roles(self, sp, role_definition_ids):
        for key in [k for k, a in self.role_assignments.items() if a["principalId"] == sp["id"]]:
            del self.role_assignments[key]
        for role_id in role_definition_ids:
            self.new_role_assignment(sp["id"], role_id)

    def forget_principal(self, object_id):
        """Assignments go with a deleted service principal (as principal or as resource)."""
        for key in [k for k, a in self.app_role_assignments.items() if object_id in (a["principalId"], a["resourceId"])]:
            del self.app_role_assignments[key]
        for key in [k for k, a in self.role_assignments.items() if a["principalId"] == object_id]:
            del self.role_assignments[key]

    def user(self, upn):
        return self.users.get((upn or "").lower())

    def consented_scopes(self, client_sp, resource_sp):
        """Tenant-wide (AllPrincipals) delegated consent of ``client_sp`` on ``resource_sp``."""
        granted = set()
        for grant in self.grants.values():
            if (grant["clientId"] == client_sp["id"] and grant["resourceId"] == resource_sp["id"]
                    and grant["consentType"] == "AllPrincipals"):
                granted.update((grant.get("scope") or "").split())
        return granted

    def mark_created(self, object_id):
        """Start the configured replication delay for a fresh object (see the ``graph`` faults)."""
        faults = self.faults.get("graph", {})
        requests, seconds = int(faults.get("replication_delay_requests", 0)), float(faults.get("replication_delay_seconds", 0))
        if requests or seconds:
            self.invisible[object_id] = {"requests": requests, "until": self.now() + seconds}

    def replicated(self, object_id):
        """False while a fresh object is still invisible to the replica that serves this request."""
        entry = self.invisible.get(object_id)
        if not entry:
            return True
        if entry["requests"] > 0:
            entry["requests"] -= 1
            return False
        if self.now() < entry["until"]:
            return False
        del self.invisible[object_id]
        return True

    def take_fault(self, service):
        """The next injected failure for ``service`` ("429", "503", "500"), consuming one; or None."""
        with self.lock:
            faults = self.faults.get(service, {})
            for status in ("429", "503", "500", "504"):
                if int(faults.get(status, 0)) > 0:
                    faults[status] = int(faults[status]) - 1
                    return int(status), faults.get("retry_after")
        return None

    def record(self, service, method, path, status):
        with self.lock:
            self.requests.append({"service": service, "method": method, "path": path, "status": status,
                                  "time": iso(self.now())})
            del self.requests[:-500]

    def effective_smtp_auth_disabled(self, upn):
        mailbox = self.mailboxes.get((upn or "").lower())
        if mailbox is None:
            return None
        setting = mailbox["SmtpClientAuthenticationDisabled"]
        return self.config["org_smtp_auth_disabled"] if setting is None else setting


def merge(target, patch):
    """JSON merge as Graph PATCH does it: nested complex properties are merged, collections replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def public(obj):
    """An object as the API shows it: internal ``_`` fields removed, deep copied."""
    if isinstance(obj, dict):
        return {key: public(value) for key, value in obj.items() if not key.startswith("_")}
    if isinstance(obj, list):
        return [public(value) for value in obj]
    return obj
