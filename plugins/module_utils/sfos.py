# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SFOS XML API client: connection options, firmware profiles, and one HTTPS connection per firewall and task.

Every request is stateless (``<Login>`` inside), so a task needs exactly one request to read and one to write;
the client keeps one TCP/TLS connection open for both. The transport is urllib3 itself: it runs once per firewall
in a forked worker, where requests' per-call work (session, adapter, environment and netrc lookups) and a fresh
TLS trust store per connection cost more CPU than the call.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import warnings

from ansible.module_utils.basic import missing_required_lib

try:
    import urllib3
    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the caller through missing_required_lib
    urllib3 = None
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = exc

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import (
    HAS_DEFUSEDXML, DEFUSEDXML_IMPORT_ERROR, MAX_REPLY_BYTES, SfosError, build_request, not_xml_safe, parse_reply,
    reply_too_large)

DEFAULT_PORT = 4444
API_PATH = "/webconsole/APIController"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
READ_CHUNK = 64 * 1024

# Options every SFOS module takes; the action plugins fill unset ones from host variables (CONNECTION_VARIABLES).
CONNECTION_ARGSPEC = {
    "host": {"type": "str"},
    "port": {"type": "int", "default": DEFAULT_PORT},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "int", "default": 30},
    "api_version": {"type": "str"},
}
# {option: (variable, ...)} for ActionModuleBase.option_variables: sfos_<option>, and for host also the inventory's.
# An AWX credential of the type "Sophos Firewall API user" injects its login under names of its own, used only by a
# host that has no sfos_username/sfos_password: extra vars would override every host's own.
CONNECTION_VARIABLES = dict({name: ("sfos_" + name,) for name in CONNECTION_ARGSPEC},
                            host=("sfos_host", "ansible_host", "inventory_hostname"),
                            username=("sfos_username", "mailoauth_awx_sfos_username"),
                            password=("sfos_password", "mailoauth_awx_sfos_password"))

# The OAuth 2.0 element names of <Notification> are in no public Sophos document (sfos_notification's notes):
# one row per firmware API version, newest last; a firmware uses the newest row not above its version.
# Users override single names with the oauth_element_names option without waiting for a release.
FIRMWARE_PROFILES = (
    (2100, {"auth": "AuthenticationRequired", "provider": "Oauth2Provider", "client_id": "ClientID",
            "client_secret": "ClientSecret", "refresh_token": "RefreshToken", "username": "Username"}),
    (2200, {"auth": "AuthenticationRequired", "provider": "Oauth2Provider", "client_id": "ClientID",
            "client_secret": "ClientSecret", "refresh_token": "RefreshToken", "username": "Username"}),
)
OAUTH_MIN_API_VERSION = FIRMWARE_PROFILES[0][0]
OAUTH_NAME_KEYS = tuple(FIRMWARE_PROFILES[0][1])


def api_version_number(api_version):
    """``"2200.1"`` -> 2200; None when the firewall did not say."""
    try:
        return int(str(api_version).split(".", 1)[0])
    except (TypeError, ValueError):
        return None


def oauth_supported(api_version):
    number = api_version_number(api_version)
    return number is not None and number >= OAUTH_MIN_API_VERSION


def oauth_element_names(api_version, overrides=None):
    """The element names for this firmware, with the user's overrides applied (None if no OAuth support)."""
    number = api_version_number(api_version)
    names = None
    for minimum, row in FIRMWARE_PROFILES:
        if number is not None and number >= minimum:
            names = row
    if names is None:
        return None
    names = dict(names)
    names.update({key: value for key, value in (overrides or {}).items() if value})
    return names


# A firewall's name or address, nothing else: https://, :port, /path and user@ are the usual slips.
HOST_LABELS = re.compile(r"^[\w-]+(\.[\w-]+)*\.?$")
API_VERSION = re.compile(r"^\d+(\.\d+)*$")
HOST_HINT = "give the firewall's name or address only, e.g. fw01.example.com, 192.0.2.1 or 2001:db8::1"


def _refuse(message, hint):
    raise SfosError(message, code="invalid-option", hint=hint)


def check_host(host):
    """Refuse a host value that is not a bare name or IP address, naming sfos_host and the fix (raises SfosError)."""
    if not host:
        return
    option = "Option host (inventory variable sfos_host)"
    if host != host.strip():
        _refuse("%s %r starts or ends with a space or line break" % (option, host),
                "remove it (a YAML | block leaves a line break at the end: use a plain or quoted string)")
    if "@" in host:
        # Not shown: the part before @ may be a password.
        _refuse("%s holds user information (user@ or user:password@)" % option,
                HOST_HINT + "; the API user goes in username and password (sfos_username, sfos_password)")
    if "://" in host:
        _refuse("%s %r holds a URL scheme" % (option, host),
                HOST_HINT + " (no https://); the admin port goes in port (sfos_port)")
    if "/" in host or "?" in host or "#" in host:
        _refuse("%s %r holds a path" % (option, host), HOST_HINT + "; the collection adds the API path itself")
    try:
        ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
        return
    except ValueError:
        pass
    if ":" in host:
        _refuse("%s %r holds a port" % (option, host), HOST_HINT + "; set the admin port in port (sfos_port), "
                                                                   "default 4444")
    if not HOST_LABELS.match(host):
        _refuse("%s %r is not a host name or IP address" % (option, host), HOST_HINT)


def check_connection_options(params):
    """Refuse connection option values no firewall could use, naming the option and the fix (raises SfosError)."""
    check_host(params.get("host"))
    if params.get("port") is not None and not 1 <= params["port"] <= 65535:
        _refuse("Option port must be between 1 and 65535, not %s" % params["port"],
                "use the firewall's admin port (normally 4444)")
    if params.get("timeout") is not None and params["timeout"] < 1:
        _refuse("Option timeout must be at least 1 second, not %s" % params["timeout"],
                "leave timeout at its default (30) or raise it for slow links")
    if params.get("api_version") and not API_VERSION.match(params["api_version"]):
        _refuse("Option api_version %r is not an XML API version" % params["api_version"],
                "give the firmware's API version such as 2100.1, or leave api_version unset to read it from the "
                "firewall")


def missing_libraries():
    """(library name, import error) pairs the controller lacks, for missing_required_lib."""
    return [(name, error) for name, ok, error in (
        ("urllib3", HAS_URLLIB3, URLLIB3_IMPORT_ERROR),
        ("defusedxml", HAS_DEFUSEDXML, DEFUSEDXML_IMPORT_ERROR)) if not ok]


# One SSLContext per (validate_certs, ca_path) and process: loading a trust store is the costly part of a connection.
_SSL_CONTEXTS = {}


def ssl_context(validate_certs=True, ca_path=None):
    """The TLS settings for a firewall: ca_path (a PEM file or a hashed directory), else the system trust store.

    Raises OSError (ssl.SSLError included) when ca_path cannot be read.
    """
    key = (True, ca_path or None) if validate_certs else (False, None)
    context = _SSL_CONTEXTS.get(key)
    if context is None:
        context = _SSL_CONTEXTS[key] = _new_ssl_context(*key)
    return context


def _new_ssl_context(validate_certs, ca_path):
    if not validate_certs:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_path and os.path.isdir(ca_path):
        return ssl.create_default_context(capath=ca_path)
    if ca_path:
        return ssl.create_default_context(cafile=ca_path)
    # OpenSSL's default paths, which SSL_CERT_FILE and SSL_CERT_DIR override.
    return ssl.create_default_context()


# Built at import on purpose: the action plugins import this module in the controller process before it forks the
# workers (ansible-core's linear and free strategies load the action plugin with action_loader.get(...,
# class_only=True) to look at BYPASS_HOST_LOOP, before _queue_task forks the worker for that host), so every worker
# inherits the loaded system trust store instead of parsing it again, about 20 ms of CPU per firewall.
try:
    ssl_context()
except (OSError, ValueError):  # the store cannot be read now: each client tries again and reports it
    pass


def environment_proxy(host):
    """The HTTPS proxy URL the environment sets for host (HTTPS_PROXY, minus NO_PROXY), or None."""
    proxy = urllib.request.getproxies_environment().get("https")
    if not proxy or bypasses_proxy(host.strip("[]")):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def bypasses_proxy(host):
    """NO_PROXY as requests and curl read it: names and domain suffixes (urllib's rules), and address ranges
    (``10.0.0.0/8``), the usual way to keep a fleet's management network off the proxy."""
    if urllib.request.proxy_bypass_environment(host):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in urllib.request.getproxies_environment().get("no", "").split(","):
        try:
            if "/" in entry and address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


class Deadline:
    """One request's deadline for connect, send and every read: when it passes, the socket of the connection in use
    is shut down, which ends whatever read or write is blocked on it (a firewall dripping one byte per read timeout
    would otherwise hold the task for ever)."""

    def __init__(self):
        self.sock = None
        self.expired = False
        self._timer = None

    def start(self, seconds):
        self.expired = False
        self.sock = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self, seconds, started):
        return max(0.001, seconds - (time.monotonic() - started))

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self):
        self.expired = True
        sock = self.sock
        if sock is not None:
            try:
                # The plain socket's shutdown, not SSLSocket's, which would also drop its TLS state under the reader.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def _watched_connection_class(base):
    class WatchedConnection(base):
        """A urllib3 connection that hands its request's Deadline the socket in use (kept by the Deadline itself:
        http.client lets go of it when a reply ends with the connection)."""

        def __init__(self, *args, deadline=None, **kwargs):
            super().__init__(*args, **kwargs)
            self._deadline = deadline

        def connect(self):
            super().connect()
            self._deadline.sock = self.sock

        def request(self, *args, **kwargs):  # pylint: disable=arguments-differ,signature-differs
            if self.sock is not None:
                self._deadline.sock = self.sock
            return super().request(*args, **kwargs)

    return WatchedConnection


def connection_pool(host, port, context, timeout, proxy=None, deadline=None):
    """A urllib3 pool of one kept-alive connection to host:port, tunnelled (CONNECT) through proxy if given; with a
    Deadline, its connections report to it."""
    options = {"maxsize": 1, "block": False, "retries": False, "ssl_context": context,
               "timeout": urllib3.Timeout(connect=timeout, read=timeout)}
    if not proxy:
        pool = urllib3.HTTPSConnectionPool(host, port, **options)
    else:
        auth = urllib3.util.parse_url(proxy).auth
        headers = urllib3.make_headers(proxy_basic_auth=urllib.parse.unquote(auth)) if auth else None
        pool = urllib3.ProxyManager(proxy, num_pools=1, proxy_headers=headers, **options).connection_from_host(
            host, port, scheme="https")
    if deadline is not None:
        pool.ConnectionCls = _watched_connection_class(pool.ConnectionCls)
        pool.conn_kw = dict(pool.conn_kw, deadline=deadline)
    return pool


def read_capped(response, limit, where):
    """The body of a streamed urllib3 response, refused as soon as it passes ``limit`` bytes (or says it will)."""
    length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
    if length and length.strip().isdigit() and int(length) > limit:
        raise reply_too_large(where, int(length))
    chunks = []
    size = 0
    while True:
        chunk = response.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise reply_too_large(where, size, at_least=True)
        chunks.append(chunk)


class SfosClient:
    """One firewall's XML API, over one kept-alive HTTPS connection for the life of the client.

    ``pool`` replaces the connection pool (tests): any object with ``request(method, url, body=, headers=,
    **urllib3_options)`` returning an object with ``status``, ``headers``, ``read(amount)`` (bytes), ``close()`` and
    ``release_conn()``; and with ``close()``.
    """

    def __init__(self, host, username, password, port=DEFAULT_PORT, validate_certs=True, ca_path=None, timeout=30,
                 api_version=None, pool=None):
        for option, value in (("host", host), ("username", username), ("password", password)):
            if not value:
                raise SfosError("No firewall %s given" % option, code="missing-option",
                                hint="set the %s option or the inventory variable sfos_%s" % (option, option))
        for option, value in (("username", username), ("password", password)):
            if not_xml_safe(value):
                raise SfosError("The firewall %s holds a control character the XML API cannot carry" % option,
                                code="invalid-option", hint="remove control characters from %s" % option)
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.timeout = timeout
        self.validate_certs = validate_certs
        self._deadline = Deadline()
        self._pool = pool or self._new_pool(ca_path)
        # What goes into <Request APIVersion=...>: the user's choice, else nothing on the first request (the firewall
        # answers in its own version) and the detected version afterwards.
        self.request_api_version = api_version
        self.api_version = None

    def _new_pool(self, ca_path):
        try:
            context = ssl_context(self.validate_certs, ca_path)
        except OSError:
            raise SfosError("Cannot read CA certificates from %s" % (ca_path or "the system trust store"),
                            code="invalid-option", hint="set ca_path to a PEM file (or a directory of hashed "
                                                        "certificates) with the CA that signed the firewall's "
                                                        "certificate") from None
        try:
            return connection_pool(self.host, self.port, context, self.timeout, environment_proxy(self.host),
                                   self._deadline)
        except ValueError:
            # Not the URL itself in the message: it may carry the proxy's password.
            raise SfosError("The HTTPS proxy set in the environment (HTTPS_PROXY) is not an http:// or https:// URL",
                            code="invalid-option", hint="correct HTTPS_PROXY, or list the firewall in NO_PROXY "
                                                        "to connect directly") from None

    def close(self):
        self._pool.close()

    def get(self, entity_tag):
        """Read an entity; returns the reply (``reply.entity`` is None when the firewall has none)."""
        return self._call(build_request(self.username, self._password, "Get", entity_tag, self.request_api_version),
                          entity_tag)

    def update(self, entity):
        """Full update of an entity (``<Set operation="update">``); raises SfosError unless it succeeded."""
        return self._call(build_request(self.username, self._password, "Set", entity,
                                        self.request_api_version or self.api_version), entity.tag)

    def _call(self, reqxml, entity_tag):
        where = "%s:%s" % (self.host, self.port)
        body = urllib.parse.urlencode({"reqxml": reqxml}).encode("ascii")
        started = time.monotonic()
        self._deadline.start(self.timeout)
        response = None
        try:
            with warnings.catch_warnings():
                # validate_certs=false is the user's explicit choice for this request only; the action plugin
                # says so once as an Ansible warning instead of urllib3 repeating it per request.
                if not self.validate_certs:
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                remaining = self._deadline.remaining(self.timeout, started)
                # Streamed (and not decoded: a compressed body could expand past the cap before we count it).
                response = self._pool.request("POST", API_PATH, body=body, headers=FORM_HEADERS, preload_content=False,
                                              decode_content=False, redirect=False,
                                              timeout=urllib3.Timeout(connect=remaining, read=remaining))
                if response.status != 200:
                    raise SfosError("Firewall %s answered HTTP %s instead of an XML API reply" % (where, response.status),
                                    code="http-%s" % response.status, status=response.status,
                                    hint="check that host and port point at the firewall's admin API and that no proxy "
                                         "is in between")
                data = read_capped(response, MAX_REPLY_BYTES, where)
            if self._deadline.expired:
                raise transport_error(urllib3.exceptions.ReadTimeoutError(None, API_PATH, "deadline"), where,
                                      self.timeout)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if self._deadline.expired:
                exc = urllib3.exceptions.ReadTimeoutError(None, API_PATH, "deadline")
            raise transport_error(exc, where, self.timeout) from None
        except SfosError:
            if response is not None:
                response.close()  # the rest of the reply is never read: the connection cannot carry another request
            raise
        finally:
            self._deadline.cancel()
            if response is not None:
                response.release_conn()
        # Bytes, so the XML declaration (or UTF-8) decides the encoding, not a guess from Content-Type.
        reply = parse_reply(data, entity_tag, where)
        if reply.api_version:
            self.api_version = reply.api_version
        return reply


def transport_error(exc, where, timeout):
    """The SfosError for a urllib3 exception. Names only the exception's type: the request body holds the password."""
    errors = urllib3.exceptions
    if isinstance(exc, errors.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, errors.SSLError):
        return SfosError("TLS verification of firewall %s failed" % where, code="tls",
                         hint="set ca_path to the CA that signed the firewall's certificate (or, only for a test box, "
                              "validate_certs=false)")
    # NewConnectionError subclasses ConnectTimeoutError for history's sake; a refused connection is no timeout.
    if isinstance(exc, (errors.TimeoutError, socket.timeout)) and not isinstance(exc, errors.NewConnectionError):
        return SfosError("Firewall %s did not answer within %s s" % (where, timeout), code="timeout",
                         hint="check that the firewall is up and not overloaded, or raise timeout")
    return SfosError("Could not reach firewall %s (%s)" % (where, type(exc).__name__), code="unreachable",
                     hint="check host and port (the admin port, normally 4444) and that the firewall is up and "
                          "reachable from the controller")


def client_for_module(module, check=None):
    """The client for a module's connection options, after checking them (and ``check(params)`` if given); fails the
    module instead of raising when a library is missing or an option is wrong (SfosError)."""
    for library, error in missing_libraries():
        module.fail_json(msg=missing_required_lib(library), exception=str(error))
    if not module.params["validate_certs"]:
        module.warn("validate_certs=false: the firewall's TLS certificate is not verified")
    params = module.params
    try:
        check_connection_options(params)
        if check:
            check(params)
        return SfosClient(params["host"], params["username"], params["password"], port=params["port"],
                          validate_certs=params["validate_certs"], ca_path=params["ca_path"],
                          timeout=params["timeout"], api_version=params["api_version"])
    except SfosError as exc:
        module.fail_json(msg=str(exc), **exc.details())
