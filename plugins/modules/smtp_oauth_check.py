#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smtp_oauth_check
short_description: Log in to Exchange Online SMTP with XOAUTH2 exactly as the firewall will
version_added: 0.1.0
author: mailoauth.sophos maintainers (@mailoauth)
description:
  - Redeems the refresh token with the app's client id and secret for an Exchange access token, as the firewall does,
    then connects to the SMTP submission endpoint, upgrades with STARTTLS and authenticates with SASL XOAUTH2.
  - Optionally sends a test message, the equivalent of the firewall's C(Send test e-mail), before any firewall is
    touched.
  - When Exchange refuses the login, the error names the likely cause, for example SMTP AUTH disabled for the mailbox
    (C(535 5.7.139), fix with M(mailoauth.sophos.exo_smtp_auth)) or a token for another user (C(535 5.7.3)).
extends_documentation_fragment:
  - mailoauth.sophos.oauth_client
  - mailoauth.sophos.oauth_client.secret
  - mailoauth.sophos.attributes
options:
  refresh_token:
    description:
      - The refresh token the firewall will use (from M(mailoauth.sophos.oauth_refresh_token)).
    type: str
    required: true
  mailbox:
    description:
      - The sending mailbox; the XOAUTH2 user and the sender of the test message. It must be the account that signed in
        for the refresh token.
    type: str
    required: true
  smtp_host:
    description:
      - The SMTP submission host. Defaults to the O(cloud)'s, C(smtp.office365.com) in the public cloud.
    type: str
  smtp_port:
    description:
      - The SMTP submission port (STARTTLS).
    type: int
    default: 587
  smtp_timeout:
    description:
      - Seconds to wait for the SMTP server on each step.
    type: int
    default: 30
  test_recipient:
    description:
      - Send a test message to these addresses after the login. Without it the module only logs in.
    type: list
    elements: str
  subject:
    description:
      - Subject of the test message.
    type: str
    default: mailoauth.sophos SMTP OAuth test
  body:
    description:
      - Text of the test message.
    type: str
    default: This message was sent with OAuth 2.0 (XOAUTH2) by the mailoauth.sophos collection.
attributes:
  check_mode:
    support: full
    details:
      - In check mode the login is tested but no message is sent.
  diff_mode:
    support: none
notes:
  - Redeeming the refresh token returns a new one, which this module does not return; the one given stays valid.
  - The SMTP server's certificate is verified against O(ca_path) or the system's trust store.
seealso:
  - module: mailoauth.sophos.exo_smtp_auth
  - module: mailoauth.sophos.oauth_refresh_token
"""

EXAMPLES = r"""
- name: Prove the three values the firewall gets can send mail
  mailoauth.sophos.smtp_oauth_check:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    refresh_token: "{{ mailoauth_refresh_token }}"
    mailbox: firewall-alerts@contoso.com

- name: Send a test message
  mailoauth.sophos.smtp_oauth_check:
    client_id: "{{ mailoauth_client_id }}"
    client_secret: "{{ mailoauth_client_secret }}"
    refresh_token: "{{ mailoauth_refresh_token }}"
    mailbox: firewall-alerts@contoso.com
    test_recipient: [netops@contoso.com]
"""

RETURN = r"""
authenticated:
  description: Whether the XOAUTH2 login succeeded (the module fails otherwise).
  returned: success
  type: bool
  sample: true
host:
  description: The SMTP host used.
  returned: success
  type: str
  sample: smtp.office365.com
port:
  description: The SMTP port used.
  returned: success
  type: int
  sample: 587
user:
  description: The mailbox that logged in.
  returned: success
  type: str
  sample: firewall-alerts@contoso.com
auth_mechanisms:
  description: The AUTH mechanisms the server offered after STARTTLS.
  returned: success
  type: list
  elements: str
  sample: [LOGIN, XOAUTH2]
token_scope:
  description: The scopes of the access token used.
  returned: success
  type: list
  elements: str
  sample: [https://outlook.office365.com/SMTP.Send]
sent:
  description: Whether a test message was sent.
  returned: success
  type: bool
  sample: false
message_id:
  description: The Message-ID of the test message.
  returned: when a message was sent
  type: str
  sample: <170000000000.1234.5678@contoso.com>
refused_recipients:
  description: Recipients the server refused while accepting the others.
  returned: when a message was sent
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailoauth.sophos.plugins.module_utils.clouds import resolve_cloud
from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import check_required_libs
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import (
    OAuthClient,
    oauth_client_argument_spec,
    requested_scopes,
)
from ansible_collections.mailoauth.sophos.plugins.module_utils.smtp import smtp_oauth_login


def main():
    argument_spec = oauth_client_argument_spec()
    argument_spec.update(
        refresh_token={"type": "str", "required": True, "no_log": True},
        mailbox={"type": "str", "required": True},
        smtp_host={"type": "str"},
        smtp_port={"type": "int", "default": 587},
        smtp_timeout={"type": "int", "default": 30},
        test_recipient={"type": "list", "elements": "str"},
        subject={"type": "str", "default": "mailoauth.sophos SMTP OAuth test"},
        body={"type": "str", "default": "This message was sent with OAuth 2.0 (XOAUTH2) by the mailoauth.sophos collection."},
    )
    module = AnsibleModule(argument_spec, supports_check_mode=True)
    check_required_libs(module)
    params = module.params
    host = params["smtp_host"] or resolve_cloud(params["cloud"]).smtp_host
    send_to = None if module.check_mode else params["test_recipient"]
    tokens = None
    try:
        client = OAuthClient.from_params(params)
        tokens = client.redeem_refresh_token(params["refresh_token"], requested_scopes(params))
        module.no_log_values.update((tokens.access_token, tokens.refresh_token))
        result = smtp_oauth_login(host, params["smtp_port"], params["mailbox"], tokens.access_token,
                                  ca_path=params["ca_path"], timeout=params["smtp_timeout"], send_to=send_to,
                                  subject=params["subject"], body=params["body"])
    except MailOAuthError as exc:
        if tokens is not None and tokens.user and tokens.user.lower() != params["mailbox"].lower():
            exc.hint = "the refresh token belongs to %s, not to %s: sign in as the mailbox, or set mailbox to %s" % (
                tokens.user, params["mailbox"], tokens.user)
        module.fail_json(msg=str(exc), **exc.details())
    result.update(changed=bool(result.get("sent")), token_scope=tokens.scope)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
