"""Wire the tenants, the signer and the three apps to three HTTPS servers (login, Graph, Exchange).

Each tenant has its own login, Graph, Exchange and control app over its own store; one port per service serves
every tenant and hands each request to the tenant it belongs to (see ``_tenants.Tenants``).
"""

import json
import logging

from .._http import AppServer, json_response
from ._control import Control
from ._exchange import ExchangeApp
from ._graph import GraphApp
from ._login import LoginApp
from ._store import DEFAULT_CONFIG
from ._tenants import ANY_TENANT, Tenants, tenant_seeds
from ._tokens import Signer

log = logging.getLogger("sandbox.microsoft")
SEED_KEYS = ("automation_app", "limited_app", "mailbox", "admin_user", "mfa_user")


class _Routed:
    """One port: ``/_sandbox/...`` goes to the control endpoints, everything else to the tenant's service."""

    def __init__(self, name, apps, controls, tenants):
        self.name, self.apps, self.controls, self.tenants = name, apps, controls, tenants

    def __call__(self, request):
        if request.path.startswith("/_sandbox/"):
            return self.control(request)
        index = self.tenants.stores.index(self.pick(request))
        response = self.apps[index](request)
        self.tenants[index].record(self.name, request.method, request.path, response.status)
        return response

    def pick(self, request):
        with self.tenants.lock:
            return self._pick(request)

    def _pick(self, request):
        tenants = self.tenants
        parts = [p for p in request.path.split("/") if p]
        if self.name == "login":
            if not parts:
                return tenants[0]
            if parts == ["devicelogin"] and request.method == "POST":
                return tenants.by_upn(request.form().get("login")) or tenants[0]
            if parts[0].lower() in ANY_TENANT:
                return tenants.for_any_tenant_request(request, parts)
            return tenants.by_segment(parts[0]) or tenants[0]
        token = request.bearer()
        found = tenants.by_token(token) if token else None
        if found is None and self.name == "exchange" and len(parts) > 2:
            found = tenants.by_segment(parts[2])
        return found or tenants[0]

    def control(self, request):
        """``/_sandbox/<path>`` acts on tenant 0, ``?tenant=<id|domain>`` or ``/_sandbox/tenants/<id|domain>/<path>``
        on that tenant, ``?tenant=all`` (changes only) on every tenant; ``GET /_sandbox/tenants`` lists them."""
        parts = [p for p in request.path.split("/") if p][1:]
        selector = request.query.get("tenant")
        if parts == ["tenants"] and request.method == "GET":
            return json_response({"tenants": [dict(store.tenant) for store in self.tenants]})
        if len(parts) > 2 and parts[0] == "tenants":
            selector, parts = parts[1], parts[2:]
        if selector == "all" and request.method != "GET":
            # the same change in every tenant (reset, faults, config, clock); the first refusal stops it
            results = []
            for control in self.controls:
                response = control(request, parts)
                if response.status >= 400:
                    return response
                results.append(json.loads(response.body))
            return json_response({"tenants": results})
        store = self.tenants.by_segment(selector) if selector else self.tenants[0]
        if store is None:
            return json_response({"error": "no tenant %r; known: %s" % (
                selector, [s.tenant["domain"] for s in self.tenants])}, 404)
        return self.controls[self.tenants.stores.index(store)](request, parts)


def build(ssl_context, options=None):
    """Return (servers, ready_info, store of tenant 0) for the emulated tenants; the caller serves the servers."""
    options = dict(options or {})
    seeds = tenant_seeds(options.pop("tenants", 1), options.pop("tenant_domain", "contoso.example"))
    unknown = set(options) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError("unknown microsoft emulator options: %s" % sorted(unknown))
    tenants = Tenants(seeds)
    for store in tenants:
        store.config.update(options)
        store.seed_config = dict(store.config)
    signer = Signer()  # one signing key for every tenant, as Entra publishes one key set for all of them
    urls = {}
    logins = [LoginApp(store, signer, urls) for store in tenants]
    controls = [Control(store, login) for store, login in zip(tenants, logins)]
    apps = {"login": logins, "graph": [GraphApp(store, signer, urls) for store in tenants],
            "exchange": [ExchangeApp(store, signer, urls) for store in tenants]}
    servers = {name: AppServer(_Routed(name, per_tenant, controls, tenants), ssl_context)
               for name, per_tenant in apps.items()}
    for name, server in servers.items():
        urls[name + "_url"] = "https://127.0.0.1:%d" % server.port
    described = [dict({"tenant": dict(store.seed_info["tenant"])},
                      **{key: dict(store.seed_info[key]) for key in SEED_KEYS}) for store in tenants]
    ready = dict(urls, jwks_uri="%s/common/discovery/v2.0/keys" % urls["login_url"], tenants=described)
    ready.update(described[0])
    log.info("microsoft emulator: login %s graph %s exchange %s tenants %s", urls["login_url"], urls["graph_url"],
             urls["exchange_url"], ", ".join(store.tenant["id"] for store in tenants))
    return list(servers.values()), ready, tenants[0]
