"""setup, verify and rotate as AWX job templates run them: ansible-runner on a private data directory.

The credentials reach the jobs only through the collection's own credential types (extensions/awx), rendered as
AWX renders them (tests/integration/awx_job.py); survey answers are launch-time extra vars. AWX's API is not here:
the job's write-back of a new client secret or refresh token (awx.awx.credential) lands in a stand-in that keeps
the credential's inputs where AWX's database would, and the next job's credential is rendered from them.

Every event a job writes is what AWX stores in its database for everyone who may read the job: each test reads
them all and looks for every secret the tenant, the mailbox, the firewalls and the credential store hold.
"""

import base64
import json
import os
import re
import secrets
import sys
import urllib.parse

import pytest

from ansible.parsing.dataloader import DataLoader

from tests.integration.awx_job import credential_types, inject_credential, job_events, run_job
from tests.integration.test_playbooks import firewall_state, our_app, redeem_as_firewall, tenant
from tests.sandbox import browser
from tests.sandbox.client import Sandbox

# requirements-test.txt has it; make test-matrix's venvs (requirements-matrix.txt) leave it out and skip these.
pytest.importorskip("ansible_runner")

FIREWALLS = 3
MAIL_CREDENTIAL = "mailoauth mail app"
MAIL_CREDENTIAL_TYPE = "Sophos notification OAuth 2.0 (mailoauth.sophos)"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
SETUP_VARS = {  # the job template's extra vars, as extensions/awx/configure_awx.yml sets them
    "refresh_token_mode": "authorization_response",
    "mailoauth_awx_credential": MAIL_CREDENTIAL,
    "mailoauth_awx_organization": "Default",
}


class AwxSite:
    """One AWX: the sandbox tenant and fleet, its inventory and credentials, and a store for credential inputs."""

    def __init__(self, box, workdir):
        self.box = box
        self.workdir = workdir
        self.jobs = 0
        self.database = os.path.join(workdir, "awx-database.json")
        self.facts = os.path.join(workdir, "awx-host-facts")
        os.makedirs(self.facts)
        ms = box.services["microsoft"]
        self.api_password = secrets.token_urlsafe(18)
        firewalls = box.services["sfos"]["firewalls"]
        for fw in firewalls:  # one API user for the whole fleet, as the sfos_api_user credential type serves it
            box.control("https://%s:%d" % (fw["host"], fw["port"]), "config", method="POST",
                        body={"password": self.api_password})
        self.usernames = {fw["username"] for fw in firewalls}
        assert len(self.usernames) == 1
        self.inventory = {
            "all": {"children": ["firewalls"], "vars": {
                "mailoauth_authority_host": ms["login_url"], "mailoauth_graph_endpoint": ms["graph_url"],
                "mailoauth_exchange_endpoint": ms["exchange_url"], "mailoauth_smtp_host": box.services["smtp"]["host"],
                "mailoauth_smtp_port": box.services["smtp"]["port"], "mailoauth_ca_path": box.ca_file,
                "mailoauth_mailbox": ms["mailbox"]["upn"]}},
            "firewalls": {"hosts": [fw["name"] for fw in firewalls], "vars": {
                "ansible_connection": "local", "sfos_ca_path": box.ca_file,
                "firewall_notification_recipients": ["soc@%s" % ms["tenant"]["domain"]]}},
            "_meta": {"hostvars": {fw["name"]: {"sfos_host": fw["host"], "sfos_port": fw["port"],
                                               "ansible_python_interpreter": sys.executable}
                                   for fw in firewalls}},
        }
        self.automation = {"tenant_id": ms["tenant"]["id"], "client_id": ms["automation_app"]["client_id"],
                           "client_secret": ms["automation_app"]["client_secret"]}
        self.mailbox = ms["mailbox"]
        self.seen_values = set()  # every secret input (secret and token) the credential store ever held

    def stored_inputs(self):
        if not os.path.exists(self.database):
            return {}
        with open(self.database, encoding="utf-8") as handle:
            inputs = json.load(handle).get(MAIL_CREDENTIAL, {}).get("inputs", {})
        secret_fields = {field["id"] for field in credential_types()[MAIL_CREDENTIAL_TYPE]["inputs"]["fields"]
                         if field.get("secret")}
        self.seen_values.update(value for name, value in inputs.items() if value and name in secret_fields)
        return inputs

    def run(self, playbook, template_vars=None, launch_vars=None, verbosity=0):
        """Launch a job template: render the credentials, lay out the directory, run it with ansible-runner."""
        self.jobs += 1
        private_data_dir = os.path.join(self.workdir, "job-%d" % self.jobs)
        credentials = [
            ("Microsoft Entra automation app (mailoauth.sophos)", self.automation),
            ("Sophos Firewall API user (mailoauth.sophos)",
             {"username": next(iter(self.usernames)), "password": self.api_password}),
            (MAIL_CREDENTIAL_TYPE, self.stored_inputs()),
        ]
        result = run_job(private_data_dir, playbook=playbook, database=self.database, facts=self.facts,
                         inventory=self.inventory, credentials=credentials, template_vars=template_vars,
                         launch_vars=launch_vars, verbosity=verbosity)
        self.stored_inputs()
        return result, private_data_dir

    def secrets(self):
        """Every secret value to look for: tenant, mailbox, firewalls, and what the credential store ever held."""
        values = set(self.seen_values)
        values.update([self.automation["client_secret"], self.api_password, self.mailbox["password"]])
        for fw in self.box.services["sfos"]["firewalls"]:
            notification = firewall_state(self.box, fw)["notification"]
            values.update(notification[key] for key in ("ClientSecret", "RefreshToken") if notification.get(key))
        return {value for value in values if value}


def forms(value):
    """The ways a secret could show up in text: as is, URL-encoded, base64, or a long enough piece of it."""
    found = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    raw = value.encode("utf-8")
    found.update({base64.b64encode(raw).decode("ascii").rstrip("="),
                  base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")})
    if len(value) >= 24:
        middle = len(value) // 2
        found.add(value[middle - 8:middle + 8])
    return found


def assert_no_secret_in_events(private_data_dir, values):
    events = job_events(private_data_dir)
    assert events, "the job wrote no events"
    for event in events:
        text = json.dumps(event, ensure_ascii=False) + "\n" + event.get("stdout", "")
        for value in values:
            for form in forms(value):
                assert form not in text, "a secret (%s...) in event %s (%s)" % (value[:3], event.get("counter"),
                                                                                 event.get("event"))
        assert not JWT.search(text), "a token in event %s (%s)" % (event.get("counter"), event.get("event"))
    return events


def stdout_of(private_data_dir):
    return "\n".join(event.get("stdout", "") for event in job_events(private_data_dir))


def changed(result):
    return sum((result.stats or {}).get("changed", {}).values())


def test_injectors_are_rendered_as_awx_renders_them(tmp_path):
    """File injectors first (tower.filename), then env and extra_vars; empty inputs render as ''; all !unsafe."""
    (tmp_path / "env").mkdir()
    definition = {"name": "example", "inputs": {"fields": [
        {"id": "user", "type": "string"}, {"id": "key", "type": "string", "secret": True},
        {"id": "region", "type": "string", "default": "eu"}, {"id": "verify", "type": "boolean"},
        {"id": "empty", "type": "string"}]},
        "injectors": {"file": {"template.key": "[auth]\nkey={{ key }}\n", "template.cfg": "{{ user }}@{{ region }}"},
                      "env": {"KEY_FILE": "{{ tower.filename.key }}", "VERIFY": "{{ verify }}"},
                      "extra_vars": {"cfg_path": "{{ tower.filename.cfg }}", "who": "{{ user }}{{ empty }}",
                                     "nested": {"list": ["{{ key }}", "{{ region }}"]}}}}
    env, args = {}, []
    inject_credential(definition, {"user": "bob", "key": "s3cr{{ 7 * 7 }}t", "empty": ""}, str(tmp_path), env, args)
    with open(env["KEY_FILE"], encoding="utf-8") as handle:
        # A value is data, never rendered again; Jinja drops the trailing newline, as in AWX.
        assert handle.read() == "[auth]\nkey=s3cr{{ 7 * 7 }}t"
    assert oct(os.stat(env["KEY_FILE"]).st_mode & 0o777) == "0o600"
    assert env["VERIFY"] == "False" and os.path.dirname(env["KEY_FILE"]) == str(tmp_path / "env")
    assert args[0] == "-e" and args[1].startswith("@") and len(args) == 2
    with open(args[1][1:], encoding="utf-8") as handle:
        text = handle.read()
    assert "!unsafe 'who'" in text and "!unsafe 'bob'" in text
    loaded = DataLoader().load_from_file(args[1][1:])
    with open(loaded["cfg_path"], encoding="utf-8") as handle:
        assert handle.read() == "bob@eu"
    assert loaded["nested"] == {"list": ["s3cr{{ 7 * 7 }}t", "eu"]}
    with pytest.raises(AssertionError, match="refuse inputs"):
        inject_credential(definition, {"nope": "x"}, str(tmp_path), {}, [])


def test_the_collections_credential_types_render(tmp_path):
    """Every credential type under extensions/awx renders with all its inputs set, and injects something."""
    (tmp_path / "env").mkdir()
    for definition in credential_types().values():
        inputs = {field["id"]: field.get("choices", ["value-of-" + field["id"]])[0]
                  for field in definition["inputs"]["fields"] if field.get("type", "string") == "string"}
        env, args = {}, []
        inject_credential(definition, inputs, str(tmp_path), env, args)
        injected = "\n".join(env.values())
        for path in args[1::2]:
            injected += json.dumps(DataLoader().load_from_file(path[1:]))
        for field in definition["inputs"]["fields"]:
            if field.get("secret"):
                assert inputs[field["id"]] in injected, (definition["name"], field["id"])


def test_the_event_scan_finds_a_secret_in_any_form(tmp_path):
    events = tmp_path / "artifacts" / "job" / "job_events"
    events.mkdir(parents=True)
    secret = "Zq8~" + secrets.token_urlsafe(30)
    hidden = {"url-encoded": urllib.parse.quote(secret, safe=""),
              "base64": base64.b64encode(secret.encode()).decode(),
              "truncated": secret[5:35], "token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"}
    for counter, (name, form) in enumerate(hidden.items(), 1):
        for path in events.iterdir():
            path.unlink()
        (events / ("%d-x.json" % counter)).write_text(json.dumps(
            {"counter": counter, "event": "runner_on_ok", "stdout": "", "event_data": {"res": {"msg": form}}}))
        with pytest.raises(AssertionError):
            assert_no_secret_in_events(str(tmp_path), {secret})
        assert name


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("awx-sandbox")), firewalls=FIREWALLS)
    try:
        yield AwxSite(box, str(tmp_path_factory.mktemp("awx-jobs")))
    finally:
        box.stop()


def test_first_setup_job_stops_at_the_sign_in_and_the_second_finishes(site):
    box = site.box
    first, first_dir = site.run("setup.yml", template_vars=SETUP_VARS)
    assert first.status == "failed", stdout_of(first_dir)
    urls = re.findall(r"https://127\.0\.0\.1:\d+/\S+/oauth2/v2\.0/authorize\?[^\s\"'\\]+", stdout_of(first_dir))
    assert urls, stdout_of(first_dir)
    assert not any(firewall_state(box, fw)["notification"]["ClientID"] for fw in box.services["sfos"]["firewalls"])
    stored = site.stored_inputs()
    # The new secret (and what is known about it) went into the AWX credential before the stop; no token yet.
    assert stored.get("client_secret") and "refresh_token" not in stored, sorted(stored)
    app = our_app(tenant(box))
    assert stored["client_secret"][:3] == app["passwordCredentials"][0]["hint"]

    landed = browser.sign_in(urls[-1], site.mailbox["upn"], site.mailbox["password"], box.ca_file, follow=False)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)["code"][0]
    second, second_dir = site.run("setup.yml", template_vars=SETUP_VARS,
                                  launch_vars={"refresh_token_authorization_response": landed})
    assert second.status == "successful", stdout_of(second_dir)

    app = our_app(tenant(box))
    assert len(app["passwordCredentials"]) == 1  # the second job used the first one's secret
    stored = site.stored_inputs()
    assert stored.get("client_secret") and stored.get("refresh_token"), sorted(stored)
    for fw in box.services["sfos"]["firewalls"]:
        notification = firewall_state(box, fw)["notification"]
        assert (notification["ClientID"], notification["ClientSecret"], notification["RefreshToken"]) == (
            app["appId"], stored["client_secret"], stored["refresh_token"]), fw["name"]
        assert notification["Username"] == site.mailbox["upn"]
    assert redeem_as_firewall(box, firewall_state(box, box.services["sfos"]["firewalls"][0])["notification"])[0] == 200

    for private_data_dir in (first_dir, second_dir):
        assert_no_secret_in_events(private_data_dir, site.secrets() | {code, landed})


def test_second_setup_job_changes_nothing_and_shows_no_secret_at_verbosity_4(site):
    before = tenant(site.box)
    result, private_data_dir = site.run("setup.yml", template_vars=SETUP_VARS, verbosity=4)
    assert result.status == "successful", stdout_of(private_data_dir)
    assert changed(result) == 0, result.stats
    after = tenant(site.box)
    assert our_app(after)["passwordCredentials"] == our_app(before)["passwordCredentials"]
    assert len(after["applications"]) == len(before["applications"])
    events = assert_no_secret_in_events(private_data_dir, site.secrets())
    assert any("<127.0.0.1>" in event.get("stdout", "") or "ESTABLISH" in event.get("stdout", "")
               or "invocation" in json.dumps(event) for event in events)  # it really ran at -vvvv


def test_verify_job_reports_every_firewall_ok(site, tmp_path):
    result, private_data_dir = site.run("verify.yml", template_vars={"mailoauth_report_dir": str(tmp_path)})
    assert result.status == "successful", stdout_of(private_data_dir)
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["tenant"] == {"client_secret": "ok", "refresh_token": "ok", "smtp_xoauth2": "ok"}
    assert [row["status"] for row in report["firewalls"]] == ["ok"] * FIREWALLS
    assert_no_secret_in_events(private_data_dir, site.secrets())


def test_rotate_job_writes_the_new_secret_to_every_firewall_and_the_credential(site):
    box = site.box
    old = site.stored_inputs()
    old_key = our_app(tenant(box))["passwordCredentials"][0]["keyId"]
    rotate_vars = {"mailoauth_awx_credential": MAIL_CREDENTIAL, "mailoauth_awx_organization": "Default"}
    result, private_data_dir = site.run("rotate.yml", template_vars=rotate_vars)
    assert result.status == "successful", stdout_of(private_data_dir)

    new = site.stored_inputs()
    assert new["client_secret"] != old["client_secret"]
    credentials = our_app(tenant(box))["passwordCredentials"]
    assert len(credentials) == 1 and credentials[0]["keyId"] != old_key
    assert credentials[0]["hint"] == new["client_secret"][:3]
    for fw in box.services["sfos"]["firewalls"]:
        notification = firewall_state(box, fw)["notification"]
        assert (notification["ClientSecret"], notification["RefreshToken"]) == (
            new["client_secret"], new["refresh_token"]), fw["name"]
        assert redeem_as_firewall(box, notification)[0] == 200, fw["name"]
    assert_no_secret_in_events(private_data_dir, site.secrets() | {old["client_secret"], old["refresh_token"]})


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
