# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A filter that finds the tenant variables on which the firewalls of one tenant differ, for the tenants filter.

Values are compared, never returned: some of them are secrets (client secret, refresh token). What comes back names
the variable, and the groups (else hosts) that hold each distinct value.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

_NOT_SET = object()
_SHOWN = 5


def _value(host_variables, name):
    try:
        value = host_variables[name]
    except (KeyError, AnsibleFilterError):
        return _NOT_SET
    return _NOT_SET if value is None or value == "" else value


def _who(hosts, groups):
    """The groups that hold exactly ``hosts`` between them (the largest ones, none holding other play hosts)."""
    wanted = set(hosts)
    fitting = {name: set(members) & wanted for name, members in groups.items()
               if name not in ("all", "ungrouped") and set(members) & wanted and set(members) <= wanted}
    chosen = [name for name, members in fitting.items()
              if not any(members < other or (members == other and other_name < name)
                         for other_name, other in fitting.items() if other_name != name)]
    covered = set().union(*(fitting[name] for name in chosen)) if chosen else set()
    alone = sorted(wanted - covered)
    parts = ["group %s" % name for name in sorted(chosen)]
    if alone:
        listed = ", ".join(alone[:_SHOWN]) + (" and %d more" % (len(alone) - _SHOWN) if len(alone) > _SHOWN else "")
        parts.append(("host " if len(alone) == 1 else "hosts ") + listed)
    return parts


def tenant_conflicts(hosts, hostvars, variables, groups=None):
    """``[{variable, holders: [[group or host description, ...] per distinct value]}]`` for every variable in
    ``variables`` on which ``hosts`` differ (a variable set on some hosts only counts as differing)."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("tenant_conflicts needs hostvars")
    play_hosts = list(hosts)
    groups = {name: [host for host in members if host in play_hosts] for name, members in (groups or {}).items()}
    by_variable = {name: [] for name in variables}  # per variable: [(value, [hosts])]
    for host in play_hosts:
        host_variables = hostvars[host]  # one variable-manager lookup per host, not per variable
        for name in variables:
            value = _value(host_variables, name)
            for entry in by_variable[name]:
                if entry[0] == value:
                    entry[1].append(host)
                    break
            else:
                by_variable[name].append((value, [host]))
    return [{"variable": name, "holders": [_holders(value, members, groups) for value, members in by_variable[name]]}
            for name in variables if len(by_variable[name]) > 1]


def _holders(value, members, groups):
    return " and ".join(_who(members, groups)) + (" (not set)" if value is _NOT_SET else "")


class FilterModule:
    def filters(self):
        return {"tenant_conflicts": tenant_conflicts}
