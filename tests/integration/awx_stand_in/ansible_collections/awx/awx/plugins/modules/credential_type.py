from ansible_collections.awx.awx.plugins.module_utils.recorder import run

run("credential_type", dict(name=dict(required=True), description=dict(), kind=dict(choices=["ssh", "vault", "net",
    "scm", "cloud", "insights", "kubernetes", "token", "galaxy", "cryptography", "external", "registry"]),
    inputs=dict(type="dict"), injectors=dict(type="dict")))
