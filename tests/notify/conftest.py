"""Local servers speaking the providers' protocols: each checks the request signing as the provider
does and answers as the provider would, so the adapters are tested end to end over real HTTP/SMTP."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from backend.notify.providers import aliyun_rpc_signature
from tests.safety.conftest import checkin  # noqa: F401  (safety's check-in fixture, for the alert tests)

WEBHOOK_SECRET = "test-webhook-secret"
ALIYUN_ID, ALIYUN_SECRET = "test-access-key", "test-access-secret"
TWILIO_SID, TWILIO_TOKEN = "AC0123456789abcdef", "twilio-token"
JPUSH_KEY, JPUSH_SECRET = "jpush-app-key", "jpush-master-secret"


class ProviderServer:
    """A threaded HTTP server; `plan` decides each answer, every request is kept for the test."""

    def __init__(self, handle):
        self.handle = handle
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                status, answer = server.handle(request)
                with server.lock:
                    server.requests.append({**request, "status": status})
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the delivery pool opens dozens of connections at once

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Webhook:
    """Our webhook receiver: refuses a bad signature (401); `fail` maps a delivery id to how many
    times to answer 500 first (-1: always)."""

    def __init__(self):
        self.fail: dict[int, int] = {}
        self.default_failures = 0
        self.delivered: list[dict] = []
        self.seen = Counter()

    def __call__(self, request):
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request["headers"].get("X-FieldTrace-Signature", ""), expected):
            return 401, {"error": "bad signature"}
        message = json.loads(request["body"])
        self.seen[message["id"]] += 1
        left = self.fail.get(message["id"], self.default_failures)
        if left == -1 or left > 0:
            if left > 0:
                self.fail[message["id"]] = left - 1
            return 500, {"error": "down"}
        self.delivered.append(message)
        return 200, {"ok": True}

    def delivered_ids(self) -> Counter:
        return Counter(m["id"] for m in self.delivered)


def webhook_config(url: str) -> dict:
    return {"NOTIFY_WEBHOOK_URL": url + "/hook", "NOTIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
            **{f"NOTIFY_{c}_PROVIDER": "webhook" for c in ("PUSH", "SMS", "VOICE", "EMAIL")},
            "NOTIFY_SMS_PROVIDER_CN": None, "NOTIFY_VOICE_PROVIDER_CN": None}


@pytest.fixture
def webhook(app, monkeypatch):
    """Every channel delivered through the webhook provider to a local receiver."""
    receiver = Webhook()
    server = ProviderServer(receiver)
    for key, value in webhook_config(server.url).items():
        monkeypatch.setitem(app.config, key, value)
    receiver.server = server
    yield receiver
    server.close()


def aliyun_handler(response: dict):
    """Alibaba Cloud's RPC gateway: recompute the V2 signature over every parameter, 400 if it differs."""

    def handle(request):
        params = dict(parse_qsl(urlsplit(request["path"]).query, keep_blank_values=True))
        params.update(dict(parse_qsl(request["body"].decode(), keep_blank_values=True)))
        if params.get("AccessKeyId") != ALIYUN_ID or params.get("Signature") != aliyun_rpc_signature(
                "POST", params, ALIYUN_SECRET):
            return 400, {"RequestId": "r1", "Code": "SignatureDoesNotMatch", "Message": "signature mismatch"}
        return 200, {"RequestId": "r1", **response}

    return handle


def basic_auth_ok(request, user: str, password: str) -> bool:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return request["headers"].get("Authorization") == expected


@pytest.fixture
def provider_server():
    servers = []

    def start(handle) -> ProviderServer:
        server = ProviderServer(handle)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
