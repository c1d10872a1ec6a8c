"""Test-side access to a running sandbox: its description and the emulators' control endpoints.

Tests read the emulators' state through ``/_sandbox/...`` on the emulators themselves, never through the
collection's own clients, so an assertion cannot agree with a bug in the code under test.
"""

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

from . import _runner


class Sandbox:
    def __init__(self, state):
        self.state = state
        self.dir = state["dir"]
        self.ca_file = state["ca_file"]
        self.services = state["services"]
        self._ssl = ssl.create_default_context(cafile=self.ca_file)

    @classmethod
    def start(cls, directory, **kwargs):
        return cls(_runner.start(directory, **kwargs))

    @classmethod
    def load(cls, directory):
        state = _runner.load(directory)
        return cls(state) if state else None

    def stop(self):
        _runner.stop(self.dir)

    def request(self, url, method="GET", body=None, headers=None):
        """Plain HTTPS request trusting only the sandbox CA; returns (status, parsed JSON or text)."""
        data = None
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=30) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            status, raw, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
        text = raw.decode("utf-8", "replace")
        return status, (json.loads(text) if "json" in ctype and text else text)

    def control(self, base_url, path, method="GET", body=None):
        status, payload = self.request(base_url.rstrip("/") + "/_sandbox/" + path.lstrip("/"), method, body)
        if status >= 400:
            raise AssertionError("sandbox control %s %s failed: %s %s" % (method, path, status, payload))
        return payload

    @property
    def tenants(self):
        """The Microsoft emulator's tenants: [{tenant, automation_app, limited_app, mailbox, admin_user, mfa_user}]."""
        microsoft = self.services["microsoft"]
        return microsoft.get("tenants") or [{key: microsoft[key] for key in (
            "tenant", "automation_app", "limited_app", "mailbox", "admin_user", "mfa_user")}]

    def microsoft(self, path, method="GET", body=None, tenant=None):
        """A Microsoft emulator control call on tenant 0, or on ``tenant`` (an index into ``tenants``, an id or a
        domain)."""
        if tenant is not None:
            name = self.tenants[tenant]["tenant"]["id"] if isinstance(tenant, int) else tenant
            path = "tenants/%s/%s" % (urllib.parse.quote(name, safe=""), path.lstrip("/"))
        return self.control(self.services["microsoft"]["login_url"], path, method, body)

    def smtp_logins(self):
        """Each successful XOAUTH2 login so far: [{mailbox, tenant (the token's tenant id), time}]."""
        return self.control(self.services["smtp"]["control_url"], "logins")["logins"]

    def log_text(self):
        """Everything the emulators logged (for the no-secret-in-logs checks)."""
        chunks = []
        for name in os.listdir(self.dir):
            if name.endswith((".log", ".stderr")):
                with open(os.path.join(self.dir, name), encoding="utf-8", errors="replace") as handle:
                    chunks.append(handle.read())
        return "\n".join(chunks)
