"""Headless (AWX) renewal of a stored refresh token that only a new sign-in can fix: the run fails with the reason and
a new sign-in URL for the mailbox, and the next run with the pasted address signs in; other errors fail as they are.

The token goes stale through the emulator's 90-day inactivity limit (AADSTS700082), lowered for one test and put back;
test_awx_revoked_token.py revokes the mailbox's tokens (AADSTS50173) in a sandbox of its own.
"""

import os
import time

import pytest

from tests.integration.mailbox_app import create_mailbox_app, set_mailbox_smtp_auth
from tests.integration.test_refresh_token_headless import (
    AUTHORIZE_URL, CODE_IN_URL, JWT, TARGET, codes_of, query, redeem_as_firewall, role_vars)
from tests.sandbox.browser import sign_in

HEADLESS = os.path.join(TARGET, "headless.yml")
MAX_INACTIVE = 90 * 86400  # the emulator's default, Microsoft's documented 90 days


@pytest.fixture
def ms(sandbox):
    return sandbox.services["microsoft"]


@pytest.fixture
def signed_in(run_playbook, sandbox, ms, tmp_path):
    """An app and a refresh token of its mailbox, as the credential of an AWX job template holds them."""
    set_mailbox_smtp_auth(sandbox, False)
    app = create_mailbox_app(sandbox)
    first = run_playbook(HEADLESS, extra_vars=role_vars(sandbox, app, tmp_path))
    url = AUTHORIZE_URL.search(first.stdout).group(0)
    redirected = sign_in(url, ms["mailbox"]["upn"], ms["mailbox"]["password"], sandbox.ca_file, follow=False)
    second = run_playbook(HEADLESS, extra_vars=role_vars(sandbox, app, tmp_path,
                                                         refresh_token_authorization_response=redirected))
    assert second.rc == 0, second
    return app, (tmp_path / "refresh_token").read_text()


@pytest.fixture
def short_inactivity_limit(sandbox):
    sandbox.microsoft("config", method="POST", body={"refresh_token_max_inactive_seconds": 1})
    try:
        yield
    finally:
        sandbox.microsoft("config", method="POST", body={"refresh_token_max_inactive_seconds": MAX_INACTIVE})


def assert_nothing_secret(run, *values):
    for value in values:
        assert value not in run.output
    assert not JWT.search(run.output), "a token leaked"
    assert not CODE_IN_URL.search(run.output), "an authorization code leaked"


def test_a_stale_stored_token_asks_for_a_new_sign_in_which_the_next_run_redeems(
        run_playbook, sandbox, ms, signed_in, tmp_path, request):
    app, stored = signed_in
    (tmp_path / "refresh_token").unlink()
    request.getfixturevalue("short_inactivity_limit")
    time.sleep(2.5)
    run = run_playbook(HEADLESS, args=("-vvv",), extra_vars=role_vars(sandbox, app, tmp_path,
                                                                      refresh_token_current=stored))
    assert run.rc != 0, run
    assert run.failed_hosts() == ["localhost"]
    assert "The stored refresh token of %s no longer works and only a new sign-in can fix it" % (
        ms["mailbox"]["upn"]) in run.stdout, run
    assert "AADSTS700082" in run.stdout and "Sign in as %s at " % ms["mailbox"]["upn"] in run.stdout, run
    urls = set(AUTHORIZE_URL.findall(run.stdout))
    assert len(urls) == 1, urls
    url = urls.pop()
    assert query(url)["login_hint"] == ms["mailbox"]["upn"]
    assert not (tmp_path / "refresh_token").exists()
    assert_nothing_secret(run, stored, app["client_secret"])

    sandbox.microsoft("config", method="POST", body={"refresh_token_max_inactive_seconds": MAX_INACTIVE})
    redirected = sign_in(url, ms["mailbox"]["upn"], ms["mailbox"]["password"], sandbox.ca_file, follow=False)
    # The relaunch: the address pasted, the stale token still in the credential.
    again = run_playbook(HEADLESS, extra_vars=role_vars(sandbox, app, tmp_path, refresh_token_current=stored,
                                                        refresh_token_authorization_response=redirected))
    assert again.rc == 0, again
    new = (tmp_path / "refresh_token").read_text()
    assert new != stored
    assert "access_token" in redeem_as_firewall(sandbox, app, new)
    assert_nothing_secret(again, stored, new, redirected, app["client_secret"])


def test_check_mode_stops_on_a_stale_token_too(run_playbook, sandbox, ms, signed_in, tmp_path, request):
    app, stored = signed_in
    request.getfixturevalue("short_inactivity_limit")
    time.sleep(2.5)
    codes = len(codes_of(sandbox, app["client_id"]))
    run = run_playbook(HEADLESS, check=True, extra_vars=role_vars(sandbox, app, tmp_path,
                                                                  refresh_token_current=stored))
    assert run.rc != 0, run
    assert "AADSTS700082" in run.stdout and AUTHORIZE_URL.search(run.stdout), run
    assert len(codes_of(sandbox, app["client_id"])) == codes


def test_an_error_a_sign_in_cannot_fix_fails_as_it_is_without_a_url(run_playbook, sandbox, signed_in, tmp_path):
    app, stored = signed_in
    wrong = dict(app, client_secret=app["client_secret"][:3] + "x" * (len(app["client_secret"]) - 3))
    run = run_playbook(HEADLESS, args=("-vvv",), extra_vars=role_vars(sandbox, wrong, tmp_path,
                                                                      refresh_token_current=stored))
    assert run.rc != 0, run
    assert "AADSTS7000215" in run.stdout, run
    assert "no longer works" not in run.stdout and not AUTHORIZE_URL.search(run.stdout), run
    assert "Sign in as" not in run.stdout
    assert_nothing_secret(run, stored, app["client_secret"])
