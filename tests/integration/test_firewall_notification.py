"""The firewall side end to end: ansible-playbook against the emulated SFOS fleet, asserting on what each
firewall stored (read from the emulator's control endpoints, never through the collection's own client)."""

import json
import re
import secrets

import pytest

TARGET = "tests/integration/targets/firewall_notification/"
MAILBOX = "alerts@contoso.example"
PRIVATE = "-<&>\"'ü-" + secrets.token_hex(6)
OAUTH = {"client_id": "11111111-2222-3333-4444-" + secrets.token_hex(6), "client_secret": "cs~" + PRIVATE,
         "refresh_token": "0.AAAA-rt" + PRIVATE}
ROLE_VARS = {"firewall_notification_client_id": OAUTH["client_id"],
             "firewall_notification_client_secret": OAUTH["client_secret"],
             "firewall_notification_refresh_token": OAUTH["refresh_token"],
             "firewall_notification_mailbox": MAILBOX,
             "firewall_notification_recipients": ["netops@contoso.example", "soc@contoso.example"]}


@pytest.fixture
def fleet(sandbox):
    firewalls = sandbox.services["sfos"]["firewalls"]
    for firewall in firewalls:
        control(sandbox, firewall, "reset", "POST")
    return firewalls


def control(sandbox, firewall, path, method="GET", body=None):
    return sandbox.control("https://%s:%s" % (firewall["host"], firewall["port"]), path, method, body)


def stored(sandbox, firewall):
    return control(sandbox, firewall, "state")


def reset_counters(sandbox, firewalls):
    for firewall in firewalls:
        control(sandbox, firewall, "counters", "POST")


def write_inventory(tmp_path, sandbox, firewalls, **host_overrides):
    hosts = {}
    for firewall in firewalls:
        host = {"sfos_host": firewall["host"], "sfos_port": firewall["port"], "sfos_username": firewall["username"],
                "sfos_password": firewall["password"], "sfos_ca_path": sandbox.ca_file}
        host.update(host_overrides.get(firewall["name"], {}))
        hosts[firewall["name"]] = {key: value for key, value in host.items() if value is not None}
    path = tmp_path / "inventory.yml"
    path.write_text(json.dumps({"all": {"children": {"firewalls": {"hosts": hosts}}}}))
    return path


def host_error(run, host):
    """The failure message ansible-playbook printed for one host."""
    match = re.search(r"^fatal: \[%s\]: FAILED! => (\{.*?\})$" % re.escape(host), run.stdout, re.M | re.S)
    assert match, run
    return json.loads(match.group(1))["msg"]


def task_result(run, host, name="result"):
    match = re.search(r"^ok: \[%s\] => (\{.*?^\})$" % re.escape(host), run.stdout, re.M | re.S)
    assert match, run
    return json.loads(match.group(1))[name]


def assert_no_secret_leaked(sandbox, *runs):
    for run in runs:
        for value in OAUTH["client_secret"], OAUTH["refresh_token"]:
            assert value not in run.output
    logs = sandbox.log_text()
    assert OAUTH["client_secret"] not in logs and OAUTH["refresh_token"] not in logs


def assert_configured(state):
    notification = state["notification"]
    assert notification["ClientID"] == OAUTH["client_id"]
    assert notification["ClientSecret"] == OAUTH["client_secret"]
    assert notification["RefreshToken"] == OAUTH["refresh_token"]
    assert notification["Username"] == MAILBOX
    assert notification["SenderAddress"] == MAILBOX
    assert notification["Recepient"] == "netops@contoso.example,soc@contoso.example"
    assert (notification["AuthenticationRequired"], notification["Oauth2Provider"]) == ("Enable", "Microsoft365")
    assert (notification["MailServer"], notification["Port"], notification["ConnectionSecurity"]) == (
        "smtp.office365.com", "587", "STARTTLS")
    assert notification["NotificationServer"] == "1"


def test_role_configures_the_fleet_idempotently(sandbox, fleet, run_playbook, tmp_path):
    inventory = write_inventory(tmp_path, sandbox, fleet)
    names = sorted(firewall["name"] for firewall in fleet)
    assert len(names) == 20

    reset_counters(sandbox, fleet)
    preview = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS, check=True, diff=True,
                           args=("--forks", "10"))
    assert preview.rc == 0, preview
    assert sorted(preview.recap) == names
    assert all(preview.changed(host) == 1 for host in names), preview
    assert '"oauth_client_secret": "<changed>"' in preview.stdout
    assert '+    "oauth_client_id": "%s"' % OAUTH["client_id"] in preview.stdout
    for firewall in fleet:
        state = stored(sandbox, firewall)
        assert state["notification"]["ClientID"] == "" and state["counters"]["sets"] == 0
        assert state["counters"]["requests"] == 1

    reset_counters(sandbox, fleet)
    real = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS, args=("--forks", "10", "-vvv"))
    assert real.rc == 0, real
    assert all(real.changed(host) == 1 for host in names), real
    for firewall in fleet:
        state = stored(sandbox, firewall)
        assert_configured(state)
        # One connection per firewall and task; exactly Get + Set.
        assert state["counters"] | {"logins_failed": 0} == {
            "requests": 2, "gets": 1, "sets": 1, "connections": 1, "logins_failed": 0}
        assert state["notification"]["Certificate"] == "ApplianceCertificate"

    reset_counters(sandbox, fleet)
    again = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS, args=("--forks", "10"))
    assert again.rc == 0 and again.changed() == 0, again
    for firewall in fleet:
        counters = stored(sandbox, firewall)["counters"]
        assert (counters["requests"], counters["sets"], counters["connections"]) == (1, 0, 1)

    check_again = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS, check=True, diff=True,
                               args=("--forks", "10"))
    assert check_again.rc == 0 and check_again.changed() == 0, check_again
    assert_no_secret_leaked(sandbox, preview, real, again, check_again)
    logs = sandbox.log_text()
    for firewall in fleet:
        assert firewall["password"] not in real.output  # -vvv
        assert firewall["password"] not in logs


def test_failures_stay_per_host_and_limit_fixes_them(sandbox, fleet, run_playbook, tmp_path):
    inventory = write_inventory(tmp_path, sandbox, fleet)
    by_name = {firewall["name"]: firewall for firewall in fleet}
    control(sandbox, by_name["fw03"], "config", "POST", {"password": "rotated-elsewhere"})
    control(sandbox, by_name["fw05"], "config", "POST", {"allow_api_from_client": False})
    control(sandbox, by_name["fw07"], "config", "POST", {"fault": "down"})

    run = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS, args=("--forks", "10"))
    assert run.rc != 0
    assert run.failed_hosts() == ["fw03", "fw05", "fw07"], run
    assert "refused the API login" in host_error(run, "fw03") and "sfos_password" in host_error(run, "fw03")
    assert "allow-list" in host_error(run, "fw05") and "534" in host_error(run, "fw05")
    assert "Could not reach firewall" in host_error(run, "fw07")
    for name, firewall in by_name.items():
        if name not in ("fw03", "fw05", "fw07"):
            assert_configured(stored(sandbox, firewall))
    for name in ("fw03", "fw05", "fw07"):
        assert stored(sandbox, by_name[name])["counters"]["sets"] == 0
        control(sandbox, by_name[name], "reset", "POST")

    fixed = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS, args=("--limit", "fw03,fw05,fw07"))
    assert fixed.rc == 0, fixed
    assert sorted(fixed.recap) == ["fw03", "fw05", "fw07"]
    assert fixed.changed() == 3
    for name in ("fw03", "fw05", "fw07"):
        assert_configured(stored(sandbox, by_name[name]))
    assert_no_secret_leaked(sandbox, run, fixed)


def oauth_args(**overrides):
    args = {"oauth": dict(OAUTH, username=MAILBOX)}
    args.update(overrides)
    return args


@pytest.mark.parametrize("args, firewall_config, host_vars, expected", [
    (oauth_args(mail_port=70000), {}, {}, "mail_port must be between 1 and 65535"),
    ({"oauth": {"client_id": "cid", "username": MAILBOX}}, {}, {},
     "but oauth.client_secret and oauth.refresh_token are empty"),
    (oauth_args(oauth=dict(OAUTH, client_id="", username=MAILBOX)), {}, {}, "firewall_notification_client_id"),
    (oauth_args(connection_security="TLS"), {}, {}, "connection_security must be one of"),
    (oauth_args(mail_sever="typo"), {}, {}, "Unsupported parameters"),
    (oauth_args(), {}, {"sfos_password": None}, "set the password option or the inventory variable sfos_password"),
    (oauth_args(), {"api_version": "2000.1"}, {}, "has no OAuth 2.0 for notification e-mail"),
    (oauth_args(oauth_element_names={"client_secret": "AppSecret"}), {}, {}, "oauth_element_names"),
    (oauth_args(), {"write_access": False}, {}, "read-write access"),
    (oauth_args(timeout=2), {"fault": "slow", "slow_seconds": 4}, {}, "did not answer within 2 s"),
    (oauth_args(), {"fault": "html", "fault_status": 200}, {}, "not an XML API reply"),
    (oauth_args(), {"fault": "http500"}, {}, "answered HTTP 500"),
    (oauth_args(), {"api_enabled": False}, {}, "Backup & firmware > API"),
    (oauth_args(), {}, {"sfos_ca_path": None}, "set ca_path"),
    (oauth_args(), {"require_api_version": True}, {}, "sfos_api_version"),
], ids=["mail_port-out-of-range", "first-setup-without-secrets", "empty-client-id-names-the-role-variable",
        "connection_security-not-a-choice",
        "misspelt-option", "no-firewall-password", "firmware-without-oauth", "wrong-element-name-for-firmware",
        "api-user-without-write-access", "firewall-too-slow", "html-error-page", "http-500",
        "api-disabled", "certificate-not-trusted", "firmware-wants-an-api-version"])
def test_bad_input(sandbox, fleet, run_playbook, tmp_path, args, firewall_config, host_vars, expected):
    firewall = fleet[-1]
    if firewall_config:
        control(sandbox, firewall, "config", "POST", firewall_config)
    inventory = write_inventory(tmp_path, sandbox, [firewall], **{firewall["name"]: host_vars})
    # Without sfos_ca_path the firewall client trusts the system store only (REQUESTS_CA_BUNDLE, which the fixture
    # points at the sandbox CA for the Microsoft clients, does not apply to it), so the sandbox's certificate fails.
    run = run_playbook(TARGET + "module.yml", inventory, {"notification_args": args})
    assert run.failed_hosts() == [firewall["name"]], run
    assert expected in host_error(run, firewall["name"])
    control(sandbox, firewall, "config", "POST", {"fault": None})
    state = stored(sandbox, firewall)
    assert state["counters"]["sets"] == 0
    assert state["notification"].get("ClientID", "") == ""
    assert_no_secret_leaked(sandbox, run)


def test_partial_update_keeps_everything_else(sandbox, fleet, run_playbook, tmp_path):
    firewall = fleet[0]
    control(sandbox, firewall, "config", "POST", {"notification": {"Certificate": "Custom-Cert"}})
    inventory = write_inventory(tmp_path, sandbox, [firewall])
    assert run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS).rc == 0

    run = run_playbook(TARGET + "module.yml", inventory, {"notification_args": {"mail_port": 2525}}, diff=True)
    assert run.rc == 0 and run.changed() == 1, run
    assert '-    "mail_port": "587",' in run.stdout and '+    "mail_port": "2525",' in run.stdout
    notification = stored(sandbox, firewall)["notification"]
    assert notification["Port"] == "2525"
    assert notification["Certificate"] == "Custom-Cert"
    assert notification["ClientSecret"] == OAUTH["client_secret"]
    assert notification["RefreshToken"] == OAUTH["refresh_token"]
    assert notification["SenderAddress"] == MAILBOX
    assert_no_secret_leaked(sandbox, run)


def test_api_version_from_the_inventory_goes_into_every_request(sandbox, fleet, run_playbook, tmp_path):
    firewall = fleet[4]
    control(sandbox, firewall, "config", "POST", {"require_api_version": True})
    inventory = write_inventory(tmp_path, sandbox, [firewall],
                                **{firewall["name"]: {"sfos_api_version": firewall["api_version"]}})
    run = run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS)
    assert run.rc == 0 and run.changed() == 1, run
    assert_configured(stored(sandbox, firewall))


def test_update_secrets_always_rotates_and_reports_it(sandbox, fleet, run_playbook, tmp_path):
    firewall = fleet[1]
    inventory = write_inventory(tmp_path, sandbox, [firewall])
    assert run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS).rc == 0
    rotated = dict(ROLE_VARS, firewall_notification_client_secret="rotated" + PRIVATE,
                   firewall_notification_update_secrets="always")
    for dummy in range(2):
        run = run_playbook(TARGET + "configure.yml", inventory, rotated)
        assert run.rc == 0 and run.changed() == 1, run
        assert "rotated" + PRIVATE not in run.output
    state = stored(sandbox, firewall)
    assert state["notification"]["ClientSecret"] == "rotated" + PRIVATE
    assert state["counters"]["sets"] == 3


def test_info_shows_the_raw_entity_with_secrets_masked(sandbox, fleet, run_playbook, tmp_path):
    firewall = fleet[2]
    inventory = write_inventory(tmp_path, sandbox, [firewall])
    assert run_playbook(TARGET + "configure.yml", inventory, ROLE_VARS).rc == 0
    run = run_playbook(TARGET + "info.yml", inventory, check=True)
    assert run.rc == 0 and run.changed() == 0, run
    info = task_result(run, firewall["name"], "info")
    assert info["api_version"] == firewall["api_version"] and info["oauth_supported"] and info["oauth_configured"]
    assert info["notification"]["ClientID"] == OAUTH["client_id"]
    assert info["notification"]["ClientSecret"] == "<hidden>" and info["notification"]["RefreshToken"] == "<hidden>"
    assert info["notification"]["Certificate"] == "ApplianceCertificate"
    assert info["oauth_element_names"]["client_secret"] == "ClientSecret"
    assert_no_secret_leaked(sandbox, run)


def test_official_sdk_reads_the_emulator(sandbox, fleet):
    """Evidence that the emulator speaks the real protocol: the official SDK's get_tag works unmodified."""
    sdk = pytest.importorskip("sophosfirewall_python.firewallapi")
    firewall = fleet[3]
    control(sandbox, firewall, "config", "POST", {"notification": {"MailServer": "smtp.office365.com"}})
    client = sdk.SophosFirewall(firewall["username"], firewall["password"], firewall["host"], firewall["port"],
                                verify=sandbox.ca_file)
    reply = client.get_tag("Notification")
    assert reply["Response"]["@APIVersion"] == firewall["api_version"]
    assert reply["Response"]["Notification"]["MailServer"] == "smtp.office365.com"
    wrong = sdk.SophosFirewall(firewall["username"], "wrong", firewall["host"], firewall["port"], verify=sandbox.ca_file)
    with pytest.raises(Exception, match="Login failed"):
        wrong.get_tag("Notification")
