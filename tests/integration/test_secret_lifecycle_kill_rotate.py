"""rotate.yml killed after every task that can change state converges on the next run and leaves one secret.

The loop of test_secret_lifecycle_kill_setup.py (tests/integration/kill_loop.py), on a sandbox of its own that a
completed setup.yml configured first. In the end: one app, one service principal, one consent grant, every
firewall's stored credentials redeem at the token endpoint, and no secret is left but the one the firewalls use.
"""

import pytest

from tests.integration.kill_loop import assert_one_app_sp_grant_and_every_firewall_redeems, converge_through_kills
from tests.integration.kill_loop import retire, run_to_the_end
from tests.sandbox.client import Sandbox
from tests.sandbox.inventory import fact_cache_env, write_inventory

FIREWALLS = 2
WRITING_STEPS = ["Ensure a client secret", "Write the encrypted credentials file", "Get a refresh token",
                 "Configure notification e-mail"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("kill-rotate-sandbox")), firewalls=FIREWALLS)
    workdir = str(tmp_path_factory.mktemp("kill-rotate-inventory"))
    inventory, password_file, browser = write_inventory(box, workdir)
    yield {"box": box, "inventory": inventory, "password_file": password_file, "browser": browser, "workdir": workdir}
    box.stop()


@pytest.mark.timeout(1200)
def test_rotate_killed_at_every_task_converges_and_leaves_one_secret(fleet, ansible_env):
    env = dict(ansible_env, **fact_cache_env(fleet["workdir"]), BROWSER=fleet["browser"], REQUESTS_CA_BUNDLE="")
    run_to_the_end(fleet, env, "setup.yml")
    killed_after = converge_through_kills(fleet, env, "rotate.yml")
    for step in WRITING_STEPS:
        assert any(step in name for name in killed_after), (step, killed_after)
    assert_one_app_sp_grant_and_every_firewall_redeems(fleet)
    retire(fleet, env)                                   # the completed rotate retired them already: a no-op
