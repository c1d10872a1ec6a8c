"""Conformance of the emulated Exchange Online admin API (InvokeCommand) and the mailbox control endpoint."""

import pytest

from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"


def invoke(ms, cmdlet, params=None, who="automation_app", tenant=None):
    token = ms.app_token(who, EXCHANGE_DEFAULT)
    url = "%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], tenant or ms.tenant)
    return ms.session(token).post(url, json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": params or {}}})


def test_smtp_auth_on_a_mailbox_follows_the_org_until_set(ms):
    upn = ms.ready["mailbox"]["upn"]
    [before] = invoke(ms, "Get-CASMailbox", {"Identity": upn}).json()["value"]
    assert before["SmtpClientAuthenticationDisabled"] is None and before["PrimarySmtpAddress"] == upn
    assert ms.control("mailboxes/" + upn) == {"upn": upn, "smtp_auth_disabled": True, "mailbox_setting": None,
                                              "org_setting": True}
    reply = invoke(ms, "Set-CASMailbox", {"Identity": upn, "SmtpClientAuthenticationDisabled": False})
    assert reply.status_code == 200 and reply.json()["value"] == []
    assert invoke(ms, "Get-CASMailbox", {"Identity": upn}).json()["value"][0]["SmtpClientAuthenticationDisabled"] is False
    assert ms.control("mailboxes/" + upn)["smtp_auth_disabled"] is False
    invoke(ms, "Set-CASMailbox", {"Identity": upn, "SmtpClientAuthenticationDisabled": None})
    assert ms.control("mailboxes/" + upn)["mailbox_setting"] is None


def test_transport_config_switch(ms):
    assert invoke(ms, "Get-TransportConfig").json()["value"][0]["SmtpClientAuthenticationDisabled"] is True
    invoke(ms, "Set-TransportConfig", {"SmtpClientAuthenticationDisabled": False})
    assert ms.control("mailboxes/" + ms.ready["mailbox"]["upn"])["smtp_auth_disabled"] is False


def test_unknown_mailbox_has_the_useful_text_inside(ms):
    reply = invoke(ms, "Get-CASMailbox", {"Identity": "ghost@contoso.example"})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["message"] == "Invalid Operation"
    assert error["innererror"]["internalexception"]["type"].endswith("ManagementObjectNotFoundException")
    assert "'ghost@contoso.example' couldn't be found" in error["innererror"]["internalexception"]["message"]
    assert error["details"][0]["message"].startswith(
        "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed")


@pytest.mark.parametrize("cmdlet, params", [
    pytest.param("Set-CASMailbox", {"Identity": "notifications", "SmtpAuth": False}, id="unknown-parameter"),
    pytest.param("Set-CASMailbox", {"Identity": "notifications", "SmtpClientAuthenticationDisabled": "no"},
                 id="parameter-not-boolean"),
    pytest.param("Set-CASMailbox", {"SmtpClientAuthenticationDisabled": False}, id="identity-missing"),
    pytest.param("Remove-Mailbox", {"Identity": "notifications"}, id="unknown-cmdlet"),
])
def test_bad_cmdlet_calls_are_400_and_change_nothing(ms, cmdlet, params):
    reply = invoke(ms, cmdlet, params)
    assert reply.status_code == 400
    assert reply.json()["error"]["details"][0]["message"].startswith("|System.Management.Automation.")
    assert ms.control("mailboxes/" + ms.ready["mailbox"]["upn"])["mailbox_setting"] is None


def test_no_role_is_401_and_role_without_directory_role_is_403(ms):
    assert invoke(ms, "Get-CASMailbox", who="limited_app").status_code == 401
    ms.control("service_principals/%s/roles" % ms.ready["limited_app"]["client_id"], "POST",
               {"app_roles": {EXCHANGE_APP_ID: ["Exchange.ManageAsApp"]}})
    reply = invoke(ms, "Get-CASMailbox", who="limited_app")
    assert reply.status_code == 403 and set(reply.content) == {0}


@pytest.mark.parametrize("token_kind", [pytest.param("graph", id="graph-audience"), pytest.param(None, id="no-token")])
def test_wrong_or_missing_token_is_401(ms, token_kind):
    token = ms.app_token() if token_kind else None
    url = "%s/adminapi/beta/%s/InvokeCommand" % (ms.ready["exchange_url"], ms.tenant)
    reply = ms.session(token).post(url, json={"CmdletInput": {"CmdletName": "Get-TransportConfig", "Parameters": {}}})
    assert reply.status_code == 401 and "WWW-Authenticate" in reply.headers


def test_tenant_domain_works_in_the_path(ms):
    assert invoke(ms, "Get-TransportConfig", tenant=ms.ready["tenant"]["domain"]).status_code == 200


def test_injected_throttling(ms):
    ms.control("faults", "POST", {"exchange": {"429": 1, "retry_after": 2}})
    first = invoke(ms, "Get-TransportConfig")
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert invoke(ms, "Get-TransportConfig").status_code == 200
