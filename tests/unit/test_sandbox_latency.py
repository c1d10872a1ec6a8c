"""Emulated WAN latency in the SFOS emulator: handshake and replies take their round trips, the loop never waits."""

import http.client
import json
import ssl
import statistics
import threading
import time
import urllib.parse

import pytest

from tests.sandbox._ca import make_ca
from tests.sandbox._http import Request, server_ssl_context, start_in_thread
from tests.sandbox.sfos.app import FirewallApp, FirewallServer, FleetControlApp
from tests.sandbox.sfos.latency import DEFAULT_LATENCY, fleet_latency
from tests.sandbox.sfos.state import Firewall

PASSWORD = "pw"
GET = "<Request><Login><Username>apiadmin</Username><Password>pw</Password></Login><Get><Notification/></Get></Request>"
SET = ("<Request><Login><Username>apiadmin</Username><Password>pw</Password></Login><Set operation='update'>"
       "<Notification><Port>587</Port></Notification></Set></Request>")
# Generous upper slack: the 2-core test machine is shared, and a sleeping thread wakes up late under load.
SLACK = 0.5


@pytest.fixture
def fleet(tmp_path):
    """Two firewalls served from one selector loop: fw01 with latency, fw02 without."""
    paths = make_ca(str(tmp_path))
    context = server_ssl_context(paths["cert_file"], paths["key_file"])
    firewalls = [Firewall("fw01", PASSWORD, "2200.1", latency={"rtt_ms": 100, "get_ms": 50, "set_ms": 300}),
                 Firewall("fw02", PASSWORD, "2200.1")]
    servers = [FirewallServer(FirewallApp(fw), context) for fw in firewalls]
    stop = start_in_thread(servers)
    yield firewalls, [s.port for s in servers], ssl.create_default_context(cafile=paths["ca_file"]), servers
    stop.set()


def timed(function, *args):
    started = time.monotonic()
    result = function(*args)
    return time.monotonic() - started, result


def api(conn, reqxml):
    conn.request("POST", "/webconsole/APIController", body=urllib.parse.urlencode({"reqxml": reqxml}),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200 and b"Authentication Successful" in body
    return body


def test_handshake_takes_two_round_trips_a_get_one_plus_server_time_a_set_more(fleet):
    firewalls, ports, context = fleet[:3]
    conn = http.client.HTTPSConnection("127.0.0.1", ports[0], context=context, timeout=10)
    handshake = timed(conn.connect)[0]
    assert conn.sock.version() == "TLSv1.3"
    get = timed(api, conn, GET)[0]
    set_ = timed(api, conn, SET)[0]
    conn.close()
    assert 0.2 <= handshake < 0.2 + SLACK          # TCP + TLS 1.3: 2 x 100 ms
    assert 0.15 <= get < 0.15 + SLACK              # 1 round trip + 50 ms
    assert 0.45 <= set_ < 0.45 + SLACK             # 1 round trip + 50 ms + 300 ms
    counters = firewalls[0].snapshot()["counters"]
    assert (counters["requests"], counters["connections"], counters["sets"]) == (2, 1, 1)


def test_tls12_pays_its_second_round_trip_before_the_first_reply(fleet):
    ports, context = fleet[1], fleet[2]
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    conn = http.client.HTTPSConnection("127.0.0.1", ports[0], context=context, timeout=10)
    total = timed(lambda: (conn.connect(), api(conn, GET)))[0]
    conn.close()
    assert 0.45 <= total < 0.45 + SLACK            # 3 round trips to connect + 1 for the Get + 50 ms


def test_a_slow_firewall_does_not_hold_up_the_others(fleet):
    firewalls, ports, context = fleet[:3]
    firewalls[0].configure({"rtt_ms": 1500})
    slow = http.client.HTTPSConnection("127.0.0.1", ports[0], context=context, timeout=20)
    thread = threading.Thread(target=slow.connect)
    thread.start()
    time.sleep(0.1)                                 # fw01's handshake is now waiting out its 3 s
    fast = http.client.HTTPSConnection("127.0.0.1", ports[1], context=context, timeout=10)
    elapsed = timed(lambda: (fast.connect(), api(fast, GET)))[0]
    fast.close()
    assert elapsed < 1.5                            # 3 s or more if the selector loop slept
    assert thread.is_alive()
    thread.join()
    slow.close()


def test_without_latency_nothing_waits(fleet):
    firewall, server = fleet[0][1], fleet[3][1]
    assert firewall.snapshot()["latency"] == {"rtt_ms": 0.0, "get_ms": 0.0, "set_ms": 0.0}
    assert server.round_trip_seconds() == 0
    for reqxml in (GET, SET):
        body = urllib.parse.urlencode({"reqxml": reqxml}).encode()
        response = FirewallApp(firewall)(Request("POST", "/webconsole/APIController", {}, body, "127.0.0.1", 1))
        assert response.delay == 0


def test_latency_is_per_firewall_reset_restores_it_and_bad_values_are_refused():
    firewall = Firewall("fw01", PASSWORD, "2200.1", latency={"rtt_ms": 40, "get_ms": 10, "set_ms": 200})
    firewall.configure({"rtt_ms": 250})
    assert firewall.round_trip_seconds() == 0.25
    assert firewall.server_seconds(0) == pytest.approx(0.01)
    assert firewall.server_seconds(1) == pytest.approx(0.21)
    firewall.reset()
    assert firewall.snapshot()["latency"] == {"rtt_ms": 40.0, "get_ms": 10.0, "set_ms": 200.0}
    for bad in (-1, "100", True, None):
        with pytest.raises(ValueError, match="rtt_ms"):
            firewall.configure({"rtt_ms": bad})


def test_fleet_round_trips_are_seeded_and_stay_within_the_bounds():
    first = fleet_latency(2000, DEFAULT_LATENCY)
    assert first == fleet_latency(2000, DEFAULT_LATENCY)
    assert first != fleet_latency(2000, dict(DEFAULT_LATENCY, seed=18))
    rtts = [item["rtt_ms"] for item in first]
    assert 20 <= min(rtts) and max(rtts) <= 300
    assert 60 < statistics.median(rtts) < 100       # log-normal, median 80 ms, truncated to 20..300
    assert {(item["get_ms"], item["set_ms"]) for item in first} == {(50.0, 500.0)}
    uniform = fleet_latency(500, {"rtt_ms": {"distribution": "uniform", "min": 20, "max": 300}})
    assert 20 <= min(u["rtt_ms"] for u in uniform) and max(u["rtt_ms"] for u in uniform) <= 300
    assert fleet_latency(3, None) == [{}, {}, {}]
    with pytest.raises(ValueError, match="distribution"):
        fleet_latency(1, {"rtt_ms": {"distribution": "pareto", "min": 1, "max": 2}})


def test_fleet_control_reads_and_zeroes_every_firewall_at_once():
    fleet = [Firewall("fw%02d" % i, PASSWORD, "2200.1", latency={"rtt_ms": i}) for i in (1, 2)]
    fleet[1].note_request(7)
    app = FleetControlApp(fleet)
    state = app(Request("GET", "/_sandbox/fleet/state", {}, b"", "127.0.0.1", 1))
    rows = json.loads(state.body)["firewalls"]
    assert [(r["name"], r["counters"]["requests"], r["latency"]["rtt_ms"]) for r in rows] == [
        ("fw01", 0, 1.0), ("fw02", 1, 2.0)]
    app(Request("POST", "/_sandbox/fleet/counters", {}, b"", "127.0.0.1", 1))
    assert fleet[1].snapshot()["counters"]["requests"] == 0
    assert app(Request("GET", "/_sandbox/fleet/nothing", {}, b"", "127.0.0.1", 1)).status == 404
