"""extensions/awx/configure_awx.yml run against a stand-in for awx.awx (tests/integration/awx_stand_in).

The stand-in validates each module's options as awx.awx documents them and records what it was given; the tests read
that record: which templates exist, what each runs and with which credentials, how the workflow's nodes are linked,
and what the schedules say. That the workflow works is test_awx_workflow.py's part.
"""

import os
import re

import pytest
import yaml

from tests.integration.awx_emulation import base_env
from tests.integration.awx_emulation import configure as awx_configure
from tests.integration.conftest import REPO_ROOT


def configure(tmp_path, *extra):
    env = dict(base_env(str(tmp_path), ""), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"))
    return awx_configure(str(tmp_path), env, *extra)


@pytest.fixture(scope="module")
def created(tmp_path_factory):
    return configure(tmp_path_factory.mktemp("awx-config"))


def test_every_job_template_keeps_the_ledger_in_the_fact_cache_and_runs_a_playbook_that_exists(created):
    templates = created["job_template"]
    assert set(templates) == {"mailoauth.sophos " + name for name in (
        "setup", "rotate", "verify", "tenant", "tenant rotate", "push", "retire")}
    for template in templates.values():
        assert template["use_fact_cache"] is True, template["name"]
        assert os.path.isfile(os.path.join(REPO_ROOT, template["playbook"])), template["playbook"]
        assert template["inventory"] == "Firewalls"


def test_only_push_is_sliced_and_the_tenant_jobs_store_what_push_gets(created):
    templates = created["job_template"]
    assert {name: t["job_slice_count"] for name, t in templates.items() if t["job_slice_count"] != 1} == {
        "mailoauth.sophos push": 4}
    assert templates["mailoauth.sophos push"]["credentials"] == [
        "mailoauth automation app", "mailoauth mail app", "mailoauth firewall API user"]
    assert templates["mailoauth.sophos retire"]["credentials"] == ["mailoauth automation app", "mailoauth mail app"]
    for name in ("tenant", "tenant rotate"):
        template = templates["mailoauth.sophos " + name]
        assert "mailoauth automation app" in template["credentials"]
        assert "mailoauth firewall API user" not in template["credentials"]
        # Where the new secret and refresh token go, so the push jobs that follow get them injected.
        assert template["extra_vars"]["mailoauth_awx_credential"] == "mailoauth mail app"
    assert templates["mailoauth.sophos tenant rotate"]["extra_vars"]["mailoauth_tenant_rotate"] is True


def test_slice_count_and_an_empty_sfos_credential_come_from_variables(tmp_path):
    templates = configure(tmp_path, "-e", "awx_fleet_slice_count=8", "-e", "awx_firewall_credential=")["job_template"]
    assert templates["mailoauth.sophos push"]["job_slice_count"] == 8
    assert templates["mailoauth.sophos push"]["credentials"] == ["mailoauth automation app", "mailoauth mail app"]


@pytest.mark.parametrize("workflow, tenant_template", [("rollout", "tenant"), ("rotation", "tenant rotate")])
def test_workflow_runs_tenant_then_push_then_retire_even_after_a_failed_slice(created, workflow, tenant_template):
    flow = created["workflow_job_template"]["mailoauth.sophos " + workflow]
    assert flow["destroy_current_nodes"] is True
    nodes = {node["identifier"]: node for node in flow["workflow_nodes"]}
    assert {ident: node["unified_job_template"]["name"] for ident, node in nodes.items()} == {
        "tenant": "mailoauth.sophos " + tenant_template, "push": "mailoauth.sophos push",
        "retire": "mailoauth.sophos retire"}
    for node in nodes.values():
        assert node["unified_job_template"]["name"] in created["job_template"]
        assert node["unified_job_template"]["type"] == "job_template"

    def edges(ident):
        related = nodes[ident]["related"] or {}
        return {kind: [n["identifier"] for n in related.get(kind) or []]
                for kind in ("success_nodes", "failure_nodes", "always_nodes") if related.get(kind)}

    assert edges("tenant") == {"success_nodes": ["push"]}
    assert edges("push") == {"always_nodes": ["retire"]}
    assert edges("retire") == {}


def test_rollout_workflow_asks_for_the_sign_in_like_setup(created):
    flow = created["workflow_job_template"]["mailoauth.sophos rollout"]
    assert flow["survey_enabled"] is True
    assert flow["survey_spec"] == created["job_template"]["mailoauth.sophos setup"]["survey_spec"]
    assert created["workflow_job_template"]["mailoauth.sophos rotation"]["survey_enabled"] is False


def rrule_interval(rule):
    match = re.fullmatch(r"DTSTART:\d{8}T\d{6}Z RRULE:FREQ=DAILY;INTERVAL=(\d+)", rule)
    assert match, rule
    return int(match.group(1))


def test_verify_runs_daily_and_rotation_well_before_the_secret_or_an_idle_refresh_token_expires(created):
    schedules = created["schedule"]
    assert schedules["mailoauth.sophos verify"]["unified_job_template"] == "mailoauth.sophos verify"
    assert rrule_interval(schedules["mailoauth.sophos verify"]["rrule"]) == 1
    rotation = schedules["mailoauth.sophos rotation"]
    assert rotation["unified_job_template"] == "mailoauth.sophos rotation"
    with open(os.path.join(REPO_ROOT, "roles", "entra_app", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    every = rrule_interval(rotation["rrule"])
    # Two rotations in a row may fail and the third still comes before the secret nears its end (min_valid_days
    # ahead) and before a refresh token unused since the last push reaches Entra's 90 days.
    assert 3 * every <= defaults["entra_app_secret_valid_days"] - defaults["entra_app_secret_min_valid_days"]
    assert 3 * every <= 90
    assert every == min(defaults["entra_app_secret_valid_days"], 90) // 3


def test_the_mail_credential_type_for_several_tenants_is_a_choice(created, tmp_path):
    several = "Sophos notification OAuth 2.0, several tenants (mailoauth.sophos)"
    assert several in created["credential_type"]
    assert created["credential"]["mailoauth mail app"]["credential_type"] == (
        "Sophos notification OAuth 2.0 (mailoauth.sophos)")
    chosen = configure(tmp_path, "-e", "awx_mail_credential_type=several_tenants")
    assert chosen["credential"]["mailoauth mail app"]["credential_type"] == several
    # The same templates take it, with the same survey: one answer holds every tenant's address.
    setup = chosen["job_template"]["mailoauth.sophos setup"]
    assert "mailoauth mail app" in setup["credentials"]
    question = setup["survey_spec"]["spec"][0]
    assert question["variable"] == "refresh_token_authorization_response" and question["type"] == "password"
    assert question["max"] >= 20 * 4096
