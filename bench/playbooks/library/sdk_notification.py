#!/usr/bin/python
"""Benchmark stand-in for sophos.sophos_firewall's sfos_notification_target (bench/README.md, "The vendor module").

The vendor collection cannot be installed on the benchmark machine (no Galaxy access, and it is not in the
ansible community package), so this module reproduces its request pattern with the vendor's own SDK
(sophosfirewall-python, pinned in requirements-test.txt): a module process per firewall, one Get to compare,
then the SDK's update(), which reads the entity again and writes it back: three requests, each on a new TLS
connection with its own login. Secrets read back hashed, so a run that sends them always writes and reports
changed. Written for the benchmark; no code of the vendor collection is in it.
"""

from ansible.module_utils.basic import AnsibleModule
from sophosfirewall_python.firewallapi import SophosFirewall

SETTINGS = {"mail_server": "MailServer", "mail_port": "Port", "sender_address": "SenderAddress",
            "recipient": "Recepient", "connection_security": "ConnectionSecurity", "username": "Username",
            "oauth2_provider": "Oauth2Provider", "client_id": "ClientID"}
SECRETS = {"client_secret": "ClientSecret", "refresh_token": "RefreshToken"}


def main():
    module = AnsibleModule(argument_spec={
        "hostname": {"type": "str", "required": True}, "port": {"type": "int", "required": True},
        "api_username": {"type": "str", "required": True}, "api_password": {"type": "str", "required": True,
                                                                             "no_log": True},
        "ca_path": {"type": "path", "required": True},
        "mail_server": {"type": "str"}, "mail_port": {"type": "int"}, "sender_address": {"type": "str"},
        "recipient": {"type": "str"}, "connection_security": {"type": "str"}, "username": {"type": "str"},
        "oauth2_provider": {"type": "str"}, "client_id": {"type": "str"},
        "client_secret": {"type": "str", "no_log": True}, "refresh_token": {"type": "str", "no_log": True},
    }, supports_check_mode=True)
    params = module.params
    firewall = SophosFirewall(params["api_username"], params["api_password"], params["hostname"], params["port"],
                              verify=params["ca_path"])
    try:
        current = firewall.get_tag("Notification")["Response"]["Notification"]
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="reading Notification failed: %s" % type(exc).__name__)
    wanted = {element: str(params[option]) for option, element in SETTINGS.items() if params[option] is not None}
    wanted.update({"NotificationServer": "1", "AuthenticationRequired": "Enable"})
    changed = any(current.get(element) != value for element, value in wanted.items())
    for option, element in SECRETS.items():
        if params[option]:
            wanted[element] = params[option]
            changed = True  # read back hashed: cannot be compared
    if changed and not module.check_mode:
        try:
            reply = firewall.update("Notification", wanted)
        except Exception as exc:  # pylint: disable=broad-except
            module.fail_json(msg="updating Notification failed: %s" % type(exc).__name__)
        status = reply["Response"]["Notification"]["Status"]
        if status.get("@code") != "200":
            module.fail_json(msg="the firewall refused the update: %s" % status.get("#text"))
    module.exit_json(changed=changed)


if __name__ == "__main__":
    main()
