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
    M(mailoauth.sophos.oauth_refresh_token) with O(mailoauth.sophos.oauth_refresh_token#module:authorization_response),
    together with RV(auth_flow) from this task (for example in an AWX workflow with a survey).
  - Changes nothing anywhere. Runs on the controller (it is an action plugin).
extends_documentation_fragment:
  - mailoauth.sophos.oauth_client
options:
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
    type: str
  prompt:
    description:
      - Forces a behaviour of the sign-in page, for example V(select_account) when the browser is already signed in
        as someone else.
    type: str
    choices: [login, select_account, consent, none]
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
notes:
  - The task result is hidden from the output (as with C(no_log)) because RV(code_verifier) and RV(auth_flow) are
    one-time secrets; the URL is printed on its own. Use C(register) to pass the values on.
seealso:
  - module: mailoauth.sophos.oauth_refresh_token
"""

EXAMPLES = r"""
- name: Make the sign-in URL
  mailoauth.sophos.oauth_authorize_url:
    client_id: "{{ mailoauth_client_id }}"
    redirect_uri: https://outlook.office365.com/
    login_hint: firewall-alerts@contoso.com
  register: authorize

- name: Show it again where a survey can pick it up
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
  description: The random state the redirect must carry back.
  returned: success
  type: str
  sample: hXqSyFJdIlgDbmvo
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
  returned: success
  type: dict
"""
