from ansible_collections.awx.awx.plugins.module_utils.recorder import run

NODE_LIST = dict(type="list", elements="dict", options=dict(identifier=dict()))
run("workflow_job_template", dict(
    name=dict(required=True), description=dict(), organization=dict(), inventory=dict(), extra_vars=dict(type="dict"),
    survey_enabled=dict(type="bool"), survey_spec=dict(type="dict", aliases=["survey"]),
    destroy_current_nodes=dict(type="bool", default=False, aliases=["destroy_current_schema"]),
    workflow_nodes=dict(type="list", elements="dict", aliases=["schema"], options=dict(
        identifier=dict(required=True), extra_data=dict(type="dict"), limit=dict(), job_slice_count=dict(type="int"),
        all_parents_must_converge=dict(type="bool"),
        state=dict(default="present", choices=["present", "absent"]),
        unified_job_template=dict(type="dict", options=dict(
            name=dict(), type=dict(), description=dict(), timeout=dict(type="int"),
            organization=dict(type="dict", options=dict(name=dict())),
            inventory=dict(type="dict", options=dict(organization=dict(type="dict", options=dict(name=dict())))))),
        related=dict(type="dict", options=dict(
            success_nodes=NODE_LIST, failure_nodes=NODE_LIST, always_nodes=NODE_LIST,
            credentials=dict(type="list", elements="dict", options=dict(name=dict()))))))))
