"""The loopback listener: 127.0.0.1 and ::1 only (same port), wrong state refused with 400 while it keeps waiting,
clean timeout."""

import errno
import http.client
import socket
import urllib.parse

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import IdentityError
from ansible_collections.mailoauth.sophos.plugins.module_utils import oauth
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import LoopbackListener


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def _get(port, query, host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=5)
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
    addresses = {server.server_address[0] for server in listener._servers}  # pylint: disable=protected-access
    assert addresses <= {"127.0.0.1", "::1"} and "127.0.0.1" in addresses
    assert {server.server_address[1] for server in listener._servers} == {listener.port}  # pylint: disable=W0212


@pytest.mark.skipif(not ipv6_loopback_available(), reason="this machine has no ::1")
def test_a_browser_that_resolves_localhost_to_ipv6_reaches_the_listener(listener):
    """localhost in the redirect URI may resolve to ::1 first: the sign-in must arrive there too."""
    addresses = sorted(server.server_address[0] for server in listener._servers)  # pylint: disable=W0212
    assert addresses == ["127.0.0.1", "::1"]
    status, body = _get(listener.port, {"code": "c6", "state": "expected-state"}, host="::1")
    assert status == 200 and "close this window" in body
    assert listener.wait(5) == {"code": "c6", "state": "expected-state"}


def test_without_ipv6_loopback_it_listens_on_127_0_0_1_alone(monkeypatch):
    def unavailable(self):
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    monkeypatch.setattr(oauth._IPv6Server, "server_bind", unavailable)  # pylint: disable=protected-access
    srv = LoopbackListener(0).start("expected-state")
    try:
        assert [server.server_address[0] for server in srv._servers] == ["127.0.0.1"]  # pylint: disable=W0212
        status, dummy = _get(srv.port, {"code": "c4", "state": "expected-state"})
        assert status == 200
        assert srv.wait(5)["code"] == "c4"
    finally:
        srv.close()


@pytest.mark.skipif(not ipv6_loopback_available(), reason="this machine has no ::1")
def test_a_port_taken_on_ipv6_loopback_alone_names_the_option():
    """Another program on [::1]:port would receive the browser's redirect: refuse rather than listen beside it."""
    for dummy in range(20):
        other = socket.socket(socket.AF_INET6)
        other.bind(("::1", 0))
        port = other.getsockname()[1]
        try:
            with socket.create_server(("127.0.0.1", port)):
                break  # free on 127.0.0.1: the case to show
        except OSError:
            other.close()
    with other:
        other.listen()
        with pytest.raises(IdentityError) as err:
            LoopbackListener(port)
    assert err.value.code == "loopback_port"
    assert "[::1]:%d" % port in str(err.value)


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
