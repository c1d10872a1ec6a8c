"""The sandbox's test CA (trustme) and the one server certificate every emulator presents."""

import os

import trustme


def make_ca(directory):
    """Write ca.pem, server.pem and server.key into ``directory``; return their paths."""
    ca = trustme.CA(organization_name="mailoauth sandbox CA")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    paths = {
        "ca_file": os.path.join(directory, "ca.pem"),
        "cert_file": os.path.join(directory, "server.pem"),
        "key_file": os.path.join(directory, "server.key"),
    }
    ca.cert_pem.write_to_path(paths["ca_file"])
    server.cert_chain_pems[0].write_to_path(paths["cert_file"])
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(paths["cert_file"], append=True)
    server.private_key_pem.write_to_path(paths["key_file"])
    os.chmod(paths["key_file"], 0o600)
    return paths
