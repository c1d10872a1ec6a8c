#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: oauth_authorize_url
short_description: Make the sign-in URL for a headless refresh-token sign-in
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Makes the Microsoft identity platform authorization URL (authorization-code flow with PKCE and a random state) for
    the firewall's app, and shows it in the output.
  - A person opens it, signs in as the sending mailbox, and hands the address the browser ends on to
    M(mailoauth.sophos.oauth_refresh_token) with O(mailoauth.sophos.oauth_refresh_token#module:authorization_response).
  - With O(client_secret) the sign-in can be redeemed in a later, separate run (an AWX job cannot wait for a person,
    and nothing is shared between two jobs). The PKCE code verifier and the OpenID Connect nonce are then not drawn at
    random but derived from a fresh random C(state) and the client secret (HMAC-SHA256 under distinct
    labels), so M(mailoauth.sophos.oauth_refresh_token) rebuilds the same values from the state in the pasted
    address. The state carries a tag made with the client secret and the mailbox (O(login_hint)), so an address that
    was altered or comes from another sign-in is refused with a clear error before its code is sent anywhere.
  - "Why that is safe: PKCE binds the code to whoever holds the verifier, here whoever holds the client secret; the
    code of a confidential client cannot be redeemed without that secret anyway. The state stays random per
    sign-in and is checked, the nonce is still checked against the ID token, and the code stays single-use and
    expires after minutes."
  - Without O(client_secret) msal draws the values at random; pass RV(auth_flow) unchanged to
    O(mailoauth.sophos.oauth_refresh_token#module:auth_flow) then (for example through a file or an AWX workflow
    artifact).
  - Changes nothing anywhere. Runs on the controller (it is an action plugin).
extends_documentation_fragment:
  - mailoauth.sophos.oauth_client
  - mailoauth.sophos.attributes
options:
  client_secret:
    description:
      - The firewall app's client secret (its value). Not sent anywhere by this module.
      - When set, the redirect can be redeemed without RV(auth_flow), in a later run (see the description). That run
        must use the same client secret.
    type: str
  redirect_uri:
    description:
      - The redirect URI registered on the app (Web platform), for example C(https://outlook.office365.com/) as in the
        runbook, or C(http://localhost/).
      - With C(https://outlook.office365.com/) the page the browser lands on is not yours; copy the address from the
        address bar.
    type: str
    default: http://localhost/
  login_hint:
    description:
      - The mailbox's address, pre-filled on the sign-in page.
      - With O(client_secret), the sign-in is bound to this mailbox, and the later run redeems the address only with the
        same O(mailoauth.sophos.oauth_refresh_token#module:login_hint), so two tenants that consented to one
        multitenant app (same client ID and secret) cannot take each other's address.
    type: str
  prompt:
    description:
      - Forces a behaviour of the sign-in page, for example V(select_account) when the browser is already signed in
        as someone else.
    type: str
    choices: [login, select_account, consent, none]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
notes:
  - The task result is hidden from the output (as with C(no_log)) because RV(code_verifier) and RV(auth_flow) are
    one-time secrets; the URL is printed on its own (it holds no secret). Use C(register) to pass the values on.
  - The role C(mailoauth.sophos.refresh_token) with C(refresh_token_mode=authorization_response) runs both halves
    across two runs, as the C(setup) job template in C(extensions/awx/configure_awx.yml) does.
seealso:
  - module: mailoauth.sophos.oauth_refresh_token
"""

EXAMPLES = r"""
# Headless sign-in across two runs (for example two launches of an AWX job template with a survey)
# Run 1: show the URL and stop
- name: Make the sign-in URL
  mailoauth.sophos.oauth_authorize_url:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    login_hint: firewall-alerts@contoso.com
  register: authorize
  when: pasted_redirect_url | default('') | length == 0

- name: Stop until the mailbox has signed in
  ansible.builtin.fail:
    msg: >-
      Sign in as firewall-alerts@contoso.com at {{ authorize.url }} and run again with the address the browser
      ends on in pasted_redirect_url.
  when: pasted_redirect_url | default('') | length == 0

# Run 2: redeem the pasted address; nothing from run 1 is needed but the same client id, secret, redirect URI and
# login_hint
- name: Redeem the pasted address
  mailoauth.sophos.oauth_refresh_token:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    mode: authorization_response
    authorization_response: "{{ pasted_redirect_url }}"
    login_hint: firewall-alerts@contoso.com
  register: signin

# Within one run (or with a place to keep the flow): without client_secret, keep auth_flow
- name: Make the sign-in URL, msal's random flow
  mailoauth.sophos.oauth_authorize_url:
    client_id: "{{ mailoauth_client_id }}"
    redirect_uri: https://outlook.office365.com/
  register: authorize

- name: Show it again where a person can pick it up
  ansible.builtin.debug:
    msg: "Open {{ authorize.url }} and paste the address you end on into the next survey"
"""

RETURN = r"""
url:
  description: The URL to open in a browser.
  returned: success
  type: str
  sample: https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=...&response_type=code&state=...
state:
  description:
    - The random state the redirect must carry back.
    - With O(client_secret) it ends in a tag made with the client secret, after a dot.
  returned: success
  type: str
  sample: JUIaEns1kgqkYfg2DWUlY8kR.rgM5iCDSSGlwUkkfWVx71k
redirect_uri:
  description: The redirect URI of this sign-in.
  returned: success
  type: str
  sample: https://outlook.office365.com/
code_verifier:
  description: The PKCE code verifier (secret) for the redemption.
  returned: success
  type: str
auth_flow:
  description:
    - Everything the redemption checks (state, PKCE verifier, nonce, redirect URI, scopes); pass it unchanged to
      O(mailoauth.sophos.oauth_refresh_token#module:auth_flow). Secret.
    - Not needed when RV(stateless) is true.
  returned: success
  type: dict
stateless:
  description:
    - Whether the redirect can be redeemed without RV(auth_flow), from the pasted address and the client secret
      alone (true when O(client_secret) was given).
  returned: success
  type: bool
  sample: true
"""
