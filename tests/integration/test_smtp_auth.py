"""Step 3: exo_smtp_auth against the Exchange admin API emulator; the mailbox's state is read from the emulator."""

import os

import pytest

from tests.integration.mailbox_app import mailbox_state, set_mailbox_smtp_auth

PLAYBOOK = os.path.join(os.path.dirname(__file__), "targets", "smtp_auth", "exo_smtp_auth.yml")


def auth_vars(ms, app_key="automation_app", **extra):
    return dict({"login_url": ms["login_url"], "exchange_url": ms["exchange_url"], "tenant_id": ms["tenant"]["id"],
                 "client_id": ms[app_key]["client_id"], "client_secret": ms[app_key]["client_secret"],
                 "mailbox": ms["mailbox"]["upn"]}, **extra)


@pytest.fixture
def ms(sandbox):
    set_mailbox_smtp_auth(sandbox, None)  # a new tenant's mailbox follows the organisation
    return sandbox.services["microsoft"]


def test_smtp_auth_turned_on_idempotently(run_playbook, sandbox, ms):
    assert mailbox_state(sandbox)["mailbox_setting"] is None
    assert mailbox_state(sandbox)["smtp_auth_disabled"] is True   # the org switch is off in new tenants

    run = run_playbook(PLAYBOOK, extra_vars=auth_vars(ms), check=True, diff=True)
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    assert '-    "SmtpClientAuthenticationDisabled": null' in run.stdout
    assert '+    "SmtpClientAuthenticationDisabled": false' in run.stdout
    assert mailbox_state(sandbox)["mailbox_setting"] is None

    run = run_playbook(PLAYBOOK, extra_vars=auth_vars(ms))
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    state = mailbox_state(sandbox)
    assert state["mailbox_setting"] is False and state["smtp_auth_disabled"] is False
    assert '"smtp_auth_enabled": true' in run.stdout

    for check in (False, True):
        run = run_playbook(PLAYBOOK, extra_vars=auth_vars(ms), check=check, diff=True)
        assert run.rc == 0, run
        assert run.changed("localhost") == 0
    assert mailbox_state(sandbox)["mailbox_setting"] is False


def test_inherit_warns_when_the_organisation_blocks_smtp_auth(run_playbook, sandbox, ms):
    set_mailbox_smtp_auth(sandbox, False)
    run = run_playbook(PLAYBOOK, extra_vars=auth_vars(ms, smtp_auth_state="inherit"))
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    assert mailbox_state(sandbox)["mailbox_setting"] is None
    assert "535 5.7.139" in run.output and "state=enabled" in run.output
    assert '"smtp_auth_enabled": false' in run.stdout


def test_disabled_turns_it_off(run_playbook, sandbox, ms):
    set_mailbox_smtp_auth(sandbox, False)
    run = run_playbook(PLAYBOOK, extra_vars=auth_vars(ms, smtp_auth_state="disabled"))
    assert run.rc == 0, run
    assert mailbox_state(sandbox)["mailbox_setting"] is True


BAD_INPUT = {
    "unknown-mailbox": ({"mailbox": "nobody@contoso.example"}, "the mailbox nobody@contoso.example was not found"),
    "app-without-exchange-permission": ({"app_key": "limited_app"}, "Exchange.ManageAsApp"),
    "wrong-automation-secret": ({"client_secret": "wrong-secret-value"}, "AADSTS7000215"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input(run_playbook, sandbox, ms, case):
    overrides, expected = BAD_INPUT[case]
    overrides = dict(overrides)
    extra = auth_vars(ms, overrides.pop("app_key", "automation_app"), **overrides)
    run = run_playbook(PLAYBOOK, extra_vars=extra)
    assert run.rc != 0, run
    assert run.failed_hosts() == ["localhost"]
    assert expected in run.stdout, run
    assert mailbox_state(sandbox)["mailbox_setting"] is None
    assert extra["client_secret"] not in run.output


def role_vars(ms, **extra):
    return dict({"mailoauth_authority_host": ms["login_url"], "mailoauth_exchange_endpoint": ms["exchange_url"],
                 "mailoauth_tenant_id": ms["tenant"]["id"],
                 "mailoauth_automation_client_id": ms["automation_app"]["client_id"],
                 "mailoauth_automation_client_secret": ms["automation_app"]["client_secret"],
                 "mailoauth_mailbox": ms["mailbox"]["upn"]}, **extra)


def test_role_check_then_apply_then_idempotent(run_playbook, sandbox, ms):
    playbook = os.path.join(os.path.dirname(PLAYBOOK), "role.yml")
    run = run_playbook(playbook, extra_vars=role_vars(ms), check=True, diff=True)
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    assert mailbox_state(sandbox)["mailbox_setting"] is None
    run = run_playbook(playbook, extra_vars=role_vars(ms))
    assert run.rc == 0, run
    assert run.changed("localhost") == 1
    assert mailbox_state(sandbox)["mailbox_setting"] is False
    for check in (False, True):
        run = run_playbook(playbook, extra_vars=role_vars(ms), check=check)
        assert run.rc == 0, run
        assert run.changed("localhost") == 0


def test_role_fails_when_asked_and_the_org_blocks(run_playbook, sandbox, ms):
    playbook = os.path.join(os.path.dirname(PLAYBOOK), "role.yml")
    run = run_playbook(playbook, extra_vars=role_vars(ms, smtp_auth_state="inherit", smtp_auth_fail_when_org_blocks=True))
    assert run.rc != 0, run
    assert "the organisation has it disabled" in run.stdout


def test_throttled_admin_api_is_retried(run_playbook, sandbox, ms):
    sandbox.control(ms["login_url"], "faults", "POST", {"exchange": {"429": 2, "retry_after": 1}})
    run = run_playbook(PLAYBOOK, extra_vars=auth_vars(ms))
    assert run.rc == 0, run
    assert mailbox_state(sandbox)["mailbox_setting"] is False
    assert sandbox.control(ms["login_url"], "state")["faults"]["exchange"].get("429", 0) == 0
