"""The SFOS emulator answers as the reference says a firewall does (called in-process, no sockets)."""

import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from tests.sandbox._http import Request
from tests.sandbox.sfos.app import FirewallApp
from tests.sandbox.sfos.state import Firewall

PASSWORD = "pw<&\"'ä"


@pytest.fixture
def firewall():
    return Firewall("fw01", PASSWORD, "2200.1")


def post(firewall, reqxml=None, raw_body=None):
    body = raw_body if raw_body is not None else urllib.parse.urlencode({"reqxml": reqxml}).encode("utf-8")
    response = FirewallApp(firewall)(Request("POST", "/webconsole/APIController", {}, body, "127.0.0.1", 4444))
    return response, ET.fromstring(response.body) if response.body.startswith(b"<?xml") else None


def envelope(operation, password=PASSWORD):
    root = ET.Element("Request")
    login = ET.SubElement(root, "Login")
    ET.SubElement(login, "Username").text = "apiadmin"
    ET.SubElement(login, "Password").text = password
    root.append(ET.fromstring(operation))
    return ET.tostring(root, encoding="unicode")


GET = "<Get><Notification/></Get>"


def set_request(**values):
    entity = ET.Element("Notification")
    for tag, text in values.items():
        ET.SubElement(entity, tag).text = text
    return "<Set operation='update'>%s</Set>" % ET.tostring(entity, encoding="unicode")


def oauth_values(**overrides):
    values = dict(MailServer="smtp.office365.com", Port="587", NotificationServer="1", AuthenticationRequired="Enable",
                  Username="alerts@contoso.com", ConnectionSecurity="STARTTLS", Oauth2Provider="Microsoft365",
                  ClientID="cid", ClientSecret="secret-1", RefreshToken="token-1")
    values.update(overrides)
    return values


def test_get_returns_the_entity_and_the_firmware_version(firewall):
    response, root = post(firewall, envelope(GET))
    assert response.status == 200
    assert root.get("APIVersion") == "2200.1"
    assert root.findtext("Login/status") == "Authentication Successful"
    assert root.findtext("Notification/Port") == "25"


def test_secrets_read_back_hashed_with_a_fresh_salt_and_the_password_empty(firewall):
    post(firewall, envelope(set_request(Password="smtp-pw", **oauth_values())))
    first = post(firewall, envelope(GET))[1].find("Notification")
    second = post(firewall, envelope(GET))[1].find("Notification")
    assert first.find("ClientSecret").get("hashform") == "mode1"
    assert re.match(r"^\$sfos\$", first.findtext("ClientSecret"))
    assert first.findtext("ClientSecret") != second.findtext("ClientSecret")
    assert first.findtext("Password") == ""
    assert firewall.notification["ClientSecret"] == "secret-1"


def test_a_hashed_secret_sent_back_keeps_the_stored_one(firewall):
    post(firewall, envelope(set_request(**oauth_values())))
    read = post(firewall, envelope(GET))[1].find("Notification")
    read.find("Port").text = "2525"
    answer = post(firewall, envelope("<Set operation='update'>%s</Set>" % ET.tostring(read, encoding="unicode")))[1]
    assert answer.find("Notification/Status").get("code") == "200"
    assert firewall.notification["ClientSecret"] == "secret-1"
    assert firewall.notification["Port"] == "2525"


def test_a_forged_hash_is_rejected(firewall):
    post(firewall, envelope(set_request(**oauth_values())))
    forged = set_request(**oauth_values(ClientSecret="$sfos$00$00")).replace(
        "<ClientSecret>", "<ClientSecret hashform='mode1'>")
    status = post(firewall, envelope(forged))[1].find("Notification/Status")
    assert status.get("code") == "501"
    assert firewall.notification["ClientSecret"] == "secret-1"


def test_an_update_replaces_the_whole_entity(firewall):
    post(firewall, envelope(set_request(SenderAddress="a@b.c", Port="587")))
    post(firewall, envelope(set_request(Port="465")))
    assert firewall.notification["Port"] == "465"
    assert firewall.notification["SenderAddress"] == ""


@pytest.mark.parametrize("operation, code", [
    (set_request(Port="0"), "501"),
    (set_request(Port="x"), "501"),
    (set_request(ConnectionSecurity="TLS"), "501"),
    (set_request(NotificationServer="1"), "501"),
    (set_request(Username="u" * 51), "501"),
    (set_request(NoSuchField="x"), "529"),
], ids=["port-zero", "port-not-a-number", "unknown-security", "external-server-without-name",
        "username-too-long", "unknown-element"])
def test_invalid_updates_are_refused_and_change_nothing(firewall, operation, code):
    before = dict(firewall.notification)
    status = post(firewall, envelope(operation))[1].find("Notification/Status")
    assert status.get("code") == code
    assert firewall.notification == before


# What real firmware accepts, by the vendor's own integration tests (reference/sfos-xml-api.md): the emulator must
# not be stricter.
REAL_FIRMWARE_ACCEPTS = {
    "subject-and-mail-body": dict(MailServer="mail.example", NotificationServer="1", Subject="Firewall alert",
                                  MailBody="Something happened"),
    "oauth-provider-with-only-username-and-password": dict(
        MailServer="smtp.office365.com", Port="587", NotificationServer="1", AuthenticationRequired="Enable",
        Oauth2Provider="Microsoft365", Username="alerts@contoso.com", Password="pw", ConnectionSecurity="STARTTLS"),
}


@pytest.mark.parametrize("case", sorted(REAL_FIRMWARE_ACCEPTS))
def test_updates_real_firmware_accepts_are_accepted(firewall, case):
    values = REAL_FIRMWARE_ACCEPTS[case]
    status = post(firewall, envelope(set_request(**values)))[1].find("Notification/Status")
    assert status.get("code") == "200", status.text
    stored = {tag: firewall.notification.get(tag) for tag in values}
    assert stored == values
    read = post(firewall, envelope(GET))[1].find("Notification")
    for tag, value in values.items():
        assert read.findtext(tag) == ("" if tag == "Password" else value)


def test_subject_and_mail_body_are_read_back_only_once_set(firewall):
    read = post(firewall, envelope(GET))[1].find("Notification")
    assert read.find("Subject") is None and read.find("MailBody") is None


def test_firmware_without_oauth_does_not_know_the_oauth_elements(firewall):
    firewall.configure({"api_version": "2000.1"})
    assert post(firewall, envelope(GET))[1].find("Notification/ClientID") is None
    status = post(firewall, envelope(set_request(ClientID="cid")))[1].find("Notification/Status")
    assert status.get("code") == "529"


@pytest.mark.parametrize("config, code", [({"allow_api_from_client": False}, "534"), ({"api_enabled": False}, "532")])
def test_access_refusals_come_as_top_level_status(firewall, config, code):
    firewall.configure(config)
    root = post(firewall, envelope(GET))[1]
    assert root.find("Status").get("code") == code
    assert root.find("Notification") is None


def test_wrong_password_fails_login_only(firewall):
    root = post(firewall, envelope(GET, password="wrong"))[1]
    assert root.findtext("Login/status") == "Authentication Failure"
    assert root.find("Notification") is None


def test_an_unencoded_ampersand_truncates_the_request_into_a_529(firewall):
    raw = ("reqxml=" + envelope(GET)).encode("utf-8")  # the escaped password holds "&amp;" and "&lt;"
    assert post(firewall, raw_body=raw)[1].find("Status").get("code") == "529"


def test_missing_write_privilege_is_599(firewall):
    firewall.configure({"write_access": False})
    assert post(firewall, envelope(set_request(Port="587")))[1].find("Notification/Status").get("code") == "599"


def test_faults(firewall):
    firewall.configure({"fault": "html", "fault_status": 502})
    response = post(firewall, envelope(GET))[0]
    assert (response.status, response.headers["Content-Type"][:9]) == (502, "text/html")
    firewall.configure({"fault": "down"})
    assert post(firewall, envelope(GET))[0].drop
    firewall.configure({"fault": "slow", "slow_seconds": 3})
    assert post(firewall, envelope(GET))[0].delay == 3
    firewall.configure({"fault": None})
    assert post(firewall, envelope(GET))[0].status == 200


def test_counters_count_requests_gets_and_sets(firewall):
    post(firewall, envelope(GET))
    post(firewall, envelope(set_request(Port="587")))
    counters = firewall.snapshot()["counters"]
    assert (counters["requests"], counters["gets"], counters["sets"]) == (2, 1, 1)
    with pytest.raises(ValueError):
        firewall.configure({"no_such_switch": 1})
