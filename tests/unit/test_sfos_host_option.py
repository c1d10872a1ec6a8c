"""The host option (sfos_host), as a table: a bare name or IP address passes, anything else is refused before any
connection, naming sfos_host and what to do. Every SFOS module runs these checks (sfos.client_for_module).

Covered elsewhere: one playbook run per bad value for both modules
(tests/integration/test_reliability_bad_input.py::test_bad_input[host-*]), an IPv6 literal reaching a TLS server
(test_sfos_transport.py::test_ipv6_address_is_verified).
"""

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils._sfos_xml import SfosError
from ansible_collections.mailoauth.sophos.plugins.module_utils.sfos import check_connection_options, check_host

VALID = ["fw01", "fw01.example.com", "fw01.example.com.", "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::1",
         "fe80::1%eth0", "fw_01.corp-net.example", "brandmauer.bücher.example"]

# (value, words of the message, words of the hint)
INVALID = {
    "trailing-newline-of-a-yaml-block": ("127.0.0.1\n", "starts or ends with a space or line break", "YAML | block"),
    "leading-space": (" fw01.example.com", "starts or ends with a space or line break", "remove it"),
    "trailing-tab": ("fw01.example.com\t", "starts or ends with a space or line break", "remove it"),
    "scheme": ("https://fw01.example.com", "holds a URL scheme", "no https://"),
    "port": ("fw01.example.com:4444", "holds a port", "port (sfos_port)"),
    "bracketed-ipv6-with-port": ("[2001:db8::1]:4444", "holds a port", "port (sfos_port)"),
    "path": ("fw01.example.com/webconsole", "holds a path", "adds the API path itself"),
    "userinfo": ("apiadmin:S3cret-pw@fw01.example.com", "holds user information", "sfos_username, sfos_password"),
    "space-inside": ("fw01 example.com", "is not a host name or IP address", "e.g. fw01.example.com"),
}


@pytest.mark.parametrize("host", VALID)
def test_names_and_addresses_pass(host):
    check_host(host)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_anything_else_is_refused_naming_sfos_host(case):
    host, words, hint = INVALID[case]
    with pytest.raises(SfosError) as info:
        check_host(host)
    message = str(info.value)
    assert "Option host (inventory variable sfos_host)" in message
    assert words in message and hint in message
    assert info.value.code == "invalid-option"
    assert "S3cret-pw" not in message


@pytest.mark.parametrize("params, words", [
    ({"port": 65536}, "port must be between 1 and 65535, not 65536"),
    ({"port": 0}, "port must be between 1 and 65535, not 0"),
    ({"timeout": 0}, "timeout must be at least 1 second"),
    ({"api_version": "latest"}, "api_version 'latest' is not an XML API version"),
], ids=["port-65536", "port-0", "timeout-0", "api_version-latest"])
def test_connection_options_are_checked(params, words):
    with pytest.raises(SfosError) as info:
        check_connection_options(dict({"host": "fw01"}, **params))
    assert words in str(info.value)
