from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("project", dict(name=dict(required=True), organization=dict(), scm_type=dict(), scm_url=dict(), scm_branch=dict(),
                    scm_update_on_launch=dict(type="bool"), default_environment=dict()))
