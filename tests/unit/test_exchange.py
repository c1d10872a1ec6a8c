"""Exchange admin API client: request shape, error bodies as observed live, retries without sleeping."""

import json

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._retry import RetryPolicy
from ansible_collections.mailoauth.sophos.plugins.module_utils.exchange import (
    ExchangeClient,
    ExchangeError,
    effective_smtp_auth,
    exchange_error,
)

NOT_FOUND = {"error": {"code": "InternalServerError", "message": "Invalid Operation", "details": [{
    "code": "Context", "target": "", "message": "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|"
    "The operation couldn't be performed because object 'nobody@contoso.example' couldn't be found on 'X'."}],
    "innererror": {"message": "Invalid Operation", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"}}}
UNKNOWN_PARAMETER = {"error": {"code": "BadRequest", "message": "Invalid Operation", "innererror": {
    "internalexception": {"message": "A parameter cannot be found that matches parameter name 'Bogus'.",
                          "type": "System.Management.Automation.ParameterBindingException"}}}}


class FakeResponse:
    def __init__(self, status, body=None, headers=None, raw=None):
        self.status_code = status
        self.headers = headers or {}
        self._raw = raw if raw is not None else json.dumps(body).encode()

    def json(self):
        return json.loads(self._raw.decode("utf-8"))


class FakeSession:
    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def post(self, url, json=None, headers=None):  # pylint: disable=redefined-outer-name
        self.calls.append({"url": url, "json": json, "headers": headers})
        return self.responses.pop(0)


def client(session, sleeps=None):
    policy = RetryPolicy(max_attempts=3, sleep=(sleeps if sleeps is not None else []).append, random=lambda: 0.0)
    return ExchangeClient("https://exo.example/", "tenant-1", lambda: "app-token", session, policy)


def test_set_cas_mailbox_sends_the_cmdlet_as_the_powershell_module_does():
    session = FakeSession(FakeResponse(200, {"value": []}))
    client(session).set_smtp_client_auth_disabled("fw@contoso.example", False)
    call = session.calls[0]
    assert call["url"] == "https://exo.example/adminapi/beta/tenant-1/InvokeCommand"
    assert call["json"] == {"CmdletInput": {"CmdletName": "Set-CASMailbox", "Parameters": {
        "Identity": "fw@contoso.example", "SmtpClientAuthenticationDisabled": False}}}
    assert call["headers"]["Authorization"] == "Bearer app-token"
    assert call["headers"]["X-AnchorMailbox"] == \
        "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.example"


def test_get_cas_mailbox_returns_the_object():
    session = FakeSession(FakeResponse(200, {"value": [{"Identity": "fw", "SmtpClientAuthenticationDisabled": None}]}))
    assert client(session).get_cas_mailbox("fw@contoso.example")["SmtpClientAuthenticationDisabled"] is None


@pytest.mark.parametrize("status, body, raw, code, fragment", [
    (404, NOT_FOUND, None, "ManagementObjectNotFoundException", "was not found"),
    (400, UNKNOWN_PARAMETER, None, "ParameterBindingException", "parameter name 'Bogus'"),
    (401, None, b"", "401", "Exchange.ManageAsApp"),
    (403, None, b"\x00" * 16, "403", "Exchange Administrator"),
], ids=["unknown-mailbox", "unknown-parameter", "no-app-role", "role-without-directory-role-nul-body"])
def test_errors_name_the_cause(status, body, raw, code, fragment):
    session = FakeSession(FakeResponse(status, body, {"request-id": "rid-1"}, raw=raw))
    with pytest.raises(ExchangeError) as err:
        client(session).get_cas_mailbox("nobody@contoso.example")
    assert err.value.code == code
    assert err.value.request_id == "rid-1"
    assert fragment in str(err.value)
    assert "app-token" not in str(err.value)


def test_throttling_is_retried_honouring_retry_after_then_succeeds():
    sleeps = []
    session = FakeSession(FakeResponse(429, {"error": {"code": "TooManyRequests", "message": "slow down"}},
                                       {"Retry-After": "2"}),
                          FakeResponse(200, {"value": [{"SmtpClientAuthenticationDisabled": True}]}))
    assert client(session, sleeps).get_transport_config()["SmtpClientAuthenticationDisabled"] is True
    assert sleeps == [2.0]


def test_throttling_that_persists_says_how_many_tries():
    session = FakeSession(*[FakeResponse(503, {"error": {"message": "busy"}}) for dummy in range(3)])
    with pytest.raises(ExchangeError) as err:
        client(session, []).get_transport_config()
    assert "after 3 tries" in str(err.value)
    assert len(session.calls) == 3


@pytest.mark.parametrize("mailbox, org, expected", [
    (None, True, False), (None, False, True), (False, True, True), (True, False, False),
], ids=["follows-disabled-org", "follows-enabled-org", "mailbox-on-overrides-org", "mailbox-off-overrides-org"])
def test_effective_smtp_auth(mailbox, org, expected):
    assert effective_smtp_auth(mailbox, org) is expected


def test_error_without_body_still_reads_as_a_sentence():
    err = exchange_error(500, None, None, "Reading the organisation's transport config")
    assert str(err).startswith("Reading the organisation's transport config failed (500)")
