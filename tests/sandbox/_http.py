"""A small threaded HTTPS/1.1 server shared by the emulators.

An emulator is a callable ``app(request) -> Response``. One process may serve many apps, each on its own
port (the SFOS fleet does), from a single selector loop; every connection gets a thread, TLS is negotiated in
that thread, and connections are kept alive as HTTP/1.1 clients expect.

Emulated network latency (``AppServer.round_trip_seconds``, ``Response.delay``) is waited in the connection's own
thread, never in the selector loop: the loop only accepts, so one slow firewall never holds up the others.
"""

import json
import logging
import selectors
import signal
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from socketserver import TCPServer, ThreadingMixIn

log = logging.getLogger("sandbox.http")


class Request:
    """What an app sees of one HTTP request."""

    def __init__(self, method, target, headers, body, client, port):
        parts = urllib.parse.urlsplit(target)
        self.method = method
        self.path = urllib.parse.unquote(parts.path)
        self.raw_path = parts.path
        self.raw_query = parts.query
        self.query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        self.headers = headers
        self.body = body
        self.client = client
        self.port = port

    def form(self):
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def json(self):
        return json.loads(self.body.decode("utf-8") or "null")

    def bearer(self):
        value = self.headers.get("Authorization", "")
        return value[7:].strip() if value[:7].lower() == "bearer " else None


class Response:
    """An HTTP reply. ``drop`` closes the connection without answering; ``delay``: seconds from the request's
    arrival to the reply leaving (the time the app took counts towards it)."""

    def __init__(self, status=200, body=b"", headers=None, content_type="text/plain; charset=utf-8",
                 drop=False, delay=0.0):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = dict(headers or {})
        self.headers.setdefault("Content-Type", content_type)
        self.drop = drop
        self.delay = delay


def json_response(obj, status=200, headers=None):
    return Response(status, json.dumps(obj), headers, content_type="application/json; charset=utf-8")


def redirect(location, status=302):
    return Response(status, b"", {"Location": location})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sandbox"
    sys_version = ""

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = time.monotonic()
        request = Request(self.command, self.path, self.headers, body, self.client_address[0],
                          self.server.server_address[1])
        try:
            response = self.server.app(request)
        except Exception:  # an emulator bug must show as a 500, as a real service would answer
            log.exception("emulator error on %s %s", self.command, request.raw_path)
            response = Response(500, b"internal emulator error")
        if response.delay:
            # In this connection's thread: the selector loop and every other connection go on meanwhile.
            time.sleep(max(0.0, received + response.delay - time.monotonic()))
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        # Paths only: query strings carry authorization codes and must not reach the sandbox logs.
        log.info("%s:%s %s %s -> %s", self.client_address[0], self.server.server_address[1],
                 self.command, urllib.parse.urlsplit(self.path).path, args[1] if len(args) > 1 else "")

    def log_request(self, code="-", size="-"):
        self.log_message("%s", self.requestline, str(code))


class AppServer(ThreadingMixIn, TCPServer):
    """One listening socket on 127.0.0.1 for one app; TLS is done in the connection's thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app, ssl_context=None, host="127.0.0.1", port=0):
        self.app = app
        self.ssl_context = ssl_context
        super().__init__((host, port), _Handler)

    @property
    def port(self):
        return self.server_address[1]

    def round_trip_seconds(self):
        """The emulated network round-trip time to this server's clients: 0 (loopback) unless a subclass says."""
        return 0.0

    def finish_request(self, request, client_address):
        # Headers and body leave in two writes; with Nagle on, the body waits for the client's delayed ACK
        # (40 ms per response), a stall real web servers do not have.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rtt = self.round_trip_seconds()
        if rtt:
            # The kernel has answered the SYN at once; the client waits for the server's first TLS flight, so
            # holding that flight back costs the client the TCP round trip plus TLS's first one (all the TLS 1.3
            # handshake needs). Slept in this connection's thread (see the module docstring).
            time.sleep(rtt * (2 if self.ssl_context is not None else 1))
        if self.ssl_context is not None:
            request.settimeout(30)
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.info("TLS handshake from %s failed: %s", client_address[0], exc)
                return
            if rtt and request.version() == "TLSv1.2":
                # TLS 1.2's second handshake round trip, taken before the first request is read: the client's
                # total to its first reply is the same.
                time.sleep(rtt)
        request.settimeout(None)
        super().finish_request(request, client_address)

    def shutdown_request(self, request):
        try:
            request.close()
        except OSError:
            pass


def server_ssl_context(cert_file, key_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def serve(servers, stop_event=None):
    """Serve every server from one selector loop until SIGTERM/SIGINT or ``stop_event``."""
    stop_event = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop_event.set())
    selector = selectors.DefaultSelector()
    for srv in servers:
        srv.socket.setblocking(False)
        selector.register(srv.socket, selectors.EVENT_READ, srv)
    try:
        while not stop_event.is_set():
            for key, _ in selector.select(timeout=0.2):
                try:
                    key.data._handle_request_noblock()  # pylint: disable=protected-access
                except BlockingIOError:
                    pass
    finally:
        selector.close()
        for srv in servers:
            srv.server_close()


def start_in_thread(servers):
    """Serve in a background thread (for unit tests of an emulator); returns the stop event."""
    stop_event = threading.Event()
    thread = threading.Thread(target=serve, args=(servers, stop_event), daemon=True)
    thread.start()
    return stop_event
