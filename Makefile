# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUILD := $(CURDIR)/.build
COLLECTION_LINK := $(BUILD)/collections/ansible_collections/mailoauth/sophos
SANITY_ROOT ?= $(BUILD)/sanity
SANITY_TREE := $(SANITY_ROOT)/ansible_collections/mailoauth/sophos
# What ansible-galaxy would ship, plus the unit tests: the sandbox and integration tests are not collection content.
SANITY_EXCLUDE := ^(tests/(sandbox|integration|conftest\.py)|bench/|tools/|\.ci/)

export ANSIBLE_COLLECTIONS_PATH := $(BUILD)/collections
export PATH := $(BIN):$(PATH)

# A venv of the matrix is kept between runs (make would remove it as an intermediate file).
.PRECIOUS: .venv-core-%/.installed

.PHONY: all venv collection demo test sanity sanity-tree lint ee-context units integration bench bench-latency \
	bench-scale bench-sliced bench-tenants sandbox-start sandbox-stop clean test-matrix

all: test

CONSTRAINTS ?= -c constraints-test.txt

$(VENV)/.installed: requirements.txt requirements-test.txt constraints-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt $(CONSTRAINTS)
	touch $@

venv: $(VENV)/.installed

collection: venv
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(CURDIR) $(COLLECTION_LINK)

# sanity, lint and units side by side (each mostly one process, with waits of its own: 2 cores fit three), then
# integration; a failure stops it (the jobs already running finish first).
test: collection
	$(MAKE) --no-print-directory -j3 --output-sync=target sanity lint units
	$(MAKE) --no-print-directory integration

# ansible-test bootstraps pip in its import-test venv from a host this machine cannot reach; give it an offline one.
# The file is named after the pip each ansible-test pins: 23.1.2 (2.16, 2.17), 24.2 (2.18, 2.19), 25.2 (2.20, 2.21).
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py
GET_PIP_CACHES := $(foreach version,23_1_2 24_2 25_2,$(HOME)/.ansible/test/cache/get_pip_$(version).py)
$(GET_PIP_CACHES): tools/get_pip_offline.py
	mkdir -p $(dir $@)
	cp $< $@

sanity: collection sanity-tree $(GET_PIP_CACHE)
	cd $(SANITY_TREE) && $(BIN)/ansible-test sanity --python 3.11 --local --requirements --color no $(SANITY_ARGS)

sanity-tree:
	rm -rf $(SANITY_ROOT)
	mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | tr '\0' '\n' \
		| grep -Ev '$(SANITY_EXCLUDE)' | while read -r f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done \
		| xargs -0 cp --parents -t $(SANITY_TREE)
	# ansible-test lists files through git; the tree gets a repository of its own (the checkout ignores .build).
	cd $(SANITY_TREE) && git init -q && git add -A

# The other ansible-core versions of the supported range (meta/runtime.yml), CORE:PYTHON, each on a Python that core
# supports as a controller; `make test` covers 2.19 on 3.11 (constraints-test.txt).
MATRIX ?= 2.16:3.12 2.17:3.12 2.18:3.13 2.20:3.12 2.21:3.13
MATRIX_CORES := $(foreach pair,$(MATRIX),$(firstword $(subst :, ,$(pair))))
matrix_python = $(word 2,$(subst :, ,$(filter $(1):%,$(MATRIX))))
# pyenv's build of that Python, else pythonX.Y on PATH (a pyenv shim there may name a version that is not installed).
find_python = $(firstword $(wildcard $(shell pyenv prefix $(1) 2>/dev/null)/bin/python$(1)) \
	$(lastword $(sort $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/$(1).*/bin/python$(1)))) \
	$(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null))
# The sanity tests whose outcome depends on the core: its validate-modules, ansible-doc and import rules, its
# runtime.yml schema and its Python's compiler. The linters (pylint, pep8, yamllint ...) run once, in make test.
MATRIX_SANITY_ARGS ?= --test validate-modules --test ansible-doc --test action-plugin-docs --test import \
	--test compile --test runtime-metadata
MATRIX_CONSTRAINTS = -c constraints-matrix-$*.txt
# The sandbox's own unit tests (tests/unit/test_sandbox_*) do not touch ansible-core: make test runs them once.
MATRIX_UNITS ?= tests/unit --ignore-glob='tests/unit/test_sandbox_*'

.venv-core-%/.installed: requirements.txt requirements-matrix.txt constraints-matrix-%.txt
	@python="$(call find_python,$(call matrix_python,$*))"; if [ -z "$$python" ]; then \
		echo "test-matrix: Python $(call matrix_python,$*) for ansible-core $* not found: neither pyenv (pyenv install $(call matrix_python,$*)) nor python$(call matrix_python,$*) on PATH" >&2; \
		exit 1; fi; \
	echo "test-matrix: ansible-core $* on $$python"; \
	rm -rf .venv-core-$* && "$$python" -m venv .venv-core-$*
	.venv-core-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-core-$*/bin/python -m pip install --quiet -r requirements-matrix.txt $(MATRIX_CONSTRAINTS)
	touch $@

# One core: its own ansible-test sanity, the unit tests and the end-to-end smoke set against the sandbox.
matrix-core-%: .venv-core-%/.installed collection $(GET_PIP_CACHES)
	$(MAKE) --no-print-directory sanity-tree SANITY_ROOT=$(BUILD)/sanity-$*
	cd $(BUILD)/sanity-$*/ansible_collections/mailoauth/sophos && PATH=$(CURDIR)/.venv-core-$*/bin:$$PATH \
		ansible-test sanity --python $(call matrix_python,$*) --local --requirements --color no $(MATRIX_SANITY_ARGS)
	.venv-core-$*/bin/python -m pytest -p no:cacheprovider -q $(MATRIX_UNITS)
	.venv-core-$*/bin/python -m pytest -p no:cacheprovider -q -m smoke tests/integration

# Two cores at a time on CI (.ci/run: make -j2 --output-sync=target test-matrix): the sandboxes take free ports.
test-matrix: $(foreach core,$(MATRIX_CORES),matrix-core-$(core))

# Docs, playbook lint, changelog and the execution-environment definition.
lint: collection ee-context
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs $(COLLECTION_LINK)
	$(BIN)/ansible-lint --offline --profile production roles playbooks extensions/awx/configure_awx.yml
	docs/sphinx/build.sh

ee-context: venv
	rm -rf $(BUILD)/ee
	mkdir -p $(BUILD)/ee
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/ee .
	cp $(BUILD)/ee/mailoauth-sophos-*.tar.gz $(BUILD)/ee/mailoauth-sophos.tar.gz
	$(BIN)/ansible-builder create -f execution-environment.yml -c $(BUILD)/ee/context

units: collection
	$(BIN)/python -m pytest tests/unit

# Two workers, a test file at a time each (module fixtures: one sandbox per file), the longest files first
# (LONGEST_FIRST in tests/integration/conftest.py; --no-loadscope-reorder keeps that order). Three workers on the two
# cores took 8:36 once and 12:49 the next time, against 9:50 with two: not steadier, so two.
INTEGRATION_WORKERS ?= 2
integration: collection
	$(BIN)/python -m pytest -n $(INTEGRATION_WORKERS) --dist loadfile --no-loadscope-reorder tests/integration

demo: collection
	$(BIN)/python -m tests.demo

# Fleet benchmark (bench/README.md): figures only, never part of make test.
bench: collection
	$(BIN)/python bench/fleet.py --firewalls 100 500 --forks 10 --json bench/results/fleet.json

# Under emulated WAN latency: the role at forks 10, 50 and 100 and the vendor module's pattern at forks 50.
bench-latency: collection
	$(BIN)/python bench/fleet.py --latency --firewalls 500 --forks 10 50 100 --phases configure again \
		--vendor-forks 50 --json bench/results/fleet-latency.json

# Growth with N, no latency: the role against the floor from 500 to 5,000 firewalls.
bench-scale: collection
	$(BIN)/python bench/fleet.py --firewalls 500 1000 2000 5000 --forks 10 --phases floor configure again floor_end \
		--json bench/results/fleet-scale.json

# The AWX workflows at 1,000 firewalls, push in 1 and in 4 slices (bench/README.md): figures only, minutes.
bench-sliced: collection
	$(BIN)/python bench/sliced.py --firewalls 1000 --slices 1 4 --json bench/results/sliced.json

# An MSP's 500 firewalls in 20 tenants against the same 500 in one tenant (bench/README.md): figures only, minutes.
bench-tenants: collection
	$(BIN)/python bench/tenants.py --firewalls 500 --tenants 20 --forks 10 --json bench/results/tenants.json

sandbox-start: collection
	$(BIN)/python -m tests.sandbox start

sandbox-stop: venv
	$(BIN)/python -m tests.sandbox stop

clean:
	-$(BIN)/python -m tests.sandbox stop 2>/dev/null
	rm -rf $(VENV) .venv-core-* $(BUILD) .sandbox .pytest_cache
