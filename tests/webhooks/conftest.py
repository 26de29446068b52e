"""A local webhook receiver over real HTTP (a threaded http.server), and endpoints pointing
at it. WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on here (the receiver listens on 127.0.0.1)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.messaging.conftest import kaleyra  # noqa: F401 - the fake Kaleyra settings


class Receiver:
    """Answers each POST with the next scripted status (then `default`), keeps every request
    (headers, raw body), and can hold requests until released (a worker killed mid-POST)."""

    def __init__(self):
        self.requests = []
        self.script = []
        self.default = 200
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.hold.set()  # set: answer at once
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.script.pop(0) if receiver.script else receiver.default
                receiver.arrived.set()
                receiver.hold.wait(60)
                answer = json.dumps({"received": True, "status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                try:
                    self.wfile.write(answer)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        with self.lock:
            return [json.loads(request["body"]) for request in self.requests]

    def stop(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def no_kick(monkeypatch):
    """Count the on-commit kicks instead of publishing to the broker (tests run deliveries
    themselves)."""
    kicks = []
    monkeypatch.setattr("common.outbound.services.outbound_deliver_kick", lambda: kicks.append(1))
    return kicks
