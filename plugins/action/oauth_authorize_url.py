# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""oauth_authorize_url runs on the controller so its result (which holds the PKCE verifier) can be hidden from
the output while the URL itself is still shown. Documentation: plugins/modules/oauth_authorize_url.py.

With client_secret the verifier and nonce are derived from the state (module_utils/oauth.py explains why that is
safe), so oauth_refresh_token can redeem the pasted address in a later run without anything kept in between."""

from __future__ import annotations

from ansible.utils.display import Display

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import check_required_libs
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import (
    DEFAULT_REDIRECT_URI,
    OAuthClient,
    oauth_client_argument_spec,
    requested_scopes,
)
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import ActionModuleBase

display = Display()

PROMPTS = ("login", "select_account", "consent", "none")


class ActionModule(ActionModuleBase):

    def argument_spec(self):
        spec = oauth_client_argument_spec(secret_required=False)
        spec.update(
            client_secret={"type": "str", "no_log": True},
            redirect_uri={"type": "str", "default": DEFAULT_REDIRECT_URI},
            login_hint={"type": "str"},
            prompt={"type": "str", "choices": list(PROMPTS)},
        )
        return spec, {}

    def run_module(self, module, task_vars):
        check_required_libs(module)
        params = module.params
        stateless = bool(params.get("client_secret"))
        try:
            flow = OAuthClient.from_params(params).start_flow(
                params["redirect_uri"], requested_scopes(params), login_hint=params.get("login_hint"),
                prompt=params.get("prompt"), stateless=stateless)
        except MailOAuthError as exc:
            module.fail_json(msg=str(exc), **exc.details())
        display.display("Sign in as %s at this URL; the whole address the browser ends on (it starts with %s) "
                        "completes the sign-in%s:\n%s"
                        % (params.get("login_hint") or "the sending mailbox", flow["redirect_uri"],
                           "" if stateless else " together with the auth_flow of this task", flow["auth_uri"]))
        # The PKCE verifier is a one-time secret: hide the whole result (the URL was shown above).
        module.exit_json(changed=False, url=flow["auth_uri"], state=flow["state"], redirect_uri=flow["redirect_uri"],
                         code_verifier=flow["code_verifier"], auth_flow=flow, stateless=stateless,
                         _ansible_no_log=True)
