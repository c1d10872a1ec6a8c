from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("credential", dict(name=dict(required=True), credential_type=dict(), organization=dict(),
                       inputs=dict(type="dict", no_log=True), update_secrets=dict(type="bool", default=True)))
