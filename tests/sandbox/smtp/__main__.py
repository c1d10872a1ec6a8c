"""python -m tests.sandbox.smtp --config CONFIG --ready READY (started by tests.sandbox._runner)."""

from .._emulator import EmulatorProcess
from .server import start_smtp


def main():
    process = EmulatorProcess("smtp")
    microsoft = process.config["services"].get("microsoft") or {}
    smtp = start_smtp(process.ssl_context, process.config["ca_file"], microsoft)
    control = process.server(smtp.control_app)
    try:
        process.run([control], {
            "host": "127.0.0.1",
            "port": smtp.port,
            "control_url": "https://127.0.0.1:%d" % control.port,
        })
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
