"""What ansible-galaxy ships, built from a checkout after the docs build and the other things make leaves behind.

The checkout is copied (git's files, as a clone has them) into a temporary directory; there the docsite is built with
docs/sphinx/build.sh and the directories that make, pytest, the sandbox, the benchmark and ansible-lint create are
put in place; then `ansible-galaxy collection build` runs and the tarball's file list is checked.
"""

import ast
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# A fresh clone's tarball is about 130 KB; the docs build alone would add megabytes.
MAX_TARBALL_BYTES = 400 * 1024
MAX_FILES = 200
# Left in a checkout by `make` (.build, .venv link), `make demo` / the sandbox (.sandbox), pytest, `make bench`,
# ansible-lint (.ansible) and ansible-test (tests/output): none of it is collection content.
LEFT_BEHIND = (".build/ee/context/Containerfile", ".sandbox/sandbox.json", ".pytest_cache/README.md",
               "bench/results/fleet.json", ".ansible/modules/cache.json", "tests/output/junit.xml",
               "plugins/module_utils/__pycache__/sfos.cpython-311.pyc", ".venv-core-2.16/pyvenv.cfg",
               "examples/fleet/.mailoauth-facts/fw01")
NOT_SHIPPED = ("docs/sphinx/build/", "docs/sphinx/rst/", ".build/", ".sandbox/", ".pytest_cache/", "bench/",
               ".ansible/", "tests/", "tools/", ".venv", "constraints-", "requirements-test", "requirements-matrix",
               "examples/fleet/.mailoauth-facts")


def checkout_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode("utf-8").split("\0")
    return [path for path in listed if path and os.path.isfile(os.path.join(REPO_ROOT, path))]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    base = tmp_path_factory.mktemp("packaging")
    clone = base / "collections" / "ansible_collections" / "mailoauth" / "sophos"
    for path in checkout_files():
        os.makedirs(clone / os.path.dirname(path), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, path), clone / path)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(base / "collections"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    docs = subprocess.run([str(clone / "docs" / "sphinx" / "build.sh")], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (clone / "docs" / "sphinx" / "build" / "html" / "index.html").is_file()
    for path in LEFT_BEHIND:
        os.makedirs(clone / os.path.dirname(path), exist_ok=True)
        (clone / path).write_text("left behind by a run\n")
    out = base / "dist"
    build = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out),
                            str(clone)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    (path,) = out.glob("mailoauth-sophos-*.tar.gz")
    return path


def shipped(tarball_path):
    with tarfile.open(tarball_path) as archive:
        return {member.name: archive.extractfile(member).read() if member.isfile() else None
                for member in archive.getmembers()}


def test_the_tarball_holds_no_generated_docs_build_state_or_tests(tarball):
    names = sorted(name for name, data in shipped(tarball).items() if data is not None)
    assert not [name for name in names if name.startswith(NOT_SHIPPED) or name.endswith((".pyc", ".tar.gz"))]
    for needed in ("MANIFEST.json", "README.md", "requirements.txt", "plugins/modules/sfos_notification.py",
                   "roles/firewall_notification/tasks/main.yml", "playbooks/setup.yml", "meta/runtime.yml",
                   "examples/fleet/hosts.yml", "extensions/awx/configure_awx.yml", "docs/docsite/extra-docs.yml"):
        assert needed in names
    assert len(names) <= MAX_FILES, names
    assert os.path.getsize(tarball) <= MAX_TARBALL_BYTES


def module_of(path):
    return path[:-len(".py")].replace("/", ".").removesuffix(".__init__")


def imports(path, source):
    """The absolute names a Python file imports (relative imports resolved against its own package)."""
    package = module_of(path).rsplit(".", 1)[0] if not path.endswith("__init__.py") else module_of(path)
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            yield base
            yield from ("%s.%s" % (base, alias.name) for alias in node.names)


def test_every_shipped_python_file_imports_only_what_ships(tarball):
    """Unit tests that import tests/sandbox without shipping it (as before) or a plugin left out would fail here."""
    files = shipped(tarball)
    modules = {module_of(name) for name in files if name.endswith(".py")}
    packages = {posixpath.dirname(name).replace("/", ".") for name in files if name.endswith(".py")}
    own = "ansible_collections.mailoauth.sophos."
    missing = []
    for name, data in files.items():
        if not name.endswith(".py"):
            continue
        for imported in imports(name, data):
            local = imported[len(own):] if imported.startswith(own) else imported
            top = local.split(".")[0]
            if imported.startswith(own) or top in {"tests", "plugins"}:
                # "from x.y import name" imports a module or a name in one: either must exist in the tarball.
                if local not in modules and local not in packages and local.rsplit(".", 1)[0] not in modules:
                    missing.append("%s: %s" % (name, imported))
    assert not missing
