"""Any Unicode value the XML API can carry arrives in the firewall's stored state exactly as given.

The collection's real client (ElementTree, form encoding, defusedxml) talks to the SFOS emulator through an
in-process connection pool, so hypothesis can try many values without sockets.
"""

import io
import types

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import (
    NOTIFICATION_ARGSPEC, ensure_notification)
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError, not_xml_safe
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import DEFAULT_PORT, SfosClient
from tests.sandbox._http import Request
from tests.sandbox.sfos.app import FirewallApp
from tests.sandbox.sfos.state import Firewall


class InProcessPool:
    """The client's pool seam: hands each request to an emulator app and returns its reply, as urllib3 would."""

    def __init__(self, app):
        self.app = app

    def request(self, method, url, body=None, headers=None, **urllib3_options):
        del urllib3_options
        answer = self.app(Request(method, url, dict(headers or {}), body or b"", "127.0.0.1", DEFAULT_PORT))
        return types.SimpleNamespace(status=answer.status, headers=answer.headers, read=io.BytesIO(answer.body).read,
                                     close=lambda: None, release_conn=lambda: None)

    def close(self):
        pass


def client_for(firewall, password):
    return SfosClient("fw.test", firewall.username, password, ca_path="/nonexistent-ca.pem",
                      pool=InProcessPool(FirewallApp(firewall)))


def options(**values):
    result = {name: spec.get("default") for name, spec in NOTIFICATION_ARGSPEC.items()}
    result.update(values)
    return result


# Everything XML 1.0 can carry; what it cannot is refused by the module (see test_bad_input in test_sfos_notification).
carried = st.text(st.characters(codec="utf-8"), min_size=1).filter(lambda value: not not_xml_safe(value))


def limited(size):
    return carried.filter(lambda value: len(value) <= size)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(password=limited(50), secret=limited(300), token=limited(1000), username=limited(50), sender=limited(128),
       recipients=st.lists(limited(40).filter(lambda value: "," not in value), min_size=1, max_size=3),
       client_id=limited(100))
def test_values_round_trip_exactly(password, secret, token, username, sender, recipients, client_id):
    firewall = Firewall("fw01", password, "2200.1")
    params = options(sender_address=sender, recipients=recipients, oauth={
        "provider": "Microsoft365", "client_id": client_id, "client_secret": secret, "refresh_token": token,
        "username": username})
    client = client_for(firewall, password)
    plan = ensure_notification(client, params)
    stored = firewall.snapshot()["notification"]
    assert plan.secrets_sent
    assert (stored["ClientSecret"], stored["RefreshToken"], stored["Username"], stored["ClientID"]) == (
        secret, token, username, client_id)
    assert (stored["SenderAddress"], stored["Recepient"]) == (sender, ",".join(recipients))
    again = ensure_notification(client, params)
    assert not again.changed
    assert firewall.snapshot()["counters"]["sets"] == 1


# No per-example deadline (hypothesis' default is 200 ms): on a loaded 2-core machine one slow example made the unit
# run fail now and then, and time is not what this test is about (speed targets live in bench/).
@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(password=limited(40))
def test_a_wrong_password_never_logs_in(password):
    password = "canary-" + password
    firewall = Firewall("fw01", password + "x", "2200.1")
    with pytest.raises(SfosError) as info:
        client_for(firewall, password).get("Notification")
    assert info.value.code == "Authentication Failure"
    assert password not in str(info.value)
