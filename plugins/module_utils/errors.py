# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one exception shape every client raises: what failed, the service's code, and what to do about it."""

from __future__ import annotations


class MailOAuthError(Exception):
    """Base error. ``str()`` reads as one sentence a person can act on; ``details()`` feeds fail_json.

    Never put a secret in any field: messages are printed at every verbosity.
    """

    service = "service"

    def __init__(self, message, code=None, hint=None, request_id=None, status=None):
        self.message = message
        self.code = code
        self.hint = hint
        self.request_id = request_id
        self.status = status
        super().__init__(str(self))

    def __str__(self):
        ref = ", ".join(str(part) for part in (self.code, self.request_id and "request-id %s" % self.request_id)
                        if part)
        text = self.message + (" (%s)" % ref if ref else "")
        return text + (": " + self.hint if self.hint else "")

    def details(self):
        return {key: value for key, value in (
            ("error_code", self.code), ("hint", self.hint), ("request_id", self.request_id),
            ("http_status", self.status)) if value is not None}
