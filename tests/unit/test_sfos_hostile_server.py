"""Hostile firewall servers, as a table: a TLS server that streams without end, or drips its reply, never holds the
controller longer than the task's timeout nor makes it keep more than the 4 MiB reply cap in memory.

Each server here is a raw TLS socket that reads the request and then misbehaves for at most a bounded time (so an
old client that waits would still end, just late). A request has ONE deadline (timeout) for connect, send and every
read, and reading stops at the cap.

Covered elsewhere: replies over the cap that arrive whole (test_xml_hostile.py::test_hostile_reply_is_refused
[huge-reply-*]), a slow but steady firewall (test_sfos_transport.py::test_transport_failures_map_to_codes_without_the_
password[server-too-slow]).
"""

import time
import tracemalloc

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import MAX_REPLY_BYTES, SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import SfosClient
from tests.unit.conftest import SocketServer, server_context

PASSWORD = "fw-password-3e9a"
TIMEOUT = 5
# How long a hostile server keeps going before it gives up on its own (what an old client would wait for).
SERVER_GIVES_UP_AFTER = 40
STREAM_LIMIT = 512 * 1024 * 1024
CHUNK = b"<Filler>" + b"A" * 65000 + b"</Filler>"
LOGIN_OK = b"<Response APIVersion=\"2200.1\"><Login><status>Authentication Successful</status></Login><Notification>"


def stream_close_delimited(conn, server):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n" + LOGIN_OK)
    while server.sent < STREAM_LIMIT and time.monotonic() < server.give_up_at:
        conn.sendall(CHUNK)
        server.sent += len(CHUNK)


def stream_chunked(conn, server):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
    conn.sendall(b"%x\r\n%s\r\n" % (len(LOGIN_OK), LOGIN_OK))
    while server.sent < STREAM_LIMIT and time.monotonic() < server.give_up_at:
        conn.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
        server.sent += len(CHUNK)


def stream_with_huge_content_length(conn, server):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1500000000\r\n\r\n" + LOGIN_OK)
    while server.sent < STREAM_LIMIT and time.monotonic() < server.give_up_at:
        conn.sendall(CHUNK)
        server.sent += len(CHUNK)


def drip(conn, server, data):
    for byte in data:
        if time.monotonic() >= server.give_up_at:
            return
        conn.sendall(bytes((byte,)))
        server.sent += 1
        time.sleep(2)


def drip_body(conn, server):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n")
    drip(conn, server, LOGIN_OK * 10)


def drip_headers(conn, server):
    drip(conn, server, b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Padding: " + b"p" * 100)


class HostileServer(SocketServer):
    """Accepts TLS connections on 127.0.0.1, reads one request, then runs ``behaviour(conn, server)``."""

    def __init__(self, ca, behaviour):
        self.behaviour = behaviour
        self.sent = 0
        self.give_up_at = time.monotonic() + SERVER_GIVES_UP_AFTER
        self.context = server_context(ca)
        super().__init__(self._serve)

    def _serve(self, raw):
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                self.behaviour(conn, self)
        except OSError:  # the client hung up: what it should do
            return


pytestmark = pytest.mark.usefixtures("no_proxy_environment")


# (server behaviour, error code, words in the message)
HOSTILE = {
    "endless-body-without-length": (stream_close_delimited, "reply-too-large", "more than an XML API reply can be"),
    "endless-chunked-body": (stream_chunked, "reply-too-large", "more than an XML API reply can be"),
    "content-length-of-1-5-gb": (stream_with_huge_content_length, "reply-too-large",
                                 "more than an XML API reply can be"),
    "one-body-byte-every-2-s": (drip_body, "timeout", "did not answer within 5 s"),
    "one-header-byte-every-2-s": (drip_headers, "timeout", "did not answer within 5 s"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_server_ends_within_the_timeout_and_the_cap(case, ca, ca_file):
    behaviour, code, words = HOSTILE[case]
    server = HostileServer(ca, behaviour)
    client = SfosClient("127.0.0.1", "apiadmin", PASSWORD, port=server.port, ca_path=ca_file, timeout=TIMEOUT)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(SfosError) as info:
            client.get("Notification")
        elapsed = time.monotonic() - started
        dummy, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
        server.close()
    assert info.value.code == code, str(info.value)
    assert words in str(info.value)
    assert PASSWORD not in str(info.value)
    # Generous bounds: what is asserted is "one deadline, one cap", not speed.
    assert elapsed < 2 * TIMEOUT, "the request took %.0f s with timeout=%d" % (elapsed, TIMEOUT)
    assert peak < 4 * MAX_REPLY_BYTES, "the client held %d MiB of the reply" % (peak // 2 ** 20)
    assert server.sent < 16 * MAX_REPLY_BYTES, "the client kept reading %d MiB" % (server.sent // 2 ** 20)
