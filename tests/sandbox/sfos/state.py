"""One emulated firewall: its settings, its Notification entity, and what the XML API did to it.

Behaviour follows /work/shared/reference/sfos-xml-api.md: a full update replaces the entity (omitted elements are
cleared to a fresh box's values, an empty Password clears the stored one: unknown on real firmware), secrets read back hashed and salted afresh on every read (``hashform="mode1"``),
the SMTP password reads back empty, and a hashed secret sent back unchanged keeps the stored secret.
"""

import hashlib
import secrets
import threading

OAUTH_MIN_API_VERSION = 2100

# A fresh box's Notification entity, in the order the firewall returns it.
BASE_ELEMENTS = (
    ("MailServer", ""), ("Port", "25"), ("NotificationServer", "0"), ("AuthenticationRequired", "Disable"),
    ("Username", ""), ("Password", ""), ("ConnectionSecurity", "None"), ("Certificate", "ApplianceCertificate"),
    ("SenderAddress", ""), ("Recepient", ""), ("ManagementInterface", "None"), ("IPFamily", "IPv4"),
)
# The OAuth 2.0 block of firmware with OAuth support. The real names are not public: these are the collection's
# documented guess (reference: by analogy with AzureADSSO), and the emulator is where that guess is exercised.
OAUTH_ELEMENTS = (("Oauth2Provider", ""), ("ClientID", ""), ("ClientSecret", ""), ("RefreshToken", ""))
# Accepted in an update (the vendor's integration tests, written against real firewalls, send them; reference).
# Whether a Get returns them is not public: modelled as read back once an update has set them.
OPTIONAL_ELEMENTS = ("Subject", "MailBody")
HASHED = frozenset(("ClientSecret", "RefreshToken"))
WRITE_ONLY = frozenset(("Password",))

CHOICES = {
    "NotificationServer": ("0", "1"), "AuthenticationRequired": ("Enable", "Disable"),
    "ConnectionSecurity": ("None", "STARTTLS", "SSLTLS"), "IPFamily": ("IPv4", "IPv6"),
    "Oauth2Provider": ("", "Microsoft365", "Gmail"),
}
MAX_LENGTH = {"Subject": 255, "MailBody": 4096, "MailServer": 255, "Username": 50, "Password": 50, "SenderAddress": 128, "ClientID": 255,
              "ClientSecret": 1024, "RefreshToken": 8192, "ManagementInterface": 64, "Certificate": 255}

CONFIG_KEYS = ("api_version", "allow_api_from_client", "api_enabled", "write_access", "password", "fault",
               "fault_status", "slow_seconds", "require_api_version")
FAULTS = (None, "down", "slow", "html", "http500")


def api_major(api_version):
    try:
        return int(str(api_version).split(".", 1)[0])
    except ValueError:
        return 0


def hash_secret(value, salt=None):
    salt = salt or secrets.token_hex(8)
    return "$sfos$%s$%s" % (salt, hashlib.sha256((salt + value).encode("utf-8")).hexdigest())


def hash_matches(hashed, value):
    parts = hashed.split("$")
    return len(parts) == 4 and parts[1] == "sfos" and hash_secret(value, parts[2]) == hashed


class Firewall:
    """State of one firewall. All access goes through the lock: connections are served by parallel threads."""

    def __init__(self, name, password, api_version, username="apiadmin"):
        self.lock = threading.RLock()
        self.name = name
        self.username = username
        self.initial = {"password": password, "api_version": api_version}
        self.port = None
        self.reset()

    def reset(self):
        with self.lock:
            self.password = self.initial["password"]
            self.api_version = self.initial["api_version"]
            self.allow_api_from_client = True
            self.api_enabled = True
            self.write_access = True
            # Reported from one live v22 box: requests without <Request APIVersion=...> are refused with 529.
            self.require_api_version = False
            self.fault = None
            self.fault_status = 200
            self.slow_seconds = 6.0
            self.notification = dict(self.fresh_elements())
            self.reset_counters()

    def reset_counters(self):
        with self.lock:
            self.counters = {"requests": 0, "connections": 0, "gets": 0, "sets": 0, "logins_failed": 0}
            self.seen_connections = set()

    @property
    def oauth_supported(self):
        return api_major(self.api_version) >= OAUTH_MIN_API_VERSION

    def fresh_elements(self):
        return BASE_ELEMENTS + (OAUTH_ELEMENTS if self.oauth_supported else ())

    def known_tags(self):
        return [tag for tag, dummy in self.fresh_elements()]

    def configure(self, changes):
        unknown = sorted(set(changes) - set(CONFIG_KEYS) - {"notification"})
        if unknown:
            raise ValueError("unknown config keys: %s" % ", ".join(unknown))
        if "fault" in changes and changes["fault"] not in FAULTS:
            raise ValueError("fault must be one of %s" % (FAULTS,))
        with self.lock:
            for key in CONFIG_KEYS:
                if key in changes:
                    setattr(self, key, changes[key])
            if "api_version" in changes:
                # A firmware change keeps what both versions know; the OAuth block exists only where supported.
                self.notification = {tag: self.notification.get(tag, default)
                                     for tag, default in self.fresh_elements()}
            for tag, value in (changes.get("notification") or {}).items():
                if tag not in self.known_tags() + list(OPTIONAL_ELEMENTS):
                    raise ValueError("%s is not an element of this firmware's Notification" % tag)
                self.notification[tag] = str(value)

    def note_request(self, connection_id):
        with self.lock:
            self.counters["requests"] += 1
            if connection_id not in self.seen_connections:
                self.seen_connections.add(connection_id)
                self.counters["connections"] += 1

    def read_notification(self):
        """The entity as a Get returns it: [(tag, text, attributes)]."""
        with self.lock:
            self.counters["gets"] += 1
            items = []
            for tag, value in self.notification.items():
                if tag in WRITE_ONLY:
                    items.append((tag, "", {}))
                elif tag in HASHED and value:
                    items.append((tag, hash_secret(value), {"hashform": "mode1"}))
                else:
                    items.append((tag, value, {}))
            return items

    def update_notification(self, elements):
        """Full update from [(tag, text, attributes)]; returns (code, message) as the firewall would answer."""
        with self.lock:
            if not self.write_access:
                return "599", "The user does not have write privileges for this operation."
            known = self.known_tags() + list(OPTIONAL_ELEMENTS)
            new = dict(self.fresh_elements())
            for tag, text, attributes in elements:
                if tag not in known:
                    return "529", "Input request file is invalid."
                text = text or ""
                if attributes.get("hashform"):
                    # A secret sent back as read: keep the stored value when the hash is one of ours.
                    if tag not in HASHED or not hash_matches(text, self.notification.get(tag, "")):
                        return "501", "InvalidParams: /Notification/%s" % tag
                    text = self.notification[tag]
                new[tag] = text
            problem = self._invalid(new)
            if problem:
                return "501", "InvalidParams: /Notification/%s" % problem
            self.notification = new
            self.counters["sets"] += 1
            return "200", "Configuration applied successfully."

    @staticmethod
    def _invalid(values):
        for tag, choices in CHOICES.items():
            if tag in values and values[tag] not in choices:
                return tag
        for tag, limit in MAX_LENGTH.items():
            if len(values.get(tag, "")) > limit:
                return tag
        if not values["Port"].isdigit() or not 1 <= int(values["Port"]) <= 65535:
            return "Port"
        if values["NotificationServer"] == "1" and not values["MailServer"]:
            return "MailServer"
        if any(len(address) > 128 for address in values["Recepient"].split(",")):
            return "Recepient"
        # No check that an OAuth provider comes with client ID, secret and token: the vendor's tests expect an update
        # with Oauth2Provider and only Username/Password to be accepted (reference).
        return None

    def snapshot(self):
        """Everything a test may assert on, secrets in the clear (the control endpoint is test-only)."""
        with self.lock:
            return {
                "name": self.name, "port": self.port, "username": self.username, "api_version": self.api_version,
                "oauth_supported": self.oauth_supported, "allow_api_from_client": self.allow_api_from_client,
                "api_enabled": self.api_enabled, "write_access": self.write_access, "fault": self.fault,
                "require_api_version": self.require_api_version,
                "notification": dict(self.notification), "counters": dict(self.counters),
            }
