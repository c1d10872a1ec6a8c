#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: oauth_refresh_token
short_description: Get a refresh token the firewall can redeem with its client id and secret
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Obtains a delegated refresh token for the sending mailbox through a confidential-client authorization-code
    exchange (msal C(ConfidentialClientApplication), PKCE and state checked), so that the firewall can later redeem it
    with the app's client id and client secret.
  - "V(loopback): prints the sign-in URL (and opens a browser when one is available, honouring E(BROWSER)), listens on
    127.0.0.1 and ::1 only (::1 where the machine has it, as a browser may resolve localhost to either) for the
    redirect to C(http://localhost:PORT/), checks the state, redeems the code. Entra ignores the
    port of a loopback redirect URI, so the app only needs C(http://localhost/) registered."
  - "V(authorization_response): for a headless controller (for example an AWX survey). Make the URL with
    M(mailoauth.sophos.oauth_authorize_url), sign in, and pass the whole address the browser was redirected to.
    When the URL was made with the client secret, this can be a later, separate run that gets nothing from the
    first but that address: the PKCE verifier and nonce are derived again from its state and O(client_secret)
    (see M(mailoauth.sophos.oauth_authorize_url)). An address whose state was altered or made elsewhere is refused
    before its code is used."
  - "V(refresh_token): redeems a stored refresh token to prove it still works and returns the new one. This is what
    later runs and C(verify.yml) use."
  - "V(password): resource-owner password sign-in. Only for a dedicated mailbox without MFA; Microsoft discourages
    it, and it is never chosen automatically."
  - This module runs on the controller (it is an action plugin).
extends_documentation_fragment:
  - mailoauth.sophos.oauth_client
  - mailoauth.sophos.oauth_client.secret
  - mailoauth.sophos.attributes
options:
  mode:
    description:
      - How to obtain the token.
      - V(auto) uses V(refresh_token) when O(refresh_token) is set, else V(authorization_response) when
        O(authorization_response) is set, else V(loopback).
    type: str
    default: auto
    choices: [auto, loopback, authorization_response, refresh_token, password]
  redirect_uri:
    description:
      - The redirect URI registered on the app (Web platform).
      - For V(loopback) it must be C(http://localhost/) or C(http://127.0.0.1/) (a path is kept); the listener's port
        is added.
      - For V(authorization_response) it must be the one used by M(mailoauth.sophos.oauth_authorize_url); with
        O(auth_flow) the one it carries is used.
    type: str
    default: http://localhost/
  refresh_token:
    description:
      - A refresh token from an earlier run (vault, AWX credential) for O(mode=refresh_token).
    type: str
  authorization_response:
    description:
      - The full URL the browser was redirected to after the sign-in, with C(code) and C(state) (or C(error)).
      - The code in it expires about ten minutes after the sign-in and can be redeemed once.
    type: str
  auth_flow:
    description:
      - The RV(mailoauth.sophos.oauth_authorize_url#module:auth_flow) returned by the task that made the URL, unchanged.
        It holds the state, nonce and PKCE verifier the response is checked against; its verifier is hidden in
        the output.
      - Needed for O(mode=authorization_response) only when the URL was made without the client secret; when
        given, it is used even if the URL was made with it.
    type: dict
  login_hint:
    description:
      - The mailbox's address, pre-filled on the sign-in page (V(loopback)).
      - With O(mode=authorization_response) and no O(auth_flow), the mailbox the sign-in URL was made for (the
        O(mailoauth.sophos.oauth_authorize_url#module:login_hint) of the first run). The pasted address is refused
        when its sign-in was made for another mailbox.
    type: str
  username:
    description:
      - The mailbox for O(mode=password).
    type: str
  password:
    description:
      - The mailbox's password for O(mode=password).
    type: str
  loopback_port:
    description:
      - The port the V(loopback) listener binds on 127.0.0.1 and ::1; V(0) picks one free on both.
    type: int
    default: 0
  timeout:
    description:
      - Seconds the V(loopback) mode waits for the sign-in.
    type: int
    default: 300
  open_browser:
    description:
      - Whether V(loopback) tries to open a browser (Python C(webbrowser), which honours E(BROWSER)). The URL is
        printed either way.
    type: bool
    default: true
attributes:
  check_mode:
    support: partial
    details:
      - V(refresh_token) redeems the token in check mode too (it changes nothing); the sign-in modes are not started.
  diff_mode:
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
notes:
  - The whole task result is hidden from the output (as with C(no_log)) because it holds the refresh token; use
    C(register) and read RV(user), RV(scope) and RV(expires_in) from the variable. Errors are shown.
  - Each redemption returns a new refresh token; store the new one. A refresh token expires after 90 days unused.
  - "Typical errors and their fixes: AADSTS50011 (redirect URI not registered), AADSTS54005/70008 (code used or
    expired: sign in again), AADSTS501481 (the code and the PKCE verifier do not belong together, for example an
    address that mixes two sign-ins: sign in again), AADSTS65001 (admin consent missing), AADSTS7000215 (wrong client
    secret), AADSTS50076 (MFA required: use V(loopback) or V(authorization_response)), AADSTS700025 (the app is a
    public client: register the redirect URI on the Web platform)."
seealso:
  - module: mailoauth.sophos.oauth_authorize_url
  - module: mailoauth.sophos.smtp_oauth_check
"""

EXAMPLES = r"""
- name: Sign in on this machine (prints the URL, opens a browser)
  mailoauth.sophos.oauth_refresh_token:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    login_hint: firewall-alerts@contoso.com
  register: signin

- name: Keep the new refresh token for the firewall role
  ansible.builtin.set_fact:
    mailoauth_refresh_token: "{{ signin.refresh_token }}"
  no_log: true

# Headless, two runs (AWX): run 1 makes the URL with the client secret and stops (see oauth_authorize_url);
# run 2 needs only the pasted address (an AWX survey answer) and the same client id, secret and redirect URI
- name: Headless - redeem the pasted redirect in a later run
  mailoauth.sophos.oauth_refresh_token:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    mode: authorization_response
    redirect_uri: https://outlook.office365.com/
    authorization_response: "{{ pasted_redirect_url }}"
  register: signin

- name: Headless within one run - the URL made without the secret, its flow kept
  mailoauth.sophos.oauth_authorize_url:
    client_id: "{{ mailoauth_client_id }}"
    redirect_uri: https://outlook.office365.com/
  register: authorize

- name: Headless within one run - redeem with the kept flow
  mailoauth.sophos.oauth_refresh_token:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    auth_flow: "{{ authorize.auth_flow }}"
    authorization_response: "{{ pasted_redirect_url }}"
  register: signin

- name: Later runs - prove the stored token still works and take the new one
  mailoauth.sophos.oauth_refresh_token:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    refresh_token: "{{ vault_refresh_token }}"
  register: signin
"""

RETURN = r"""
refresh_token:
  description: The new refresh token. Secret; the task output is hidden because of it.
  returned: success, except the sign-in modes in check mode
  type: str
user:
  description: The account that signed in (its user principal name).
  returned: success, except the sign-in modes in check mode
  type: str
  sample: firewall-alerts@contoso.com
scope:
  description: The scopes granted with the access token.
  returned: success, except the sign-in modes in check mode
  type: list
  elements: str
  sample: [https://outlook.office365.com/SMTP.Send]
expires_in:
  description: Seconds the access token that came with it is valid.
  returned: success, except the sign-in modes in check mode
  type: int
  sample: 3599
tenant_id:
  description: The tenant the mailbox belongs to.
  returned: success, except the sign-in modes in check mode
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
mode:
  description: The mode that was used.
  returned: always
  type: str
  sample: loopback
redirect_uri:
  description: The redirect URI of the sign-in (with the listener's port in V(loopback) mode).
  returned: success in the sign-in modes
  type: str
  sample: http://localhost:53682/
"""
