"""The action-plugin module shim: real argument-spec validation and no_log masking, without a module process."""

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import NOTIFICATION_ARGSPEC
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import CONNECTION_ARGSPEC
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import AnsibleActionModule, _ModuleExit

SPEC = dict(CONNECTION_ARGSPEC, **NOTIFICATION_ARGSPEC)
SECRET = "top-secret-client-secret"


def finish(args, how="exit", **result):
    with pytest.raises(_ModuleExit) as done:
        module = AnsibleActionModule("mailoauth.sophos.sfos_notification", args, SPEC)
        if how == "exit":
            module.exit_json(**result)
        module.fail_json(**result)
    return done.value.result


def test_defaults_are_applied_and_secrets_masked_everywhere():
    args = {"host": "fw", "password": "fw-password-1", "oauth": {
        "client_id": "cid", "client_secret": SECRET, "refresh_token": "rt-value-1", "username": "u@x"}}
    result = finish(args, echoed="x %s y fw-password-1" % SECRET)
    assert result["failed"] is False and result["changed"] is False
    assert result["invocation"]["module_args"]["port"] == 4444
    assert result["invocation"]["module_args"]["oauth"]["provider"] == "Microsoft365"
    text = repr(result)
    assert SECRET not in text and "fw-password-1" not in text and "rt-value-1" not in text


@pytest.mark.parametrize("args, message", [
    ({"mail_sever": "x"}, "Unsupported parameters for (mailoauth.sophos.sfos_notification) module: mail_sever"),
    ({"ip_family": "IPv5"}, "ip_family must be one of: IPv4, IPv6"),
    ({"oauth": {"client_id": "cid"}}, "missing required arguments: username found in oauth"),
    ({"mail_port": "many"}, "mail_port"),
], ids=["misspelt-option", "value-not-a-choice", "required-suboption-missing", "port-not-a-number"])
def test_invalid_arguments_fail_before_any_work(args, message):
    result = finish(args, how="never reached")
    assert result["failed"] is True
    assert message in result["msg"]


def test_warnings_are_returned():
    with pytest.raises(_ModuleExit) as done:
        module = AnsibleActionModule("x", {}, SPEC)
        module.warn("careful")
        module.exit_json(changed=True)
    assert done.value.result["warnings"] == ["careful"]
    assert done.value.result["changed"] is True


def test_invocation_is_left_out_below_vvv():
    """The action plugin passes invocation=False unless -vvv, where the default callback would show it."""
    with pytest.raises(_ModuleExit) as done:
        AnsibleActionModule("mailoauth.sophos.sfos_notification", {"host": "fw"}, SPEC, invocation=False).exit_json()
    assert "invocation" not in done.value.result
    assert done.value.result["changed"] is False
