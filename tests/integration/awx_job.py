"""AWX's side of a job, for ansible-runner: the private data directory and the credential types' injectors.

Follows what AWX itself does (awx/main/models/credential.py ``CredentialType.inject_credential``, and the
private data directory its RunJob hands to ansible-runner):

- every injector template is rendered with Jinja's ImmutableSandboxedEnvironment, the credential's inputs as the
  namespace; an input left empty is not in the namespace (it renders as ""), a boolean one left out is False;
- ``file`` injectors are rendered first, each into a file of mode 0600 in ``env/``; a label without a dot sets
  ``tower.filename``, ``template.NAME`` sets ``tower.filename.NAME``, for the env and extra_vars templates to use;
- ``env`` injectors become environment variables of the job;
- ``extra_vars`` injectors are written, YAML with every string marked ``!unsafe`` (AWX's safe_dump), into a file
  of mode 0400 in ``env/`` that the command line names with ``-e @file``;
- the job's own extra vars (``env/extravars``): the job template's as they are, survey answers and other
  launch-time values marked ``!unsafe`` (AWX's default ALLOW_JINJA_IN_EXTRA_VARS = template);
- the inventory is an executable ``inventory/hosts`` printing the inventory as JSON, as AWX writes it;
- ``project/`` is the project's checkout; there is no machine credential, so no ``env/ssh_key``.

The credential types are read from extensions/awx/credential_types/*.yml, never restated here.
"""

import glob
import json
import os
import shlex
import shutil
import stat
import sys
import tempfile

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREDENTIAL_TYPES = os.path.join(REPO_ROOT, "extensions", "awx", "credential_types")
STAND_IN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "awx_stand_in")


def credential_types():
    """{name: definition} of the collection's AWX credential types."""
    types = {}
    for path in sorted(glob.glob(os.path.join(CREDENTIAL_TYPES, "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            definition = yaml.safe_load(handle)
        types[definition["name"]] = definition
    return types


class _TowerNamespace:  # pylint: disable=too-few-public-methods
    """AWX's ``tower`` template variable: ``tower.filename`` (or ``tower.filename.NAME``)."""


class _UnsafeDumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    """AWX's SafeStringDumper: every string, keys included, is written as ``!unsafe``."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def safe_dump(variables, safe=None):
    """AWX's safe_dump: top-level entries equal to one in ``safe`` stay templatable, all others are !unsafe."""
    safe = safe or {}
    chunks = []
    for key, value in variables.items():
        dumper = yaml.SafeDumper if key in safe and safe[key] == value else _UnsafeDumper
        chunks.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(chunks)


def _private_file(directory, data, mode):
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(data)
    os.chmod(path, mode)
    return path


def inject_credential(definition, inputs, private_data_dir, env, args):
    """Render one credential's injectors as AWX does: fills ``env`` and appends ``-e @file`` to ``args``."""
    namespace = {}
    tower = _TowerNamespace()
    for field in definition.get("inputs", {}).get("fields", []):
        # The AWX UI saves a field's default as the credential's input.
        value = inputs.get(field["id"], field.get("default"))
        if field.get("type") == "boolean":
            namespace[field["id"]] = bool(value)
        elif value is not None and len(value):
            namespace[field["id"]] = value
    unknown = set(inputs) - {field["id"] for field in definition.get("inputs", {}).get("fields", [])}
    assert not unknown, "AWX would refuse inputs %s for %s" % (sorted(unknown), definition["name"])
    namespace["tower"] = tower
    sandbox = ImmutableSandboxedEnvironment()
    injectors = definition.get("injectors") or {}
    env_dir = os.path.join(private_data_dir, "env")

    for label, template in (injectors.get("file") or {}).items():
        path = _private_file(env_dir, sandbox.from_string(template).render(**namespace), stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
        else:
            if not isinstance(getattr(tower, "filename", None), _TowerNamespace):
                tower.filename = _TowerNamespace()
            setattr(tower.filename, label.split(".", 1)[1], path)

    for name, template in (injectors.get("env") or {}).items():
        env[name] = sandbox.from_string(template).render(**namespace)

    def render(node):
        if isinstance(node, dict):
            return {render(key): render(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    extra_vars = render(injectors.get("extra_vars") or {})
    if extra_vars:
        path = _private_file(env_dir, safe_dump(extra_vars), stat.S_IRUSR)
        args.extend(["-e", "@" + path])


INVENTORY_SCRIPT = """#! %s
# -*- coding: utf-8 -*-
import json
print(json.dumps(%r))
"""


def write_job(private_data_dir, *, inventory, credentials=(), template_vars=None, launch_vars=None, envvars=None,
              verbosity=0, project=REPO_ROOT):
    """Lay out a private data directory as AWX does for one job; returns its path.

    ``inventory``: AWX's JSON inventory (groups, hosts, ``_meta.hostvars``). ``credentials``: (credential type name,
    inputs) pairs. ``template_vars``: the job template's extra vars; ``launch_vars``: the survey answers.
    """
    types = credential_types()
    for sub in ("env", "inventory", "project"):
        os.makedirs(os.path.join(private_data_dir, sub), exist_ok=True)
    shutil.copytree(os.path.join(project, "playbooks"), os.path.join(private_data_dir, "project", "playbooks"),
                    dirs_exist_ok=True)

    hosts = os.path.join(private_data_dir, "inventory", "hosts")
    with open(hosts, "w", encoding="utf-8") as handle:
        handle.write(INVENTORY_SCRIPT % (sys.executable, json.loads(json.dumps(inventory))))
    os.chmod(hosts, stat.S_IRWXU)

    env = dict(envvars or {})
    args = []
    for type_name, inputs in credentials:
        inject_credential(types[type_name], inputs, private_data_dir, env, args)
    if verbosity:
        args.append("-" + "v" * verbosity)

    template_vars = dict(template_vars or {})
    extra_vars = dict(template_vars, **(launch_vars or {}))
    extra_vars.update(awx_job_id=1, tower_job_id=1, awx_job_launch_type="manual", awx_user_name="admin")
    with open(os.path.join(private_data_dir, "env", "extravars"), "w", encoding="utf-8") as handle:
        handle.write(safe_dump(extra_vars, template_vars))
    with open(os.path.join(private_data_dir, "env", "envvars"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(env, handle)
    with open(os.path.join(private_data_dir, "env", "settings"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"job_timeout": 600, "pexpect_timeout": 5, "suppress_ansible_output": True}, handle)
    with open(os.path.join(private_data_dir, "env", "cmdline"), "w", encoding="utf-8") as handle:
        handle.write(shlex.join(args))
    return private_data_dir


def run_job(private_data_dir, *, playbook, database, facts, **layout):
    """Lay out (write_job, with ``layout``) and run one job with ansible-runner as AWX does; returns the result.

    The job sees the awx.awx stand-in (its database at ``database``) and AWX's worker environment, not the test
    runner's: no Azure identity or CA bundle leaks in from outside. The job templates use AWX's fact cache
    (configure_awx.yml): AWX lays each host's stored facts (``facts``) into artifacts/<job>/fact_cache before the job
    and saves them afterwards.
    """
    import ansible_runner  # the callers skip their tests without it (pytest.importorskip)

    fact_cache = os.path.join(private_data_dir, "artifacts", "job", "fact_cache")
    envvars = {
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(REPO_ROOT, ".build", "collections"), STAND_IN]),
        "AWX_STAND_IN_DATABASE": database,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_LOCAL_TEMP": os.path.join(private_data_dir, "tmp"),
        "HOME": os.path.join(private_data_dir, "home"),
        "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": fact_cache,
    }
    shutil.copytree(facts, fact_cache, dirs_exist_ok=True)
    write_job(private_data_dir, envvars=envvars, **layout)
    outside = {name: os.environ.pop(name) for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                                                       "REQUESTS_CA_BUNDLE") if name in os.environ}
    try:
        result = ansible_runner.run(private_data_dir=private_data_dir, quiet=True, ident="job",
                                    playbook=os.path.join("playbooks", playbook))
    finally:
        os.environ.update(outside)
    if os.path.isdir(fact_cache):
        shutil.copytree(fact_cache, facts, dirs_exist_ok=True)
    return result


def job_events(private_data_dir):
    """Every event the job wrote (artifacts/*/job_events/*.json), in order: what AWX stores in its database."""
    events = []
    for path in glob.glob(os.path.join(private_data_dir, "artifacts", "*", "job_events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda event: event.get("counter", 0))
