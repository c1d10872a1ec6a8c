from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("job_template", dict(
    name=dict(required=True), description=dict(), organization=dict(), project=dict(), inventory=dict(),
    playbook=dict(), execution_environment=dict(), credentials=dict(type="list", elements="str"),
    job_slice_count=dict(type="int"), forks=dict(type="int"), use_fact_cache=dict(type="bool", aliases=["fact_caching_enabled"]),
    ask_variables_on_launch=dict(type="bool"), survey_enabled=dict(type="bool"),
    survey_spec=dict(type="dict", aliases=["survey"]), extra_vars=dict(type="dict"), limit=dict(),
    allow_simultaneous=dict(type="bool", aliases=["concurrent_jobs_enabled"])))
