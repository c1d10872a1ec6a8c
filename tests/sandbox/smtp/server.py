"""The aiosmtpd server: only XOAUTH2, only after STARTTLS, send-as the signed-in mailbox only.

Accepted messages, every login attempt (user, tenant, reply, reason; never the token) and every successful
login (mailbox, tenant) are kept in memory and served on the control port: GET /_sandbox/messages,
GET /_sandbox/auth_log, GET /_sandbox/logins, POST /_sandbox/reset.
"""

import base64
import binascii
import collections
import email
import email.policy
import logging
import socket
import threading
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult

from .._http import json_response
from .tokens import OK, TokenChecker

log = logging.getLogger("sandbox.smtp")
# aiosmtpd's own protocol log echoes client lines; keep it quiet so nothing a client sends reaches the log.
logging.getLogger("mail.log").setLevel(logging.WARNING)

SEND_AS_DENIED = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"


def parse_xoauth2(blob):
    """``user=<mailbox>^Aauth=Bearer <token>^A^A`` -> (user, token); ValueError if malformed."""
    fields = {}
    for part in blob.decode("utf-8").split("\x01"):
        if part:
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError("malformed XOAUTH2 field")
            fields[key] = value
    auth = fields.get("auth", "")
    if not fields.get("user") or not auth.startswith("Bearer "):
        raise ValueError("XOAUTH2 needs user= and auth=Bearer")
    return fields["user"], auth[len("Bearer "):].strip()


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.auth_log = []
        self.logins = []

    def reset(self):
        with self.lock:
            self.messages.clear()
            self.auth_log.clear()
            self.logins.clear()


class Handler:
    def __init__(self, checker, store):
        self.checker = checker
        self.store = store

    async def auth_XOAUTH2(self, server, args):  # pylint: disable=invalid-name
        if len(args) == 1:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Cannot decode base64")
                return AuthResult(success=False, handled=True)
        try:
            user, token = parse_xoauth2(blob)
        except (ValueError, UnicodeDecodeError):
            reply, user, reason, tenant = "535 5.7.3 Authentication unsuccessful", None, "malformed XOAUTH2 response", None
        else:
            reply, reason, tenant = await server.loop.run_in_executor(None, self.checker.check_login, user, token)
        with self.store.lock:
            self.store.auth_log.append({"user": user, "tenant": tenant, "reply": reply, "reason": reason,
                                        "time": time.time()})
            if reply == OK:
                self.store.logins.append({"mailbox": user, "tenant": tenant, "time": time.time()})
        log.info("AUTH XOAUTH2 for %s: %s", user, reply[:9])
        if reply == OK:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False, message=reply)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # pylint: disable=invalid-name
        if (address or "").lower() != (session.auth_data or "").lower():
            return SEND_AS_DENIED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # pylint: disable=invalid-name
        # Exchange Online refuses a recipient that is not local@domain with 5.1.3 (invalid address format).
        local, at, domain = (address or "").rpartition("@")
        if not (local and at and domain):
            return "501 5.1.3 Invalid address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        record = {
            "id": str(uuid.uuid4()),
            "user": session.auth_data,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "subject": str(message.get("Subject", "")),
            "body": (envelope.content.decode("utf-8", "replace") if isinstance(envelope.content, bytes)
                     else str(envelope.content)),
            "time": time.time(),
        }
        with self.store.lock:
            self.store.messages.append(record)
        log.info("accepted message %s from %s", record["id"], record["mail_from"])
        return "250 2.0.0 OK <%s@sandbox> [Hostname=SANDBOX.PROD.OUTLOOK.COM]" % record["id"]


class ExchangeSMTP(SMTP):
    """aiosmtpd's SMTP with room for an XOAUTH2 line: a bearer token is several KB, RFC 4954 allows 12288 octets."""

    line_length_limit = 12288

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.command_size_limits = collections.defaultdict(lambda: self.command_size_limit, AUTH=12288)


class ExchangeController(Controller):
    def factory(self):
        return ExchangeSMTP(self.handler, **self.SMTP_kwargs)


class SmtpService:
    def __init__(self, controller, store):
        self.controller = controller
        self.store = store
        self.port = controller.port

    def control_app(self, request):
        if request.path == "/_sandbox/messages" and request.method == "GET":
            with self.store.lock:
                return json_response({"messages": list(self.store.messages)})
        if request.path == "/_sandbox/auth_log" and request.method == "GET":
            with self.store.lock:
                return json_response({"attempts": list(self.store.auth_log)})
        if request.path == "/_sandbox/logins" and request.method == "GET":
            # who logged in as whom: each successful XOAUTH2 login's mailbox and the tenant that issued its token
            with self.store.lock:
                return json_response({"logins": list(self.store.logins)})
        if request.path == "/_sandbox/reset" and request.method == "POST":
            self.store.reset()
            return json_response({"reset": True})
        if request.path == "/_sandbox/state" and request.method == "GET":
            with self.store.lock:
                return json_response({"messages": len(self.store.messages), "attempts": len(self.store.auth_log),
                                      "port": self.port})
        return json_response({"error": "not found"}, 404)

    def stop(self):
        self.controller.stop()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp(tls_context, ca_file, microsoft, port=None):
    store = Store()
    handler = Handler(TokenChecker(microsoft, ca_file), store)
    controller = ExchangeController(
        handler, hostname="127.0.0.1", port=port or _free_port(), server_hostname="SANDBOX.PROD.OUTLOOK.COM",
        tls_context=tls_context, require_starttls=True, auth_require_tls=True, auth_required=True,
        auth_exclude_mechanism=["LOGIN", "PLAIN"], ident="Microsoft ESMTP MAIL Service ready (sandbox)",
    )
    controller.start()
    return SmtpService(controller, store)
