"""Several tenants in one emulator: one Store each, found by id, verified domain, user or credential."""

import threading

import jwt

from ._store import Store
from ._tokens import digest

SEED_TENANTS = (("contoso.example", "Contoso Sandbox"), ("fabrikam.example", "Fabrikam Sandbox"),
                ("northwind.example", "Northwind Sandbox"))
ANY_TENANT = ("common", "organizations")


def tenant_seeds(tenants, first_domain):
    """[(domain, display name)] from the ``tenants`` option: a count or a list of domains; tenant 0 keeps
    ``first_domain`` (the older ``tenant_domain`` option)."""
    if isinstance(tenants, bool) or not isinstance(tenants, (int, list)):
        raise ValueError("microsoft emulator option tenants takes a count (1 or more) or a list of domains")
    if isinstance(tenants, int):
        if tenants < 1:
            raise ValueError("microsoft emulator option tenants must be 1 or more, got %d" % tenants)
        seeds = [SEED_TENANTS[i] if i < len(SEED_TENANTS) else ("tenant%d.example" % i, "Tenant %d Sandbox" % i)
                 for i in range(tenants)]
        seeds[0] = (first_domain, SEED_TENANTS[0][1])
        return seeds
    domains = [str(domain).lower() for domain in tenants]
    if not domains or len(set(domains)) != len(domains) or not all("." in d for d in domains):
        raise ValueError("microsoft emulator option tenants: the domains must be distinct DNS names, got %r" % tenants)
    return [(domain, "%s Sandbox" % domain.partition(".")[0].capitalize()) for domain in domains]


class Tenants:
    """The emulator's directory: ``tenants[0]`` is the default one (the only one unless asked for more)."""

    def __init__(self, seeds):
        self.lock = threading.RLock()
        self.stores = [Store(domain, name, lock=self.lock, directory=self) for domain, name in seeds]

    def __iter__(self):
        return iter(self.stores)

    def __len__(self):
        return len(self.stores)

    def __getitem__(self, index):
        return self.stores[index]

    def by_segment(self, segment):
        """The tenant an authority segment or control parameter names (id or verified domain), or None."""
        wanted = (segment or "").lower()
        for store in self.stores:
            if wanted in (store.tenant["id"], store.tenant["domain"].lower()):
                return store
        return None

    def by_upn(self, upn):
        """The tenant whose verified domain a user name ends with (home realm discovery), or None."""
        return self.by_segment((upn or "").rpartition("@")[2]) if "@" in (upn or "") else None

    def by_token(self, token):
        """The tenant of a bearer token's ``tid`` (unverified here: the tenant's own service verifies it)."""
        try:
            tid = jwt.decode(token, options={"verify_signature": False}).get("tid")
        except jwt.InvalidTokenError:
            return None
        return self.by_segment(tid) if isinstance(tid, str) else None

    def holding(self, kind, value):
        """The tenant that issued a code, refresh token or device code (``kind`` is the Store attribute)."""
        key = digest(value or "")
        for store in self.stores:
            if key in getattr(store, kind):
                return store
        return None

    def home_of_client(self, client_id):
        """The tenant where an application is registered (for /common pages before anyone signed in)."""
        for store in self.stores:
            if store.app_by_app_id(client_id) is not None:
                return store
        return None

    def for_any_tenant_request(self, request, parts):
        """The tenant a ``/common`` or ``/organizations`` request belongs to: from the credential it redeems
        (code, refresh token, device code), the user it names, or the client's home tenant."""
        endpoint = parts[1:]
        if endpoint == ["oauth2", "v2.0", "token"] and request.method == "POST":
            form = request.form()
            grant = form.get("grant_type")
            found = None
            if grant == "authorization_code":
                found = self.holding("codes", form.get("code"))
            elif grant == "refresh_token":
                found = self.holding("refresh_tokens", form.get("refresh_token"))
            elif grant == "password":
                found = self.by_upn(form.get("username"))
            elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                found = self.holding("device_codes", form.get("device_code") or form.get("code"))
            return found or self.home_of_client(form.get("client_id")) or self.stores[0]
        if endpoint == ["oauth2", "v2.0", "authorize"]:
            params = request.form() if request.method == "POST" else request.query
            return (self.by_upn(params.get("login")) or self.by_upn(params.get("login_hint"))
                    or self.home_of_client(params.get("client_id")) or self.stores[0])
        if endpoint == ["oauth2", "v2.0", "devicecode"] and request.method == "POST":
            return self.home_of_client(request.form().get("client_id")) or self.stores[0]
        return self.stores[0]

    def approve_device_code(self, user_code, upn):
        """Approve a pending device code as ``upn``. A code asked for at /common or /organizations moves to the
        user's tenant; one asked for at a tenant's own authority takes only that tenant's users."""
        with self.lock:
            home = self.by_upn(upn)
            if home is None or home.user(upn) is None:
                return False
            for store in self.stores:
                for key, record in store.device_codes.items():
                    if record["user_code"] != user_code.strip().upper() or record["status"] != "pending":
                        continue
                    if store is not home:
                        if not record.get("any_tenant"):
                            return False
                        del store.device_codes[key]
                        home.device_codes[key] = record
                    record["status"], record["upn"] = "approved", home.user(upn)["userPrincipalName"]
                    return True
        return False
