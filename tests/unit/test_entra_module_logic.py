"""The compare/plan logic of the entra_* modules, as pure functions."""

import datetime

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils.graph import application_view, secret_view
from ansible_collections.mailoauth.sophos.plugins.modules import entra_admin_consent, entra_app, entra_app_secret

GRAPH = "00000003-0000-0000-c000-000000000000"
SMTP_SEND = {"id": "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "type": "Scope"}
OFFLINE = {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "type": "Scope"}
USER_READ_ALL_ROLE = {"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role"}

APP = {
    "id": "o1", "appId": "a1", "displayName": "FW mail", "uniqueName": "fw-mail",
    "signInAudience": "AzureADMultipleOrgs",
    "web": {"redirectUris": ["https://outlook.office365.com/"], "homePageUrl": None,
            "redirectUriSettings": [{"uri": "https://outlook.office365.com/", "index": None}]},
    "requiredResourceAccess": [
        {"resourceAppId": GRAPH, "resourceAccess": [SMTP_SEND, OFFLINE, USER_READ_ALL_ROLE]},
        {"resourceAppId": "00000002-0000-0ff1-ce00-000000000000",
         "resourceAccess": [{"id": "dc50a0fb-09a3-484d-be87-e023b12c6440", "type": "Role"}]},
    ],
}


def app_params(**overrides):
    values = {"display_name": "FW mail", "unique_name": "fw-mail", "app_id": None,
              "sign_in_audience": "AzureADMultipleOrgs", "redirect_uris": ["https://outlook.office365.com/"],
              "delegated_permissions": ["SMTP.Send", "offline_access"], "state": "present"}
    values.update(overrides)
    return values


class TestEntraApp:
    def test_view_reads_the_managed_settings_with_scope_names(self):
        assert application_view(APP) == {
            "display_name": "FW mail", "unique_name": "fw-mail", "sign_in_audience": "AzureADMultipleOrgs",
            "redirect_uris": ["https://outlook.office365.com/"], "delegated_permissions": ["SMTP.Send", "offline_access"]}

    def test_same_settings_in_another_order_are_no_change(self):
        current = application_view(APP)
        wanted = entra_app.wanted_view(app_params(delegated_permissions=["offline_access", "SMTP.Send"]), current)
        assert entra_app.differing_fields(current, wanted) == []

    @pytest.mark.parametrize("overrides, fields", [
        ({"display_name": "Renamed"}, ["display_name"]),
        ({"sign_in_audience": "AzureADMyOrg"}, ["sign_in_audience"]),
        ({"redirect_uris": ["https://outlook.office365.com/", "http://localhost/"]}, ["redirect_uris"]),
        ({"delegated_permissions": ["SMTP.Send"]}, ["delegated_permissions"]),
    ], ids=["renamed", "single-tenant", "loopback-uri-added", "offline-access-dropped"])
    def test_only_what_differs_is_changed(self, overrides, fields):
        current = application_view(APP)
        wanted = entra_app.wanted_view(app_params(**overrides), current)
        assert entra_app.differing_fields(current, wanted) == fields
        body = entra_app.graph_body(fields, wanted, APP)
        assert len(body) == 1

    def test_redirect_change_keeps_the_rest_of_web_and_drops_read_only_settings(self):
        wanted = entra_app.wanted_view(app_params(redirect_uris=["http://localhost/"]), application_view(APP))
        body = entra_app.graph_body(["redirect_uris"], wanted, APP)
        assert body == {"web": {"redirectUris": ["http://localhost/"], "homePageUrl": None}}

    def test_permission_change_keeps_app_roles_and_other_resources(self):
        access = entra_app.required_resource_access(APP, ["SMTP.Send"])
        graph = next(e for e in access if e["resourceAppId"] == GRAPH)
        assert graph["resourceAccess"] == [USER_READ_ALL_ROLE, SMTP_SEND]
        assert len(access) == 2
        assert APP["requiredResourceAccess"][0]["resourceAccess"] == [SMTP_SEND, OFFLINE, USER_READ_ALL_ROLE]

    def test_new_app_body_has_everything(self):
        wanted = entra_app.wanted_view(app_params(), {})
        body = entra_app.graph_body(list(wanted), wanted, None)
        assert body == {"displayName": "FW mail", "signInAudience": "AzureADMultipleOrgs",
                        "web": {"redirectUris": ["https://outlook.office365.com/"]},
                        "requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": [SMTP_SEND, OFFLINE]}]}

    @pytest.mark.parametrize("overrides, words", [
        ({"display_name": None}, "display_name is required"),
        ({"redirect_uris": ["http://example.com/"]}, "redirect_uris entry 'http://example.com/'"),
        ({"redirect_uris": ["outlook.office365.com"]}, "must be https://"),
        ({"delegated_permissions": ["Mail.send"]}, "delegated_permissions Mail.send unknown"),
    ], ids=["present-without-name", "http-not-loopback", "not-a-url", "misspelt-permission"])
    def test_bad_input(self, overrides, words):
        assert any(words in problem for problem in entra_app.validate(app_params(**overrides)))

    @pytest.mark.parametrize("uri", ["https://outlook.office365.com/", "http://localhost/", "http://localhost:53682/",
                                     "http://127.0.0.1/"], ids=["runbook", "loopback", "loopback-port", "loopback-ip"])
    def test_good_redirect_uris(self, uri):
        assert entra_app.validate(app_params(redirect_uris=[uri])) == []

    def test_default_unique_name_is_a_slug_of_the_display_name(self):
        assert entra_app.default_unique_name("Sophos Firewall: SMTP (OAuth)") == "mailoauth-sophos-firewall-smtp-oauth"


class TestConsent:
    RESOURCE = "graph-sp"

    def grant(self, grant_id, scope, resource=RESOURCE, consent="AllPrincipals"):
        return {"id": grant_id, "scope": scope, "resourceId": resource, "consentType": consent}

    @pytest.mark.parametrize("grants, scopes, steps", [
        ([], ["SMTP.Send", "offline_access"], [("create", None, "SMTP.Send offline_access")]),
        (["g1:offline_access SMTP.Send"], ["SMTP.Send", "offline_access"], []),
        (["g1:SMTP.Send"], ["SMTP.Send", "offline_access"], [("update", "g1", "SMTP.Send offline_access")]),
        (["g1:SMTP.Send offline_access Mail.Send"], ["SMTP.Send", "offline_access"],
         [("update", "g1", "SMTP.Send offline_access")]),
        (["g1:SMTP.Send offline_access"], [], [("delete", "g1", None)]),
        (["g1:SMTP.Send offline_access", "g2:SMTP.Send"], ["SMTP.Send", "offline_access"], [("delete", "g2", None)]),
    ], ids=["no-grant-creates-one", "same-scopes-in-any-order-is-no-change", "missing-scope-is-added",
            "extra-scope-is-revoked", "empty-scopes-revoke-the-grant", "duplicate-grant-is-removed"])
    def test_plan(self, grants, scopes, steps):
        grants = [self.grant(*g.split(":")) for g in grants]
        assert entra_admin_consent.plan_consent(grants, self.RESOURCE, scopes) == steps

    def test_user_consents_and_other_resources_are_left_alone(self):
        grants = [self.grant("u1", "SMTP.Send", consent="Principal"), self.grant("x1", "Foo", resource="other")]
        assert entra_admin_consent.plan_consent(grants, self.RESOURCE, []) == []

    def test_unknown_scope_detected_from_the_resources_offer(self):
        resource = {"oauth2PermissionScopes": [{"value": "SMTP.Send"}, {"value": "offline_access"}]}
        assert entra_admin_consent.unknown_scopes(resource, ["SMTP.Send", "Mail.send"]) == ["Mail.send"]


NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)


def cred(key_id, start_days_ago, expires_in_days, name="mailoauth.sophos"):
    start = NOW - datetime.timedelta(days=start_days_ago)
    end = NOW + datetime.timedelta(days=expires_in_days)
    return {"keyId": key_id, "displayName": name, "hint": "abc", "secretText": None,
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"), "endDateTime": end.isoformat()}


def secret_params(**overrides):
    values = {"display_name": "mailoauth.sophos", "valid_days": 180, "min_valid_days": 30, "rotate": False,
              "remove_older_than": None, "remove_key_ids": []}
    values.update(overrides)
    return values


class TestSecretContract:
    def plan(self, creds, **overrides):
        create, newest, remove = entra_app_secret.plan_secret(creds, secret_params(**overrides), NOW)
        return create, newest and newest["keyId"], remove

    @pytest.mark.parametrize("creds, overrides, expected", [
        ([], {}, (True, None, [])),
        ([cred("k1", 10, 170)], {}, (False, "k1", [])),
        ([cred("k1", 170, 10)], {}, (True, None, [])),
        ([cred("k1", 10, 170, name="someone else's")], {}, (True, None, [])),
        ([cred("k1", 10, 170)], {"rotate": True}, (True, None, [])),
        ([cred("k1", 100, 80), cred("k2", 10, 170)], {}, (False, "k2", [])),
        ([cred("k1", 100, 80), cred("k2", 10, 170)], {"remove_older_than": 30}, (False, "k2", ["k1"])),
        ([cred("k1", 100, 80), cred("k2", 40, 140)], {"remove_older_than": 30}, (False, "k2", ["k1"])),
        ([cred("k1", 10, 170)], {"remove_key_ids": ["k1", "gone"]}, (False, "k1", [])),
        ([cred("k1", 10, 170)], {"rotate": True, "remove_key_ids": ["k1"]}, (True, None, ["k1"])),
        ([cred("k1", 10, 170), cred("x", 5, 100, name="manual")], {"remove_key_ids": ["x"]}, (False, "k1", ["x"])),
    ], ids=["none-yet-creates", "usable-one-is-kept", "expiring-soon-creates", "only-our-description-counts",
            "rotate-always-creates", "newest-usable-is-reported", "old-ones-removed-on-request",
            "never-the-newest-even-if-old", "newest-is-never-removed-by-id", "after-rotation-the-old-one-may-go",
            "any-secret-removed-by-id"])
    def test_contract(self, creds, overrides, expected):
        assert self.plan(creds, **overrides) == expected

    @staticmethod
    def hinted(key_id, hint, start_days_ago=10, expires_in_days=170):
        return dict(cred(key_id, start_days_ago, expires_in_days), hint=hint)

    @pytest.mark.parametrize("creds, overrides, expected", [
        (["k1:abc"], {"current_secret": ""}, (True, None, [])),
        (["k1:abc", "k2:xyz"], {"current_secret": "abc-value"}, (False, "k1", [])),
        (["k1:abc", "k2:xyz"], {"current_secret": "abc-value", "current_key_id": "k1"}, (False, "k1", [])),
        (["k1:abc", "k2:abc"], {"current_secret": "abc-value", "current_key_id": "k1"}, (False, "k1", [])),
        (["k1:abc", "k2:xyz"], {"current_secret": "abc-value", "current_key_id": "k2"}, (True, None, [])),
        (["k1:abc"], {"current_secret": "lost-value"}, (True, None, [])),
        (["k1:abc"], {"current_secret": "abc-value", "rotate": True}, (True, None, [])),
        (["k1:abc", "k2:xyz"], {"current_secret": "abc-value", "remove_key_ids": ["k1", "k2"]}, (False, "k1", ["k2"])),
    ], ids=["nothing-held-creates", "held-one-is-kept-not-the-newest", "recorded-key-id-decides",
            "recorded-key-id-tells-same-hints-apart", "stale-key-id-counts-as-not-held", "lost-value-creates",
            "rotate-creates-even-when-held", "held-one-is-never-removed"])
    def test_held_value_contract(self, creds, overrides, expected):
        creds = [self.hinted(*c.split(":"), start_days_ago=20 - i) for i, c in enumerate(creds)]
        assert self.plan(creds, **overrides) == expected

    def test_held_secret_near_expiry_is_replaced(self):
        creds = [self.hinted("k1", "abc", 170, 10)]
        assert self.plan(creds, current_secret="abc-value") == (True, None, [])

    @pytest.mark.parametrize("overrides, words", [
        ({"min_valid_days": 180}, "min_valid_days (180) must be less than valid_days (180)"),
        ({"valid_days": 0, "min_valid_days": 0}, "valid_days must be at least 1"),
        ({"remove_older_than": -1}, "remove_older_than must not be negative"),
    ], ids=["min-not-below-validity", "zero-validity", "negative-age"])
    def test_bad_input(self, overrides, words):
        assert any(words in problem for problem in entra_app_secret.validate(secret_params(**overrides)))

    def test_secret_view_never_carries_a_value(self):
        view = secret_view(dict(cred("k1", 1, 1), secretText="value!"))
        assert "value!" not in repr(view)
