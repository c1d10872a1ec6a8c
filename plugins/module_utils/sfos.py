# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SFOS XML API client: connection options, firmware profiles, and one HTTPS session per firewall and task.

Every request is stateless (``<Login>`` inside), so a task needs exactly one request to read and one to write;
the session keeps one TCP/TLS connection open for both.
"""

from __future__ import annotations

import warnings

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import InsecureRequestWarning
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the caller through missing_required_lib
    requests = HTTPAdapter = InsecureRequestWarning = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import (
    HAS_DEFUSEDXML, DEFUSEDXML_IMPORT_ERROR, SfosError, build_request, not_xml_safe, parse_reply)

DEFAULT_PORT = 4444
API_PATH = "/webconsole/APIController"

# Options every SFOS module takes; the action plugins fill unset ones from the inventory variable sfos_<name>.
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
CONNECTION_INVENTORY_VARS = {name: "sfos_" + name for name in CONNECTION_ARGSPEC}

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


def missing_libraries():
    """(library name, import error) pairs the controller lacks, for missing_required_lib."""
    return [(name, error) for name, ok, error in (
        ("requests", HAS_REQUESTS, REQUESTS_IMPORT_ERROR),
        ("defusedxml", HAS_DEFUSEDXML, DEFUSEDXML_IMPORT_ERROR)) if not ok]


class SfosClient:
    """One firewall's XML API, over one kept-alive HTTPS connection for the life of the client."""

    def __init__(self, host, username, password, port=DEFAULT_PORT, validate_certs=True, ca_path=None, timeout=30,
                 api_version=None, session=None):
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
        self.url = "https://%s:%s%s" % ("[%s]" % host if ":" in host else host, port, API_PATH)
        self.session = session or requests.Session()
        # One connection per firewall: the pool never needs more, and Get + Set reuse it.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        self.session.mount("https://", adapter)
        # Passed per request: a Session attribute loses to REQUESTS_CA_BUNDLE from the environment.
        self.verify = (ca_path or True) if validate_certs else False
        # What goes into <Request APIVersion=...>: the user's choice, else nothing on the first request (the firewall
        # answers in its own version) and the detected version afterwards.
        self.request_api_version = api_version
        self.api_version = None

    def close(self):
        self.session.close()

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
        try:
            with warnings.catch_warnings():
                # validate_certs=false is the user's explicit choice for this request only; the action plugin
                # says so once as an Ansible warning instead of urllib3 repeating it per request.
                if not self.validate_certs:
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                response = self.session.post(self.url, data={"reqxml": reqxml}, timeout=self.timeout,
                                             verify=self.verify)
        except requests.exceptions.SSLError:
            raise SfosError("TLS verification of firewall %s failed" % where, code="tls",
                            hint="set ca_path to the CA that signed the firewall's certificate (or, only for a "
                                 "test box, validate_certs=false)") from None
        except requests.exceptions.Timeout:
            raise SfosError("Firewall %s did not answer within %s s" % (where, self.timeout), code="timeout",
                            hint="check that the firewall is up and not overloaded, or raise timeout") from None
        except requests.exceptions.RequestException as exc:
            raise SfosError("Could not reach firewall %s (%s)" % (where, type(exc).__name__), code="unreachable",
                            hint="check host and port (the admin port, normally 4444) and that the firewall is up "
                                 "and reachable from the controller") from None
        if response.status_code != 200:
            raise SfosError("Firewall %s answered HTTP %s instead of an XML API reply" % (where, response.status_code),
                            code="http-%s" % response.status_code, status=response.status_code,
                            hint="check that host and port point at the firewall's admin API and that no proxy is "
                                 "in between")
        # Bytes, so the XML declaration (or UTF-8) decides the encoding, not a guess from Content-Type.
        reply = parse_reply(response.content, entity_tag, where)
        if reply.api_version:
            self.api_version = reply.api_version
        return reply


def client_from_params(params):
    """An :class:`SfosClient` from the connection options (CONNECTION_ARGSPEC) of a module."""
    return SfosClient(params["host"], params["username"], params["password"], port=params["port"],
                      validate_certs=params["validate_certs"], ca_path=params["ca_path"], timeout=params["timeout"],
                      api_version=params["api_version"])
