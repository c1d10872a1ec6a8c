"""Runs the job templates and workflows that extensions/awx/configure_awx.yml creates, the way AWX runs them.

There is no AWX here, so this module plays its part and nothing more; every job is a real ansible-playbook run:
- configure_awx.yml runs first against the awx.awx stand-in (tests/integration/awx_stand_in), and the job templates and
  workflows it recorded are what gets launched: playbook, extra vars, credentials, slice count, forks.
- Inventory: AWX hands each job an inventory script (awx/main/models/inventory.py ``get_script_data``): enabled
  hosts ordered by name, and for slice i of K only ``hosts[i-1::K]``, with every group cut down to those hosts.
  So a sliced job's ``groups['firewalls']`` is its slice, never the fleet.
- Credentials: each credential of a template is injected through its credential type's injectors (the files in
  extensions/awx/credential_types), rendered with the credential's inputs: env vars and extra vars. A job that stores
  a new secret or refresh token does so with awx.awx.credential (the stand-in keeps the inputs, 0600, as AWX keeps
  them in its database), and the next job gets them injected, as in AWX.
- Fact cache (``use_fact_cache: true``): one jsonfile directory shared by every job, as AWX's database is; a job reads
  and writes only its own hosts' facts, which is what AWX copies in before and out after a job. This models an AWX
  that carries ansible-core 2.19's cache files (``s1_<host>``); AWX's own copy in and out (awx/main/tasks/facts.py)
  uses ``<host>``, which 2.19 neither reads nor writes (README, "AWX workflow").
- A template with ``job_slice_count`` K > 1 runs as K concurrent ansible-playbook processes and has failed if any
  slice failed. A workflow follows success_nodes / failure_nodes / always_nodes from its root nodes.
"""

import json
import os
import stat
import subprocess
import sys
import time

import jinja2
import yaml

from tests.integration.awx_job import STAND_IN
from tests.integration.conftest import BIN, COLLECTIONS_PATH, REPO_ROOT, PlaybookRun

CONFIGURE = os.path.join(REPO_ROOT, "extensions", "awx", "configure_awx.yml")
CREDENTIAL_TYPES = os.path.join(REPO_ROOT, "extensions", "awx", "credential_types")
CACHE_KEY_PREFIX = "s1_"  # ansible-core 2.19's fact cache key: schema 1


def base_env(workdir, ca_file):
    """ansible-playbook's environment: this checkout's collection and the stand-in awx.awx, no stray ansible.cfg."""
    config = os.path.join(workdir, "ansible.cfg")
    with open(config, "w", encoding="utf-8"):
        pass
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANSIBLE_", "AZURE_")) and name not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env.update({
        "ANSIBLE_CONFIG": config,
        "ANSIBLE_COLLECTIONS_PATH": STAND_IN + os.pathsep + COLLECTIONS_PATH,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "REQUESTS_CA_BUNDLE": ca_file,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    return env


def configure(workdir, env, *extra_args):
    """Run configure_awx.yml against the stand-in; return what it created: {resource: {name: options}}."""
    record = os.path.join(workdir, "awx-config.jsonl")
    if os.path.exists(record):
        os.unlink(record)
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), CONFIGURE] + list(extra_args), cwd=REPO_ROOT,
                          env=dict(env, AWX_STAND_IN_RECORD=record), capture_output=True, text=True, timeout=300,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError("configure_awx.yml failed:\n" + proc.stdout[-5000:] + proc.stderr[-3000:])
    created = {}
    with open(record, encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            # A second call for the same object (credentials attached afterwards) updates what it sets.
            known = created.setdefault(entry["resource"], {}).setdefault(entry["params"]["name"], {})
            known.update({key: value for key, value in entry["params"].items() if value is not None})
    return created


MAIL_CREDENTIAL = "mailoauth mail app"


def sandbox_awx(box, workdir, slices):
    """An Awx for the sandbox's fleet and tenant, configured by configure_awx.yml with ``slices`` push slices: the
    endpoints as inventory variables, each firewall's own API password as host variables (so no SFOS credential),
    the automation app as its credential and an empty mail-app credential for the jobs to write back to."""
    env = base_env(workdir, box.ca_file)
    created = configure(workdir, env, "-e", "awx_fleet_slice_count=%d" % slices, "-e", "awx_firewall_credential=")
    ms, smtp = box.services["microsoft"], box.services["smtp"]
    inventory = {
        "vars": {"mailoauth_authority_host": ms["login_url"], "mailoauth_graph_endpoint": ms["graph_url"],
                 "mailoauth_exchange_endpoint": ms["exchange_url"], "mailoauth_smtp_host": smtp["host"],
                 "mailoauth_smtp_port": smtp["port"], "mailoauth_ca_path": box.ca_file,
                 "mailoauth_tenant_id": ms["tenant"]["id"], "mailoauth_mailbox": ms["mailbox"]["upn"]},
        "groups": {"firewalls": {
            "vars": {"ansible_connection": "local", "sfos_ca_path": box.ca_file,
                     "firewall_notification_recipients": ["soc@" + ms["tenant"]["domain"]]},
            "hosts": {fw["name"]: {"sfos_host": fw["host"], "sfos_port": fw["port"], "sfos_username": fw["username"],
                                   "sfos_password": fw["password"]} for fw in box.services["sfos"]["firewalls"]}}}}
    credentials = {
        "mailoauth automation app": ("Microsoft Entra automation app (mailoauth.sophos)", {
            "tenant_id": ms["tenant"]["id"], "client_id": ms["automation_app"]["client_id"],
            "client_secret": ms["automation_app"]["client_secret"], "cloud": "public"}),
        MAIL_CREDENTIAL: ("Sophos notification OAuth 2.0 (mailoauth.sophos)", {}),
        "mailoauth controller API": ("Red Hat Ansible Automation Platform", {}),
    }
    return Awx(workdir, env, created, inventory, credentials)


def slice_hosts(hosts, slice_number, slice_count):
    """AWX's slice: enabled hosts ordered by name, then every slice_count-th from slice_number - 1."""
    ordered = sorted(hosts)
    return ordered[slice_number - 1::slice_count] if slice_count > 1 else ordered


class Job:
    """One job: a single ansible-playbook run, or a sliced job's K runs."""

    def __init__(self, template, runs, wall):
        self.template = template
        self.runs = runs
        self.wall = wall

    @property
    def failed(self):
        return any(run.rc != 0 for run in self.runs)

    @property
    def status(self):
        return "failed" if self.failed else "successful"

    @property
    def output(self):
        return "\n".join(run.output for run in self.runs)

    def __repr__(self):
        return "Job(%s, %s, %.1f s)\n%s" % (self.template, self.status, self.wall,
                                           "\n".join(repr(run) for run in self.runs if run.rc != 0) or "")


class Awx:
    """The AWX side of a test: an inventory, credentials, one fact cache, and the templates configure_awx.yml made.

    ``inventory``: {"vars": {...}, "groups": {"firewalls": {"vars": {...}, "hosts": {name: {hostvars}}}}}.
    ``credentials``: {credential name: (credential type name, {input: value})}.
    """

    def __init__(self, workdir, env, created, inventory, credentials):
        self.workdir = workdir
        self.env = env
        self.created = created
        self.inventory = inventory
        self.credentials = credentials
        self.fact_cache = os.path.join(workdir, "fact_cache")
        self.credential_store = os.path.join(workdir, "awx-credentials.json")
        self.jobs = 0
        self.types = {}
        for name in os.listdir(CREDENTIAL_TYPES):
            with open(os.path.join(CREDENTIAL_TYPES, name), encoding="utf-8") as handle:
                definition = yaml.safe_load(handle)
            self.types[definition["name"]] = definition

    # --- what AWX gives a job ---------------------------------------------------------------------------------
    def hosts(self):
        return [host for group in self.inventory["groups"].values() for host in group["hosts"]]

    def inventory_script(self, job_dir, slice_number=1, slice_count=1):
        """An executable inventory script, as AWX writes into a job's private data dir."""
        chosen = set(slice_hosts(self.hosts(), slice_number, slice_count))
        data = {"all": {"vars": self.inventory["vars"], "children": sorted(self.inventory["groups"])},
                "_meta": {"hostvars": {}}}
        for group_name, group in self.inventory["groups"].items():
            members = sorted(host for host in group["hosts"] if host in chosen)
            data[group_name] = {"hosts": members, "vars": group.get("vars", {})}
            for host in members:
                data["_meta"]["hostvars"][host] = group["hosts"][host]
        data_path = os.path.join(job_dir, "inventory.json")
        with open(os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        script = os.path.join(job_dir, "hosts")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write("#!%s\nimport sys\nprint('{}' if '--host' in sys.argv else open(%r).read())\n" % (
                sys.executable, data_path))
        os.chmod(script, stat.S_IRWXU)
        return script

    def credential_inputs(self, name):
        """A credential's type and inputs: as the test created it, or as the last job's write-back replaced them."""
        type_name, inputs = self.credentials[name]
        if os.path.exists(self.credential_store):
            with open(self.credential_store, encoding="utf-8") as handle:
                stored = json.load(handle).get(name)
            if stored:
                assert stored["credential_type"] == type_name, stored["credential_type"]
                return type_name, dict(stored["inputs"])
        return type_name, dict(inputs)

    def injected(self, credential_names):
        """(env, extra vars) of a job's credentials, rendered from their credential types' injectors."""
        env, extra = {}, {}
        jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
        for name in credential_names:
            type_name, inputs = self.credential_inputs(name)
            definition = self.types.get(type_name)
            if definition is None:  # a built-in type (the controller's own API credential): nothing for the play
                continue
            fields = {field["id"]: field.get("default", "") for field in definition["inputs"]["fields"]}
            context = dict(fields, **inputs)
            for target, values in (("env", env), ("extra_vars", extra)):
                for key, template in (definition.get("injectors") or {}).get(target, {}).items():
                    values[key] = jinja.from_string(template).render(context)
        return env, extra

    def template(self, name):
        return self.created["job_template"]["mailoauth.sophos " + name]

    # --- running jobs -------------------------------------------------------------------------------------------
    def start(self, template_name, slice_number=1, slice_count=1, extra_vars=None):
        """Start one ansible-playbook process for the template (one slice of it); returns (proc, cmd, out paths)."""
        template = self.template(template_name)
        assert template["use_fact_cache"] is True, template_name
        self.jobs += 1
        job_dir = os.path.join(self.workdir, "job-%03d-%s-%d" % (self.jobs, template_name.replace(" ", "_"),
                                                                  slice_number))
        os.makedirs(job_dir)
        cred_env, cred_extra = self.injected(template["credentials"])
        variables = dict(template.get("extra_vars") or {}, **(extra_vars or {}))
        variables.update(cred_extra)
        extra_path = os.path.join(job_dir, "extravars")
        with open(os.open(extra_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(variables, handle)
        cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO_ROOT, template["playbook"]),
               "-i", self.inventory_script(job_dir, slice_number, slice_count), "-e", "@" + extra_path]
        if template.get("forks"):
            cmd += ["--forks", str(template["forks"])]
        env = dict(self.env, **cred_env)
        env.update({"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": self.fact_cache,
                    "ANSIBLE_LOCAL_TEMP": os.path.join(job_dir, "tmp"),
                    "AWX_STAND_IN_DATABASE": self.credential_store})
        out = open(os.path.join(job_dir, "stdout"), "w+", encoding="utf-8")  # pylint: disable=consider-using-with
        err = open(os.path.join(job_dir, "stderr"), "w+", encoding="utf-8")  # pylint: disable=consider-using-with
        proc = subprocess.Popen(cmd, cwd=job_dir, env=env, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                stdout=out, stderr=err, text=True)
        return proc, cmd, out, err

    @staticmethod
    def finish(started, timeout=1200):
        proc, cmd, out, err = started
        proc.wait(timeout=timeout)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
        out.close()
        err.close()
        return PlaybookRun(cmd, result)

    def launch(self, template_name, extra_vars=None, slices=None):
        """Launch a job template: K concurrent slices when its job_slice_count is K (or only the given slices, as
        relaunching a failed slice job does). Returns the Job once every slice has finished."""
        count = int(self.template(template_name)["job_slice_count"] or 1)
        numbers = slices or list(range(1, count + 1))
        started_at = time.perf_counter()
        started = [self.start(template_name, number, count, extra_vars) for number in numbers]
        runs = [self.finish(handle) for handle in started]
        return Job(template_name, runs, time.perf_counter() - started_at)

    def workflow(self, name, extra_vars=None, after_each=None):
        """Run a workflow job: its root nodes, then the nodes their outcome leads to. Returns {identifier: Job}.

        ``extra_vars`` are the workflow's (its survey answers): AWX passes them to every node's job.
        ``after_each(identifier, job)`` is called when a node's job has finished, before the next starts."""
        nodes = {node["identifier"]: node for node in self.created["workflow_job_template"][
            "mailoauth.sophos " + name]["workflow_nodes"]}
        children = {ident for node in nodes.values() for kind in ("success_nodes", "failure_nodes", "always_nodes")
                    for child in ((node.get("related") or {}).get(kind) or []) for ident in [child["identifier"]]}
        pending = [ident for ident in nodes if ident not in children]
        jobs = {}
        while pending:
            ident = pending.pop(0)
            node = nodes[ident]
            assert not node.get("all_parents_must_converge"), "not emulated"
            template = node["unified_job_template"]["name"].removeprefix("mailoauth.sophos ")
            job = self.launch(template, extra_vars=extra_vars)
            jobs[ident] = job
            if after_each:
                after_each(ident, job)
            related = node.get("related") or {}
            for kind in ("always_nodes", "failure_nodes" if job.failed else "success_nodes"):
                pending += [child["identifier"] for child in related.get(kind) or []]
        return jobs

    def ledger(self):
        """The fact cache as AWX would show it: {host: mailoauth_ledger} for every host with one.

        ansible-core 2.19 keeps a host's facts in ``s1_<host>`` as a JSON payload of tagged values."""
        found = {}
        if not os.path.isdir(self.fact_cache):
            return found
        for name in os.listdir(self.fact_cache):
            if not name.startswith(CACHE_KEY_PREFIX):
                continue
            with open(os.path.join(self.fact_cache, name), encoding="utf-8") as handle:
                facts = _untagged(json.loads(json.load(handle)["__payload__"]))
            if "mailoauth_ledger" in facts:
                found[name[len(CACHE_KEY_PREFIX):]] = facts["mailoauth_ledger"]
        return found


def _untagged(value):
    if isinstance(value, dict):
        if "__ansible_type" in value and "value" in value:
            return _untagged(value["value"])
        return {key: _untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    return value
