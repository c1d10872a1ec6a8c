# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: sophos_sfos
  action_group:
    description: Use C(group/mailoauth.sophos.sfos) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mailoauth.sophos.sfos
options:
  host:
    description:
      - Address (FQDN, IPv4 or IPv6) of the firewall's admin interface (the name or address alone, without spaces,
        scheme, port, path or user information, which are refused before connecting; the port goes in O(port)).
      - If not set, the host variable C(sfos_host) is used, then C(ansible_host), then the inventory hostname, so a
        fleet inventory needs no per-task arguments.
    type: str
  port:
    description:
      - Port of the firewall's admin interface (webadmin and XML API).
      - If not set in the task, the host variable C(sfos_port) is used.
    type: int
    default: 4444
  username:
    description:
      - Administrator the XML API logs in as. Its device-access profile needs read-write access to the objects the
        module changes.
      - If not set, the host variable C(sfos_username) is used, else C(mailoauth_awx_sfos_username) (what the AWX
        credential type C(Sophos Firewall API user) injects).
    type: str
  password:
    description:
      - Password of O(username). Any character is sent intact (the request XML is built, not pasted).
      - If not set, the host variable C(sfos_password) is used (keep it in Ansible Vault), else
        C(mailoauth_awx_sfos_password) (what the AWX credential type C(Sophos Firewall API user) injects).
    type: str
  validate_certs:
    description:
      - Verify the firewall's TLS certificate, including that it was issued for O(host) (name or IP address). Only
        turn this off for a test box; set O(ca_path) instead.
      - If not set in the task, the host variable C(sfos_validate_certs) is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the firewall's certificate, or a directory of CA certificates
        named by their subject hash (as C(openssl rehash) leaves them).
      - If not set, the host variable C(sfos_ca_path) is used, then the controller's system trust store, which
        E(SSL_CERT_FILE) and E(SSL_CERT_DIR) replace. E(REQUESTS_CA_BUNDLE) does not apply to the firewall.
    type: path
  timeout:
    description:
      - Seconds one request may take in all, connecting, sending and reading the whole reply; a firewall that
        answers slowly, byte by byte, is cut off at this deadline too. Reading also stops once a reply passes 4 MiB.
      - If not set in the task, the host variable C(sfos_timeout) is used.
    type: int
    default: 30
  api_version:
    description:
      - XML API version to put into every request, for example V(2200.1).
      - Normally not needed; the firewall answers in its own version, which the module reads from the reply. Set it
        for firmware that refuses requests without one (status 529, "There is no API Version").
      - If not set, the host variable C(sfos_api_version) is used.
    type: str
notes:
  - The firewall must allow API access (Backup & firmware > API) from the controller's IP address.
  - Each task makes one HTTPS connection per firewall and reuses it for all its requests; every request carries the
    login, as the XML API is stateless.
  - An HTTPS proxy set in E(HTTPS_PROXY) (or E(https_proxy)) is used to reach the firewall, through a CONNECT
    tunnel so TLS still ends at the firewall, unless E(NO_PROXY) lists the firewall's host, a domain it is in, or an
    address range such as C(10.0.0.0/8) that holds its address.
  - This module runs on the controller as an action plugin; the O(password) never leaves the controller except to the
    firewall.
requirements:
  - urllib3 >= 2.0
  - defusedxml
"""
