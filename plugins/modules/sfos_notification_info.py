#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The work is done by the action plugin of the same name (plugins/action/sfos_notification_info.py), in the
# controller's worker. This file holds the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: sfos_notification_info
short_description: Read a Sophos Firewall's notification e-mail settings
version_added: 0.1.0
description:
  - Reads Administration > Notification settings from a Sophos Firewall (SFOS) with one XML API request.
  - Returns the raw entity with every element the firmware sends (secrets masked), so the XML element names of the
    OAuth 2.0 block can be read off a firewall and given to M(mailoauth.sophos.sfos_notification) as
    O(mailoauth.sophos.sfos_notification#module:oauth_element_names) if they differ from the built-in table.
  - Implemented as an action plugin; it always runs on the controller and never connects to the managed host itself.
author:
  - mailoauth.sophos maintainers (@mailoauth)
extends_documentation_fragment:
  - mailoauth.sophos.sfos_connection
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Read-only; returns no diff.
    support: N/A
options:
  oauth_element_names:
    description:
      - Element names of the OAuth 2.0 block to use for RV(settings), as in M(mailoauth.sophos.sfos_notification).
    type: dict
    suboptions:
      auth:
        description: Element that switches authentication on.
        type: str
      provider:
        description: Element holding the provider.
        type: str
      client_id:
        description: Element holding the client ID.
        type: str
      client_secret:
        description: Element holding the client secret.
        type: str
      refresh_token:
        description: Element holding the refresh token.
        type: str
      username:
        description: Element holding the SMTP username.
        type: str
seealso:
  - module: mailoauth.sophos.sfos_notification
"""

EXAMPLES = r"""
- name: Show the Notification entity as this firmware names it
  mailoauth.sophos.sfos_notification_info:
  register: notification

- name: Report firewalls whose OAuth block is not set up
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} has no OAuth 2.0 mail set up"
  when: not notification.oauth_configured
"""

RETURN = r"""
api_version:
  description: The firewall's XML API version, from its reply.
  returned: success
  type: str
  sample: "2200.1"
oauth_supported:
  description: Whether this firmware supports OAuth 2.0 for notification mail.
  returned: success
  type: bool
  sample: true
oauth_configured:
  description: Whether authentication is on and provider, client ID, client secret and refresh token are all set.
  returned: success
  type: bool
  sample: true
oauth_element_names:
  description: The OAuth 2.0 element names used for this firmware (table plus overrides); null without OAuth support.
  returned: success
  type: dict
  sample:
    auth: AuthenticationRequired
    provider: Oauth2Provider
    client_id: ClientID
    client_secret: ClientSecret
    refresh_token: RefreshToken
    username: Username
settings:
  description: The comparable settings, with the keys M(mailoauth.sophos.sfos_notification) returns; secrets masked.
  returned: success
  type: dict
  sample:
    mail_server: smtp.office365.com
    mail_port: "587"
    connection_security: STARTTLS
    oauth_client_id: 00000000-0000-0000-0000-000000000001
    oauth_client_secret: <hidden>
notification:
  description:
    - The raw Notification entity, element name to text, in the firewall's order. Every hashed value, every
      known secret and C(Password) show as C(<hidden>) when set.
  returned: success
  type: dict
  sample:
    MailServer: smtp.office365.com
    Port: "587"
    AuthenticationRequired: Enable
    Oauth2Provider: Microsoft365
    ClientID: 00000000-0000-0000-0000-000000000001
    ClientSecret: <hidden>
    RefreshToken: <hidden>
"""
