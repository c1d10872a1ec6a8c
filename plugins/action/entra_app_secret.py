# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs the entra_app_secret module and hides the task result from every callback when it holds a new secret.

A module cannot mark one of its return values no_log, and the value must reach the registered variable; hiding the
whole result from the output (as a task's ``no_log: true`` does) is the one way that keeps the value out of every
log at every verbosity while still handing it to the next task.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name="mailoauth.sophos.entra_app_secret",
                                           module_args=self._task.args, task_vars=task_vars))
        if result.get("secret"):
            result["_ansible_no_log"] = True
        return result
