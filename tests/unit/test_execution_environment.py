"""execution-environment.yml names exactly the versions make test runs, and every core it may carry is supported."""

import os
import re

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(name):
    with open(os.path.join(REPO_ROOT, name), encoding="utf-8") as handle:
        return handle.read()


def pins(name):
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", read(name), re.M))


def test_the_image_has_the_tested_ansible_core_runner_and_python():
    definition = yaml.safe_load(read("execution-environment.yml"))["dependencies"]
    tested = pins("constraints-test.txt")
    assert definition["ansible_core"]["package_pip"] == "ansible-core==" + tested["ansible-core"]
    assert definition["ansible_runner"]["package_pip"] == "ansible-runner==" + tested["ansible-runner"]
    python = re.search(r"^PYTHON \?= python(\d+\.\d+)$", read("Makefile"), re.M).group(1)
    assert definition["python_interpreter"]["package_system"] == "python" + python
    assert definition["python_interpreter"]["python_path"] == "/usr/bin/python" + python


def test_requires_ansible_is_the_oldest_tested_core():
    matrix = re.search(r"^MATRIX \?= (.+)$", read("Makefile"), re.M).group(1).split()
    cores = sorted([pair.split(":")[0] for pair in matrix] + [pins("constraints-test.txt")["ansible-core"][:4]],
                   key=lambda version: tuple(int(part) for part in version.split(".")))
    assert yaml.safe_load(read("meta/runtime.yml"))["requires_ansible"] == ">=%s.0" % cores[0]
    for core in cores:
        if core != pins("constraints-test.txt")["ansible-core"][:4]:
            assert pins("constraints-matrix-%s.txt" % core)["ansible-core"].startswith(core + "."), core
