"""Shared pytest set-up: import paths and the sandbox fixture."""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_PATH = os.path.join(REPO_ROOT, ".build", "collections")

# `tests.sandbox` from the checkout, and `ansible_collections.mailoauth.sophos` through the link `make` creates.
for path in (REPO_ROOT, COLLECTIONS_PATH):
    if path not in sys.path:
        sys.path.insert(0, path)

from tests.sandbox.client import Sandbox  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """The whole sandbox, started once per test session with 20 firewalls, stopped at the end."""
    box = Sandbox.start(str(tmp_path_factory.mktemp("sandbox")), firewalls=20)
    yield box
    box.stop()
