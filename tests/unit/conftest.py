"""Fixtures for the unit tests: the Microsoft emulator in-process (no sandbox processes, no ports to clean up), and
small local TLS servers signed by a trustme CA for the firewall client's transport tests."""

import socket
import ssl
import threading

import pytest
import trustme

from tests.sandbox.microsoft.harness import Harness

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """One emulator per test module, served from threads on free ports of 127.0.0.1."""
    emulator = Harness(str(tmp_path_factory.mktemp("microsoft")))
    yield emulator
    emulator.close()


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """One emulator holding three tenants per test module (tenant 0 as the harness's own)."""
    emulator = Harness(str(tmp_path_factory.mktemp("tenants")), {"tenants": 3})
    yield emulator
    emulator.close()


@pytest.fixture
def ms(harness):
    """The emulator, back at its seed (same ids and secrets) for every test."""
    harness.control("reset", "POST")
    return harness


@pytest.fixture(scope="module")
def ca():
    """A test CA of the module's own: what its servers present, and what the client is told to trust (ca_file)."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(path)
    return path


@pytest.fixture
def no_proxy_environment(monkeypatch):
    """No proxy variable from the machine running the tests: a test that wants one sets it."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def server_context(ca, host="127.0.0.1"):
    """A TLS server context presenting a certificate the test CA issued for host."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(host).configure_cert(context)
    return context


class SocketServer:
    """Listens on a free port of 127.0.0.1; each connection goes to handle(sock) in a daemon thread of its own."""

    def __init__(self, handle):
        self.handle = handle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, dummy = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self.handle, args=(sock,), daemon=True).start()

    def close(self):
        self.listener.close()
