"""What every emulator process shares: reading its config, logging, announcing its ports, serving."""

import argparse
import json
import logging
import os

from ._http import AppServer, serve, server_ssl_context


class EmulatorProcess:
    """Parse ``--config``/``--ready``, set up logging into the sandbox directory, serve the apps.

    An emulator's ``main()`` builds its apps from ``self.config``, then calls ``run(servers, ready_info)``:
    the ready file is written only once every socket listens, so the runner never races the ports.
    """

    def __init__(self, name, argv=None):
        parser = argparse.ArgumentParser(prog="tests.sandbox." + name)
        parser.add_argument("--config", required=True)
        parser.add_argument("--ready", required=True)
        args = parser.parse_args(argv)
        with open(args.config, encoding="utf-8") as handle:
            self.config = json.load(handle)
        self.name = name
        self.ready_path = args.ready
        logging.basicConfig(
            filename=os.path.join(self.config["dir"], name + ".log"),
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
        self.ssl_context = server_ssl_context(self.config["cert_file"], self.config["key_file"])

    def server(self, app, port=0, tls=True):
        return AppServer(app, self.ssl_context if tls else None, port=port)

    def run(self, servers, ready_info):
        tmp = self.ready_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(dict(ready_info, pid=os.getpid()), handle)
        os.replace(tmp, self.ready_path)
        serve(servers)
