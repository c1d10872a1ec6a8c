"""The loopback listener: 127.0.0.1 only, wrong state refused with 400 while it keeps waiting, clean timeout."""

import http.client
import urllib.parse

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import IdentityError
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import LoopbackListener


def _get(port, query):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/?" + urllib.parse.urlencode(query))
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


@pytest.fixture
def listener():
    srv = LoopbackListener(0).start("expected-state")
    yield srv
    srv.close()


def test_listener_binds_loopback_only(listener):
    assert listener._server.server_address[0] == "127.0.0.1"  # pylint: disable=protected-access


def test_wrong_state_is_refused_and_the_right_one_still_counts(listener):
    status, body = _get(listener.port, {"code": "c1", "state": "forged"})
    assert status == 400 and "does not match" in body
    status, body = _get(listener.port, {"code": "c2", "state": "expected-state"})
    assert status == 200 and "close this window" in body
    assert listener.wait(5) == {"code": "c2", "state": "expected-state"}
    assert listener.rejected == 1


def test_error_redirect_is_delivered_for_reporting(listener):
    status, dummy = _get(listener.port, {"error": "access_denied", "state": "expected-state"})
    assert status == 200
    assert listener.wait(5)["error"] == "access_denied"


def test_requests_without_code_are_not_a_sign_in(listener):
    status, dummy = _get(listener.port, {})
    assert status == 404
    assert listener.wait(0.2) is None


def test_wait_times_out_with_none():
    srv = LoopbackListener(0).start("s")
    try:
        assert srv.wait(0.1) is None
    finally:
        srv.close()


def test_busy_port_names_the_option(listener):
    with pytest.raises(IdentityError) as err:
        LoopbackListener(listener.port)
    assert err.value.code == "loopback_port"
