"""SFOS XML wire format: requests built intact, replies checked in the firewall's order, codes mapped to advice."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import (
    SfosError, build_request, entity_fields, masked_entity, merged_entity, not_xml_safe, parse_reply)

HOST = "fw.example:4444"
LOGIN_OK = "<Login><status>Authentication Successful</status></Login>"


def reply(body, version="2200.1"):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response APIVersion="%s" IPS_CAT_VER="1">%s</Response>'
            % (version, body)).encode("utf-8")


def raised(text, entity="Notification"):
    with pytest.raises(SfosError) as info:
        parse_reply(text, entity, HOST)
    return info.value


@pytest.mark.parametrize("password", ["plain", "a<b&c>d\"e'f", "Pä€ß漢字🔥", "&lt;not-an-entity&gt;", " spaced "])
def test_login_values_arrive_intact(password):
    root = ET.fromstring(build_request("api<&>", password, "Get", "Notification"))
    assert root.findtext("Login/Username") == "api<&>"
    assert root.findtext("Login/Password") == password
    assert root.find("Get/Notification") is not None


def test_set_request_carries_the_entity_and_api_version():
    entity = ET.Element("Notification")
    ET.SubElement(entity, "ClientSecret").text = "s<&\"'ü"
    root = ET.fromstring(build_request("u", "p", "Set", entity, api_version="2100.1"))
    assert root.get("APIVersion") == "2100.1"
    assert root.find("Set").get("operation") == "update"
    assert root.findtext("Set/Notification/ClientSecret") == "s<&\"'ü"


def test_a_get_reply_gives_the_entity_and_the_firmware_version():
    parsed = parse_reply(reply(LOGIN_OK + "<Notification transactionid=''><Port>587</Port><X>kept</X></Notification>"),
                         "Notification", HOST)
    assert parsed.api_version == "2200.1"
    assert entity_fields(parsed.entity) == {"Port": "587", "X": "kept"}


def test_an_empty_get_is_not_an_error():
    parsed = parse_reply(reply(LOGIN_OK + "<Notification><Status>No. of records Zero.</Status></Notification>"),
                         "Notification", HOST)
    assert parsed.entity is None


@pytest.mark.parametrize("code", ["200", "202", "216", "217", "222"])
def test_write_success_codes_pass(code):
    parsed = parse_reply(reply(LOGIN_OK + '<Notification><Status code="%s">done</Status></Notification>' % code),
                         "Notification", HOST)
    assert parsed.status_code == code


@pytest.mark.parametrize("body, code, advice", [
    ("<html><body>502 Bad Gateway</body></html>", "not-xml", "admin API"),
    ("", "not-xml", "admin API"),
    ("<?xml version='1.0'?><Other/>", "not-xml", "admin API"),
    (reply('<Status code="534">API operations are not allowed from the requester IP address</Status>'), "534",
     "allow-list"),
    (reply('<Status code="532">API disabled</Status>'), "532", "Backup & firmware > API"),
    (reply('<Status code="529">There is no API Version</Status>'), "529", "sfos_api_version"),
    (reply(LOGIN_OK + '<Notification><Status code="529">Invalid</Status></Notification>'), "529",
     "oauth_element_names"),
    (reply("<Login><status>Authentication Failure</status></Login>"), "Authentication Failure", "password"),
    (reply(LOGIN_OK + '<Notification><Status code="599">no write</Status></Notification>'), "599", "read-write"),
    (reply(LOGIN_OK + '<Notification><Status code="501">InvalidParams: /Notification/Port</Status></Notification>'),
     "501", "correct the value"),
    (reply(LOGIN_OK + '<Notification><Status code="541">cannot connect</Status></Notification>'), "541",
     "documentation"),
    (reply(LOGIN_OK + "<Notification><Status>Something odd.</Status></Notification>"), None, "API log"),
    (reply(LOGIN_OK), "no-entity", "supports"),
], ids=["html-page", "empty-body", "xml-but-not-a-response", "ip-not-in-allow-list", "api-disabled",
        "invalid-request", "unknown-element", "login-failure", "no-write-privilege", "parameter-validation", "unknown-code",
        "code-less-status", "entity-missing"])
def test_failures_become_clear_errors(body, code, advice):
    error = raised(body)
    assert error.code == code
    assert advice in str(error)
    assert HOST in str(error)


def test_top_level_status_is_checked_before_login():
    body = reply('<Login><status>Authentication Failure</status></Login><Status code="534">not allowed</Status>')
    assert raised(body).code == "534"


def test_the_code_decides_not_the_text():
    body = reply(LOGIN_OK + '<Notification><Status code="500">Configuration applied successfully.</Status>'
                            '</Notification>')
    assert raised(body).code == "500"


def test_xml_bombs_are_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><Response>&b;</Response>'
    assert raised(bomb).code == "not-xml"


@pytest.mark.parametrize("value, unsafe", [
    ("ok <&> ü €", False), ("tab\there", False), ("line\nbreak", False), ("cr\rhere", True), ("nul\x00", True),
    ("\ufffe", True), ("🔥 astral", False)])
def test_values_xml_cannot_carry_are_detected(value, unsafe):
    assert not_xml_safe(value) is unsafe


def test_merge_keeps_unknown_elements_order_and_hashed_secrets():
    current = ET.fromstring('<Notification transactionid=""><MailServer>a</MailServer><Future>x</Future>'
                            '<ClientSecret hashform="mode1">$sfos$1$2</ClientSecret><Port>25</Port></Notification>')
    merged = merged_entity(current, "Notification", {"Port": "587", "RefreshToken": "new"})
    assert [child.tag for child in merged] == ["MailServer", "Future", "ClientSecret", "Port", "RefreshToken"]
    assert merged.find("ClientSecret").get("hashform") == "mode1"
    assert merged.findtext("Port") == "587"
    assert merged.get("transactionid") is None


def test_merge_drops_the_hash_marker_when_a_secret_is_replaced():
    current = ET.fromstring('<Notification><ClientSecret hashform="mode1">$sfos$1$2</ClientSecret></Notification>')
    merged = merged_entity(current, "Notification", {"ClientSecret": "fresh"})
    assert merged.find("ClientSecret").attrib == {}
    assert merged.findtext("ClientSecret") == "fresh"


def test_masked_entity_hides_hashed_and_named_secrets_only():
    entity = ET.fromstring('<Notification><ClientID>cid</ClientID><Hidden hashform="mode1">$sfos$x</Hidden>'
                           '<Token>t</Token><Password></Password><Nested><A>1</A></Nested></Notification>')
    assert masked_entity(entity, ("Token",)) == {
        "ClientID": "cid", "Hidden": "<hidden>", "Token": "<hidden>", "Password": "", "Nested": {"A": "1"}}
