"""The headless sign-in across two runs: one-time values derived from the state and the client secret."""

import re
import urllib.parse

import pytest
from msal.oauth2cli.oauth2 import _generate_pkce_code_verifier
from msal.oauth2cli.oidc import _nonce_hash

from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import IdentityError
from ansible_collections.mailoauth.sophos.plugins.module_utils.oauth import (
    derived_secrets,
    msal_flow_scope,
    new_state,
    nonce_hash,
    pkce_challenge,
    rebuild_flow,
    sign_in_binding,
    sign_in_positions,
    split_addresses,
    state_is_ours,
    with_derived_secrets,
)

SECRET = "Xy8Q~example-client-secret-value-0123456789"
OTHER_SECRET = "Ab3Q~another-client-secret-value-9876543210"
RFC7636_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
SCOPES = ["https://outlook.office365.com/.default", "offline_access"]


def test_derivation_is_deterministic():
    state = new_state(SECRET)
    assert derived_secrets(SECRET, state) == derived_secrets(SECRET, state)


def test_derivation_differs_per_state_and_per_secret():
    first, second = new_state(SECRET), new_state(SECRET)
    assert first != second
    values = {derived_secrets(SECRET, first), derived_secrets(SECRET, second), derived_secrets(OTHER_SECRET, first)}
    assert len(values) == 3


def test_verifier_and_nonce_are_distinct_and_follow_rfc7636():
    verifier, nonce = derived_secrets(SECRET, new_state(SECRET))
    assert verifier != nonce
    assert RFC7636_VERIFIER.match(verifier) and len(verifier) == 43
    assert RFC7636_VERIFIER.match(nonce)


def test_challenge_and_nonce_hash_are_computed_as_msal_does():
    pkce = _generate_pkce_code_verifier()
    assert pkce_challenge(pkce["code_verifier"]) == pkce["code_challenge"].decode("ascii")
    assert nonce_hash("some-nonce") == _nonce_hash("some-nonce")


def test_state_is_random_url_safe_and_tagged():
    states = {new_state(SECRET) for dummy in range(20)}
    assert len(states) == 20
    for state in states:
        assert re.match(r"^[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{22}$", state)
        assert state_is_ours(SECRET, state)


def _flip(char):
    return "B" if char == "A" else "A"


@pytest.mark.parametrize("make", [
    lambda s: _flip(s[0]) + s[1:],
    lambda s: s[:-1] + _flip(s[-1]),
    lambda s: s[:-3],
    lambda s: s.split(".")[0],
    lambda s: new_state(OTHER_SECRET),
    lambda s: "hXqSyFJdIlgDbmvoPMmTyw",
    lambda s: "",
    lambda s: None,
], ids=["random-part-altered", "tag-altered", "truncated", "tag-removed", "made-with-another-secret",
        "msal-random-state", "empty", "missing"])
def test_foreign_or_tampered_state_is_refused(make):
    assert not state_is_ours(SECRET, make(new_state(SECRET)))


def test_no_secret_recognises_no_state():
    assert not state_is_ours("", new_state(SECRET))


TENANT_A = sign_in_binding("alerts@contoso.com")
TENANT_B = sign_in_binding("alerts@fabrikam.com")


@pytest.mark.parametrize("other", [
    TENANT_B,
    sign_in_binding("other@contoso.com"),
    "",
], ids=["another-tenants-mailbox", "another-mailbox-same-tenant", "unbound"])
def test_state_of_one_tenants_sign_in_is_refused_for_another_with_the_same_app_and_secret(other):
    # Two tenants consenting to one multitenant app share its client id and secret: only the binding tells them apart.
    state = new_state(SECRET, binding=TENANT_A)
    assert state_is_ours(SECRET, state, TENANT_A)
    assert not state_is_ours(SECRET, state, other)
    with pytest.raises(IdentityError, match="app and mailbox"):
        rebuild_flow(SECRET, state, "http://localhost/", SCOPES, other)


def test_binding_ignores_the_case_of_the_mailbox():
    state = new_state(SECRET, binding=sign_in_binding("Alerts@Contoso.com"))
    assert state_is_ours(SECRET, state, sign_in_binding("alerts@contoso.com"))


def _redirect(state, code="0.AAAA-code"):
    return "http://localhost/?" + urllib.parse.urlencode({"code": code, "state": state, "session_state": "s"})


def test_each_tenant_finds_only_its_own_address_among_several_pasted():
    pasted = "%s\n  %s\n%s " % (_redirect(new_state(SECRET, binding=TENANT_B)), "not-an-address",
                                _redirect(new_state(SECRET, binding=TENANT_A)))
    assert sign_in_positions(pasted, SECRET, TENANT_A) == [3]
    assert sign_in_positions(pasted, SECRET, TENANT_B) == [1]
    assert sign_in_positions(pasted, OTHER_SECRET, TENANT_A) == []
    assert sign_in_positions("", SECRET, TENANT_A) == []
    assert sign_in_positions(None, SECRET, TENANT_A) == []


def test_addresses_pasted_without_a_separator_are_told_apart():
    # A browser's password field (AWX's survey type password) drops the line breaks of a multi-line paste.
    first, second = _redirect(new_state(SECRET, binding=TENANT_A)), _redirect(new_state(SECRET, binding=TENANT_B))
    assert split_addresses(first + second) == [first, second]
    assert split_addresses(" %s\r\n%s\n" % (first, second)) == [first, second]
    assert sign_in_positions(first + second, SECRET, TENANT_B) == [2]


def test_a_refused_sign_in_still_belongs_to_its_tenant():
    # Entra sends the state back with error=access_denied too: the tenant gets the reason, not "matches no tenant".
    state = new_state(SECRET, binding=TENANT_A)
    refused = "http://localhost/?" + urllib.parse.urlencode({"error": "access_denied", "state": state})
    assert sign_in_positions(refused, SECRET, TENANT_A) == [1]


def _msal_like_flow(state):
    query = urllib.parse.urlencode([
        ("client_id", "c1"), ("response_type", "code"), ("redirect_uri", "http://localhost/"),
        ("scope", "https://outlook.office365.com/.default offline_access openid profile"), ("state", state),
        ("code_challenge", "random-challenge"), ("code_challenge_method", "S256"), ("nonce", "random-nonce-hash"),
        ("login_hint", "alerts@contoso.com"), ("client_info", "1"), ("response_mode", "query")])
    return {"auth_uri": "https://login.example/common/oauth2/v2.0/authorize?" + query, "state": state,
            "redirect_uri": "http://localhost/",
            "scope": ["offline_access", "openid", "profile", "https://outlook.office365.com/.default"],
            "code_verifier": "random-verifier", "nonce": "random-nonce", "claims_challenge": None}


def test_url_carries_the_derived_challenge_and_nonce_and_nothing_else_changes():
    state = new_state(SECRET)
    original = _msal_like_flow(state)
    flow = with_derived_secrets(original, SECRET)
    verifier, nonce = derived_secrets(SECRET, state)
    assert (flow["code_verifier"], flow["nonce"]) == (verifier, nonce)
    before = urllib.parse.parse_qsl(urllib.parse.urlsplit(original["auth_uri"]).query)
    after = urllib.parse.parse_qsl(urllib.parse.urlsplit(flow["auth_uri"]).query)
    assert [key for key, dummy in after] == [key for key, dummy in before]
    changed = {key: value for (key, value), (dummy, old) in zip(after, before) if value != old}
    assert changed == {"code_challenge": pkce_challenge(verifier), "nonce": nonce_hash(nonce)}
    assert verifier not in flow["auth_uri"] and nonce not in flow["auth_uri"]
    assert SECRET not in flow["auth_uri"]


def test_url_without_pkce_is_refused():
    flow = _msal_like_flow(new_state(SECRET))
    flow["auth_uri"] = flow["auth_uri"].replace("code_challenge", "other")
    with pytest.raises(IdentityError) as err:
        with_derived_secrets(flow, SECRET)
    assert err.value.code == "msal"


def test_rebuilt_flow_matches_the_one_that_made_the_url():
    state = new_state(SECRET)
    made = with_derived_secrets(_msal_like_flow(state), SECRET)
    rebuilt = rebuild_flow(SECRET, state, "http://localhost/", SCOPES)
    for key in ("state", "redirect_uri", "code_verifier", "nonce", "claims_challenge"):
        assert rebuilt[key] == made[key], key
    assert sorted(rebuilt["scope"]) == sorted(made["scope"])


def test_flow_scope_is_what_msal_decorates():
    assert sorted(msal_flow_scope(SCOPES)) == ["https://outlook.office365.com/.default", "offline_access", "openid",
                                               "profile"]


@pytest.mark.parametrize("secret, state", [
    (SECRET, "hXqSyFJdIlgDbmvoPMmTyw"),
    (OTHER_SECRET, None),
], ids=["state-not-made-here", "client-secret-changed-since-the-url"])
def test_rebuild_refuses_a_foreign_state_naming_the_fix(secret, state):
    with pytest.raises(IdentityError) as err:
        rebuild_flow(secret, state or new_state(SECRET), "http://localhost/", SCOPES)
    assert err.value.code == "authorization_response"
    assert "for a new sign-in URL" in err.value.hint
    assert SECRET not in str(err.value) and OTHER_SECRET not in str(err.value)
