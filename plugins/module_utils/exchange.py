# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Exchange Online admin API client: the InvokeCommand endpoint the ExchangeOnlineManagement v3 module calls.

Microsoft does not document this endpoint; the request and error shapes follow what the PowerShell module
sends and what public projects observed (see docs/reference). Only the cmdlets this collection needs are
wrapped: Get-CASMailbox, Set-CASMailbox and Get-TransportConfig.
"""

from __future__ import annotations

import re

from ansible_collections.mailoauth.sophos.plugins.module_utils._retry import RetryPolicy, send_with_retries
from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError

# The arbitration mailbox ExchangeOnlineManagement anchors app-only requests to.
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
_TYPE_PREFIX = re.compile(r"^\|[\w.]+\|\s*")
_EXCEPTION_TYPE = re.compile(r"\|([\w.]+)\|")


class ExchangeError(MailOAuthError):
    service = "Exchange Online"


def _error_text(body):
    """(message, exception type) from an InvokeCommand error body; the useful text hides in nested fields."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    candidates = []
    inner = error.get("innererror") or error.get("innerError") or {}
    internal = inner.get("internalexception") if isinstance(inner, dict) else None
    if isinstance(internal, dict) and internal.get("message"):
        candidates.append(internal["message"])
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("message"):
            candidates.append(detail["message"])
    if error.get("message"):
        candidates.append(error["message"])
    kind = None
    for text in candidates:
        found = _EXCEPTION_TYPE.search(text)
        if found:
            kind = found.group(1).rsplit(".", 1)[-1]
            break
    if isinstance(internal, dict) and not kind and internal.get("type"):
        kind = str(internal["type"]).rsplit(".", 1)[-1]
    message = next((_TYPE_PREFIX.sub("", text).strip() for text in candidates if text != "Invalid Operation"),
                   candidates[0] if candidates else None)
    return message, kind


def exchange_error(status, body, headers, action, attempts=1, identity=None):
    """The ExchangeError for a failed InvokeCommand: what failed, the cause, and the grant or value to fix."""
    message, kind = _error_text(body)
    request_id = (headers or {}).get("request-id") or (headers or {}).get("x-ms-diagnostics-request-id")
    tries = " after %d tries" % attempts if attempts > 1 else ""
    if status == 401:
        return ExchangeError(
            "%s was refused: the token is not accepted by the Exchange admin API" % action, code="401",
            request_id=request_id, status=status,
            hint="the automation app needs the application permission Exchange.ManageAsApp (Office 365 Exchange "
                 "Online) with admin consent, and an Entra role such as Exchange Administrator on its service "
                 "principal")
    if status == 403:
        return ExchangeError(
            "%s was denied: the app has Exchange.ManageAsApp but no Exchange admin role" % action, code="403",
            request_id=request_id, status=status,
            hint="assign the Entra role Exchange Administrator (or Exchange Recipient Administrator) to the "
                 "automation app's service principal, wait a few minutes, and retry")
    if kind == "ManagementObjectNotFoundException" or (message and "couldn't be found" in message):
        return ExchangeError(
            "%s failed: the mailbox %s was not found" % (action, identity or "?"), code=kind or str(status),
            request_id=request_id, status=status,
            hint="set mailbox to the sending mailbox's primary SMTP address or UPN in this tenant")
    if status in (429, 503, 504):
        return ExchangeError(
            "%s was throttled or the service was unavailable%s" % (action, tries), code=str(status),
            request_id=request_id, status=status, hint="wait a few minutes and run again")
    detail = (": %s" % message.rstrip(".")) if message else ""
    return ExchangeError("%s failed%s%s" % (action, detail, tries), code=kind or str(status), request_id=request_id,
                         status=status, hint="check the mailbox and the exchange_endpoint / tenant_id options")


def effective_smtp_auth(mailbox_disabled, org_disabled):
    """Whether SMTP AUTH works for a mailbox: its own switch if set, else the organisation's (null follows)."""
    disabled = org_disabled if mailbox_disabled is None else mailbox_disabled
    return not bool(disabled)


class ExchangeClient:
    """InvokeCommand with an app-only token for the Exchange resource; retries 429/503/504 per RetryPolicy."""

    def __init__(self, endpoint, tenant, token, session, policy=None):
        self.url = "%s/adminapi/beta/%s/InvokeCommand" % (endpoint.rstrip("/"), tenant)
        self.tenant = tenant
        self._token = token          # callable returning an access token (identity.token bound to the resource)
        self.session = session
        self.policy = policy or RetryPolicy()

    def invoke(self, cmdlet, parameters, action, anchor_domain=None, identity=None):
        headers = {"Authorization": "Bearer " + self._token(), "Content-Type": "application/json",
                   "Accept": "application/json"}
        if anchor_domain:
            headers["X-AnchorMailbox"] = "APP:%s@%s" % (SYSTEM_MAILBOX, anchor_domain)
        payload = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}
        response, attempts = send_with_retries(
            lambda: self.session.post(self.url, json=payload, headers=headers), self.policy)
        try:
            body = response.json()
        except ValueError:
            body = None   # a 403 may come back as a run of NUL bytes
        if response.status_code >= 400:
            raise exchange_error(response.status_code, body, response.headers, action, attempts, identity)
        if not isinstance(body, dict):
            raise ExchangeError("%s returned no JSON" % action, code=str(response.status_code),
                                status=response.status_code, hint="check exchange_endpoint")
        return body.get("value") or [], body.get("@adminapi.warnings") or body.get("adminapi.warnings") or []

    def get_cas_mailbox(self, identity):
        values, dummy = self.invoke("Get-CASMailbox", {"Identity": identity}, "Reading the CAS settings of %s"
                                    % identity, _domain(identity), identity)
        if not values:
            raise exchange_error(404, None, None, "Reading the CAS settings of %s" % identity, identity=identity)
        return values[0]

    def set_smtp_client_auth_disabled(self, identity, disabled):
        """Set-CASMailbox -SmtpClientAuthenticationDisabled (True, False or None = follow the organisation)."""
        dummy, warnings = self.invoke("Set-CASMailbox", {"Identity": identity, "SmtpClientAuthenticationDisabled": disabled},
                                      "Changing SMTP AUTH of %s" % identity, _domain(identity), identity)
        return warnings

    def get_transport_config(self, anchor_domain=None):
        values, dummy = self.invoke("Get-TransportConfig", {}, "Reading the organisation's transport config",
                                    anchor_domain)
        return values[0] if values else {}


def _domain(identity):
    return identity.rpartition("@")[2] or None
