"""Fixtures for the unit tests: the Microsoft emulator in-process (no sandbox processes, no ports to clean up)."""

import pytest

from tests.sandbox.microsoft.harness import Harness


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """One emulator per test module, served from threads on free ports of 127.0.0.1."""
    emulator = Harness(str(tmp_path_factory.mktemp("microsoft")))
    yield emulator
    emulator.close()


@pytest.fixture
def ms(harness):
    """The emulator, back at its seed (same ids and secrets) for every test."""
    harness.control("reset", "POST")
    return harness
