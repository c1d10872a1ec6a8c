"""The automation identity's pure pieces: requiredResourceAccess edits, role names, and the certificate file."""

import os
import stat

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils import _certificate
from ansible_collections.mailoauth.sophos.plugins.modules import (
    entra_app_role_assignment,
    entra_directory_role_assignment,
)

GRAPH = "00000003-0000-0000-c000-000000000000"
EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"
APP_RW = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"
GRANTS_RW = "8e8e4742-1d95-4f68-9d56-6ee75648c72a"
MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440"
SCOPE = {"id": "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "type": "Scope"}


class TestRequiredResourceAccess:
    def test_roles_are_added_next_to_what_is_there(self):
        app = {"requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": [SCOPE]}]}
        entries = entra_app_role_assignment.rra_with_roles(app, GRAPH, [APP_RW, GRANTS_RW], present=True)
        assert entries == [{"resourceAppId": GRAPH, "resourceAccess": [
            SCOPE, {"id": APP_RW, "type": "Role"}, {"id": GRANTS_RW, "type": "Role"}]}]
        assert app["requiredResourceAccess"][0]["resourceAccess"] == [SCOPE], "the read object stays untouched"

    def test_a_new_resource_gets_its_own_entry(self):
        app = {"requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": [SCOPE]}]}
        entries = entra_app_role_assignment.rra_with_roles(app, EXCHANGE, [MANAGE_AS_APP], present=True)
        assert entries[1] == {"resourceAppId": EXCHANGE, "resourceAccess": [{"id": MANAGE_AS_APP, "type": "Role"}]}

    def test_nothing_to_do_is_none(self):
        app = {"requiredResourceAccess": [{"resourceAppId": GRAPH.upper(), "resourceAccess": [
            {"id": APP_RW, "type": "Role"}]}]}
        assert entra_app_role_assignment.rra_with_roles(app, GRAPH, [APP_RW], present=True) is None
        assert entra_app_role_assignment.rra_with_roles(app, EXCHANGE, [MANAGE_AS_APP], present=False) is None

    def test_absent_removes_only_the_named_roles_and_an_empty_entry(self):
        app = {"requiredResourceAccess": [
            {"resourceAppId": GRAPH, "resourceAccess": [SCOPE, {"id": APP_RW, "type": "Role"}]},
            {"resourceAppId": EXCHANGE, "resourceAccess": [{"id": MANAGE_AS_APP, "type": "Role"}]}]}
        assert entra_app_role_assignment.rra_with_roles(app, GRAPH, [APP_RW], present=False) == [
            {"resourceAppId": GRAPH, "resourceAccess": [SCOPE]}, app["requiredResourceAccess"][1]]
        assert entra_app_role_assignment.rra_with_roles(app, EXCHANGE, [MANAGE_AS_APP], present=False) == [
            app["requiredResourceAccess"][0]]


def test_only_roles_for_applications_are_offered():
    resource = {"appRoles": [
        {"id": APP_RW, "value": "Application.ReadWrite.All", "allowedMemberTypes": ["Application"]},
        {"id": "u1", "value": "Reader", "allowedMemberTypes": ["User"]},
        {"id": "u2", "value": None, "allowedMemberTypes": ["Application"]}]}
    assert entra_app_role_assignment.offered_roles(resource) == {"Application.ReadWrite.All": APP_RW}


@pytest.mark.parametrize("given, expected", [
    ("Exchange Recipient Administrator", "31392ffb-586c-42d1-9346-e59415a2cc4e"),
    ("exchange administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"),
    ("62E90394-69F5-4237-9190-012177145E10", "62e90394-69f5-4237-9190-012177145e10"),
    ("Mailbox Wizard", None),
], ids=["name", "name-in-any-case", "template-id", "unknown-name"])
def test_role_definition_id(given, expected):
    assert entra_directory_role_assignment.role_definition_id(given) == expected


class TestCertificateFile:
    def test_new_certificate_is_written_0600_and_read_back(self, tmp_path):
        path = str(tmp_path / "keys" / "automation.pem")
        made = _certificate.new_certificate("automation", 30, password="pw")
        _certificate.write_certificate_file(path, made)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert b"ENCRYPTED PRIVATE KEY" in made.pem
        read = _certificate.read_certificate_file(path, "pw")
        assert read.thumbprint == made.thumbprint == _certificate.thumbprint_of(made.der_base64)
        assert 29 < read.valid_days_left() <= 30
        assert not [name for name in os.listdir(os.path.dirname(path)) if name.endswith(".tmp")]

    def test_missing_file_is_none(self, tmp_path):
        assert _certificate.read_certificate_file(str(tmp_path / "none.pem")) is None

    @pytest.mark.parametrize("case, message", [
        ("not-pem", "does not hold a private key and a certificate"),
        ("wrong-password", "cannot be read"),
        ("key-of-another-certificate", "does not belong to its certificate"),
    ])
    def test_unusable_file_is_refused_and_kept(self, tmp_path, case, message):
        path = tmp_path / "automation.pem"
        one = _certificate.new_certificate("one", 30, password="pw")
        if case == "not-pem":
            path.write_text("hello")
        elif case == "wrong-password":
            path.write_bytes(one.pem)
        else:
            other = _certificate.new_certificate("two", 30)
            key = other.pem.split(b"-----BEGIN CERTIFICATE-----")[0]
            path.write_bytes(key + one.pem[one.pem.index(b"-----BEGIN CERTIFICATE-----"):])
        before = path.read_bytes()
        with pytest.raises(_certificate.CertificateError, match=message):
            _certificate.read_certificate_file(str(path), "wrong" if case == "wrong-password" else None)
        assert path.read_bytes() == before

    def test_thumbprint_of_garbage_is_none(self):
        assert _certificate.thumbprint_of("bm90IGEgY2VydA==") is None
