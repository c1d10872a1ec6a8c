# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run module logic inside an action plugin: AnsibleModule's contract without a Python process per host.

Private to this collection. An action plugin subclasses :class:`ActionModuleBase`, returns its argument spec from
``argument_spec()`` and does its work in ``run_module(module, task_vars)`` with the familiar ``module.params``,
``module.check_mode``, ``module.diff``, ``module.warn()``, ``module.fail_json()`` and ``module.exit_json()``.
Options are validated by ansible-core's own ArgumentSpecValidator, so the spec is the one the module's
DOCUMENTATION describes, and every no_log value (suboptions included) is masked in everything returned.

As for a module, the options arrive as plain dicts, lists and scalars (without ansible-core's data tags). An option
set to null counts as not given, like one left out with ``omit``, so a role can pass its unset variables straight
through. ``option_variables`` names host variables that fill options the task leaves unset. ``settings_option``
names an option that holds other options as one dictionary.
"""

from __future__ import annotations

import abc
import traceback
from collections.abc import Mapping

from ansible.errors import AnsibleError, AnsibleTemplateError
from ansible.module_utils.basic import remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:  # ansible-core 2.19 on: vaulted values, and where a value came from (no public name for that)
    from ansible._internal._datatag._tags import Origin
    from ansible.parsing.vault import EncryptedString
except ImportError:  # before 2.19: the file and line are the value's ansible_pos
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode as EncryptedString
    Origin = None

display = Display()


def native(value):
    """``value`` with plain containers and scalars, as a module would get it through JSON (no data tags).

    Copying tagged values with copy.deepcopy, as the validator does, costs far more per host than this.
    """
    if isinstance(value, Mapping):
        return {str(key): native(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [native(item) for item in value]
    if isinstance(value, str):
        # str.__str__, not str(): before 2.19 AnsibleUnsafeText's own __str__ returns the unsafe type again.
        return str.__str__(value)
    for plain in (bool, int, float):
        if isinstance(value, plain):
            return plain(value)
    if type(value).__name__ == "AnsibleVaultEncryptedUnicode":
        # ansible-core before 2.19 hands vaulted variables over undecrypted (not a str); str() decrypts them.
        # Matched by name: importing the class from 2.19 on raises a deprecation warning.
        return str(value)
    return value


def given(params, spec):
    """``params`` without the options (and suboptions) set to null."""
    result = {}
    for name, value in params.items():
        if value is None:
            continue
        suboptions = (spec.get(name) or {}).get("options")
        if suboptions and isinstance(value, dict):
            value = given(value, suboptions)
        result[name] = value
    return result


def unset(value):
    return value is None or value == ""


class _VariableError(Exception):
    """A host variable that should fill an option does not render."""


def render_variable(templar, variable, option, value, secret):
    """The host variable's value, rendered; a template error names the variable and the fix (_VariableError)."""
    try:
        return templar.template(value)
    except AnsibleTemplateError as exc:
        # A literal password holding {{ or {% is the usual cause. The template's error is shown only for options
        # that are no secret: it may quote part of the value.
        raise _VariableError(
            "Variable %s (for option %s) does not render as a template%s. If its value is meant literally (a "
            "password holding {{ or {%% for example), mark it !unsafe in the vars file (%s: !unsafe '...') or "
            "encrypt it with ansible-vault: neither is templated" % (
                variable, option, "" if secret else " (%s)" % str(exc).split("\n", 1)[0], variable)) from None


def decrypt_variable(variable, value):
    """Decrypt a vaulted host variable now (any comparison would), naming the variable and its file on failure."""
    try:
        str(value)  # decrypts, raising the vault's own error, which templating would wrap
    except AnsibleError as exc:
        if Origin:
            origin = Origin.get_tag(value)
            origin = origin if origin is not Origin.UNKNOWN else None
        else:
            origin = "%s:%s:%s" % value.ansible_pos if getattr(value, "ansible_pos", None) else None
        where = " (%s)" % origin if origin else ""
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(".")
        raise _VariableError(
            "The variable %s%s cannot be decrypted: %s. Replace its value with the output of `ansible-vault "
            "encrypt_string --name %s` made with the vault password this run is given, or remove it."
            % (variable, where, reason, variable)) from None


class _ModuleExit(Exception):
    def __init__(self, result):
        super().__init__()
        self.result = result


class AnsibleActionModule:
    """The subset of AnsibleModule an action plugin needs; exit_json/fail_json end ``run_module``."""

    def __init__(self, name, params, argument_spec, check_mode=False, diff=False, no_log=False,
                 supports_check_mode=True, mutually_exclusive=None, required_together=None, required_one_of=None,
                 required_if=None, required_by=None, invocation=True):
        self._name = name
        self._invocation = invocation
        self.argument_spec = argument_spec
        self.check_mode = check_mode
        self.diff = diff
        self.no_log = no_log
        self.supports_check_mode = supports_check_mode
        self._warnings = []
        self._deprecations = []
        validator = ArgumentSpecValidator(argument_spec, mutually_exclusive, required_together, required_one_of,
                                          required_if, required_by)
        result = validator.validate(params)  # validates a copy: ``params`` is left as given
        self.params = result.validated_parameters
        self.no_log_values = set(result._no_log_values)  # pylint: disable=protected-access
        for item in result._deprecations:  # pylint: disable=protected-access
            self.deprecate(item.get("msg") or "Alias '%s' is deprecated" % item.get("name"),
                           version=item.get("version"), date=item.get("date"),
                           collection_name=item.get("collection_name"))
        for item in result._warnings:  # pylint: disable=protected-access
            self.warn("Both option %s and its alias %s are set." % (item["option"], item["alias"]))
        if result.error_messages:
            msg = result.errors.msg
            if isinstance(result.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
            self.fail_json(msg=msg)

    def warn(self, warning):
        self._warnings.append(str(warning))

    def deprecate(self, msg, version=None, date=None, collection_name=None):
        entry = {"msg": msg, "collection_name": collection_name}
        entry.update({"date": date} if date else {"version": version})
        self._deprecations.append(entry)

    def _finish(self, result):
        if self._invocation:
            result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(self._warnings)
        if self._deprecations:
            result["deprecations"] = list(self._deprecations)
        raise _ModuleExit(remove_values(result, self.no_log_values))

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        kwargs["failed"] = False
        self._finish(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.update(failed=True, msg=msg)
        self._finish(kwargs)


class ActionModuleBase(ActionBase, metaclass=abc.ABCMeta):
    """Base for action plugins that carry a module's logic; see the module docstring."""

    _VALID_ARGS = None  # the argument spec validates instead
    # Runs entirely in the controller: an inventory set up for a persistent connection (httpapi, network_cli) must
    # not make ansible-core start one per host for nothing.
    _requires_connection = False
    supports_check_mode = True
    # {option: (variable, ...)}: an option the task leaves unset (or empty) takes the first of these variables that is
    # set. "parent.option" names a suboption; it is filled only when the task gives the parent option.
    option_variables = {}
    # An option holding the other options as one dictionary, merged in before validation (options given directly
    # win): a role passes all its variables as one templated value, one template compile per host instead of one per
    # option, without templating the whole of ``args`` (which ansible-core warns about).
    settings_option = None

    @abc.abstractmethod
    def argument_spec(self):
        """Return ``(argument_spec, validator kwargs)``; kwargs: mutually_exclusive, required_if, ..."""

    @abc.abstractmethod
    def run_module(self, module, task_vars):
        """Do the work; must end with module.exit_json() or module.fail_json()."""

    def _variable_defaults(self, args, task_vars, spec=None):
        for option, variables in self.option_variables.items():
            *parents, name = option.split(".")
            target, option_spec = args, spec or {}
            for parent in parents:
                target = target.get(parent)
                option_spec = (option_spec.get(parent) or {}).get("options") or {}
                if not isinstance(target, dict):
                    break
            else:
                if unset(target.get(name)):
                    for variable in variables:
                        value = task_vars.get(variable)
                        if isinstance(value, EncryptedString):
                            decrypt_variable(variable, value)
                        if not unset(value):
                            # An option the spec does not list counts as a secret.
                            secret = option_spec.get(name, {"no_log": True}).get("no_log")
                            target[name] = native(render_variable(self._templar, variable, option, value, secret))
                            break
        return args

    def _task_options(self):
        args = native(self._task.args)
        if self.settings_option not in args:
            return args
        settings = args.pop(self.settings_option)
        if settings is None:
            return args
        if not isinstance(settings, dict):
            raise _ModuleExit({"failed": True, "msg": "Option %s must be a dictionary of %s's options, not %s" % (
                self.settings_option, self._task.action, type(settings).__name__)})
        return dict(settings, **{name: value for name, value in args.items() if value is not None})

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        module = None
        try:
            spec, kwargs = self.argument_spec()
            args = self._variable_defaults(given(self._task_options(), spec), task_vars, spec)
            module = AnsibleActionModule(
                self._task.action, args, spec, check_mode=self._play_context.check_mode,
                diff=self._play_context.diff, no_log=self._play_context.no_log,
                supports_check_mode=self.supports_check_mode,
                # Only -vvv shows a result's invocation; leaving it out otherwise keeps a fleet's results small
                # (about 8 KiB a host that the controller would pickle and keep until the task ends).
                invocation=display.verbosity >= 3, **kwargs)
            if module.check_mode and not self.supports_check_mode:
                module.exit_json(skipped=True, msg="remote module (%s) does not support check mode" % self._task.action)
            self.run_module(module, task_vars)
            raise RuntimeError("Internal error: %s ended without exit_json or fail_json" % self._task.action)
        except _ModuleExit as done:
            result.update(done.result)
        except _VariableError as exc:
            result.update(failed=True, msg=str(exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Like a module crash, but never with an option's secret value in the message or traceback.
            summary, crash = "%s: %s" % (type(exc).__name__, exc), traceback.format_exc()
            if module is not None:
                summary, crash = remove_values((summary, crash), module.no_log_values)
            result.update(failed=True, msg="MODULE FAILURE: %s crashed (%s)" % (self._task.action, summary),
                          exception=crash)
        return result
