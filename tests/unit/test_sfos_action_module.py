"""The action-plugin module shim: real argument-spec validation and no_log masking, without a module process."""

from types import SimpleNamespace

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_notification import NOTIFICATION_ARGSPEC
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import CONNECTION_ARGSPEC
from ansible_collections.mailoauth.sophos.plugins.action.sfos_notification import ActionModule
from ansible_collections.mailoauth.sophos.plugins.plugin_utils._action_module import (
    AnsibleActionModule, _ModuleExit, _VariableError, given, native)

try:
    from ansible._internal._datatag._tags import TrustedAsTemplate

    def tagged(value):
        """A string as templating hands it over (2.19 on: carrying data tags), and a template a variable may hold."""
        return TrustedAsTemplate().tag(value)

    template_source = tagged
except ImportError:  # ansible-core before 2.19: no data tags; templating returns AnsibleUnsafeText, any str templates
    from ansible.utils.unsafe_proxy import AnsibleUnsafeText as tagged

    template_source = str

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
    ({"oauth": {"provider": "Outlook"}}, "provider must be one of: Microsoft365, Gmail"),
    ({"mail_port": "many"}, "mail_port"),
], ids=["misspelt-option", "value-not-a-choice", "suboption-not-a-choice", "port-not-a-number"])
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


def test_options_arrive_as_plain_values_without_tags():
    plain = native({"host": tagged("fw.example.com"), "recipients": (tagged("a@b.c"),), "port": True, "timeout": 5})
    assert plain == {"host": "fw.example.com", "recipients": ["a@b.c"], "port": True, "timeout": 5}
    assert plain["host"].__class__ is str and plain["recipients"][0].__class__ is str and plain["port"] is True


def test_options_set_to_null_count_as_not_given():
    """A role passes its unset variables straight through: null must neither fail choices nor beat a default."""
    args = given({"connection_security": None, "mail_port": None, "oauth": {"provider": None, "client_id": "cid"},
                  "recipients": ["a@b.c"]}, SPEC)
    assert args == {"oauth": {"client_id": "cid"}, "recipients": ["a@b.c"]}
    result = finish(args)
    assert result["invocation"]["module_args"]["oauth"]["provider"] == "Microsoft365"
    assert result["invocation"]["module_args"]["connection_security"] is None


def fill(args, task_vars):
    plugin = SimpleNamespace(option_variables=ActionModule.option_variables,
                             _templar=Templar(loader=DataLoader(), variables=task_vars))
    return ActionModule._variable_defaults(plugin, args, task_vars)  # pylint: disable=protected-access


def test_unset_oauth_values_come_from_the_tenant_roles_facts():
    task_vars = {"inventory_hostname": "fw01", "sfos_host": "192.0.2.1", "mailoauth_client_id": "cid-from-fact",
                 "mailoauth_client_secret": template_source("{{ vaulted }}"), "vaulted": "s3cret",
                 "mailoauth_refresh_token": "rt", "mailoauth_mailbox": "alerts@contoso.example"}
    args = fill({"oauth": {"client_id": "", "username": "given@contoso.example"}}, task_vars)
    assert args["host"] == "192.0.2.1"
    assert args["oauth"] == {"client_id": "cid-from-fact", "client_secret": "s3cret", "refresh_token": "rt",
                             "username": "given@contoso.example"}


def test_no_oauth_option_means_no_oauth_values_from_facts():
    args = fill({"mail_port": 587}, {"inventory_hostname": "fw01", "mailoauth_client_id": "cid"})
    assert "oauth" not in args and args["host"] == "fw01"


def test_a_variable_that_does_not_render_is_named_without_its_value():
    task_vars = {"inventory_hostname": "fw01", "sfos_password": TrustedAsTemplate().tag("Pw{{x}}-s3cret")}
    with pytest.raises(_VariableError) as info:
        fill({}, task_vars)
    message = str(info.value)
    assert "Variable sfos_password (for option password) does not render" in message
    assert "!unsafe" in message and "ansible-vault" in message
    assert "s3cret" not in message and "'x'" not in message


def task_options(args):
    plugin = SimpleNamespace(settings_option=ActionModule.settings_option, _task=SimpleNamespace(
        args=args, action="mailoauth.sophos.sfos_notification"))
    return ActionModule._task_options(plugin)  # pylint: disable=protected-access


def test_settings_hold_the_options_and_direct_options_win():
    """The firewall_notification role passes everything as one templated settings dict (no args template warning)."""
    args = task_options({"settings": {"mail_port": 25, "recipients": ["a@b.c"], "oauth": {"client_id": "cid"}},
                         "mail_port": 587, "recipients": None, "host": "fw01"})
    assert args == {"mail_port": 587, "recipients": ["a@b.c"], "oauth": {"client_id": "cid"}, "host": "fw01"}
    assert task_options({"settings": None, "mail_port": 587}) == {"mail_port": 587}


def test_settings_that_are_no_dictionary_fail_naming_the_option():
    with pytest.raises(_ModuleExit) as done:
        task_options({"settings": ["mail_port", 25]})
    assert done.value.result["failed"] is True
    assert done.value.result["msg"] == (
        "Option settings must be a dictionary of mailoauth.sophos.sfos_notification's options, not list")


def vaulted(ciphertext, origin=None):
    """A vaulted variable as the inventory loader hands it over, with the file and line it came from."""
    try:
        from ansible._internal._datatag._tags import Origin  # pylint: disable=import-outside-toplevel
        from ansible.parsing.vault import EncryptedString  # pylint: disable=import-outside-toplevel
    except ImportError:  # before 2.19
        pytest.skip("ansible-core before 2.19 has no EncryptedString")
    value = EncryptedString(ciphertext=ciphertext)
    return Origin(path=origin[0], line_num=origin[1], col_num=origin[2]).tag(value) if origin else value


@pytest.fixture
def vault_password(monkeypatch):
    """The vault password of the run, as ansible-playbook --vault-password-file makes it known (2.19 on)."""
    from ansible.parsing import vault  # pylint: disable=import-outside-toplevel
    if hasattr(vault, "VaultSecretsContext"):
        monkeypatch.setattr(vault.VaultSecretsContext, "_current",
                            vault.VaultSecretsContext([("default", vault.VaultSecret(b"pw"))]))
    return b"pw"


@pytest.mark.parametrize("password, reason", [
    (None, "Vault format unhexlify error: Non-hexadecimal digit found"),
    (b"another password", "Decryption failed (no vault secrets were found that could decrypt)"),
], ids=["placeholder-not-a-vault-payload", "encrypted-with-another-password"])
def test_a_variable_that_cannot_be_decrypted_names_itself_and_its_file(vault_password, password, reason):
    from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel
    ciphertext = ("$ANSIBLE_VAULT;1.1;AES256\nREPLACE-WITH-ansible-vault-encrypt_string-OUTPUT\n" if password is None
                  else VaultLib([("default", VaultSecret(password))]).encrypt("fw-password-1").decode("ascii"))
    value = vaulted(ciphertext, ("/inv/host_vars/fw01/sfos.vault.yml", 2, 16))
    with pytest.raises(_VariableError) as info:
        fill({}, {"inventory_hostname": "fw01", "sfos_password": value})
    assert str(info.value) == (
        "The variable sfos_password (/inv/host_vars/fw01/sfos.vault.yml:2:16) cannot be decrypted: %s. Replace its "
        "value with the output of `ansible-vault encrypt_string --name sfos_password` made with the vault password "
        "this run is given, or remove it." % reason)


def test_a_vaulted_variable_is_decrypted(vault_password):
    from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel
    value = vaulted(VaultLib([("default", VaultSecret(vault_password))]).encrypt("fw-password-1").decode("ascii"))
    args = fill({}, {"inventory_hostname": "fw01", "sfos_password": value})
    assert args["password"] == "fw-password-1" and args["password"].__class__ is str
