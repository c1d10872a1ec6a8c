"""TLS trust, as a table: a firewall or sign-in endpoint whose certificate cannot be trusted is refused with a message
that names ca_path (and, for a firewall, validate_certs); the right CA, or validate_certs=false, connects.

The servers are local HTTPS listeners with certificates from trustme. Covered elsewhere: the SMTP STARTTLS case
(test_smtp_login.py::test_untrusted_certificate_points_at_ca_path), the firewall role with the system store
(test_firewall_notification.py::test_bad_input[certificate-not-trusted]), the loopback listener's address and state
check (test_oauth_loopback.py).
"""

import datetime
import http.server
import socket
import ssl
import threading
import urllib.error
import urllib.request

import pytest
import trustme

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import EntraIdentity, IdentityError
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import LoopbackListener
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import SfosClient

REPLY = (b'<?xml version="1.0" encoding="UTF-8"?><Response APIVersion="2200.1"><Login><status>Authentication '
         b'Successful</status></Login><Notification><MailServer>smtp.office365.com</MailServer></Notification>'
         b'</Response>')


class _Reply(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802  (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)

    do_GET = do_POST

    def log_message(self, *args):  # pylint: disable=arguments-differ
        del args


@pytest.fixture(scope="module")
def cas():
    return {"sandbox": trustme.CA(), "other": trustme.CA()}


def serve(cert):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Reply)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def no_env_bundle(monkeypatch):
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(var, raising=False)


def yesterday():
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)


# (certificate the server shows, CA the client is given: None = system store, validate_certs, outcome)
FIREWALL_CASES = {
    "untrusted-ca-and-no-ca_path": (lambda cas: cas["sandbox"].issue_cert("127.0.0.1"), None, True, "tls"),
    "ca_path-names-another-ca": (lambda cas: cas["sandbox"].issue_cert("127.0.0.1"), "other", True, "tls"),
    "certificate-for-another-host": (lambda cas: cas["sandbox"].issue_cert("fw.other.example"), "sandbox", True, "tls"),
    "certificate-expired": (lambda cas: cas["sandbox"].issue_cert("127.0.0.1", not_before=yesterday() - datetime.timedelta(
        days=30), not_after=yesterday()), "sandbox", True, "tls"),
    "ca_path-names-the-right-ca": (lambda cas: cas["sandbox"].issue_cert("127.0.0.1"), "sandbox", True, "ok"),
    "validate_certs-false-accepts-an-untrusted-box": (lambda cas: cas["sandbox"].issue_cert("127.0.0.1"), None, False,
                                                      "ok"),
}


@pytest.mark.parametrize("case", sorted(FIREWALL_CASES))
def test_firewall_certificate(case, cas, tmp_path, no_env_bundle):  # pylint: disable=unused-argument
    make_cert, ca_name, validate, outcome = FIREWALL_CASES[case]
    server = serve(make_cert(cas))
    ca_path = None
    if ca_name:
        ca_path = str(tmp_path / "ca.pem")
        cas[ca_name].cert_pem.write_to_path(ca_path)
    client = SfosClient("127.0.0.1", "apiadmin", "fw-password", port=server.server_address[1], ca_path=ca_path,
                        validate_certs=validate, timeout=5)
    try:
        if outcome == "ok":
            assert client.get("Notification").entity.findtext("MailServer") == "smtp.office365.com"
        else:
            with pytest.raises(SfosError) as info:
                client.get("Notification")
            assert info.value.code == outcome
            assert "ca_path" in str(info.value) and "validate_certs=false" in str(info.value)
            assert "fw-password" not in str(info.value)
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_sign_in_endpoint_with_an_untrusted_certificate_names_ca_path(cas, no_env_bundle):  # pylint: disable=unused-argument
    server = serve(cas["sandbox"].issue_cert("127.0.0.1"))
    try:
        client = EntraIdentity.from_params({
            "cloud": "public", "authority_host": "https://127.0.0.1:%d" % server.server_address[1],
            "tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "22222222-3333-4444-5555-666666666666",
            "client_secret": "a-client-secret-value", "auth_method": "client_secret"})
        with pytest.raises(IdentityError) as info:
            client.token("https://graph.microsoft.com")
        assert "failed with SSLError" in str(info.value) and "ca_path for TLS trust" in str(info.value)
        assert "a-client-secret-value" not in str(info.value)
    finally:
        server.shutdown()
        server.server_close()


def non_loopback_address():
    """An address of this machine that is not loopback (None when it has none)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))   # TEST-NET-1: no packet is sent for a UDP connect
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_loopback_listener_cannot_be_reached_from_another_interface():
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    listener = LoopbackListener(0).start("expected-state")
    try:
        with pytest.raises((ConnectionRefusedError, urllib.error.URLError, OSError)):
            urllib.request.urlopen("http://%s:%d/?code=c&state=expected-state" % (address, listener.port), timeout=3)
        assert listener.wait(0.2) is None
    finally:
        listener.close()
