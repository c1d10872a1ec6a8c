"""setup.yml killed after every task that can change state converges on the next run, with no manual flag.

Run n is SIGKILLed at a task boundary, run n+1 starts from the state run n left (the tenant, the firewalls, the
credentials file, the fact cache) and is killed at the next boundary, until a run completes; then retire.yml.
Boundaries after a task that cannot write (an assert, a set_fact that is not cacheable, an include, a task skipped on
every host) leave the state the boundary before them left, so they are not killed at (tests/integration/kill_loop.py
says how a task is judged). In the end: one app, one service principal, one consent grant, every firewall's stored
credentials redeem at the token endpoint, and once retired no secret is left but the one the firewalls use.
rotate.yml's loop is test_secret_lifecycle_kill_rotate.py, a file of its own so that the two loops run side by side
under pytest-xdist. Two firewalls keep the loop cheap.
"""

import pytest

from tests.integration.kill_loop import assert_one_app_sp_grant_and_every_firewall_redeems, converge_through_kills
from tests.integration.kill_loop import retire
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

FIREWALLS = 2
# Steps that write, each of which must have been a kill point (names as the TASK line shows them, in part).
WRITING_STEPS = ["Register the application", "Grant admin consent", "Ensure a client secret",
                 "Write the encrypted credentials file", "Ensure Authenticated SMTP", "Get a refresh token"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("kill-setup-sandbox")), firewalls=FIREWALLS)
    workdir = str(tmp_path_factory.mktemp("kill-setup-inventory"))
    inventory, password_file, browser = write_inventory(box, workdir)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser, "workdir": workdir}
    box.stop()


# About ten runs, each a little longer than the one before.
@pytest.mark.timeout(1200)
def test_setup_killed_at_every_task_converges_and_retire_removes_the_lost_secrets(fleet, ansible_env):
    env = dict(ansible_env, **fact_cache_env(fleet["workdir"]), BROWSER=fleet["browser"], REQUESTS_CA_BUNDLE="")
    killed_after = converge_through_kills(fleet, env, "setup.yml")
    for step in WRITING_STEPS:                           # the loop really went through the writing tasks
        assert any(step in name for name in killed_after), (step, killed_after)
    assert_one_app_sp_grant_and_every_firewall_redeems(fleet)
    retire(fleet, env)                                   # secrets whose value a kill lost go now
