"""python -m tests.sandbox.microsoft --config FILE --ready FILE (started by tests/sandbox/_runner.py)."""

from .._emulator import EmulatorProcess
from ._service import build


def main():
    proc = EmulatorProcess("microsoft")
    servers, ready, dummy = build(proc.ssl_context, proc.config.get("options"))
    proc.run(servers, ready)


if __name__ == "__main__":
    main()
