"""python -m tests.sandbox.sfos --config FILE --ready FILE: serve a fleet of emulated firewalls."""

import secrets

from .._emulator import EmulatorProcess
from .._http import AppServer
from .app import FirewallApp, FirewallServer, FleetControlApp
from .latency import fleet_latency
from .state import Firewall

# Default fleet: all with OAuth support, two firmware lines; tests switch single firewalls at run time.
API_VERSIONS = ("2100.1", "2200.1")


def fleet_password(index):
    """Different per firewall; some carry XML-special and non-ASCII characters, as real admin passwords do."""
    base = secrets.token_urlsafe(9)
    return (base, base + "<&\"'", "Pä" + base + "€", "&lt;" + base + "'>")[index % 4]


def build_fleet(count, api_versions=API_VERSIONS, latency=None):
    return [Firewall("fw%02d" % (index + 1), fleet_password(index), api_versions[index % len(api_versions)],
                     latency=drawn)
            for index, drawn in enumerate(fleet_latency(count, latency))]


def main():
    process = EmulatorProcess("sfos")
    options = process.config.get("options") or {}
    fleet = build_fleet(int(process.config.get("firewalls") or 5), options.get("api_versions") or API_VERSIONS,
                        options.get("latency"))
    servers = []
    for firewall in fleet:
        server = FirewallServer(FirewallApp(firewall), process.ssl_context)
        firewall.port = server.port
        servers.append(server)
    control = AppServer(FleetControlApp(fleet), process.ssl_context)
    servers.append(control)
    process.run(servers, {
        "control_url": "https://127.0.0.1:%d" % control.port,
        "firewalls": [
            {"name": fw.name, "host": "127.0.0.1", "port": fw.port, "username": fw.username, "password": fw.password,
             "api_version": fw.api_version, "oauth_supported": fw.oauth_supported} for fw in fleet]})


if __name__ == "__main__":
    main()
