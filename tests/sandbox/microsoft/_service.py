"""Wire the store, the signer and the three apps to three HTTPS servers (login, Graph, Exchange)."""

import logging

from .._http import AppServer
from ._control import Control
from ._exchange import ExchangeApp
from ._graph import GraphApp
from ._login import LoginApp
from ._store import DEFAULT_CONFIG, Store
from ._tokens import Signer

log = logging.getLogger("sandbox.microsoft")


class _Routed:
    """One port: ``/_sandbox/...`` goes to the control endpoints, everything else to the service."""

    def __init__(self, name, app, control, store):
        self.name, self.app, self.control, self.store = name, app, control, store

    def __call__(self, request):
        if request.path.startswith("/_sandbox/"):
            return self.control(request)
        response = self.app(request)
        self.store.record(self.name, request.method, request.path, response.status)
        return response


def build(ssl_context, options=None):
    """Return (servers, ready_info, store) for an emulated tenant; the caller serves the servers."""
    options = dict(options or {})
    store = Store(options.pop("tenant_domain", "contoso.example"))
    unknown = set(options) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError("unknown microsoft emulator options: %s" % sorted(unknown))
    store.config.update(options)
    store.seed_config = dict(store.config)
    signer = Signer()
    urls = {}
    login = LoginApp(store, signer, urls)
    control = Control(store, login)
    apps = {"login": login, "graph": GraphApp(store, signer, urls), "exchange": ExchangeApp(store, signer, urls)}
    servers = {name: AppServer(_Routed(name, app, control, store), ssl_context) for name, app in apps.items()}
    for name, server in servers.items():
        urls[name + "_url"] = "https://127.0.0.1:%d" % server.port
    ready = dict(urls, tenant=dict(store.seed_info["tenant"]), jwks_uri="%s/common/discovery/v2.0/keys" % urls["login_url"])
    for key in ("automation_app", "limited_app", "mailbox", "admin_user", "mfa_user"):
        ready[key] = dict(store.seed_info[key])
    log.info("microsoft emulator: login %s graph %s exchange %s tenant %s", urls["login_url"], urls["graph_url"],
             urls["exchange_url"], store.tenant["id"])
    return list(servers.values()), ready, store
