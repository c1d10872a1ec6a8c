"""sfos_notification under both firmware behaviours the evidence leaves open, as a table: a firewall that accepts an
update with Oauth2Provider and only Username/Password (real firmware, by the vendor's integration tests) and one that
refuses it (501 InvalidParams, what the emulator did before), and a firewall that holds Subject and MailBody.

The module must never rely on the firewall to refuse an incomplete OAuth block: it sends client ID, secret and token
together, refuses before any write when one is missing, and keeps every element it read (Subject, MailBody).
Each case runs the whole task (one Get, at most one Set) against the emulator in-process, twice: the second run must
change nothing.
"""

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import ensure_notification
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from tests.sandbox.sfos.state import Firewall
from tests.unit.test_sfos_roundtrip import client_for, options

PASSWORD = "fw-pw-1b7e"
OAUTH = {"provider": "Microsoft365", "client_id": "cid-4d1a", "client_secret": "cs-77e0", "refresh_token": "rt-90c2",
         "username": "alerts@contoso.example"}
# What the vendor's tests leave on a box: provider and SMTP user, no OAuth client values.
HALF_SET_UP = {"MailServer": "smtp.office365.com", "Port": "587", "NotificationServer": "1",
               "AuthenticationRequired": "Enable", "Oauth2Provider": "Microsoft365", "Username": "alerts@contoso.example",
               "ConnectionSecurity": "STARTTLS"}


class StrictFirewall(Firewall):
    """A firmware that refuses an OAuth provider without client ID, secret and token (501), as some might."""

    @staticmethod
    def _invalid(values):
        problem = Firewall._invalid(values)  # pylint: disable=protected-access
        if problem is None and values["AuthenticationRequired"] == "Enable" and values.get("Oauth2Provider"):
            for tag in ("ClientID", "ClientSecret", "RefreshToken", "Username"):
                if not values.get(tag):
                    return tag
        return problem


FIRMWARE = {"accepts-a-provider-alone": Firewall, "refuses-a-provider-alone": StrictFirewall}


def firewall_of(kind, seed=None):
    firewall = FIRMWARE[kind]("fw01", PASSWORD, "2200.1")
    if seed:
        firewall.configure({"notification": seed})
    return firewall


@pytest.mark.parametrize("kind", sorted(FIRMWARE))
@pytest.mark.parametrize("seed", [None, HALF_SET_UP], ids=["fresh-box", "box-with-provider-and-user-only"])
def test_oauth_is_written_whole_and_converges(kind, seed):
    firewall = firewall_of(kind, seed)
    client = client_for(firewall, PASSWORD)
    plan = ensure_notification(client, options(recipients=["soc@contoso.example"], oauth=dict(OAUTH)))
    stored = firewall.snapshot()["notification"]
    assert plan.changed and plan.secrets_sent
    assert (stored["ClientID"], stored["ClientSecret"], stored["RefreshToken"], stored["Username"]) == (
        "cid-4d1a", "cs-77e0", "rt-90c2", "alerts@contoso.example")
    assert (stored["AuthenticationRequired"], stored["Oauth2Provider"]) == ("Enable", "Microsoft365")
    assert not ensure_notification(client, options(recipients=["soc@contoso.example"], oauth=dict(OAUTH))).changed
    assert firewall.snapshot()["counters"]["sets"] == 1


@pytest.mark.parametrize("kind", sorted(FIRMWARE))
@pytest.mark.parametrize("missing", ["client_secret", "refresh_token"])
def test_a_missing_secret_is_refused_before_any_write(kind, missing):
    """On a box with the provider alone, a firewall that accepts anything would store a half block: we refuse."""
    firewall = firewall_of(kind, HALF_SET_UP)
    before = firewall.snapshot()["notification"]
    oauth = dict(OAUTH, **{missing: None})
    with pytest.raises(SfosError) as info:
        ensure_notification(client_for(firewall, PASSWORD), options(oauth=oauth))
    assert info.value.code == "missing-option"
    assert "oauth.%s" % missing in str(info.value)
    assert firewall.snapshot()["notification"] == before
    assert firewall.snapshot()["counters"]["sets"] == 0


@pytest.mark.parametrize("kind", sorted(FIRMWARE))
def test_subject_and_mail_body_on_the_firewall_are_kept(kind):
    firewall = firewall_of(kind, {"Subject": "Firewall <alert> & more", "MailBody": "Body ü"})
    client = client_for(firewall, PASSWORD)
    ensure_notification(client, options(recipients=["soc@contoso.example"], oauth=dict(OAUTH)))
    stored = firewall.snapshot()["notification"]
    assert (stored["Subject"], stored["MailBody"]) == ("Firewall <alert> & more", "Body ü")
    assert stored["ClientID"] == "cid-4d1a"
