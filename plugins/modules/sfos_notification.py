#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The work is done by the action plugin of the same name (plugins/action/sfos_notification.py): it runs in the
# controller's worker, so a fleet of firewalls costs no Python process per host. This file holds the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: sfos_notification
short_description: Configure a Sophos Firewall's notification e-mail, including OAuth 2.0 for Microsoft 365
version_added: 0.1.0
description:
  - Sets Administration > Notification settings on a Sophos Firewall (SFOS) through its XML API, including the
    OAuth 2.0 block (provider, client ID, client secret, refresh token, sending mailbox) that lets the firewall send
    mail through Exchange Online.
  - Reads the whole Notification entity, changes only the settings given, and writes the whole entity back (the
    firewall replaces the entity on update). Settings not given keep their current value; elements this module does
    not know are sent back unchanged.
  - The firewall returns secrets only in hashed form, so they cannot be compared. With O(update_secrets=on_create)
    the client secret and refresh token are sent when the OAuth block is not set up yet or when the provider, client
    ID or username change; otherwise they are left as stored and the task reports no change for them.
  - Makes exactly one request when nothing changes and two (read, then write) when something does.
  - An option set to V(null) counts as not set, as if left out with C(omit).
  - Implemented as an action plugin; it always runs on the controller and never connects to the managed host itself.
author:
  - mailoauth.sophos maintainers (@mailoauth)
extends_documentation_fragment:
  - mailoauth.sophos.sfos_connection
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the firewall.
    support: full
  diff_mode:
    description: Returns every comparable setting before and after; secrets show as C(<hidden>) or C(<changed>).
    support: full
options:
  mail_server:
    description:
      - External mail server (IPv4, IPv6 or FQDN) the firewall sends notifications through.
      - Setting it, or O(oauth), selects the external mail server instead of the firewall's own.
      - If not set, the firewall's value is kept; when O(oauth) is set up for the first time the provider's server is
        used (V(smtp.office365.com) for V(Microsoft365), V(smtp.gmail.com) for V(Gmail)).
    type: str
  mail_port:
    description:
      - Port of the mail server, 1 to 65535.
      - If not set, the firewall's value is kept; when O(oauth) is set up for the first time V(587) is used.
    type: int
  connection_security:
    description:
      - How the connection to the mail server is secured.
      - If not set, the firewall's value is kept; when O(oauth) is set up for the first time V(STARTTLS) is used.
    type: str
    choices: [None, STARTTLS, SSLTLS]
  sender_address:
    description:
      - Address the notifications are sent from. With Microsoft 365 it must be the sending mailbox or an address it
        may send as.
      - If not set and O(oauth) is given, O(oauth.username) is used; otherwise the firewall's value is kept.
    type: str
  recipients:
    description:
      - Addresses the notifications are sent to (the firewall's C(Recepient) element, comma separated).
    type: list
    elements: str
  management_interface:
    description:
      - Interface the firewall sends notification mail from, or V(None).
    type: str
  ip_family:
    description:
      - IP family used to reach the mail server.
    type: str
    choices: [IPv4, IPv6]
  oauth:
    description:
      - The OAuth 2.0 block. The firewall redeems O(oauth.refresh_token) with O(oauth.client_id) and
        O(oauth.client_secret) for an access token and logs in to the mail server as O(oauth.username) (SASL XOAUTH2).
      - Needs firmware with OAuth support for notification mail (XML API version 2100 or later); the module refuses
        it on older firmware.
      - A suboption not set (or empty) is taken from the variable named in its description. The roles
        C(mailoauth.sophos.entra_app) and C(mailoauth.sophos.refresh_token) set these variables as facts, so after
        them O(oauth) can be an empty dictionary.
    type: dict
    suboptions:
      provider:
        description: The OAuth 2.0 provider.
        type: str
        default: Microsoft365
        choices: [Microsoft365, Gmail]
      client_id:
        description:
          - Application (client) ID of the Entra app registration.
          - If not set, the variable C(mailoauth_client_id) is used. One of the two is required.
        type: str
      client_secret:
        description:
          - Client secret of the app registration. Required when the secrets are sent (see O(update_secrets)).
          - If not set, the variable C(mailoauth_client_secret) is used.
        type: str
      refresh_token:
        description:
          - Refresh token of the sending mailbox, from the authorization-code flow with the same app.
          - Required when the secrets are sent (see O(update_secrets)).
          - If not set, the variable C(mailoauth_refresh_token) is used.
        type: str
      username:
        description:
          - The sending mailbox (its user principal name), the SMTP login of the firewall.
          - If not set, the variable C(mailoauth_mailbox) is used. One of the two is required.
        type: str
  authentication:
    description:
      - How the firewall logs in to the mail server.
      - V(oauth) is O(oauth) (the default whenever O(oauth) is given).
      - V(password) logs in as O(smtp_username) with O(smtp_password), V(none) does not log in (a relay that trusts
        the firewall). Both empty the OAuth 2.0 block (provider, client ID, client secret, refresh token), as
        C(playbooks/remove.yml) does.
      - If not set and O(oauth) is not given, the firewall's authentication is kept.
    type: str
    choices: [oauth, password, none]
  smtp_username:
    description:
      - The mail server login for O(authentication=password).
    type: str
  smtp_password:
    description:
      - The mail server password for O(authentication=password).
      - It reads back empty, so it is sent whenever anything changes (the firewall replaces the whole entity), and on
        every run with O(update_secrets=always); it is required then.
    type: str
  notification_server:
    description:
      - V(external) sends through O(mail_server); V(firewall) through the firewall's built-in mail server (the
        factory setting).
      - If not set, V(external) is selected when O(mail_server) or O(oauth) is given, else the firewall's choice is
        kept.
    type: str
    choices: [external, firewall]
  update_secrets:
    description:
      - When to send O(oauth.client_secret) and O(oauth.refresh_token).
      - V(on_create) sends them when the OAuth block is not set up yet or when the provider, client ID or username
        change; the task is idempotent.
      - V(always) sends them on every run (for rotation); the task then always reports a change.
    type: str
    default: on_create
    choices: [on_create, always]
  oauth_element_names:
    description:
      - Overrides the XML element names of the OAuth 2.0 block for firmware whose names differ from the built-in
        table. M(mailoauth.sophos.sfos_notification_info) shows the names a firewall uses.
      - Unset names keep the table's value for the firewall's API version.
    type: dict
    suboptions:
      auth:
        description: Element that switches authentication on (table value C(AuthenticationRequired)).
        type: str
      provider:
        description: Element holding the provider (table value C(Oauth2Provider)).
        type: str
      client_id:
        description: Element holding the client ID (table value C(ClientID)).
        type: str
      client_secret:
        description: Element holding the client secret (table value C(ClientSecret)).
        type: str
      refresh_token:
        description: Element holding the refresh token (table value C(RefreshToken)).
        type: str
      username:
        description: Element holding the SMTP username (table value C(Username)).
        type: str
  settings:
    description:
      - The other options as one dictionary, for example C("{{ my_notification_settings }}"); an option given
        directly as well takes the direct value.
      - The role C(mailoauth.sophos.firewall_notification) passes its variables this way, as one template per host
        (ansible-core compiles each template again for every host) without templating the whole of C(args).
    type: dict
    version_added: 0.1.0
notes:
  - The OAuth 2.0 element names are not in Sophos's public API documentation; the built-in table is this collection's
    best knowledge. Check them once with M(mailoauth.sophos.sfos_notification_info) against a firewall you set up by
    hand, and use O(oauth_element_names) if they differ.
  - An update replaces the whole Notification entity, so the module sends back every element it read, including ones
    it does not manage (such as C(Subject) and C(MailBody)). The SMTP C(Password) always reads back empty, so it goes
    back empty. Whether an empty C(Password) clears a stored SMTP password on real firmware is B(not known) (no public
    source says); with OAuth 2.0 the firewall does not use that password.
  - Real firmware accepts an C(Oauth2Provider) without client ID, secret and token. The module therefore never relies
    on the firewall to refuse an incomplete OAuth block, and sends client ID, client secret and refresh token together
    whenever OAuth is not fully set up yet.
seealso:
  - module: mailoauth.sophos.sfos_notification_info
  - name: Sophos Firewall API documentation
    description: The XML API this module uses.
    link: https://docs.sophos.com/nsg/sophos-firewall/21.0/API/index.html
"""

EXAMPLES = r"""
- name: Send firewall notifications through Exchange Online with OAuth 2.0
  mailoauth.sophos.sfos_notification:
    sender_address: firewall-alerts@contoso.com
    recipients:
      - netops@contoso.com
    oauth:
      client_id: "{{ entra_app_client_id }}"
      client_secret: "{{ entra_app_client_secret }}"
      refresh_token: "{{ mailbox_refresh_token }}"
      username: firewall-alerts@contoso.com

- name: After the entra_app and refresh_token roles, the OAuth values come from their facts (mailoauth_*)
  mailoauth.sophos.sfos_notification:
    recipients:
      - netops@contoso.com
    oauth: {}

- name: Rotate the client secret on every firewall (always reports a change)
  mailoauth.sophos.sfos_notification:
    oauth:
      client_id: "{{ entra_app_client_id }}"
      client_secret: "{{ new_client_secret }}"
      refresh_token: "{{ mailbox_refresh_token }}"
      username: firewall-alerts@contoso.com
    update_secrets: always

- name: Back to a plain SMTP relay with a login; the OAuth 2.0 block is emptied
  mailoauth.sophos.sfos_notification:
    mail_server: relay.contoso.com
    mail_port: 25
    connection_security: STARTTLS
    authentication: password
    smtp_username: firewall-relay
    smtp_password: "{{ vault_relay_password }}"

- name: Back to the firewall's built-in mail server, without any login
  mailoauth.sophos.sfos_notification:
    notification_server: firewall
    authentication: none

- name: Connection options for a whole play, from Vault, through the action group
  module_defaults:
    group/mailoauth.sophos.sfos:
      username: apiadmin
      password: "{{ vault_sfos_password }}"
      ca_path: /etc/pki/sophos-ca.pem
  block:
    - name: Only change the port, keep everything else
      mailoauth.sophos.sfos_notification:
        mail_port: 587
"""

RETURN = r"""
changed:
  description: Whether the firewall's settings were (or, in check mode, would be) changed.
  returned: always
  type: bool
  sample: true
api_version:
  description: The firewall's XML API version, from its reply.
  returned: when the firewall answered
  type: str
  sample: "2200.1"
secrets_sent:
  description: Whether the client secret and refresh token (or, with O(authentication=password), the SMTP password) were (or would be) sent.
  returned: success
  type: bool
  sample: true
notification:
  description:
    - The comparable settings after the task; secrets show as C(<hidden>) (stored), C(<changed>) (sent now) or empty.
    - The C(oauth_*) and C(authentication) keys are only present on firmware with OAuth support.
  returned: success
  type: dict
  sample:
    mail_server: smtp.office365.com
    mail_port: "587"
    connection_security: STARTTLS
    sender_address: firewall-alerts@contoso.com
    recipients: netops@contoso.com
    management_interface: None
    ip_family: IPv4
    notification_server: "1"
    authentication: Enable
    oauth_provider: Microsoft365
    oauth_client_id: 00000000-0000-0000-0000-000000000001
    oauth_username: firewall-alerts@contoso.com
    oauth_client_secret: <changed>
    oauth_refresh_token: <changed>
error_code:
  description: The firewall's status code or the kind of failure (C(534), C(Authentication Failure), C(timeout)...).
  returned: failure
  type: str
  sample: "534"
hint:
  description: What to do about the failure.
  returned: failure
  type: str
  sample: add the controller's IP address to the allow-list under Backup & firmware > API on the firewall
"""
