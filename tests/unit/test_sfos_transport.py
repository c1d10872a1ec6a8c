"""The firewall client's transport against real local HTTPS servers: one kept-alive connection per client, the TLS
context cache, HTTPS_PROXY / NO_PROXY, and how transport failures read.

The firewall is the SFOS emulator served over TLS with a trustme certificate; the proxy is a small CONNECT tunnel.
Certificate trust as a table is in test_tls_trust.py.
"""

import contextlib
import select
import socket
import ssl
import subprocess
import sys

import pytest
import trustme

from ansible_collections.mailoauth.sophos.plugins.module_utils import sfos
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import SfosClient
from tests.sandbox._http import start_in_thread
from tests.sandbox.sfos.app import FirewallApp, FirewallServer
from tests.sandbox.sfos.state import Firewall
from tests.unit.conftest import SocketServer, server_context

PASSWORD = "fw-password-7d1c"


class CountingServer(FirewallServer):
    """The emulator's server, counting the TCP connections it accepts."""

    def __init__(self, *args, **kwargs):
        self.accepted = 0
        super().__init__(*args, **kwargs)

    def finish_request(self, request, client_address):
        self.accepted += 1
        super().finish_request(request, client_address)


class ConnectProxy(SocketServer):
    """An HTTP proxy that only tunnels (CONNECT), recording each target."""

    def __init__(self):
        self.targets = []
        super().__init__(self._tunnel)

    def _tunnel(self, client):
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")[:2]
            self.targets.append((method, target))
            host, port = target.rsplit(":", 1)
            with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(client, upstream)

    @staticmethod
    def _pipe(client, upstream):
        peers = {client: upstream, upstream: client}
        while True:
            readable, dummy, dummy = select.select(list(peers), [], [], 10)
            if not readable:
                return
            for sock in readable:
                try:
                    data = sock.recv(65536)
                    if data:
                        peers[sock].sendall(data)
                except OSError:
                    data = b""
                if not data:
                    return


pytestmark = pytest.mark.usefixtures("no_proxy_environment")


def serve(ca, host="127.0.0.1", family=socket.AF_INET):
    """The SFOS emulator over TLS on host; yields (firewall state, server)."""
    firewall = Firewall("fw01", PASSWORD, "2200.1")
    context = server_context(ca, host)
    server_class = type("Server", (CountingServer,), {"address_family": family})
    server = server_class(FirewallApp(firewall), ssl_context=context, host=host)
    stop = start_in_thread([server])
    return firewall, server, stop


@pytest.fixture
def firewall(ca):
    state, server, stop = serve(ca)
    yield state, server
    stop.set()


def client_for(server, ca_file, host="127.0.0.1", **options):
    options.setdefault("timeout", 5)
    return SfosClient(host, "apiadmin", PASSWORD, port=server.port, ca_path=ca_file, **options)


def test_get_and_set_share_one_connection(firewall, ca_file):
    state, server = firewall
    client = client_for(server, ca_file)
    try:
        reply = client.get("Notification")
        reply.entity.find("MailServer").text = "smtp.office365.com"
        client.update(reply.entity)
    finally:
        client.close()
    assert server.accepted == 1
    counters = state.snapshot()["counters"]
    assert (counters["requests"], counters["connections"], counters["sets"]) == (2, 1, 1)
    assert state.snapshot()["notification"]["MailServer"] == "smtp.office365.com"


def test_ssl_contexts_are_built_once_per_trust_setting(ca_file, tmp_path):
    assert sfos.ssl_context(True, ca_file) is sfos.ssl_context(True, ca_file)
    assert sfos.ssl_context(False, ca_file) is sfos.ssl_context(False, None)
    assert sfos.ssl_context(False, None).verify_mode == ssl.CERT_NONE
    directory = sfos.ssl_context(True, str(tmp_path))
    assert directory is not sfos.ssl_context(True, ca_file)
    assert directory.check_hostname and directory.verify_mode == ssl.CERT_REQUIRED


def test_the_system_store_context_is_built_at_import():
    """In a fresh interpreter: importing the module is enough, so forked Ansible workers inherit the context."""
    code = ("import sys; sys.path[:0] = %r\n"
            "from ansible_collections.mailoauth.sophos.plugins.module_utils import sfos\n"
            "context = sfos._SSL_CONTEXTS[(True, None)]\n"
            "assert context is sfos.ssl_context() and context.cert_store_stats()['x509_ca'] > 0\n") % (sys.path,)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unreadable_ca_path_is_an_option_error(tmp_path):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    for ca_path in (str(tmp_path / "missing.pem"), str(not_pem)):
        with pytest.raises(SfosError) as info:
            SfosClient("127.0.0.1", "apiadmin", PASSWORD, ca_path=ca_path)
        assert info.value.code == "invalid-option" and "ca_path" in str(info.value)


def test_no_proxy_covering_the_host_connects_directly(firewall, ca_file, monkeypatch):
    dummy, server = firewall
    proxy = ConnectProxy()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.port)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    client = client_for(server, ca_file)
    try:
        assert client.get("Notification").api_version == "2200.1"
    finally:
        client.close()
        proxy.close()
    assert proxy.targets == []
    assert server.accepted == 1


def test_https_proxy_tunnels_and_tls_is_still_verified(firewall, ca_file, monkeypatch, tmp_path):
    state, server = firewall
    proxy = ConnectProxy()
    monkeypatch.setenv("HTTPS_PROXY", "127.0.0.1:%d" % proxy.port)  # no scheme, as curl and requests allow
    monkeypatch.setenv("NO_PROXY", "fw.elsewhere.example")
    target = "127.0.0.1:%d" % server.port
    client = client_for(server, ca_file)
    try:
        reply = client.get("Notification")
        client.update(reply.entity)
    finally:
        client.close()
    assert proxy.targets == [("CONNECT", target)]
    assert state.snapshot()["counters"]["sets"] == 1
    other_ca = str(tmp_path / "other-ca.pem")
    trustme.CA().cert_pem.write_to_path(other_ca)
    untrusting = client_for(server, other_ca)
    try:
        with pytest.raises(SfosError) as info:
            untrusting.get("Notification")
    finally:
        untrusting.close()
        proxy.close()
    assert info.value.code == "tls"
    assert proxy.targets == [("CONNECT", target)] * 2


def test_a_proxy_url_that_is_not_http_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy-user:proxy-secret@127.0.0.1:1080")
    with pytest.raises(SfosError) as info:
        SfosClient("127.0.0.1", "apiadmin", PASSWORD, ca_path=None)
    assert info.value.code == "invalid-option" and "HTTPS_PROXY" in str(info.value)
    assert "proxy-secret" not in str(info.value)


def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_ipv6_address_is_verified(ca, ca_file, host):
    dummy, server, stop = serve(ca, "::1", socket.AF_INET6)
    try:
        client = client_for(server, ca_file, host=host)
        try:
            assert client.get("Notification").api_version == "2200.1"
        finally:
            client.close()
    finally:
        stop.set()


def test_certificate_for_another_address_is_refused(ca, ca_file):
    firewall = Firewall("fw01", PASSWORD, "2200.1")
    server = CountingServer(FirewallApp(firewall), ssl_context=server_context(ca, "127.0.0.2"))
    stop = start_in_thread([server])
    client = client_for(server, ca_file)
    try:
        with pytest.raises(SfosError) as info:
            client.get("Notification")
    finally:
        client.close()
        stop.set()
    assert info.value.code == "tls"


@contextlib.contextmanager
def closed_port():
    """A port nothing listens on, kept bound (never listening) so no other server can take it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


# (emulator fault, error code, words in the message)
FAILURES = {
    "server-closes-the-connection": ({"fault": "down"}, "unreachable", "Could not reach firewall"),
    "server-answers-http-500": ({"fault": "http500"}, "http-500", "answered HTTP 500 instead of an XML API reply"),
    "server-too-slow": ({"fault": "slow", "slow_seconds": 3}, "timeout", "did not answer within 1 s"),
    "nothing-listening": (None, "unreachable", "Could not reach firewall 127.0.0.1:"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_transport_failures_map_to_codes_without_the_password(case, firewall, ca_file):
    state, server = firewall
    fault, code, words = FAILURES[case]
    with contextlib.ExitStack() as stack:
        port = server.port
        if fault:
            state.configure(fault)
        else:
            port = stack.enter_context(closed_port())
        client = SfosClient("127.0.0.1", "apiadmin", PASSWORD, port=port, ca_path=ca_file, timeout=1)
        try:
            with pytest.raises(SfosError) as info:
                client.get("Notification")
        finally:
            client.close()
    assert info.value.code == code
    assert words in str(info.value)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value.args)
    # No urllib3 exception chained on: its text could carry the request.
    assert info.value.__cause__ is None and (info.value.__suppress_context__ or info.value.__context__ is None)


@pytest.mark.parametrize("no_proxy, host, direct", [
    ("10.0.0.0/8", "10.20.30.40", True),
    ("192.0.2.0/24, 10.0.0.0/8", "10.20.30.40", True),
    ("10.0.0.0/8", "192.0.2.10", False),
    ("fd00::/8", "[fd00::1]", True),
    ("not-a-range/99,.example", "10.1.1.1", False),
    ("10.0.0.0/8", "fw01.example", False),
], ids=["cidr", "cidr-in-list", "outside-cidr", "ipv6-cidr", "bad-entry-skipped", "name-not-matched-by-cidr"])
def test_no_proxy_address_ranges(monkeypatch, no_proxy, host, direct):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", no_proxy)
    assert (sfos.environment_proxy(host) is None) is direct


def test_environment_is_read_per_client_not_cached(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert sfos.environment_proxy("fw01.example") == "http://proxy.example:3128"
    monkeypatch.setenv("no_proxy", ".example")
    assert sfos.environment_proxy("fw01.example") is None
