# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Notification settings: from module options and the entity read from a firewall to the change to make.

``plan_notification`` is a pure function; ``ensure_notification`` is the whole task on one firewall: one Get, the
plan, and one Set only when something changes (never in check mode).
"""

from __future__ import annotations

import re

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import (
    SfosError, entity_fields, merged_entity, not_xml_safe)
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import oauth_element_names, oauth_supported

ENTITY = "Notification"
HIDDEN = "<hidden>"
CHANGED = "<changed>"

# option -> element of <Notification> (the names the Notification settings page maps to, all documented).
MAIL_FIELDS = (
    ("mail_server", "MailServer"),
    ("mail_port", "Port"),
    ("connection_security", "ConnectionSecurity"),
    ("sender_address", "SenderAddress"),
    ("recipients", "Recepient"),
    ("management_interface", "ManagementInterface"),
    ("ip_family", "IPFamily"),
)
OAUTH_PLAIN = ("provider", "client_id", "username")
OAUTH_SECRETS = ("client_secret", "refresh_token")

# What the Notification page suggests for a provider when OAuth is first set up and the user gave nothing else.
PROVIDER_DEFAULTS = {
    "Microsoft365": {"mail_server": "smtp.office365.com", "mail_port": 587, "connection_security": "STARTTLS"},
    "Gmail": {"mail_server": "smtp.gmail.com", "mail_port": 587, "connection_security": "STARTTLS"},
}
OAUTH_AUTH_VALUE = "Enable"
# Variables an OAuth value the task leaves unset is taken from: the facts the tenant roles set (entra_app,
# refresh_token), which AWX's stored credential also fills (playbooks/tasks/stored_credentials.yml).
OAUTH_VARIABLES = {
    "client_id": "mailoauth_client_id",
    "client_secret": "mailoauth_client_secret",
    "refresh_token": "mailoauth_refresh_token",
    "username": "mailoauth_mailbox",
}
# What to give when a needed OAuth value is empty: what it is, and the firewall_notification role's variable.
OAUTH_EMPTY_HINTS = {
    "client_id": ("application (client) ID of the Entra app", "firewall_notification_client_id"),
    "username": ("sending mailbox", "firewall_notification_mailbox"),
    "client_secret": ("client secret", "firewall_notification_client_secret"),
    "refresh_token": ("refresh token", "firewall_notification_refresh_token"),
}


def _empty_hint(key):
    what, role_variable = OAUTH_EMPTY_HINTS[key]
    return "give the %s as oauth.%s or in the variable %s (the entra_app and refresh_token roles set it; the " \
           "firewall_notification role also takes %s)" % (what, key, OAUTH_VARIABLES[key], role_variable)


NOTIFICATION_ARGSPEC = {
    "mail_server": {"type": "str"},
    "mail_port": {"type": "int"},
    "connection_security": {"type": "str", "choices": ["None", "STARTTLS", "SSLTLS"]},
    "sender_address": {"type": "str"},
    "recipients": {"type": "list", "elements": "str"},
    "management_interface": {"type": "str"},
    "ip_family": {"type": "str", "choices": ["IPv4", "IPv6"]},
    "oauth": {"type": "dict", "options": {
        "provider": {"type": "str", "default": "Microsoft365", "choices": ["Microsoft365", "Gmail"]},
        "client_id": {"type": "str"},
        "client_secret": {"type": "str", "no_log": True},
        "refresh_token": {"type": "str", "no_log": True},
        "username": {"type": "str"},
    }},
    "update_secrets": {"type": "str", "default": "on_create", "choices": ["on_create", "always"], "no_log": False},
    "authentication": {"type": "str", "choices": ["oauth", "password", "none"]},
    "smtp_username": {"type": "str"},
    "smtp_password": {"type": "str", "no_log": True},
    "notification_server": {"type": "str", "choices": ["external", "firewall"]},
    "oauth_element_names": {"type": "dict", "options": {
        "auth": {"type": "str"},
        "provider": {"type": "str"},
        "client_id": {"type": "str"},
        "client_secret": {"type": "str", "no_log": False},
        "refresh_token": {"type": "str", "no_log": False},
        "username": {"type": "str"},
    }},
}
EXTERNAL_MAIL_SERVER = "1"
NOTIFICATION_SERVERS = {"external": EXTERNAL_MAIL_SERVER, "firewall": "0"}
# Without OAuth support (names None) authentication and its username still have the documented elements.
PLAIN_AUTH_NAMES = {"auth": "AuthenticationRequired", "username": "Username"}
PASSWORD_TAG = "Password"


class Plan:
    """The outcome of a comparison: what to send, whether secrets go with it, and the masked before/after."""

    def __init__(self, updates, secrets_sent, before, after):
        self.updates = updates
        self.secrets_sent = secrets_sent
        self.before = before
        self.after = after

    @property
    def changed(self):
        return bool(self.updates)


def _text(value):
    if isinstance(value, bool):
        return "Enable" if value else "Disable"
    return str(value)


def current_settings(fields, names):
    """The comparable view of an entity (``fields`` from entity_fields); secrets masked."""
    view = {option: fields.get(tag, "") for option, tag in MAIL_FIELDS}
    view["notification_server"] = fields.get("NotificationServer", "")
    if names:
        view["authentication"] = fields.get(names["auth"], "")
        view.update({"oauth_" + key: fields.get(names[key], "") for key in OAUTH_PLAIN})
        view.update({"oauth_" + key: HIDDEN if fields.get(names[key]) else "" for key in OAUTH_SECRETS})
    return view


def oauth_configured(fields, names):
    """True when the firewall already holds a complete OAuth block (secrets read back hashed, so only presence)."""
    return bool(names) and fields.get(names["auth"]) == OAUTH_AUTH_VALUE and all(
        fields.get(names[key]) for key in ("provider", "client_id") + OAUTH_SECRETS)


def _check_text(option, value):
    if not_xml_safe(value):
        raise SfosError("Option %s holds a control character that the firewall cannot store" % option,
                        code="invalid-option", hint="remove control characters (including CR) from %s" % option)


# Shapes the Notification page itself refuses; checked before connecting so a typo never reaches any firewall.
ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
HOST_NAME = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")


def check_options(params):
    """Refuse notification option values no firewall could use, naming the option and the fix (raises SfosError).

    The connection options are checked by sfos.client_for_module for every SFOS module."""
    def refuse(message, hint):
        raise SfosError(message, code="invalid-option", hint=hint)

    if params.get("mail_port") is not None and not 1 <= params["mail_port"] <= 65535:
        refuse("Option mail_port must be between 1 and 65535, not %s" % params["mail_port"],
               "use the mail server's submission port (587 for Microsoft 365)")
    if params.get("mail_server") is not None and not HOST_NAME.match(params["mail_server"]):
        refuse("Option mail_server %r is not a host name" % params["mail_server"],
               "give the SMTP server's name only, e.g. smtp.office365.com (no scheme, port or path)")
    recipients = params.get("recipients")
    if recipients is not None:
        if not recipients:
            refuse("Option recipients is an empty list", "list at least one address that should receive the "
                   "notifications, or leave recipients out to keep the firewall's")
        wrong = [address for address in recipients if not ADDRESS.match(address)]
        if wrong:
            refuse("Option recipients holds %s, which is not an e-mail address" % ", ".join(map(repr, wrong)),
                   "give each recipient as one address like soc@example.com")
    authentication = params.get("authentication")
    if authentication and authentication != "oauth" and params.get("oauth") is not None:
        refuse("Option oauth is given with authentication=%s" % authentication,
               "leave out oauth to switch the firewall to authentication=%s, or set authentication=oauth"
               % authentication)
    if authentication == "oauth" and params.get("oauth") is None:
        refuse("Option authentication=oauth needs the oauth option",
               "give oauth (an empty dictionary takes its values from the mailoauth_* variables)")
    if authentication == "password" and not params.get("smtp_username"):
        refuse("Option authentication=password needs smtp_username",
               "give the mail server's login as smtp_username and its password as smtp_password")
    if authentication != "password" and (params.get("smtp_username") or params.get("smtp_password")):
        refuse("Options smtp_username and smtp_password are only used with authentication=password",
               "set authentication=password, or leave smtp_username and smtp_password out")
    oauth = params.get("oauth") or {}
    addresses = [("sender_address", params.get("sender_address")), ("oauth.username", oauth.get("username"))]
    for option, value in addresses:
        if value and not ADDRESS.match(value):
            refuse("Option %s %r is not an e-mail address" % (option, value),
                   "give the sending mailbox's address, e.g. notifications@example.com")


# What the tenant roles set in check mode for values a real run creates first ("(client ID of the app to be
# created)"): shown in the preview, never written. No client ID, secret, token or address is in parentheses.
STAND_IN = re.compile(r"^\(.*\)$")


def refuse_stand_ins(params):
    """Outside check mode, refuse the check-mode stand-ins (raises SfosError naming the option)."""
    oauth = params.get("oauth") or {}
    for key in OAUTH_PLAIN + OAUTH_SECRETS:
        value = oauth.get(key)
        if isinstance(value, str) and STAND_IN.match(value):
            raise SfosError("Option oauth.%s holds a check-mode stand-in%s, not a value" % (
                key, "" if key in OAUTH_SECRETS else " (%s)" % value), code="invalid-option",
                hint="run without --check so the tenant roles create the real value, or give it in %s" % (
                    OAUTH_VARIABLES.get(key, "oauth." + key)))


def plan_notification(params, current, api_version, host):
    """Compare the wanted settings with the entity read from the firewall; returns a :class:`Plan`.

    ``params`` are the module options; ``current`` is the ``<Notification>`` element (or None).
    """
    fields = entity_fields(current)
    oauth = params.get("oauth")
    names = oauth_element_names(api_version, params.get("oauth_element_names"))
    if oauth and not oauth_supported(api_version):
        raise SfosError("Firewall %s runs XML API version %s, which has no OAuth 2.0 for notification e-mail" % (
            host, api_version or "unknown"), code="oauth-unsupported",
            hint="upgrade the firewall to a firmware with API version %s or later, or leave out the oauth option "
                 "for this host" % "2100.1")
    set_up = oauth_configured(fields, names)

    wanted = {option: params.get(option) for option, dummy in MAIL_FIELDS}
    if oauth and wanted["sender_address"] is None:
        # Exchange Online only relays mail from the mailbox that logs in (or one it may send as).
        wanted["sender_address"] = oauth.get("username")
    if oauth and not set_up:
        for option, value in PROVIDER_DEFAULTS.get(oauth["provider"], {}).items():
            if wanted[option] is None:
                wanted[option] = value
    if wanted["recipients"] is not None:
        wanted["recipients"] = ",".join(wanted["recipients"])
    if wanted["mail_port"] is not None and not 1 <= wanted["mail_port"] <= 65535:
        raise SfosError("Option mail_port must be between 1 and 65535, not %s" % wanted["mail_port"],
                        code="invalid-option", hint="use the mail server's submission port (587 for Microsoft 365)")

    updates = {}
    for option, tag in MAIL_FIELDS:
        if wanted[option] is not None:
            value = _text(wanted[option])
            _check_text(option, value)
            if fields.get(tag, "") != value:
                updates[tag] = value
    server = NOTIFICATION_SERVERS.get(params.get("notification_server"))
    if server is None and (oauth is not None or params.get("mail_server")):
        server = EXTERNAL_MAIL_SERVER
    if server is not None and fields.get("NotificationServer") != server:
        updates["NotificationServer"] = server

    secrets_sent = False
    if params.get("authentication") in ("password", "none"):
        secrets_sent = plan_without_oauth(params, fields, names, updates)
    if oauth is not None:
        plain = {"auth": OAUTH_AUTH_VALUE}
        plain.update({key: oauth[key] for key in OAUTH_PLAIN if oauth.get(key) is not None})
        for key in ("client_id", "username"):
            if not oauth.get(key):
                raise SfosError("Option oauth.%s is empty" % key, code="missing-option", hint=_empty_hint(key))
        oauth_changed = False
        for key, value in plain.items():
            _check_text("oauth." + key, value)
            tag = names[key]
            if fields.get(tag, "") != value:
                updates[tag] = value
                oauth_changed = True
        given = [key for key in OAUTH_SECRETS if oauth.get(key)]
        for key in given:
            _check_text("oauth." + key, oauth[key])
        need = (not set_up) or oauth_changed
        if need and len(given) < len(OAUTH_SECRETS):
            missing = [key for key in OAUTH_SECRETS if key not in given]
            raise SfosError("Firewall %s needs the OAuth secrets sent (%s), but %s %s empty" % (
                host, "OAuth is not set up yet" if not set_up else "a client ID, provider or username changes",
                " and ".join("oauth." + key for key in missing), "is" if len(missing) == 1 else "are"),
                code="missing-option", hint="; ".join(map(_empty_hint, missing)))
        if given and (need or params.get("update_secrets") == "always"):
            updates.update({names[key]: oauth[key] for key in given})
            secrets_sent = True

    before = current_settings(fields, names)
    after_fields = dict(fields, **updates)
    after = current_settings(after_fields, names)
    if secrets_sent and oauth is not None:
        after.update({"oauth_" + key: CHANGED for key in OAUTH_SECRETS if oauth.get(key)})
    elif secrets_sent:
        after["smtp_password"] = CHANGED
    return Plan(updates, secrets_sent, before, after)


def plan_without_oauth(params, fields, names, updates):
    """Authentication by password or none: the OAuth block is emptied, ``updates`` completed in place.

    Returns whether the SMTP password is sent. It reads back empty and the firewall replaces the whole entity, so
    once anything is written it must be sent along (or it would be written empty).
    """
    password_auth = params["authentication"] == "password"
    auth_names = names or PLAIN_AUTH_NAMES
    wanted = {auth_names["auth"]: "Enable" if password_auth else "Disable",
              auth_names["username"]: params.get("smtp_username") or "" if password_auth else ""}
    if names:
        wanted.update({names[key]: "" for key in ("provider", "client_id") + OAUTH_SECRETS})
    for tag, value in wanted.items():
        _check_text(tag, value)
        if fields.get(tag, "") != value:
            updates[tag] = value
    if not password_auth:
        return False
    password = params.get("smtp_password")
    if password:
        _check_text("smtp_password", password)
    if updates or (password and params.get("update_secrets") == "always"):
        if not password:
            raise SfosError("The firewall's mail settings change, and the SMTP password has to be sent with them, but "
                            "smtp_password is empty", code="missing-option",
                            hint="give the mail server's password as smtp_password (it reads back empty, so it is "
                                 "sent with every change)")
        updates[PASSWORD_TAG] = password
        return True
    return False


def ensure_notification(client, params, check_mode=False):
    """Read, compare, and write when needed; returns the :class:`Plan`. Raises SfosError."""
    reply = client.get(ENTITY)
    plan = plan_notification(params, reply.entity, client.api_version, client.host)
    if plan.changed and not check_mode:
        client.update(merged_entity(reply.entity, ENTITY, plan.updates))
    return plan
