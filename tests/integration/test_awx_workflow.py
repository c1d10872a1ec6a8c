"""The AWX workflows of extensions/awx/configure_awx.yml across a fleet, run the way AWX runs them.

tests/integration/awx_emulation.py plays AWX: the templates configure_awx.yml created, each job a real ansible-playbook
with the inventory AWX would hand it (a sliced job sees only its slice), its credentials injected, and one fact cache
for all jobs. The workflows run tenant -> push in K=4 concurrent slices -> retire. Assertions read the emulators: what
each firewall stores, the app's secrets in the Graph emulator, and whether what a firewall stores redeems at the token
endpoint as the firewall would redeem it.

make test runs it at 40 firewalls (10 per slice): every assertion counts the whole fleet, so the number changes no
case, and 1,000 would cost make test minutes of CPU. At 1,000, as in issue 13 (and with figures: make bench-sliced):

    AWX_WORKFLOW_FIREWALLS=1000 .venv/bin/python -m pytest tests/integration/test_awx_workflow.py -m fleet
"""

import collections
import json
import os

import pytest

from tests.integration.awx_emulation import MAIL_CREDENTIAL, sandbox_awx, slice_hosts
from tests.integration.test_playbooks import firewall_state, our_app, redeem_as_firewall, tenant
from tests.sandbox.browser import sign_in
from tests.sandbox.client import Sandbox

# At 1,000: minutes on 2 idle cores (bench/README.md, "Sliced workflow"); far more when the machine is shared.
pytestmark = [pytest.mark.fleet, pytest.mark.timeout(2400)]

FIREWALLS = int(os.environ.get("AWX_WORKFLOW_FIREWALLS", "40"))
SLICES = 4
FAILING_SLICE = 3


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("awx-sandbox")), firewalls=FIREWALLS, timeout=120.0)
    workdir = str(tmp_path_factory.mktemp("awx"))
    try:
        awx = sandbox_awx(box, workdir, SLICES)
        firewalls = box.services["sfos"]["firewalls"]
        yield {"box": box, "awx": awx, "firewalls": firewalls, "by_name": {fw["name"]: fw for fw in firewalls},
               "timings": {}, "secrets": {}}
    finally:
        box.stop()


def stored_in_awx(awx):
    return awx.credential_inputs(MAIL_CREDENTIAL)[1]


def fleet_state(box, firewalls):
    """Every firewall's stored (client ID, secret, refresh token), read from the emulator."""
    return {fw["name"]: firewall_state(box, fw)["notification"] for fw in firewalls}


def held(states):
    """How many firewalls hold each (client ID, secret, refresh token)."""
    return collections.Counter((n["ClientID"], n["ClientSecret"], n["RefreshToken"]) for n in states.values())


def redeems(box, client_id, secret, refresh_token):
    status, answer = redeem_as_firewall(box, {"ClientID": client_id, "ClientSecret": secret,
                                              "RefreshToken": refresh_token})
    return status, answer


def key_ids(box):
    return sorted(c["keyId"] for c in our_app(tenant(box))["passwordCredentials"])


def assert_no_secret_in_fact_cache(awx, values):
    for name in os.listdir(awx.fact_cache):
        with open(os.path.join(awx.fact_cache, name), encoding="utf-8") as handle:
            text = handle.read()
        for value in values:
            assert value not in text, name


def test_rollout_signs_in_over_two_launches_then_each_slice_pushes_only_its_firewalls(fleet):
    box, awx, firewalls = fleet["box"], fleet["awx"], fleet["firewalls"]

    # First launch, survey empty: the tenant job stops with the sign-in URL, and the workflow goes no further.
    jobs = awx.workflow("rollout")
    assert list(jobs) == ["tenant"] and jobs["tenant"].failed, jobs
    urls = [word for word in jobs["tenant"].output.split() if "/oauth2/v2.0/authorize?" in word]
    assert urls, jobs["tenant"]
    assert not any(n["ClientID"] for n in fleet_state(box, firewalls[:20]).values())

    mailbox = box.services["microsoft"]["mailbox"]
    landed = sign_in(urls[-1].strip("'\","), mailbox["upn"], mailbox["password"], box.ca_file, follow=False)
    snapshots = {}
    jobs = awx.workflow("rollout", extra_vars={"refresh_token_authorization_response": landed},
                        after_each=lambda ident, job: snapshots.setdefault(ident, our_app(tenant(box))))
    assert [(ident, job.status) for ident, job in jobs.items()] == [
        ("tenant", "successful"), ("push", "successful"), ("retire", "successful")], jobs
    fleet["timings"]["rollout"] = {ident: round(job.wall, 1) for ident, job in jobs.items()}
    assert snapshots["push"] == snapshots["tenant"]  # the push slices never wrote to the tenant

    names = sorted(fw["name"] for fw in firewalls)
    for number, run in enumerate(jobs["push"].runs, start=1):
        assert sorted(run.recap) == slice_hosts(names, number, SLICES)
    assert len(jobs["push"].runs) == SLICES

    app = our_app(tenant(box))
    stored = stored_in_awx(awx)
    assert [c["keyId"] for c in app["passwordCredentials"]] == [stored["client_secret_key_id"]]
    fleet["secrets"]["first"] = (stored["client_secret"], stored["client_secret_key_id"])
    holdings = held(fleet_state(box, firewalls))
    assert holdings == {(app["appId"], stored["client_secret"], stored["refresh_token"]): FIREWALLS}
    status, answer = redeems(box, app["appId"], stored["client_secret"], stored["refresh_token"])
    assert status == 200 and answer["scope"] == "https://outlook.office365.com/SMTP.Send", answer

    ledger = awx.ledger()
    assert sorted(ledger) == names
    assert {entry["secret_key_id"] for entry in ledger.values()} == {stored["client_secret_key_id"]}
    assert {entry["client_id"] for entry in ledger.values()} == {app["appId"]}
    assert_no_secret_in_fact_cache(awx, [stored["client_secret"], stored["refresh_token"]])


def test_rotation_with_a_refusing_slice_strands_no_firewall_and_keeps_the_old_secret(fleet):
    box, awx, firewalls, by_name = fleet["box"], fleet["awx"], fleet["firewalls"], fleet["by_name"]
    old_secret, old_key = fleet["secrets"]["first"]
    refusing = slice_hosts(list(by_name), FAILING_SLICE, SLICES)
    for name in refusing:
        fw = by_name[name]
        box.control("https://%s:%d" % (fw["host"], fw["port"]), "config", method="POST",
                    body={"write_access": False})

    jobs = awx.workflow("rotation")
    fleet["timings"]["rotation, slice %d refusing" % FAILING_SLICE] = {
        ident: round(job.wall, 1) for ident, job in jobs.items()}
    assert [(ident, job.status) for ident, job in jobs.items()] == [
        ("tenant", "successful"), ("push", "failed"), ("retire", jobs["retire"].status)], jobs
    failed_slices = [number for number, run in enumerate(jobs["push"].runs, start=1) if run.rc != 0]
    assert failed_slices == [FAILING_SLICE]
    assert jobs["push"].runs[FAILING_SLICE - 1].failed_hosts() == sorted(refusing)

    stored = stored_in_awx(awx)
    new_secret, new_key = stored["client_secret"], stored["client_secret_key_id"]
    fleet["secrets"]["second"] = (new_secret, new_key)
    assert new_key != old_key
    assert key_ids(box) == sorted([old_key, new_key])  # retire kept the old secret
    retire_output = jobs["retire"].output
    assert "%d of %d firewall(s)" % (len(refusing), FIREWALLS) in retire_output, jobs["retire"]
    assert "mailoauth.sophos.push --limit" in retire_output

    # Nothing stranded: count every firewall by what it stores, and redeem each distinct set of stored values.
    app_id = our_app(tenant(box))["appId"]
    states = fleet_state(box, firewalls)
    assert {name for name, n in states.items() if n["ClientSecret"] == old_secret} == set(refusing)
    assert {name for name, n in states.items() if n["ClientSecret"] == new_secret} == set(by_name) - set(refusing)
    holdings = held(states)
    assert sum(holdings.values()) == FIREWALLS and len(holdings) == 2, holdings.keys()
    for client_id, secret, refresh_token in holdings:
        status, answer = redeems(box, client_id, secret, refresh_token)
        assert status == 200, answer
    # and a sample the long way: one firewall of every slice, its own stored values
    for number in range(1, SLICES + 1):
        name = slice_hosts(list(by_name), number, SLICES)[7]
        assert redeem_as_firewall(box, states[name])[0] == 200, name

    ledger = awx.ledger()
    assert {name for name, entry in ledger.items() if entry["secret_key_id"] == old_key} == set(refusing)
    assert {name for name, entry in ledger.items() if entry["secret_key_id"] == new_key} == set(by_name) - set(refusing)
    assert all(entry["client_id"] == app_id for entry in ledger.values())


def test_relaunching_the_failed_slice_then_retire_removes_the_old_secret(fleet):
    box, awx, firewalls, by_name = fleet["box"], fleet["awx"], fleet["firewalls"], fleet["by_name"]
    old_secret, old_key = fleet["secrets"]["first"]
    new_secret, new_key = fleet["secrets"]["second"]
    refusing = slice_hosts(list(by_name), FAILING_SLICE, SLICES)

    # Retire on its own again, before anything changed: still nothing removed.
    again = awx.launch("retire")
    assert key_ids(box) == sorted([old_key, new_key]), again

    for name in refusing:
        fw = by_name[name]
        box.control("https://%s:%d" % (fw["host"], fw["port"]), "config", method="POST", body={"write_access": True})
    relaunched = awx.launch("push", slices=[FAILING_SLICE])
    assert relaunched.status == "successful", relaunched
    assert sorted(relaunched.runs[0].recap) == sorted(refusing)
    retire = awx.launch("retire")
    assert retire.status == "successful", retire
    fleet["timings"]["finish"] = {"push slice %d" % FAILING_SLICE: round(relaunched.wall, 1),
                                  "retire": round(retire.wall, 1)}

    assert key_ids(box) == [new_key]
    stored = stored_in_awx(awx)
    holdings = held(fleet_state(box, firewalls))
    app_id = our_app(tenant(box))["appId"]
    assert holdings == {(app_id, new_secret, stored["refresh_token"]): FIREWALLS}, len(holdings)
    for client_id, secret, refresh_token in holdings:
        assert redeems(box, client_id, secret, refresh_token)[0] == 200
    status, answer = redeems(box, app_id, old_secret, stored["refresh_token"])
    assert status == 401 and "AADSTS7000215" in answer.get("error_description", ""), answer
    assert {entry["secret_key_id"] for entry in awx.ledger().values()} == {new_key}
    assert_no_secret_in_fact_cache(awx, [old_secret, new_secret, stored["refresh_token"]])
    print("\nwall seconds per phase:", json.dumps(fleet["timings"], indent=1))
