"""Hostile firewall replies, as a table: whatever a compromised box or a man in the middle sends is refused by the
parser before anything is read from it, fast, and without any of its content reaching the error message.

Covered elsewhere: the small internal-entity bomb (test_sfos_xml.py::test_xml_bombs_are_refused) and the
hypothesis round-trip of arbitrary values (test_sfos_roundtrip.py::test_values_round_trip_exactly).
"""

import time

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import (
    MAX_REPLY_BYTES, SfosError, entity_fields, parse_reply)

HOST = "fw.example:4444"
CANARY = "canary-4c7d1e0f-secret-file-content"
LOGIN_OK = "<Login><status>Authentication Successful</status></Login>"


def response(body, doctype=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n%s<Response APIVersion="2200.1">%s%s</Response>'
            % (doctype, LOGIN_OK, body)).encode("utf-8")


def billion_laughs():
    entities = ['<!ENTITY lol0 "lol">'] + ['<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1)) * 10) for i in range(1, 10)]
    return response("<Notification><MailServer>&lol9;</MailServer></Notification>",
                    "<!DOCTYPE Response [%s]>" % "".join(entities))


def quadratic_blowup():
    return response("<Notification><MailServer>%s</MailServer></Notification>" % ("&big;" * 50000),
                    '<!DOCTYPE Response [<!ENTITY big "%s">]>' % ("x" * 50000))


def external_entity(tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(CANARY)
    return response("<Notification><MailServer>&xxe;</MailServer></Notification>",
                    '<!DOCTYPE Response [<!ENTITY xxe SYSTEM "file://%s">]>' % secret_file)


def external_entity_over_http(tmp_path):
    del tmp_path
    return response("<Notification><MailServer>&xxe;</MailServer></Notification>",
                    '<!DOCTYPE Response [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/steal">]>')


def parameter_entity(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "%s">' % CANARY)
    return response("<Notification><MailServer>&leak;</MailServer></Notification>",
                    '<!DOCTYPE Response [<!ENTITY %% remote SYSTEM "file://%s"> %%remote;]>' % dtd)


def external_dtd(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "%s">' % CANARY)
    return response("<Notification><MailServer>&leak;</MailServer></Notification>",
                    '<!DOCTYPE Response SYSTEM "file://%s">' % dtd)


def huge(tmp_path):
    del tmp_path
    return response("<Notification><MailServer>%s</MailServer></Notification>" % ("A" * (MAX_REPLY_BYTES + 1)))


def huge_text(tmp_path):
    del tmp_path
    return response("<Notification><MailServer>%s</MailServer></Notification>"
                    % ("B" * (MAX_REPLY_BYTES + 1))).decode("utf-8")


HOSTILE = {
    "entity-expansion-billion-laughs": (lambda tmp_path: billion_laughs(), "not-xml"),
    "entity-expansion-quadratic-blowup": (lambda tmp_path: quadratic_blowup(), "not-xml"),
    "external-entity-reads-a-local-file": (external_entity, "not-xml"),
    "external-entity-fetches-a-url": (external_entity_over_http, "not-xml"),
    "parameter-entity-pulls-in-a-dtd": (parameter_entity, "not-xml"),
    "external-dtd-defines-the-entity": (external_dtd, "not-xml"),
    "huge-reply-bytes": (huge, "reply-too-large"),
    "huge-reply-text": (huge_text, "reply-too-large"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_reply_is_refused(case, tmp_path):
    make, code = HOSTILE[case]
    body = make(tmp_path)
    started = time.monotonic()
    with pytest.raises(SfosError) as info:
        parse_reply(body, "Notification", HOST)
    assert time.monotonic() - started < 5, "the parser worked on the hostile reply instead of refusing it"
    error = info.value
    assert error.code == code
    message = str(error)
    assert CANARY not in message and "lollol" not in message and "xxxxxxxxxx" not in message
    assert len(message) < 600, "the error carries the reply instead of describing it"
    assert "check that host and port point at the firewall's admin API" in message


def test_xinclude_is_not_processed(tmp_path):
    """ElementTree leaves XInclude elements alone: the file they point at is never read into a value."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(CANARY)
    body = response('<Notification xmlns:xi="http://www.w3.org/2001/XInclude"><MailServer>'
                    '<xi:include href="file://%s" parse="text"/></MailServer></Notification>' % secret_file)
    reply = parse_reply(body, "Notification", HOST)
    assert CANARY not in repr(entity_fields(reply.entity))


def test_a_reply_just_under_the_limit_is_still_read():
    server = "s" * (MAX_REPLY_BYTES - 1000)
    reply = parse_reply(response("<Notification><MailServer>%s</MailServer></Notification>" % server),
                        "Notification", HOST)
    assert entity_fields(reply.entity)["MailServer"] == server


def deeply_nested(tmp_path):
    del tmp_path
    return response("<Notification><MailServer>%s%s</MailServer></Notification>" % ("<a>" * 100000, "</a>" * 100000))


# Replies whose shape is wrong rather than dangerous to parse: refused before anything is compared or written, so a
# task never reads one copy of an element and updates another.
AMBIGUOUS = {
    "element-nested-100k-levels": (deeply_nested, "reply-too-deep", "nested"),
    "client-id-twice": (lambda tmp_path: response(
        "<Notification><ClientID>real</ClientID><Port>587</Port><ClientID>planted</ClientID></Notification>"),
        "ambiguous-reply", "<ClientID> 2 times"),
    "secret-twice": (lambda tmp_path: response(
        '<Notification><ClientSecret hashform="mode1">$sfos$a$b</ClientSecret><ClientSecret/></Notification>'),
        "ambiguous-reply", "<ClientSecret> 2 times"),
    "entity-twice": (lambda tmp_path: response(
        "<Notification><Port>587</Port></Notification><Notification><Port>25</Port></Notification>"),
        "ambiguous-reply", "<Notification> 2 times"),
}


@pytest.mark.parametrize("case", sorted(AMBIGUOUS))
def test_reply_of_a_shape_no_firewall_sends_is_refused(case, tmp_path):
    make, code, words = AMBIGUOUS[case]
    started = time.monotonic()
    with pytest.raises(SfosError) as info:
        parse_reply(make(tmp_path), "Notification", HOST)
    assert time.monotonic() - started < 5
    assert info.value.code == code
    message = str(info.value)
    assert words in message and HOST in message
    assert "planted" not in message and "real" not in message
    assert len(message) < 600
