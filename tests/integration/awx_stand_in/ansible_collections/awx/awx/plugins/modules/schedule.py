from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("schedule", dict(name=dict(required=True), description=dict(), rrule=dict(), unified_job_template=dict(),
                     organization=dict(), enabled=dict(type="bool"), extra_data=dict(type="dict")))
