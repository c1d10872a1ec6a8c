"""The test browser as a command: what ``make demo`` and the loopback mode use in place of a person."""

import http.server
import os
import subprocess
import sys
import threading
import urllib.parse

import pytest

from tests.sandbox.microsoft.harness import EXCHANGE_DEFAULT, Harness

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    emulator = Harness(str(tmp_path_factory.mktemp("microsoft")))
    yield emulator
    emulator.close()


@pytest.fixture
def listener():
    """A loopback redirect listener like the one the refresh-token module runs."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            received.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def run_browser(ms, url, user, env_password, *extra):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, SANDBOX_BROWSER_PASSWORD=env_password)
    return subprocess.run([sys.executable, "-m", "tests.sandbox.browser", "--no-detach", "--user", user, "--ca-file",
                           ms.ca_file, *extra, url], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_browser_command_delivers_the_code_to_the_loopback_listener(ms, listener):
    port, received = listener
    app, dummy = ms.register_web_app()
    query = urllib.parse.urlencode({"client_id": app["appId"], "response_type": "code", "state": "xyz",
                                    "redirect_uri": "http://127.0.0.1:%d/" % port, "scope": EXCHANGE_DEFAULT})
    app_uris = ms.session(ms.app_token()).patch(ms.graph + "/applications/%s" % app["id"], json={
        "web": {"redirectUris": ["http://127.0.0.1/"]}})
    assert app_uris.status_code == 204
    user = ms.ready["mailbox"]
    done = run_browser(ms, "%s/common/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], query), user["upn"],
                       user["password"])
    assert done.returncode == 0, done.stderr
    assert len(received) == 1 and received[0]["state"] == "xyz" and received[0]["code"]
    assert user["password"] not in done.stdout + done.stderr


def test_browser_command_reports_a_wrong_password(ms):
    app, dummy = ms.register_web_app()
    query = urllib.parse.urlencode({"client_id": app["appId"], "response_type": "code", "state": "xyz",
                                    "redirect_uri": "http://localhost:1/", "scope": EXCHANGE_DEFAULT})
    done = run_browser(ms, "%s/common/oauth2/v2.0/authorize?%s" % (ms.ready["login_url"], query),
                       ms.ready["mailbox"]["upn"], "wrong-password", "--no-follow")
    assert done.returncode == 1
    assert "AADSTS50126" in done.stderr and "wrong-password" not in done.stderr
