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

.PHONY: all venv collection demo test sanity lint ee-context units integration bench bench-sliced sandbox-start sandbox-stop clean

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

test: sanity lint units integration

# ansible-test bootstraps pip in its import-test venv from a host this machine cannot reach; give it an offline one.
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py
$(GET_PIP_CACHE): tools/get_pip_offline.py
	mkdir -p $(dir $@)
	cp $< $@

sanity: collection $(GET_PIP_CACHE)
	rm -rf $(SANITY_ROOT)
	mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | tr '\0' '\n' \
		| grep -Ev '$(SANITY_EXCLUDE)' | while read -r f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done \
		| xargs -0 cp --parents -t $(SANITY_TREE)
	# ansible-test lists files through git; the tree gets a repository of its own (the checkout ignores .build).
	cd $(SANITY_TREE) && git init -q && git add -A
	cd $(SANITY_TREE) && $(BIN)/ansible-test sanity --python 3.11 --local --requirements --color no $(SANITY_ARGS)

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

integration: collection
	$(BIN)/python -m pytest tests/integration

demo: collection
	$(BIN)/python -m tests.demo

# Fleet benchmark (bench/README.md): figures only, never part of make test.
bench: collection
	$(BIN)/python bench/fleet.py --firewalls 100 500 --forks 10 --json bench/results/fleet.json

# The AWX workflows at 1,000 firewalls, push in 1 and in 4 slices (bench/README.md): figures only, minutes.
bench-sliced: collection
	$(BIN)/python bench/sliced.py --firewalls 1000 --slices 1 4 --json bench/results/sliced.json

sandbox-start: collection
	$(BIN)/python -m tests.sandbox start

sandbox-stop: venv
	$(BIN)/python -m tests.sandbox stop

clean:
	-$(BIN)/python -m tests.sandbox stop 2>/dev/null
	rm -rf $(VENV) $(BUILD) .sandbox .pytest_cache
