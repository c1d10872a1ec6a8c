"""AWX: the mailbox's tokens are revoked (a password change, AADSTS50173) after setup. The next setup job fails with
the reason and a new sign-in URL instead of the bare error; the firewalls keep their values; the relaunch with the
address the browser ends on signs in, stores the new refresh token in the credential and on every firewall.

Jobs run as in test_awx_jobs.py (ansible-runner, the collection's credential types), in a sandbox of their own.
"""

import json
import re
import sys
import urllib.parse

import pytest

from tests.integration.test_awx_jobs import (
    MAIL_CREDENTIAL, SETUP_VARS, AwxSite, assert_no_secret_in_events, stdout_of)
from tests.integration.test_playbooks import firewall_state, redeem_as_firewall
from tests.sandbox import browser
from tests.sandbox.client import Sandbox

pytest.importorskip("ansible_runner")

FIREWALLS = 2
AUTHORIZE_URL = re.compile(r"https://127\.0\.0\.1:\d+/\S+/oauth2/v2\.0/authorize\?[^\s\"'\\]+")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    box = Sandbox.start(str(tmp_path_factory.mktemp("awx-revoked-sandbox")), firewalls=FIREWALLS)
    try:
        site = AwxSite(box, str(tmp_path_factory.mktemp("awx-revoked-jobs")))
        first, first_dir = site.run("setup.yml", template_vars=SETUP_VARS)
        assert first.status == "failed", stdout_of(first_dir)
        landed = browser.sign_in(AUTHORIZE_URL.findall(stdout_of(first_dir))[-1], site.mailbox["upn"],
                                 site.mailbox["password"], box.ca_file, follow=False)
        second, second_dir = site.run("setup.yml", template_vars=SETUP_VARS,
                                      launch_vars={"refresh_token_authorization_response": landed})
        assert second.status == "successful", stdout_of(second_dir)
        yield site
    finally:
        box.stop()


def notifications(box):
    return [firewall_state(box, fw)["notification"] for fw in box.services["sfos"]["firewalls"]]


def sign_in_urls(private_data_dir):
    return set(AUTHORIZE_URL.findall(stdout_of(private_data_dir)))


def test_a_revoked_token_fails_the_job_with_a_new_sign_in_url_and_the_relaunch_signs_in(site, tmp_path):
    box = site.box
    old = site.stored_inputs()
    before = notifications(box)
    assert {n["RefreshToken"] for n in before} == {old["refresh_token"]}
    box.microsoft("users/%s/revoke" % site.mailbox["upn"], method="POST")

    failed, failed_dir = site.run("setup.yml", template_vars=SETUP_VARS, verbosity=3)
    assert failed.status == "failed", stdout_of(failed_dir)
    text = stdout_of(failed_dir)
    assert "The stored refresh token of %s no longer works" % site.mailbox["upn"] in text, text
    assert "AADSTS50173" in text and "Sign in as %s at " % site.mailbox["upn"] in text, text
    urls = sign_in_urls(failed_dir)
    assert len(urls) == 1, urls
    url = urls.pop()
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["login_hint"] == site.mailbox["upn"]
    assert notifications(box) == before
    assert site.stored_inputs()["refresh_token"] == old["refresh_token"]
    assert_no_secret_in_events(failed_dir, site.secrets())

    landed = browser.sign_in(url, site.mailbox["upn"], site.mailbox["password"], box.ca_file, follow=False)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)["code"][0]
    relaunch, relaunch_dir = site.run("setup.yml", template_vars=SETUP_VARS,
                                      launch_vars={"refresh_token_authorization_response": landed})
    assert relaunch.status == "successful", stdout_of(relaunch_dir)
    stored = site.stored_inputs()
    assert stored["refresh_token"] != old["refresh_token"] and stored["client_secret"] == old["client_secret"]
    for notification in notifications(box):
        assert notification["RefreshToken"] == stored["refresh_token"]  # sent again, though the secret is the same
    assert redeem_as_firewall(box, notifications(box)[0])[0] == 200
    assert_no_secret_in_events(relaunch_dir, site.secrets() | {code, landed})

    verify, verify_dir = site.run("verify.yml", template_vars={"mailoauth_report_dir": str(tmp_path)})
    assert verify.status == "successful", stdout_of(verify_dir)
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["tenant"] == {"client_secret": "ok", "refresh_token": "ok", "smtp_xoauth2": "ok"}
    assert [row["status"] for row in report["firewalls"]] == ["ok"] * FIREWALLS


def test_a_failure_a_sign_in_cannot_fix_fails_without_a_sign_in_url(site):
    """A wrong client secret in the credential (its first characters, all Entra shows, still fit): the renewal fails
    with AADSTS7000215 as before, with no sign-in URL, and nothing is written."""
    box = site.box
    before = notifications(box)
    with open(site.database, encoding="utf-8") as handle:
        database = json.load(handle)
    inputs = database[MAIL_CREDENTIAL]["inputs"]
    right = inputs["client_secret"]
    inputs["client_secret"] = right[:3] + "".join("x" if char != "x" else "y" for char in right[3:])
    with open(site.database, "w", encoding="utf-8") as handle:
        json.dump(database, handle)
    try:
        failed, failed_dir = site.run("setup.yml", template_vars=SETUP_VARS)
    finally:
        with open(site.database, encoding="utf-8") as handle:
            database = json.load(handle)
        database[MAIL_CREDENTIAL]["inputs"]["client_secret"] = right
        with open(site.database, "w", encoding="utf-8") as handle:
            json.dump(database, handle)
    assert failed.status == "failed", stdout_of(failed_dir)
    text = stdout_of(failed_dir)
    assert "AADSTS7000215" in text, text
    assert not sign_in_urls(failed_dir) and "no longer works" not in text and "Sign in as" not in text, text
    assert notifications(box) == before
    assert_no_secret_in_events(failed_dir, site.secrets())


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
