"""The secret lifecycle across a fleet: partial rotations (--limit, a subset variable) that keep the old secret and
say how to finish, the ledger that records which secret each firewall holds (in Ansible's fact cache, readable for
hosts outside a --limit), verify failing on a stranded or unrecorded firewall, retire and rotate refusing without a
persistent fact cache, --check changing nothing, and rotate leaving the app's redirect URIs as setup registered them.

A failed firewall during rotation: test_playbooks.py::test_rotate_keeps_the_old_secret_while_a_firewall_fails_then_
completes. Runs killed at every task: test_secret_lifecycle_kill_setup.py and _kill_rotate.py.
"""

import json
import os
import re
import shlex
import ssl
import urllib.parse
import urllib.request

import pytest

from tests.integration.test_playbooks import firewall_state, our_app, redeem_as_firewall, stored_credentials, tenant
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

FIREWALLS = 3
NAMES = ["fw%02d" % i for i in range(1, FIREWALLS + 1)]
FINISH = re.compile(r"Finish with: ansible-playbook (?P<push>.+?) && ansible-playbook (?P<retire>.+?) \(add")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("lifecycle-sandbox")), firewalls=FIREWALLS)
    workdir = str(tmp_path_factory.mktemp("lifecycle-inventory"))
    inventory, password_file, browser = write_inventory(box, workdir)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser, "workdir": workdir}
    box.stop()


@pytest.fixture
def play(fleet, run_playbook):
    def run(name, *args, extra_vars=None, env=None):
        playbook = name if name.startswith("mailoauth.") else os.path.join("playbooks", name)
        return run_playbook(playbook, inventory=fleet["inventory"], extra_vars=extra_vars,
                            args=("--vault-password-file", fleet["password_file"]) + args,
                            env=dict(fact_cache_env(fleet["workdir"]), BROWSER=fleet["browser"],
                                     REQUESTS_CA_BUNDLE="", **(env or {})))
    return run


def secrets(box):
    return [cred["keyId"] for cred in our_app(tenant(box))["passwordCredentials"]]


def stored(box):
    return {fw["name"]: firewall_state(box, fw)["notification"] for fw in box.services["sfos"]["firewalls"]}


def assert_every_firewall_holds(box, secret):
    for name, notification in stored(box).items():
        assert notification["ClientSecret"] == secret, name
        status, token = redeem_as_firewall(box, notification)
        assert status == 200, (name, token)


def finish_commands(run):
    """The two commands the run printed to finish the job, as argument lists (inventory and limit as printed)."""
    match = FINISH.search(" ".join(run.stdout.split()))
    assert match, run
    return shlex.split(match["push"]), shlex.split(match["retire"])


def run_printed(play, argv):
    """Run a printed `ansible-playbook -i INV PLAYBOOK [--limit ...]` with the test's vault and fact cache."""
    inventory_at = argv.index("-i")
    rest = argv[:inventory_at] + argv[inventory_at + 2:]
    return play(rest[0], *rest[1:])


def ledger_probe(tmp_path, play, limit):
    """What a play limited to `limit` sees of every firewall's cached ledger through hostvars."""
    probe = tmp_path / "probe.yml"
    probe.write_text(
        "- hosts: firewalls\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"LEDGER {{ dict(groups.firewalls | zip(groups.firewalls | map('extract', hostvars, "
        "'ansible_facts') | map(attribute='mailoauth_ledger', default={}))) | to_json }} LEDGER\"\n"
        "      run_once: true\n")
    run = play(str(probe), "--limit", limit)
    assert run.rc == 0, run
    return json.loads(re.search(r"LEDGER (.*) LEDGER", run.stdout)[1].replace('\\"', '"'))


def test_setup_records_the_ledger_and_a_limited_play_sees_every_firewalls(fleet, play, tmp_path):
    run = play("setup.yml")
    assert run.rc == 0, run
    app = our_app(tenant(fleet["box"]))
    key_id = app["passwordCredentials"][0]["keyId"]
    ledger = ledger_probe(tmp_path, play, "fw01")   # fw02 and fw03 are outside the play: read from the cache
    assert sorted(ledger) == NAMES
    for name in NAMES:
        entry = ledger[name]
        assert (entry["client_id"], entry["secret_key_id"]) == (app["appId"], key_id), name
        assert entry["secret_expires"] == app["passwordCredentials"][0]["endDateTime"]
        assert entry["pushed_at"].endswith("Z") and entry["refresh_token_issued"].endswith("Z")
        secret, refresh_token = stored_credentials(fleet)
        assert secret not in json.dumps(entry) and refresh_token not in json.dumps(entry)


def test_rotate_and_retire_refuse_without_a_persistent_fact_cache(fleet, play):
    before = secrets(fleet["box"])
    for playbook in ("rotate.yml", "retire.yml"):
        run = play(playbook, env={"ANSIBLE_CACHE_PLUGIN": "memory"})
        assert run.rc != 0, run
        assert "fact_caching = jsonfile" in " ".join(run.stdout.split()), run
    assert secrets(fleet["box"]) == before


def test_rotate_and_retire_in_check_mode_change_nothing(fleet, play, tmp_path):
    box = fleet["box"]
    before_secrets, before_firewalls = secrets(box), stored(box)
    before_ledger = ledger_probe(tmp_path, play, "fw01")
    for playbook in ("rotate.yml", "retire.yml"):
        run = play(playbook, "--check")
        assert run.rc == 0, run
    assert secrets(box) == before_secrets
    assert stored(box) == before_firewalls
    assert ledger_probe(tmp_path, play, "fw01") == before_ledger


def test_rotate_limited_to_one_firewall_keeps_the_old_secret_until_push_and_retire_finish(fleet, play, tmp_path):
    box = fleet["box"]
    redirect_uris = our_app(tenant(box))["web"]["redirectUris"]
    old_secret, dummy = stored_credentials(fleet)
    old_keys = secrets(box)

    run = play("rotate.yml", "--limit", "fw01")
    assert run.rc == 0, run
    assert our_app(tenant(box))["web"]["redirectUris"] == redirect_uris   # rotate registers what setup did
    new_secret, dummy = stored_credentials(fleet)
    assert new_secret != old_secret
    assert set(old_keys) < set(secrets(box)) and len(secrets(box)) == 2   # the old one is kept
    holds = {name: n["ClientSecret"] for name, n in stored(box).items()}
    assert holds == {"fw01": new_secret, "fw02": old_secret, "fw03": old_secret}
    for name, notification in stored(box).items():                      # nobody stopped alerting
        assert redeem_as_firewall(box, notification)[0] == 200, name
    push, retire = finish_commands(run)
    assert push[-2:] == ["--limit", "fw02,fw03"] and "mailoauth.sophos.push" in push, push
    assert "mailoauth.sophos.retire" in retire, retire

    verify = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path)})
    assert verify.rc != 0, verify
    report = {row["firewall"]: row for row in json.loads((tmp_path / "verify.json").read_text())["firewalls"]}
    assert report["fw01"]["status"] == "ok"
    for name in ("fw02", "fw03"):
        assert report[name]["status"] == "old secret", report[name]
        assert report[name]["secret_key_id"] == old_keys[0] and report[name]["secret_in_app"] == "yes"
    assert "secret_expires" in (tmp_path / "verify.csv").read_text().splitlines()[0]

    run = run_printed(play, push)
    assert run.rc == 0, run
    assert len(secrets(box)) == 2                                          # push never touches the tenant
    run = run_printed(play, retire)
    assert run.rc == 0, run
    assert secrets(box) == [k for k in secrets(box) if k not in old_keys] and len(secrets(box)) == 1
    assert our_app(tenant(box))["passwordCredentials"][0]["hint"] == new_secret[:3]
    assert_every_firewall_holds(box, new_secret)
    assert play("verify.yml").rc == 0


def test_rotate_on_a_subset_variable_is_finished_by_setup_then_retire(fleet, play):
    box = fleet["box"]
    old_secret, dummy = stored_credentials(fleet)
    old_keys = secrets(box)

    run = play("rotate.yml", extra_vars={"mailoauth_firewalls": "fw02"})
    assert run.rc == 0, run
    new_secret, dummy = stored_credentials(fleet)
    assert len(secrets(box)) == 2
    assert {name: n["ClientSecret"] for name, n in stored(box).items()} == {
        "fw01": old_secret, "fw02": new_secret, "fw03": old_secret}
    push, dummy = finish_commands(run)
    assert push[-1] == "fw01,fw03", push

    run = play("retire.yml")                     # safe at any time: keeps the old one and says why
    assert run.rc == 0, run
    assert "fw01, fw03" in run.stdout and set(secrets(box)) > set(old_keys)

    run = play("setup.yml")                      # setup pushes to firewalls the ledger shows on an old secret
    assert run.rc == 0, run
    assert run.changed("fw01") and run.changed("fw03") and not run.changed("fw02"), run
    assert len(secrets(box)) == 2
    run = play("retire.yml")
    assert run.rc == 0, run
    assert len(secrets(box)) == 1 and secrets(box)[0] not in old_keys
    assert_every_firewall_holds(box, new_secret)
    assert play("setup.yml").changed() == 0


def test_verify_fails_for_firewalls_without_a_ledger_and_for_a_removed_secret(fleet, play, tmp_path):
    run = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path)},
               env={"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "empty-cache")})
    assert run.rc != 0, run
    report = json.loads((tmp_path / "verify.json").read_text())
    assert [row["status"] for row in report["firewalls"]] == ["unknown"] * FIREWALLS
    assert all("no ledger entry" in row["detail"] for row in report["firewalls"])

    # The ledger names a secret the app no longer has (removed in the portal, say): no firewall can send.
    box = fleet["box"]
    app = our_app(tenant(box))
    old_secret, dummy = stored_credentials(fleet)
    remove_password_as_admin(box, app["id"], app["passwordCredentials"][0]["keyId"])
    run = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path)})
    assert run.rc != 0, run
    report = json.loads((tmp_path / "verify.json").read_text())
    assert {row["status"] for row in report["firewalls"]} == {"removed"}
    assert {row["secret_in_app"] for row in report["firewalls"]} == {"no"}

    # setup heals it without a flag: the stored value belongs to no secret any more, so it makes a new one.
    run = play("setup.yml")
    assert run.rc == 0, run
    new_secret, dummy = stored_credentials(fleet)
    assert new_secret != old_secret and len(secrets(box)) == 1
    assert_every_firewall_holds(box, new_secret)
    assert play("verify.yml").rc == 0


def test_verify_fails_when_the_firewalls_secret_expires_within_the_warning_window(fleet, play, tmp_path):
    run = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path), "mailoauth_expiry_warning_days": 400})
    assert run.rc != 0, run
    report = json.loads((tmp_path / "verify.json").read_text())
    assert {row["status"] for row in report["firewalls"]} == {"expiring"}


def remove_password_as_admin(box, object_id, key_id):
    """What an admin does in the portal: delete a client secret, through Graph with the automation app."""
    ms = box.services["microsoft"]
    context = ssl.create_default_context(cafile=box.ca_file)
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": ms["automation_app"]["client_id"],
                                   "client_secret": ms["automation_app"]["client_secret"],
                                   "scope": "https://graph.microsoft.com/.default"}).encode("ascii")
    url = "%s/%s/oauth2/v2.0/token" % (ms["login_url"], ms["tenant"]["id"])
    with urllib.request.urlopen(url, data=body, context=context, timeout=30) as resp:
        token = json.loads(resp.read())["access_token"]
    request = urllib.request.Request("%s/v1.0/applications/%s/removePassword" % (ms["graph_url"].rstrip("/"),
                                                                                object_id),
                                     data=json.dumps({"keyId": key_id}).encode("utf-8"), method="POST",
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=30) as resp:
        assert resp.status == 204


def test_a_sign_in_after_a_revocation_reaches_the_firewalls_a_limited_run_left_out(fleet, play, tmp_path):
    """The mailbox's tokens are revoked (a password change); the README's new sign-in runs for one firewall only (a
    --limit, or a run stopped after its first firewall, or an AWX tenant job before its push slices). The firewalls it
    left out hold the revoked token and cannot send, though their secret is current: verify names them, and push,
    which signs nobody in, sends them the token of the new sign-in (the ledger records which sign-in each holds)."""
    box = fleet["box"]
    assert play("setup.yml").rc == 0
    box.microsoft("users/%s/revoke" % box.services["microsoft"]["mailbox"]["upn"], method="POST")

    run = play("setup.yml", "--limit", "fw01", extra_vars={"refresh_token_mode": "loopback"})
    assert run.rc == 0, run
    dummy, token = stored_credentials(fleet)
    held = stored(box)
    assert held["fw01"]["RefreshToken"] == token and redeem_as_firewall(box, held["fw01"])[0] == 200
    for name in ("fw02", "fw03"):
        assert held[name]["RefreshToken"] != token and redeem_as_firewall(box, held[name])[0] == 400, name

    run = play("verify.yml", extra_vars={"mailoauth_report_dir": str(tmp_path)})
    assert run.rc != 0, run
    report = json.loads((tmp_path / "verify.json").read_text())
    assert {row["firewall"]: row["status"] for row in report["firewalls"]} == {
        "fw01": "ok", "fw02": "old sign-in", "fw03": "old sign-in"}

    run = play("push.yml")
    assert run.rc == 0, run
    pushed = stored(box)
    assert pushed["fw01"] == held["fw01"]          # already on the new sign-in: not written again
    for name, notification in pushed.items():
        assert redeem_as_firewall(box, notification)[0] == 200, name
    assert play("verify.yml").rc == 0
    assert play("push.yml").rc == 0
    assert stored(box) == pushed                   # and nothing is sent twice
