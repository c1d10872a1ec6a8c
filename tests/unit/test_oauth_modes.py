"""Which sign-in oauth_refresh_token picks when mode=auto: never the password grant."""

import pytest

from ansible_collections.mailoauth.sophos.plugins.action.oauth_refresh_token import choose_mode


@pytest.mark.parametrize("params, expected", [
    ({"mode": "auto", "refresh_token": "rt", "authorization_response": "https://x/?code=c"}, "refresh_token"),
    ({"mode": "auto", "authorization_response": "https://x/?code=c"}, "authorization_response"),
    ({"mode": "auto", "username": "u", "password": "p"}, "loopback"),
    ({"mode": "auto"}, "loopback"),
    ({"mode": "password", "refresh_token": "rt"}, "password"),
], ids=["stored-token-wins", "pasted-redirect", "password-never-automatic", "nothing-given-means-loopback",
        "explicit-mode-is-kept"])
def test_choose_mode(params, expected):
    assert choose_mode(params) == expected
