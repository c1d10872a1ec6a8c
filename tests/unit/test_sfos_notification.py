"""What sfos_notification decides to send, from the options and the entity a firewall returned."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import (
    NOTIFICATION_ARGSPEC, check_options, plan_notification, refuse_stand_ins)
from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import (
    FIRMWARE_PROFILES, oauth_element_names, oauth_supported)

SECRET = "cs-<&>\"'-Geheimnis-ü"
TOKEN = "0.AAAA-refresh-€"
FRESH = [("MailServer", ""), ("Port", "25"), ("NotificationServer", "0"), ("AuthenticationRequired", "Disable"),
         ("Username", ""), ("Password", ""), ("ConnectionSecurity", "None"), ("Certificate", "ApplianceCertificate"),
         ("SenderAddress", ""), ("Recepient", ""), ("ManagementInterface", "None"), ("IPFamily", "IPv4"),
         ("Oauth2Provider", ""), ("ClientID", ""), ("ClientSecret", ""), ("RefreshToken", "")]
CONFIGURED = dict(FRESH, MailServer="smtp.office365.com", Port="587", NotificationServer="1",
                  AuthenticationRequired="Enable", Username="alerts@contoso.com", ConnectionSecurity="STARTTLS",
                  SenderAddress="alerts@contoso.com", Recepient="ops@contoso.com", Oauth2Provider="Microsoft365",
                  ClientID="cid-1", ClientSecret="$sfos$ab$cd", RefreshToken="$sfos$ef$01")


def entity(values):
    element = ET.Element("Notification")
    for tag, text in dict(values).items():
        child = ET.SubElement(element, tag)
        child.text = text
        if tag in ("ClientSecret", "RefreshToken") and text:
            child.set("hashform", "mode1")
    return element


def params(**overrides):
    values = {name: spec.get("default") for name, spec in NOTIFICATION_ARGSPEC.items()}
    values["oauth"] = {"provider": "Microsoft365", "client_id": "cid-1", "client_secret": SECRET,
                       "refresh_token": TOKEN, "username": "alerts@contoso.com"}
    values["sender_address"] = "alerts@contoso.com"
    values["recipients"] = ["ops@contoso.com"]
    values.update(overrides)
    return values


def plan(values=None, current=None, api_version="2200.1"):
    return plan_notification(values or params(), entity(CONFIGURED if current is None else current), api_version,
                             "fw01")


def test_first_setup_sends_everything_with_the_providers_defaults():
    result = plan(current=FRESH)
    assert result.secrets_sent
    assert result.updates == {
        "MailServer": "smtp.office365.com", "Port": "587", "ConnectionSecurity": "STARTTLS",
        "SenderAddress": "alerts@contoso.com", "Recepient": "ops@contoso.com", "NotificationServer": "1",
        "AuthenticationRequired": "Enable", "Oauth2Provider": "Microsoft365", "ClientID": "cid-1",
        "Username": "alerts@contoso.com", "ClientSecret": SECRET, "RefreshToken": TOKEN}


def test_the_users_values_win_over_the_providers_defaults():
    result = plan(params(mail_port=465, connection_security="SSLTLS"), current=FRESH)
    assert result.updates["Port"] == "465"
    assert result.updates["ConnectionSecurity"] == "SSLTLS"


def test_without_a_sender_the_oauth_mailbox_sends():
    """Exchange Online relays only mail from the mailbox that logs in, so that is the default sender."""
    result = plan(params(sender_address=None), current=dict(CONFIGURED, SenderAddress="old-sender@contoso.com"))
    assert result.updates == {"SenderAddress": "alerts@contoso.com"}
    assert not plan(params(sender_address=None, oauth=None)).changed


def test_an_empty_oauth_value_names_the_option_and_the_variables():
    oauth = dict(params()["oauth"], client_id="")
    with pytest.raises(SfosError) as error:
        plan(params(oauth=oauth))
    assert "oauth.client_id is empty" in str(error.value)
    assert "mailoauth_client_id" in error.value.hint and "firewall_notification_client_id" in error.value.hint


def test_a_configured_firewall_is_left_alone():
    result = plan()
    assert not result.changed
    assert not result.secrets_sent
    assert result.before == result.after


def test_always_sends_the_secrets_and_says_so():
    result = plan(params(update_secrets="always"))
    assert result.changed
    assert result.updates == {"ClientSecret": SECRET, "RefreshToken": TOKEN}
    assert result.after["oauth_client_secret"] == "<changed>"


def test_a_partial_update_changes_only_that_setting():
    result = plan(params(oauth=None, sender_address=None, recipients=None, mail_port=2525))
    assert result.updates == {"Port": "2525"}
    assert not result.secrets_sent


def test_a_new_client_id_sends_the_secrets_along():
    values = params()
    values["oauth"]["client_id"] = "cid-2"
    result = plan(values)
    assert result.secrets_sent
    assert result.updates["ClientID"] == "cid-2"
    assert result.updates["ClientSecret"] == SECRET


def test_the_diff_never_shows_a_secret():
    result = plan(current=FRESH)
    shown = repr(result.before) + repr(result.after)
    assert SECRET not in shown and TOKEN not in shown
    assert result.before["oauth_client_secret"] == ""
    assert result.after["oauth_refresh_token"] == "<changed>"
    assert plan().before["oauth_client_secret"] == "<hidden>"


def test_overridden_element_names_are_used():
    current = [(("AppSecret" if tag == "ClientSecret" else tag), text) for tag, text in FRESH]
    result = plan(params(oauth_element_names={"client_secret": "AppSecret"}), current=current)
    assert result.updates["AppSecret"] == SECRET
    assert "ClientSecret" not in result.updates


def oauth_without(*keys):
    values = params()
    for key in keys:
        values["oauth"][key] = None
    return values


def with_client_id(client_id, *missing):
    values = oauth_without(*missing)
    values["oauth"]["client_id"] = client_id
    return values


@pytest.mark.parametrize("values, current, api_version, option", [
    (oauth_without("client_secret"), FRESH, "2200.1", "oauth.client_secret"),
    (oauth_without("client_secret", "refresh_token"), FRESH, "2200.1", "oauth.refresh_token"),
    (with_client_id("cid-2", "client_secret", "refresh_token"), CONFIGURED, "2200.1", "oauth.client_secret"),
    (params(mail_port=70000), CONFIGURED, "2200.1", "mail_port"),
    (params(mail_port=0), CONFIGURED, "2200.1", "mail_port"),
    (params(sender_address="a\x07@b.c"), CONFIGURED, "2200.1", "sender_address"),
    (with_client_id("cid\r2"), CONFIGURED, "2200.1", "oauth.client_id"),
    (with_client_id(""), FRESH, "2200.1", "firewall_notification_client_id"),
    (oauth_without("username"), CONFIGURED, "2200.1", "oauth.username"),
    (params(), FRESH[:12], "2000.1", "oauth"),
    (params(), FRESH[:12], None, "oauth"),
], ids=["first-setup-without-client-secret", "first-setup-without-secrets", "new-client-id-without-secrets",
        "mail-port-too-high", "mail-port-zero", "control-character-in-sender", "carriage-return-in-client-id",
        "empty-client-id-names-the-role-variable", "no-mailbox",
        "oauth-on-firmware-without-oauth", "oauth-on-firmware-of-unknown-version"])
def test_bad_input(values, current, api_version, option):
    with pytest.raises(SfosError) as info:
        plan(values, current, api_version)
    assert option in str(info.value)


def test_a_secret_with_a_control_character_is_refused_without_showing_it():
    values = params()
    values["oauth"]["client_secret"] = "visible-part\x01"
    with pytest.raises(SfosError) as info:
        plan(values, FRESH)
    assert "oauth.client_secret" in str(info.value)
    assert "visible-part" not in str(info.value) + repr(info.value.details())


def test_mail_settings_work_without_oauth_on_old_firmware():
    result = plan(params(oauth=None, mail_server="mail.example"), current=FRESH[:12], api_version="2000.1")
    assert result.updates["MailServer"] == "mail.example"
    assert "authentication" not in result.after


@pytest.mark.parametrize("version, supported", [("1905.1", False), ("2000.1", False), ("2100.1", True),
                                                ("2200.1", True), ("2300.2", True), ("", False), (None, False)])
def test_oauth_support_follows_the_api_version(version, supported):
    assert oauth_supported(version) is supported
    assert (oauth_element_names(version) is not None) is supported


def test_every_firmware_profile_names_every_field():
    keys = set(FIRMWARE_PROFILES[0][1])
    assert all(set(row) == keys for dummy, row in FIRMWARE_PROFILES)
    assert oauth_element_names("2200.1", {"client_id": "AppID", "provider": None})["client_id"] == "AppID"


def test_a_firewall_without_a_notification_entity_gets_a_complete_one():
    result = plan_notification(params(), None, "2100.1", "fw01")
    assert result.secrets_sent
    assert result.updates["ClientSecret"] == SECRET
    assert result.updates["MailServer"] == "smtp.office365.com"
    assert result.before["oauth_client_id"] == ""


RELAY = {"oauth": None, "authentication": "password", "smtp_username": "relay-user", "smtp_password": "relay-pw-1",
         "mail_server": "relay.contoso.com", "mail_port": 25, "connection_security": "None",
         "sender_address": None, "recipients": None}


def test_switching_to_a_password_relay_empties_the_oauth_block_and_sends_the_password():
    result = plan(params(**RELAY))
    assert result.updates == {
        "MailServer": "relay.contoso.com", "Port": "25", "ConnectionSecurity": "None", "Username": "relay-user",
        "Oauth2Provider": "", "ClientID": "", "ClientSecret": "", "RefreshToken": "", "Password": "relay-pw-1"}
    assert result.secrets_sent
    assert result.after["smtp_password"] == "<changed>" and "relay-pw-1" not in repr(result.after)
    assert (result.before["oauth_client_secret"], result.after["oauth_client_secret"]) == ("<hidden>", "")


def test_a_password_relay_already_in_place_is_left_alone():
    relayed = dict(CONFIGURED, MailServer="relay.contoso.com", Port="25", ConnectionSecurity="None",
                   Username="relay-user", Oauth2Provider="", ClientID="", ClientSecret="", RefreshToken="")
    result = plan(params(**RELAY), current=relayed)
    assert not result.changed and not result.secrets_sent


def test_any_change_under_password_auth_needs_the_password_it_would_otherwise_clear():
    relayed = dict(CONFIGURED, MailServer="relay.contoso.com", Port="25", ConnectionSecurity="None",
                   Username="relay-user", Oauth2Provider="", ClientID="", ClientSecret="", RefreshToken="")
    changed_port = dict(RELAY)
    changed_port.update(mail_port=2525, smtp_password=None)
    with pytest.raises(SfosError) as error:
        plan(params(**changed_port), current=relayed)
    assert error.value.code == "missing-option" and "smtp_password" in str(error.value)


@pytest.mark.parametrize("server, element", [("firewall", "0"), ("external", "1")], ids=["built-in", "external"])
def test_no_authentication_and_the_choice_of_mail_server(server, element):
    result = plan(params(oauth=None, authentication="none", notification_server=server, sender_address=None,
                         recipients=None))
    assert result.updates["AuthenticationRequired"] == "Disable"
    assert result.updates["Username"] == "" and result.updates["ClientID"] == ""
    assert result.updates.get("NotificationServer", "1") == element
    assert "Password" not in result.updates and not result.secrets_sent


def test_without_oauth_support_only_the_documented_elements_change():
    old = [(tag, value) for tag, value in FRESH if tag not in ("Oauth2Provider", "ClientID", "ClientSecret",
                                                               "RefreshToken")]
    result = plan(params(**RELAY), current=old, api_version="2000.1")
    assert set(result.updates) == {"MailServer", "NotificationServer", "AuthenticationRequired", "Username",
                                   "Password"}


@pytest.mark.parametrize("values, message", [
    ({"authentication": "password"}, "needs smtp_username"),
    ({"authentication": "none", "oauth": {"client_id": "x"}}, "oauth is given with authentication=none"),
    ({"authentication": "oauth", "oauth": None}, "needs the oauth option"),
    ({"smtp_username": "relay-user"}, "only used with authentication=password"),
], ids=["password-without-username", "oauth-with-none", "oauth-without-oauth", "username-without-password-auth"])
def test_inconsistent_authentication_options_are_refused(values, message):
    with pytest.raises(SfosError) as error:
        check_options(dict(params(oauth=None), **values))
    assert message in str(error.value)


@pytest.mark.parametrize("key, value", [
    ("client_id", "(client ID of the app to be created)"),
    ("client_secret", "(client secret to be created)"),
    ("refresh_token", "(refresh token from the sign-in)"),
], ids=["client-id", "client-secret", "refresh-token"])
def test_check_mode_stand_ins_are_refused_for_a_real_write(key, value):
    values = params()
    values["oauth"][key] = value
    with pytest.raises(SfosError) as error:
        refuse_stand_ins(values)
    assert "oauth.%s holds a check-mode stand-in" % key in str(error.value)
    assert error.value.code == "invalid-option"
    refuse_stand_ins(params())  # real values pass
