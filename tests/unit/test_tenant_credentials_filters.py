"""The several-tenants AWX mail credential: one tenant's entry read, the whole field made for the write-back."""

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailoauth.sophos.plugins.filter.sign_in_positions import sign_in_addresses
from ansible_collections.mailoauth.sophos.plugins.filter.sign_in_positions import sign_in_positions
from ansible_collections.mailoauth.sophos.plugins.filter.tenant_credentials import (
    tenant_credentials,
    tenant_credentials_merged,
)

STORED = yaml.safe_dump({
    "customer_a": {"client_id": "app-a", "client_secret": "secret-a", "refresh_token": "token-a",
                   "client_secret_key_id": "key-a", "refresh_token_issued": "2026-11-01T00:00:00Z"},
    "customer_b": {"client_id": "app-b", "client_secret": "secret-b"},
})
RUN = [{"label": "customer_a", "lead": "fw1"}, {"label": "customer_b", "lead": "fw3"}]


def test_each_tenant_reads_its_own_entry_and_a_new_tenant_none():
    assert tenant_credentials(STORED, "customer_b") == {"client_id": "app-b", "client_secret": "secret-b"}
    assert tenant_credentials(STORED, "customer_a")["refresh_token"] == "token-a"
    assert tenant_credentials(STORED, "customer_c") == {}
    for empty in (None, "", "   \n"):
        assert tenant_credentials(empty, "customer_a") == {}


@pytest.mark.parametrize("text", [
    "customer_a: [secret-a-value",
    "just-a-secret-value",
    "- secret-a-value",
    "customer_a: secret-a-value",
], ids=["not-yaml", "a-string", "a-list", "an-entry-not-a-mapping"])
def test_a_field_that_is_not_a_mapping_of_tenants_is_refused_without_showing_it(text):
    with pytest.raises(AnsibleFilterError, match="not a YAML mapping of tenant labels") as raised:
        tenant_credentials(text, "customer_a")
    assert "secret-a-value" not in str(raised.value)


def test_the_write_back_overlays_this_runs_tenants_and_keeps_the_others():
    stored = yaml.safe_dump(dict(yaml.safe_load(STORED), customer_z={"client_secret": "secret-z"}))
    hostvars = {
        # customer_a renewed its token only: the stored one stays (setup), the new secret is taken.
        "fw1": {"mailoauth_client_id": "app-a", "mailoauth_client_secret": "secret-a2",
                "mailoauth_client_secret_key_id": "key-a2", "mailoauth_refresh_token": "renewed-a",
                "refresh_token_result": {"mode": "refresh_token", "refresh_token": "renewed-a"}},
        # customer_b signed in: its new token is taken.
        "fw3": {"mailoauth_client_id": "app-b", "mailoauth_client_secret": "secret-b",
                "mailoauth_refresh_token": "signed-in-b", "mailoauth_refresh_token_issued": "2026-12-01T10:00:00Z",
                "refresh_token_result": {"mode": "authorization_response", "refresh_token": "signed-in-b"}},
    }
    merged = tenant_credentials_merged(stored, RUN, hostvars)
    assert merged["customer_a"] == {"client_id": "app-a", "client_secret": "secret-a2", "client_secret_key_id": "key-a2",
                                    "refresh_token": "token-a", "refresh_token_issued": "2026-11-01T00:00:00Z"}
    assert merged["customer_b"] == {"client_id": "app-b", "client_secret": "secret-b", "refresh_token": "signed-in-b",
                                    "refresh_token_issued": "2026-12-01T10:00:00Z"}
    assert merged["customer_z"] == {"client_secret": "secret-z"}
    # A rotation keeps the token renewed with the new secret.
    assert tenant_credentials_merged(stored, RUN, hostvars, renewed_tokens=True)["customer_a"]["refresh_token"] == (
        "renewed-a")


def test_a_lead_that_failed_after_creating_a_secret_still_has_it_kept():
    hostvars = {"fw1": {"mailoauth_client_id": "app-a", "mailoauth_client_secret": "new-secret-a"}, "fw3": {}}
    merged = tenant_credentials_merged(None, RUN, hostvars)
    assert merged == {"customer_a": {"client_id": "app-a", "client_secret": "new-secret-a"}}


def test_the_filters_take_the_answer_as_one_string():
    assert sign_in_addresses("http://localhost/?a=1  http://localhost/?b=2") == [
        "http://localhost/?a=1", "http://localhost/?b=2"]
    with pytest.raises(AnsibleFilterError, match="one string"):
        sign_in_positions(["http://localhost/?a=1"], "secret", "a@contoso.com")
