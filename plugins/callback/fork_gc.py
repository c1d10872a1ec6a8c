# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Callback plugin: keeps each forked worker from copying the controller's memory through Python's cyclic GC."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fork_gc
type: aggregate
short_description: Less memory per forked worker in large fleets (Python's gc.freeze before each fork)
version_added: 0.2.0
description:
  - ansible-core runs every task on every host in a worker process forked from the controller. A forked worker shares
    the controller's memory copy-on-write, but when Python's cyclic garbage collector runs a full collection in the
    worker, it walks and writes to every object the controller holds (the inventory, every host's variables, the
    results of the running task), so the kernel copies the whole controller heap into that worker.
  - This callback registers C(gc.freeze()) to run in the controller just before each fork and C(gc.unfreeze())
    just after it in the controller (the recipe of the Python documentation for C(gc.freeze)). The worker starts
    with the controller's objects in the permanent generation, which its collections skip; the controller keeps
    collecting its own garbage.
  - It prints nothing and changes no result. Enable it for playbooks over hundreds of hosts, in ansible.cfg
    (C(callbacks_enabled = mailoauth.sophos.fork_gc)) or with the environment variable C(ANSIBLE_CALLBACKS_ENABLED).
requirements:
  - enable in configuration (C(callbacks_enabled))
"""

import gc
import os

from ansible.plugins.callback import CallbackBase

_REGISTERED = []


def _register_fork_hooks():
    """Once per process: fork hooks cannot be unregistered, and a second pair would only repeat the first."""
    if not _REGISTERED:
        os.register_at_fork(before=gc.freeze, after_in_parent=gc.unfreeze)
        _REGISTERED.append(True)


class CallbackModule(CallbackBase):
    """Registers the fork hooks when ansible-core loads the callback in the controller."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mailoauth.sophos.fork_gc"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _register_fork_hooks()
