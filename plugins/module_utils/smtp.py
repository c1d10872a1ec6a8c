# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SMTP submission with SASL XOAUTH2, as a firewall does it: EHLO, STARTTLS, EHLO, AUTH XOAUTH2, optional mail.

Exchange Online's 535 replies are turned into errors that say which setting to fix. The access token is only
ever sent base64-encoded inside the AUTH command; smtplib's debug output stays off so it cannot be echoed.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError


class SmtpCheckError(MailOAuthError):
    service = "SMTP"


def xoauth2_response(user, access_token):
    """The SASL XOAUTH2 initial client response (RFC-less, documented by Google and Microsoft), base64."""
    raw = "user=%s\x01auth=Bearer %s\x01\x01" % (user, access_token)
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def _reply_text(message):
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def explain_auth_failure(code, message, user, host):
    """The SmtpCheckError for a failed AUTH reply: what the server said and which setting to fix."""
    text = " ".join(_reply_text(message).split())
    if code == 535 and "5.7.139" in text:
        return SmtpCheckError(
            "%s refused SMTP AUTH for %s: SMTP AUTH is disabled for the mailbox or its organisation" % (host, user),
            code="535 5.7.139", status=code,
            hint="turn Authenticated SMTP on for the mailbox with mailoauth.sophos.exo_smtp_auth (state=enabled); "
                 "a mailbox that follows the organisation (null) is blocked while Get-TransportConfig has "
                 "SmtpClientAuthenticationDisabled=true")
    if code == 535:
        return SmtpCheckError(
            "%s refused the access token for %s (%s)" % (host, user, text[:80]),
            code="535 5.7.3" if "5.7.3" in text else "535", status=code,
            hint="the mailbox must be the account that signed in for the refresh token, and the token must be for "
                 "https://outlook.office365.com with the SMTP.Send permission consented; get a new refresh token "
                 "with mailoauth.sophos.oauth_refresh_token signed in as %s" % user)
    if code == 538 or code == 530:
        return SmtpCheckError(
            "%s requires encryption before AUTH (%s)" % (host, text[:80]), code=str(code), status=code,
            hint="use the submission port with STARTTLS (587)")
    if code == 504:
        return SmtpCheckError(
            "%s does not offer AUTH XOAUTH2" % host, code=str(code), status=code,
            hint="point smtp_host/smtp_port at the Exchange Online submission endpoint (smtp.office365.com:587)")
    return SmtpCheckError("%s answered AUTH with %s %s" % (host, code, text[:120]), code=str(code), status=code,
                          hint="try again later; if it persists check the SMTP endpoint options")


def _message(sender, recipients, subject, body):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def smtp_oauth_login(host, port, user, access_token, ca_path=None, timeout=30, validate_certs=True,
                     send_to=None, subject="", body=""):
    """Log in with XOAUTH2 (and send a message to ``send_to`` if given); return what happened.

    Raises SmtpCheckError for every failure, with the server's reply code and a hint.
    """
    context = ssl.create_default_context(cafile=ca_path)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    result = {"host": host, "port": port, "user": user, "authenticated": False, "sent": False}
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as conn:
            conn.ehlo()
            if not conn.has_extn("starttls"):
                raise SmtpCheckError("%s:%s does not offer STARTTLS" % (host, port), hint="use port 587")
            conn.starttls(context=context)
            conn.ehlo()
            mechanisms = (conn.esmtp_features.get("auth") or "").upper().split()
            result["auth_mechanisms"] = mechanisms
            code, message = conn.docmd("AUTH", "XOAUTH2 " + xoauth2_response(user, access_token))
            if code != 235:
                raise explain_auth_failure(code, message, user, host)
            result["authenticated"] = True
            if send_to:
                msg = _message(user, send_to, subject, body)
                refused = conn.send_message(msg, from_addr=user, to_addrs=send_to)
                result.update(sent=True, message_id=msg["Message-ID"], refused_recipients=sorted(refused))
    except SmtpCheckError:
        raise
    except smtplib.SMTPSenderRefused as exc:
        raise SmtpCheckError("%s refused %s as the sender" % (host, user), code=str(exc.smtp_code),
                             status=exc.smtp_code, hint="the From address must be the mailbox that signed in")
    except smtplib.SMTPRecipientsRefused as exc:
        raise SmtpCheckError("%s refused every recipient (%s)" % (host, ", ".join(sorted(exc.recipients))),
                             hint="check the test_recipient option")
    except smtplib.SMTPResponseException as exc:
        raise SmtpCheckError("%s answered %s %s" % (host, exc.smtp_code, " ".join(_reply_text(exc.smtp_error).split())),
                             code=str(exc.smtp_code), status=exc.smtp_code, hint="check the SMTP endpoint options")
    except ssl.SSLCertVerificationError as exc:
        raise SmtpCheckError("the TLS certificate of %s:%s is not trusted (%s)" % (host, port, exc.verify_message),
                             hint="give the CA bundle in ca_path")
    except (ssl.SSLError, smtplib.SMTPException, socket.timeout, OSError) as exc:
        raise SmtpCheckError("could not talk SMTP to %s:%s (%s)" % (host, port, type(exc).__name__ + ": " + str(exc)),
                             hint="check smtp_host and smtp_port and that outbound port %s is open" % port)
    return result
