"""XOAUTH2 encoding and what each SMTP reply tells the user to fix."""

import base64

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.smtp import explain_auth_failure, xoauth2_response


def test_xoauth2_response_is_the_documented_sasl_string():
    decoded = base64.b64decode(xoauth2_response("fw@contoso.example", "tok.en.value"))
    assert decoded == b"user=fw@contoso.example\x01auth=Bearer tok.en.value\x01\x01"


@pytest.mark.parametrize("code, reply, expected_code, fragment", [
    (535, b"5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant/Mailbox.",
     "535 5.7.139", "exo_smtp_auth"),
    (535, b"5.7.3 Authentication unsuccessful [X.PROD.OUTLOOK.COM]", "535 5.7.3", "signed in for the refresh token"),
    (538, b"5.7.11 Encryption required for requested authentication mechanism", "538", "STARTTLS"),
    (504, b"5.5.4 Unrecognized authentication type", "504", "smtp.office365.com:587"),
    (454, b"4.7.0 Temporary authentication failure", "454", "try again later"),
], ids=["smtp-auth-disabled", "token-or-user-mismatch", "no-tls", "no-xoauth2", "temporary"])
def test_auth_failures_name_the_fix(code, reply, expected_code, fragment):
    err = explain_auth_failure(code, reply, "fw@contoso.example", "smtp.example")
    assert err.code == expected_code
    assert err.status == code
    assert fragment in str(err)
    assert "fw@contoso.example" in str(err) or code not in (535,)
