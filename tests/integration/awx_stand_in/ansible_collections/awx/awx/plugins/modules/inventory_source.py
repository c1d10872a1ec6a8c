from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("inventory_source", dict(name=dict(required=True), inventory=dict(), organization=dict(), source=dict(),
                             source_project=dict(), source_path=dict(), overwrite=dict(type="bool"),
                             update_on_launch=dict(type="bool")))
