# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""oauth_refresh_token runs on the controller: it prints the sign-in URL, may open a browser, and listens on
127.0.0.1 and ::1 for the redirect. A module on a target host could do neither. Documentation: plugins/modules."""

from __future__ import annotations

import threading
import webbrowser

from ansible.utils.display import Display

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import IdentityError, check_required_libs
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import (
    DEFAULT_REDIRECT_URI,
    LoopbackListener,
    OAuthClient,
    is_loopback_uri,
    loopback_redirect_uri,
    oauth_client_argument_spec,
    parse_redirect,
    requested_scopes,
)
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import ActionModuleBase

display = Display()

MODES = ("auto", "loopback", "authorization_response", "refresh_token", "password")


def choose_mode(params):
    mode = params["mode"]
    if mode != "auto":
        return mode
    if params.get("refresh_token"):
        return "refresh_token"
    if params.get("authorization_response"):
        return "authorization_response"
    return "loopback"


def _open_browser(url):
    try:
        webbrowser.open(url)
    except webbrowser.Error:
        pass


class ActionModule(ActionModuleBase):

    def argument_spec(self):
        spec = oauth_client_argument_spec()
        spec.update(
            mode={"type": "str", "default": "auto", "choices": list(MODES)},
            redirect_uri={"type": "str", "default": DEFAULT_REDIRECT_URI},
            refresh_token={"type": "str", "no_log": True},
            authorization_response={"type": "str", "no_log": True},
            # Only the PKCE verifier inside is secret (hidden below); no_log on the whole dict would also mask the
            # redirect URI and scope strings it holds wherever they appear in the result.
            auth_flow={"type": "dict", "no_log": False},
            login_hint={"type": "str"},
            username={"type": "str"},
            password={"type": "str", "no_log": True},
            loopback_port={"type": "int", "default": 0},
            timeout={"type": "int", "default": 300},
            open_browser={"type": "bool", "default": True},
        )
        return spec, {
            "required_together": [("username", "password")],
            "required_if": [
                ("mode", "refresh_token", ("refresh_token",)),
                ("mode", "authorization_response", ("authorization_response",)),
                ("mode", "password", ("username", "password")),
            ],
        }

    def run_module(self, module, task_vars):
        check_required_libs(module)
        params = module.params
        if params.get("auth_flow") and params["auth_flow"].get("code_verifier"):
            module.no_log_values.add(str(params["auth_flow"]["code_verifier"]))
        if not 0 <= params["loopback_port"] <= 65535:
            module.fail_json(msg="Option loopback_port must be between 0 and 65535, not %d: leave it at 0 (any free "
                                 "port) or give a free port" % params["loopback_port"], code="loopback_port")
        if params["timeout"] < 1:
            module.fail_json(msg="Option timeout must be at least 1 second, not %d: give the seconds to wait for the "
                                 "sign-in (default 300)" % params["timeout"], code="timeout")
        mode = choose_mode(params)
        scopes = requested_scopes(params)
        try:
            client = OAuthClient.from_params(params)
            if mode == "refresh_token":
                tokens = client.redeem_refresh_token(params["refresh_token"], scopes)
                changed = False
            elif module.check_mode:
                module.exit_json(changed=True, mode=mode, redirect_uri=params["redirect_uri"],
                                 msg="check mode: the %s sign-in was not started" % mode)
            elif mode == "authorization_response":
                tokens = self._authorization_response(client, params, scopes)
                changed = True
            elif mode == "password":
                tokens = client.password_grant(params["username"], params["password"], scopes)
                changed = True
            else:
                tokens = self._loopback(client, params, scopes)
                changed = True
        except MailOAuthError as exc:
            module.fail_json(msg=str(exc), mode=mode, **exc.details())
        result = dict(tokens.public(), changed=changed, mode=mode, refresh_token=tokens.refresh_token)
        if mode in ("loopback", "authorization_response"):
            result["redirect_uri"] = self._redirect_uri
        # The refresh token must reach the registered variable but no callback output at any verbosity:
        # a result flagged like this is censored by ansible-core before display, exactly as task-level no_log.
        result["_ansible_no_log"] = True
        module.exit_json(**result)

    _redirect_uri = None

    def _authorization_response(self, client, params, scopes):
        response = parse_redirect(params["authorization_response"])
        if params.get("auth_flow"):
            flow = dict(params["auth_flow"])
            self._redirect_uri = flow.get("redirect_uri")
            return client.redeem_flow(flow, response)
        # No flow kept (an AWX job cannot hand one to the next): rebuild it from the state in the pasted address.
        self._redirect_uri = params["redirect_uri"]
        return client.redeem_stateless(response, params["redirect_uri"], scopes, login_hint=params.get("login_hint"))

    def _loopback(self, client, params, scopes):
        if not is_loopback_uri(params["redirect_uri"]):
            loopback_redirect_uri(params["redirect_uri"], 0)   # raises the explanatory error
        listener = LoopbackListener(params["loopback_port"])
        try:
            self._redirect_uri = loopback_redirect_uri(params["redirect_uri"], listener.port)
            flow = client.start_flow(self._redirect_uri, scopes, login_hint=params.get("login_hint"))
            listener.start(flow["state"])
            display.display("Sign in as the sending mailbox to authorise the firewall's app; open this URL in a "
                            "browser on this machine (it waits %d seconds for the redirect to %s):\n%s"
                            % (params["timeout"], self._redirect_uri, flow["auth_uri"]))
            if params["open_browser"]:
                threading.Thread(target=_open_browser, args=(flow["auth_uri"],), daemon=True).start()
            response = listener.wait(params["timeout"])
        finally:
            listener.close()
        if response is None:
            rejected = (" (%d redirect(s) with a wrong state were refused)" % listener.rejected) if listener.rejected else ""
            raise IdentityError(
                "No sign-in reached %s within %d seconds%s" % (self._redirect_uri, params["timeout"], rejected),
                code="timeout",
                hint="open the printed URL in a browser on the controller and sign in as the mailbox; on a headless "
                     "controller use oauth_authorize_url and mode=authorization_response, or raise timeout")
        return client.redeem_flow(flow, response)
