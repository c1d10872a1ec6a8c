# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SFOS XML API wire format: request building, reply parsing, status mapping. No I/O here.

Reads top to bottom: request building, reply parsing, status mapping. Requests are built with ElementTree so any
character in any value arrives intact; replies are parsed with defusedxml because they come from the network.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET

try:
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException
    HAS_DEFUSEDXML = True
    DEFUSEDXML_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the caller through missing_required_lib
    SafeET = None
    DefusedXmlException = ValueError
    HAS_DEFUSEDXML = False
    DEFUSEDXML_IMPORT_ERROR = exc

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError


class SfosError(MailOAuthError):
    """A firewall refused or could not answer an XML API request."""

    service = "SFOS"


# XML 1.0 cannot carry these at all (and a parser folds CR into LF), so such a value could never arrive intact.
_NOT_XML_SAFE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Codes whose write went through even when the text says otherwise (reference: 202/217/222 "Unable to get status").
SUCCESS_CODES = frozenset(("200", "201", "202", "216", "217", "222"))
EMPTY_GET_TEXT = "No. of records Zero."
# A Notification reply is a few kilobytes; anything this large is an error page, a proxy's stream or an attack.
MAX_REPLY_BYTES = 4 * 1024 * 1024
# Response/Notification/element is three levels; anything far deeper is hostile (and would exhaust Python's stack in
# whatever walks it recursively).
MAX_REPLY_DEPTH = 32
REQUEST = "API request"

_STATUS_HINTS = {
    "500": ("the firewall could not perform the operation",
            "check the values against Administration > Notification settings on the firewall and its log"),
    "501": ("the firewall rejected a value (parameter validation failed)",
            "correct the value named in the firewall's message; the limits are those of the Notification settings page"),
    "502": ("an entity with the same name exists", "choose another name"),
    "503": ("an entity with the same details exists", "change the details"),
    "510": ("the entity is referenced elsewhere", "remove the references first"),
    "528": ("the default entity cannot be edited", "leave the default entity alone"),
    "529": ("the firewall rejected an element as invalid (unknown element for this firmware)",
            "check oauth_element_names against the names sfos_notification_info shows for this firmware"),
    "532": ("API access is not enabled on the firewall",
            "enable it under Backup & firmware > API on the firewall"),
    "534": ("the firewall does not accept API requests from this controller's IP address",
            "add the controller's IP address to the allow-list under Backup & firmware > API on the firewall"),
    "535": ("the API user has no permission for this operation",
            "give the API user's device-access profile access to System > Notification"),
    "599": ("the API user's profile lacks write access",
            "give the API user's device-access profile read-write access to Notification settings"),
}


def not_xml_safe(value):
    """True when ``value`` holds a character XML 1.0 cannot carry (control characters, CR, lone surrogates)."""
    return bool(_NOT_XML_SAFE.search(value))


def build_request(username, password, operation, entity, api_version=None):
    """The ``reqxml`` text for one operation: ``Get`` with an entity tag, or ``Set`` with an entity Element."""
    root = ET.Element("Request")
    if api_version:
        root.set("APIVersion", api_version)
    login = ET.SubElement(root, "Login")
    ET.SubElement(login, "Username").text = username
    ET.SubElement(login, "Password").text = password
    if operation == "Get":
        ET.SubElement(ET.SubElement(root, "Get"), entity)
    else:
        ET.SubElement(root, "Set", operation="update").append(entity)
    return ET.tostring(root, encoding="unicode")


class Reply:
    """What one XML API reply said: firmware API version and the entity element (or None)."""

    def __init__(self, api_version, entity, status_code=None, status_text=None):
        self.api_version = api_version
        self.entity = entity
        self.status_code = status_code
        self.status_text = status_text


def reply_too_large(host, size, at_least=False):
    return SfosError("Firewall %s answered with %s%d bytes, more than an XML API reply can be (%d)"
                     % (host, "over " if at_least else "", size, MAX_REPLY_BYTES), code="reply-too-large",
                     hint="check that host and port point at the firewall's admin API (webconsole/APIController) "
                          "and that no proxy is in between")


def parse_reply(text, entity_tag, host):
    """Parse and check a reply (bytes or text), in order: non-XML, top-level Status, Login status, entity Status.

    Returns a :class:`Reply`; raises :class:`SfosError` for every failure.
    """
    if len(text or "") > MAX_REPLY_BYTES:
        raise reply_too_large(host, len(text))
    try:
        root = SafeET.fromstring(text)
    except (ET.ParseError, DefusedXmlException, ValueError):
        root = None
    if root is None or root.tag != "Response":
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        snippet = re.sub(r"<[^>]*>|\s+", " ", text or "")[:80].strip()
        raise SfosError("Firewall %s answered with something that is not an XML API reply%s" % (
            host, " (%r)" % snippet if snippet else ""), code="not-xml",
            hint="check that host and port point at the firewall's admin API (webconsole/APIController) and that no "
                 "proxy or error page is in between")
    api_version = root.get("APIVersion")
    top = root.find("Status")
    if top is not None:
        raise status_error(host, top.get("code"), top.text, REQUEST)
    login = root.find("Login")
    login_status = (login.findtext("status") or login.findtext("Status") or "") if login is not None else ""
    if login is not None and login_status.strip() != "Authentication Successful":
        raise SfosError("Firewall %s refused the API login" % host, code=login_status.strip() or "no login status",
                        hint="check the username and password options (inventory variables sfos_username, "
                             "sfos_password) and that this administrator may use the API")
    _check_shape(root, entity_tag, host)
    element = root.find(entity_tag)
    if element is None:
        raise SfosError("Firewall %s answered without a %s element" % (host, entity_tag), code="no-entity",
                        hint="check that this firmware supports the %s entity" % entity_tag)
    status = element.find("Status")
    if status is None:
        return Reply(api_version, element)
    code = status.get("code")
    text = (status.text or "").strip()
    if code is None and text == EMPTY_GET_TEXT:
        return Reply(api_version, None, None, text)
    if code in SUCCESS_CODES:
        return Reply(api_version, None, code, text)
    raise status_error(host, code, text, entity_tag)


def _check_shape(root, entity_tag, host):
    """Refuse a reply nested deeper than any firewall's, or one that holds the entity or any of its elements twice:
    reading one copy and updating the other would never converge."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_REPLY_DEPTH:
            raise SfosError("Firewall %s answered with elements nested more than %d levels deep, which no XML API "
                            "reply has" % (host, MAX_REPLY_DEPTH), code="reply-too-deep",
                            hint="check that host and port point at the firewall's admin API (webconsole/APIController) "
                                 "and that nothing in between alters its replies")
        stack.extend((child, depth + 1) for child in element)
    entities = root.findall(entity_tag)
    for parent, children in [(root, entities)] + [(entity, list(entity)) for entity in entities[:1]]:
        seen = {}
        for child in children:
            seen[child.tag] = seen.get(child.tag, 0) + 1
        twice = sorted(tag for tag, count in seen.items() if count > 1)
        if twice:
            raise SfosError("Firewall %s answered an ambiguous reply: <%s> holds <%s> %d times, so it is unclear which "
                            "one the firewall uses; nothing was changed" % (host, parent.tag, twice[0], seen[twice[0]]),
                            code="ambiguous-reply",
                            hint="check the %s settings on the firewall itself and that nothing in between alters "
                                 "its replies" % entity_tag)


def status_error(host, code, text, what):
    """The error for a non-success ``<Status>``; the code decides, the firewall's text is only shown."""
    text = (text or "").strip()
    summary, hint = _STATUS_HINTS.get(code or "", (None, None))
    if code == "529" and what == REQUEST:
        summary = "the firewall rejected the request as invalid (malformed XML or missing API version)"
        hint = "set api_version (inventory variable sfos_api_version) to the firmware's XML API version, e.g. 2200.1"
    if code is None:
        summary, hint = "the firewall answered without a status code", "check the firewall's API log"
    elif summary is None:
        summary, hint = "the firewall answered status %s" % code, "see the firewall's API documentation for this code"
    message = "Firewall %s: %s on %s" % (host, summary, what)
    if text:
        message += ' ("%s")' % text[:200]
    return SfosError(message, code=code, hint=hint)


def entity_fields(element):
    """Flat view ``{tag: text}`` of an entity's direct children ('' for empty)."""
    if element is None:
        return {}
    return {child.tag: (child.text or "") for child in element if child.tag != "Status"}


def masked_entity(element, secret_tags=()):
    """The raw entity as a dict for display: hashed or known-secret values masked, nested elements kept."""
    result = {}
    for child in element:
        if child.tag == "Status":
            continue
        if len(child):
            value = masked_entity(child, secret_tags)
        elif child.get("hashform") or child.tag in secret_tags or child.tag == "Password":
            value = "<hidden>" if child.text else ""
        else:
            value = child.text or ""
        if child.tag in result:
            if not isinstance(result[child.tag], list):
                result[child.tag] = [result[child.tag]]
            result[child.tag].append(value)
        else:
            result[child.tag] = value
    return result


def merged_entity(current, entity_tag, updates):
    """A copy of ``current`` for a full update: every element kept in order, ``updates`` ({tag: text}) applied.

    SFOS replaces the whole entity on update, so everything we read goes back, including elements we do not know
    and secrets in their hashed form (the firewall keeps a secret it gets back with its ``hashform``).
    """
    entity = ET.Element(entity_tag)
    if current is not None:
        for child in current:
            if child.tag != "Status":
                entity.append(copy.deepcopy(child))
    for tag, value in updates.items():
        child = entity.find(tag)
        if child is None:
            child = ET.SubElement(entity, tag)
        child.attrib.pop("hashform", None)
        child.text = value
    return entity
