"""The sandbox's HTTPS framework: TLS with the test CA, keep-alive, dropped connections."""

import http.client
import ssl

import pytest

from tests.sandbox._ca import make_ca
from tests.sandbox._http import AppServer, Response, json_response, server_ssl_context, start_in_thread


@pytest.fixture
def served(tmp_path):
    paths = make_ca(str(tmp_path))
    seen = []

    def app(request):
        seen.append((request.method, request.path, request.query, request.body))
        if request.path == "/drop":
            return Response(drop=True)
        return json_response({"path": request.path, "form": request.form() if request.body else {}})

    server = AppServer(app, server_ssl_context(paths["cert_file"], paths["key_file"]))
    stop = start_in_thread([server])
    yield server.port, ssl.create_default_context(cafile=paths["ca_file"]), seen
    stop.set()


def test_tls_keep_alive_reuses_one_connection(served):
    port, context, seen = served
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    for i in range(3):
        conn.request("POST", "/a?x=%d" % i, body="reqxml=%3Cx%3E", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        assert resp.status == 200
        assert b'"form": {"reqxml": "<x>"}' in resp.read()
    conn.close()
    assert [s[2] for s in seen] == [{"x": "0"}, {"x": "1"}, {"x": "2"}]


def test_untrusted_client_is_refused(served):
    port = served[0]
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(), timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/")


def test_dropped_connection_gives_no_reply(served):
    port, context = served[0], served[1]
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    conn.request("GET", "/drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
