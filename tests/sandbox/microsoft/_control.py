"""``/_sandbox/...`` control endpoints, served on every port of the emulator (same store)."""

import copy
from .._http import json_response
from ._store import DEFAULT_CONFIG, DEFAULT_FAULTS, iso, public

SERVICES = ("graph", "exchange", "token")
FAULT_KEYS = ("429", "503", "500", "504", "retry_after", "replication_delay_requests", "replication_delay_seconds")


class Control:
    def __init__(self, store, login):
        self.store = store
        self.login = login

    def __call__(self, request, parts):
        """``parts``: the path after ``/_sandbox/`` (and after a ``tenants/<tenant>/`` prefix)."""
        store = self.store
        try:
            body = request.json() if request.body else {}
        except ValueError:
            return json_response({"error": "body must be JSON"}, 400)
        with store.lock:
            if parts == ["state"] and request.method == "GET":
                return json_response(self.state())
            if parts == ["requests"] and request.method == "GET":
                return json_response({"requests": list(store.requests)})
            if parts == ["reset"] and request.method == "POST":
                store.reset()
                return json_response({"reset": True})
            if parts == ["faults"] and request.method == "POST":
                return self.faults(body)
            if parts == ["faults"] and request.method == "DELETE":
                store.faults = copy.deepcopy(DEFAULT_FAULTS)
                store.invisible.clear()
                return json_response({"faults": store.faults})
            if parts == ["config"] and request.method == "POST":
                unknown = sorted(set(body) - set(DEFAULT_CONFIG))
                if unknown:
                    return json_response({"error": "unknown config keys %s; known: %s" % (unknown, sorted(DEFAULT_CONFIG))}, 400)
                store.config.update(body)
                return json_response({"config": store.config})
            if parts == ["clock"] and request.method == "POST":
                store.offset += float(body.get("advance_seconds", 0))
                return json_response({"now": iso(store.now()), "offset_seconds": store.offset})
            if len(parts) == 2 and parts[0] == "mailboxes" and request.method == "GET":
                return self.mailbox(parts[1])
            if parts == ["devicecode", "approve"] and request.method == "POST":
                if self.login.approve_device_code(body.get("user_code", ""), body.get("upn", "")):
                    return json_response({"approved": True})
                return json_response({"error": "no pending device code %r or unknown user" % body.get("user_code")}, 404)
            if len(parts) == 3 and parts[0] == "service_principals" and parts[2] == "roles" and request.method == "POST":
                return self.roles(parts[1], body)
            if len(parts) == 3 and parts[0] == "users" and parts[2] == "revoke" and request.method == "POST":
                user = store.user(parts[1])
                if user is None:
                    return json_response({"error": "unknown user"}, 404)
                user["_tokens_valid_from"] = store.now()
                return json_response({"upn": user["userPrincipalName"], "tokens_valid_from": iso(store.now())})
        return json_response({"error": "unknown control endpoint %s %s" % (request.method, request.path)}, 404)

    def faults(self, body):
        for service, values in body.items():
            if service not in SERVICES or not isinstance(values, dict) or set(values) - set(FAULT_KEYS):
                return json_response({"error": "faults take {service: {key: n}} with service in %s and keys in %s"
                                      % (SERVICES, FAULT_KEYS)}, 400)
            self.store.faults[service].update(values)
        return json_response({"faults": self.store.faults})

    def roles(self, app_id, body):
        """Set what an admin would grant in the portal: app role assignments and directory roles of an SP."""
        sp = self.store.sp_by_app_id(app_id)
        if sp is None:
            return json_response({"error": "no service principal for appId %s" % app_id}, 404)
        if "app_roles" in body:
            self.store.set_app_roles(sp, body["app_roles"])
        if "directory_roles" in body:
            self.store.set_directory_roles(sp, body["directory_roles"])
        return json_response({"app_roles": self.app_roles_view(sp), "directory_roles": self.store.directory_roles_of(sp["id"])})

    def app_roles_view(self, sp):
        resources = {a["resourceId"] for a in self.store.app_role_assignments.values() if a["principalId"] == sp["id"]}
        views = {}
        for resource_id in resources:
            app_id = self.store.service_principals[resource_id]["appId"]
            views[app_id] = self.store.app_roles_of(sp, app_id)
        return views

    def mailbox(self, upn):
        store = self.store
        box = store.mailboxes.get(upn.lower())
        if box is None:
            return json_response({"error": "no mailbox %s" % upn}, 404)
        return json_response({"upn": store.users[upn.lower()]["userPrincipalName"],
                              "smtp_auth_disabled": store.effective_smtp_auth_disabled(upn),
                              "mailbox_setting": box["SmtpClientAuthenticationDisabled"],
                              "org_setting": store.config["org_smtp_auth_disabled"]})

    def state(self):
        store = self.store
        sps = []
        for sp in store.service_principals.values():
            view = public(sp)
            view["app_role_assignments"] = self.app_roles_view(sp)
            view["directory_roles"] = store.directory_roles_of(sp["id"])
            sps.append(view)
        return {
            "now": iso(store.now()),
            "tenant": dict(store.tenant),
            "users": [{"upn": u["userPrincipalName"], "id": u["id"], "displayName": u["displayName"], "mfa": u["_mfa"],
                       "admin": u["_admin"], "tokens_valid_from": iso(u["_tokens_valid_from"])} for u in store.users.values()],
            "applications": [public(app) for app in store.applications.values()],
            "deleted_applications": [public(app) for app in store.deleted.values()],
            "service_principals": sps,
            "oauth2_permission_grants": [public(g) for g in store.grants.values()],
            "app_role_assignment_objects": [public(a) for a in store.app_role_assignments.values()],
            "role_assignments": [public(a) for a in store.role_assignments.values()],
            "mailboxes": {upn: dict(box, effective_smtp_auth_disabled=store.effective_smtp_auth_disabled(upn))
                          for upn, box in store.mailboxes.items()},
            "org": {"SmtpClientAuthenticationDisabled": store.config["org_smtp_auth_disabled"]},
            "config": dict(store.config),
            "faults": store.faults,
            "refresh_tokens": [{"client_id": r["client_id"], "upn": r["upn"], "issued": iso(r["issued"]),
                                "last_used": iso(r["last_used"])} for r in store.refresh_tokens.values()],
            "authorization_codes": [{"client_id": c["client_id"], "upn": c["upn"], "used": c["used"],
                                     "issued": iso(c["issued"])} for c in store.codes.values()],
            "device_codes": [{"user_code": d["user_code"], "client_id": d["client_id"], "status": d["status"]}
                             for d in store.device_codes.values()],
        }
