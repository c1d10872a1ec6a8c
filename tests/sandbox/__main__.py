"""python -m tests.sandbox start|stop|status [--dir DIR] [--firewalls N] [--tenants N]"""

import argparse
import json
import sys

from . import _runner


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox", description=__doc__)
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--dir", default=".sandbox", help="sandbox directory (default: .sandbox)")
    parser.add_argument("--firewalls", type=int, default=5, help="emulated firewalls to start (default: 5)")
    parser.add_argument("--tenants", type=int, default=1, help="tenants in the Microsoft emulator (default: 1)")
    args = parser.parse_args(argv)
    if args.command == "start":
        options = {"microsoft": {"tenants": args.tenants}} if args.tenants != 1 else None
        state = _runner.start(args.dir, firewalls=args.firewalls, options=options)
        print(json.dumps({"state_file": state["dir"] + "/" + _runner.STATE_FILE,
                          "services": sorted(state["services"])}, indent=2))
    elif args.command == "stop":
        _runner.stop(args.dir)
    else:
        running = _runner.status(args.dir)
        if running is None:
            print("no sandbox in %s" % args.dir)
            return 1
        print(json.dumps(running, indent=2))
        return 0 if all(running.values()) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
