from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("inventory", dict(name=dict(required=True), organization=dict()))
