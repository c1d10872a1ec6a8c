"""The test browser: signs a user in on the emulated login page the way a person would.

``sign_in(authorize_url, username, password, ca_file)`` GETs the authorize URL, fills in the sign-in form, submits
it and returns the redirect's Location (``http://localhost:PORT/?code=..&state=..``). With ``follow=True`` a loopback
http Location is also requested, so it reaches the listener waiting there.

As a command it can stand in for a browser through Python's ``webbrowser`` module (``BROWSER`` env var)::

    BROWSER="python -m tests.sandbox.browser --user notifications@contoso.example --password-file pw --ca-file ca.pem"

The password comes from ``--password-file`` or the ``SANDBOX_BROWSER_PASSWORD`` environment variable, never from
argv (visible in ps). By default the command detaches (``webbrowser`` waits for its browser to exit, while the
caller's loopback listener may only start serving afterwards) and prints errors to stderr.
"""

import argparse
import html.parser
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

LOOPBACK = ("localhost", "127.0.0.1", "::1")


class BrowserError(RuntimeError):
    """The sign-in did not end in a redirect (error page, wrong password shown again...)."""


class _Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.errors = []
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action", "")
        elif tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif attrs.get("id") == "error":
            self._in_error = True

    def handle_endtag(self, tag):
        self._in_error = False

    def handle_data(self, data):
        if self._in_error and data.strip():
            self.errors.append(data.strip())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _open(opener, url, data=None):
    request = urllib.request.Request(url, data=data, headers={"User-Agent": "sandbox-browser/1.0"})
    try:
        with opener.open(request, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode("utf-8", "replace")


def sign_in(authorize_url, username, password, ca_file, follow=False):
    """Sign ``username`` in at ``authorize_url``; return the URL the login page redirects to."""
    context = ssl.create_default_context(cafile=ca_file)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)
    status, headers, body = _open(opener, authorize_url)
    if status in (301, 302, 303):
        location = headers["Location"]
    else:
        form = _Form()
        form.feed(body)
        if form.action is None:
            raise BrowserError("the login page shows no sign-in form (HTTP %d): %s" % (status, " ".join(form.errors)
                                                                                        or body[:300]))
        fields = dict(form.fields, login=username, passwd=password)
        action = urllib.parse.urljoin(authorize_url, form.action)
        status, headers, body = _open(opener, action, urllib.parse.urlencode(fields).encode("ascii"))
        if status not in (301, 302, 303):
            page = _Form()
            page.feed(body)
            raise BrowserError("sign-in did not redirect (HTTP %d): %s" % (status, " ".join(page.errors) or body[:300]))
        location = headers["Location"]
    if follow:
        parts = urllib.parse.urlsplit(location)
        if parts.scheme == "http" and parts.hostname in LOOPBACK:
            plain = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
            for attempt in range(50):  # the caller's listener may still be starting
                try:
                    _open(plain, location)
                    break
                except urllib.error.URLError as exc:
                    if not isinstance(exc.reason, ConnectionRefusedError) or attempt == 49:
                        raise
                    time.sleep(0.1)
    return location


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", help="file holding the password (else env SANDBOX_BROWSER_PASSWORD)")
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--no-follow", action="store_true", help="only print the redirect, do not request it")
    parser.add_argument("--no-detach", action="store_true", help="stay in the foreground")
    args = parser.parse_args(argv)
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as handle:
            password = handle.read().strip()
    else:
        password = os.environ.get("SANDBOX_BROWSER_PASSWORD")
    if not password:
        parser.error("give --password-file or set SANDBOX_BROWSER_PASSWORD")
    if not args.no_detach and os.fork():
        return 0
    try:
        location = sign_in(args.url, args.user, password, args.ca_file, follow=not args.no_follow)
    except (BrowserError, OSError) as exc:
        print("sandbox browser: %s" % exc, file=sys.stderr)
        return 1
    if args.no_follow:
        print(location)
    return 0


if __name__ == "__main__":
    sys.exit(main())
