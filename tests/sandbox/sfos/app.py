"""The XML API of one firewall (``/webconsole/APIController``) and its ``/_sandbox/...`` control endpoints.

Checks run in the firewall's order: transport faults, API enabled (532), caller IP allowed (534), well-formed
request (529), login, then each operation. Replies are always HTTP 200 with the status in the XML.
"""

import itertools
import logging
import threading
import xml.etree.ElementTree as ET

from defusedxml import ElementTree as SafeET

from .._http import AppServer, Response, json_response

log = logging.getLogger("sandbox.sfos")
API_PATH = "/webconsole/APIController"
XML_TYPE = "text/xml; charset=UTF-8"
HTML_ERROR = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
              "<p>The proxy server received an invalid response from an upstream server.</p></body></html>")

_connection = threading.local()
_connection_ids = itertools.count(1)


class FirewallServer(AppServer):
    """An AppServer that tags each connection's thread, so the firewall can count connections, not requests."""

    def finish_request(self, request, client_address):
        _connection.id = next(_connection_ids)
        super().finish_request(request, client_address)

    def round_trip_seconds(self):
        return self.app.firewall.round_trip_seconds()


def _reply(api_version, build):
    root = ET.Element("Response", APIVersion=api_version, IPS_CAT_VER="1")
    build(root)
    return Response(200, b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8"),
                    content_type=XML_TYPE)


def _top_status(api_version, code, text):
    def build(root):
        ET.SubElement(root, "Status", code=code).text = text
    return _reply(api_version, build)


class FirewallApp:
    def __init__(self, firewall):
        self.firewall = firewall

    def __call__(self, request):
        if request.path.startswith("/_sandbox/"):
            return self.control(request)  # test-only: no emulated latency
        fw = self.firewall
        response = self.reply(request)
        if not response.drop:
            # The reply leaves one round trip after the request left the client, plus the firewall's own time.
            response.delay += fw.round_trip_seconds()
        return response

    def reply(self, request):
        if request.path != API_PATH:
            return Response(404, "<html><body>Not Found</body></html>", content_type="text/html")
        fw = self.firewall
        fw.note_request(getattr(_connection, "id", None))
        fault = fw.fault
        if fault == "down":
            return Response(drop=True)
        if fault == "html":
            return Response(int(fw.fault_status or 200), HTML_ERROR, content_type="text/html; charset=utf-8")
        if fault == "http500":
            return Response(500, "<html><body><h1>500 Internal Server Error</h1></body></html>",
                            content_type="text/html")
        response, sets = self.api(request)
        response.delay = fw.server_seconds(sets)
        if fault == "slow":
            response.delay += float(fw.slow_seconds)
        return response

    def api(self, request):
        """The reply, and the number of Set operations in the request (they set the firewall's own time)."""
        fw = self.firewall
        version = fw.api_version
        if not fw.api_enabled:
            return _top_status(version, "532", "API operations are not allowed. Enable API Configuration."), 0
        if not fw.allow_api_from_client:
            return _top_status(version, "534", "API operations are not allowed from the requester IP address"), 0
        if request.method == "POST":
            reqxml = request.form().get("reqxml")
        else:
            reqxml = request.query.get("reqxml")
        try:
            root = SafeET.fromstring(reqxml) if reqxml else None
        except (ET.ParseError, ValueError):
            root = None
        if root is None or root.tag != "Request":
            return _top_status(version, "529", "Invalid XML format or the request is not supported."), 0
        if fw.require_api_version and not root.get("APIVersion"):
            return _top_status(version, "529", "There is no API Version"), 0
        login = root.find("Login")
        username = login.findtext("Username") if login is not None else None
        password = login.findtext("Password") if login is not None else None
        if username != fw.username or password != fw.password:
            with fw.lock:
                fw.counters["logins_failed"] += 1

            def failed(reply_root):
                ET.SubElement(ET.SubElement(reply_root, "Login"), "status").text = "Authentication Failure"
            return _reply(version, failed), 0

        def build(reply_root):
            ET.SubElement(ET.SubElement(reply_root, "Login"), "status").text = "Authentication Successful"
            for operation in root:
                if operation.tag == "Login":
                    continue
                for entity in operation:
                    self.operation(reply_root, operation, entity)
        return _reply(version, build), sum(1 for operation in root if operation.tag == "Set")

    def operation(self, reply_root, operation, entity):
        fw = self.firewall
        out = ET.SubElement(reply_root, entity.tag, transactionid=operation.get("transactionid", ""))
        if entity.tag != "Notification":
            if operation.tag == "Get":
                ET.SubElement(out, "Status").text = "No. of records Zero."
            else:
                ET.SubElement(out, "Status", code="529").text = "Input request file is invalid."
            return
        if operation.tag == "Get":
            for tag, text, attributes in fw.read_notification():
                ET.SubElement(out, tag, attributes).text = text
        elif operation.tag == "Set":
            elements = [(child.tag, child.text, dict(child.attrib)) for child in entity]
            code, message = fw.update_notification(elements)
            ET.SubElement(out, "Status", code=code).text = message
        else:
            ET.SubElement(out, "Status", code="529").text = "Input request file is invalid."

    def control(self, request):
        fw = self.firewall
        action = request.path[len("/_sandbox/"):].strip("/")
        if action == "state" and request.method == "GET":
            return json_response(fw.snapshot())
        if action == "reset" and request.method == "POST":
            fw.reset()
            return json_response(fw.snapshot())
        if action == "counters" and request.method == "POST":
            fw.reset_counters()
            return json_response(fw.snapshot())
        if action == "config" and request.method == "POST":
            try:
                changes = request.json() or {}
                fw.configure(changes)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            log.info("%s: config changed (%s)", fw.name, ", ".join(sorted(changes)))
            return json_response(fw.snapshot())
        return json_response({"error": "unknown control endpoint"}, 404)


class FleetControlApp:
    """Test-only endpoints for the whole fleet at once, on a port of their own (``control_url``), so a benchmark
    of thousands of firewalls reads and zeroes every counter in one request instead of one per firewall."""

    def __init__(self, fleet):
        self.fleet = fleet

    def __call__(self, request):
        prefix = "/_sandbox/fleet/"
        action = request.path[len(prefix):].strip("/") if request.path.startswith(prefix) else None
        if action == "state" and request.method == "GET":
            return json_response({"firewalls": [self._summary(fw) for fw in self.fleet]})
        if action in ("counters", "reset") and request.method == "POST":
            for fw in self.fleet:
                if action == "counters":
                    fw.reset_counters()
                else:
                    fw.reset()
            return json_response({"firewalls": len(self.fleet)})
        return json_response({"error": "unknown control endpoint"}, 404)

    @staticmethod
    def _summary(fw):
        snapshot = fw.snapshot()
        return {key: snapshot[key] for key in ("name", "port", "counters", "latency")}
