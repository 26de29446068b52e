"""The sandbox as an HTTP server: KaleyraSandbox (its state, start and stop, made of the send
API, payments and callbacks parts) and the request handler that routes the send API, Get Payment
Status and the /_sandbox/ control endpoints."""

import json
import queue
import random
import re
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from .callbacks import Callbacks
from .config import FAULTS, SandboxConfig
from .payments import PayError, Payments
from .send import SendApi, require

PATH = re.compile(r"^/v2/(?P<sid>[^/]+)/whatsapp/(?P<number>[^/]+)/messages/?$")
PAYMENT_STATUS_PATH = re.compile(
    r"^/v1/(?P<sid>[^/]+)/wrapper/[^/]+/payments/[^/]+/(?P<reference_id>[^/]+)/?$"
)


class KaleyraSandbox(SendApi, Payments, Callbacks):
    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self.lock = threading.Lock()
        self.messages = []  # accepted, in order
        self.callbacks = []  # posted: status, message_id, http answer
        self.payments = {}  # reference_id -> payment updates posted, in order
        self.requests = 0
        self.forced = []  # faults for the next requests
        self.random = random.Random(self.config.seed)
        self._callback_queue = queue.Queue()
        self.server = None
        self._threads = []

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, *, host: str = "127.0.0.1", port: int = 0, callback_threads: int = 4):
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        serve = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        serve.start()
        self._threads.append(serve)
        for _ in range(callback_threads):
            worker = threading.Thread(target=self._callback_worker, daemon=True)
            worker.start()
            self._threads.append(worker)
        return self

    def stop(self):
        """Stop answering and stop posting: callbacks not posted yet are dropped, and the one
        being posted is finished before this returns (a test's database goes away next)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        while True:
            try:
                self._callback_queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:
            self._callback_queue.put(None)
        for thread in self._threads:
            thread.join(timeout=15)

    def reset(self):
        with self.lock:
            self.messages.clear()
            self.callbacks.clear()
            self.payments.clear()
            self.forced.clear()
            self.requests = 0


class _Handler(BaseHTTPRequestHandler):
    sandbox: KaleyraSandbox = None
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status, body, headers=None):
        if isinstance(body, str):
            data, content_type = body.encode(), "text/html"
        else:
            data, content_type = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        # Headers and body in one write (two small writes meet the client's delayed ACK).
        self._headers_buffer.extend([b"\r\n", data])
        self.flush_headers()

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_POST(self):  # noqa: N802 - the stdlib's name
        raw = self._body()
        url = urlparse(self.path)
        if url.path.startswith("/_sandbox/"):
            return self._control(url, raw)
        match = PATH.match(url.path)
        if not match:
            return self._answer(404, {"code": "404", "message": "Not found"})
        sandbox = self.sandbox
        config = sandbox.config
        status, body, fault = sandbox.handle_send(
            sid=match["sid"], number=match["number"], headers=self.headers, raw=raw
        )
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        headers = {}
        if isinstance(fault, str) and fault.startswith("reason:"):
            headers["X-Sandbox-Reason"] = fault.removeprefix("reason:")[:200]
            fault = None
        if fault in ("drop", "drop_after_accept"):
            return self._drop()
        if fault == "slow":
            time.sleep(config.slow_ms / 1000)
        if fault == "timeout":
            time.sleep(config.timeout_ms / 1000)
        try:
            self._answer(status, body, headers)
        except OSError:
            pass  # the client gave up (read timeout)

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        match = PAYMENT_STATUS_PATH.match(url.path)
        if match:
            status, body = self.sandbox.payment_status(
                sid=match["sid"], headers=self.headers, reference_id=match["reference_id"]
            )
            return self._answer(status, body)
        return self._control(url, b"", method="GET")

    def _control(self, url, raw, method="POST"):
        sandbox = self.sandbox
        query = parse_qs(url.query)
        if method == "GET" and url.path == "/_sandbox/messages":
            bodies = query.get("bodies", ["1"])[0] != "0"
            return self._answer(200, sandbox.messages_report(bodies=bodies))
        if method == "GET" and url.path == "/_sandbox/callbacks":
            with sandbox.lock:
                return self._answer(200, {"callbacks": list(sandbox.callbacks)})
        if url.path == "/_sandbox/config":
            if method == "POST":
                try:
                    sandbox.config.update(json.loads(raw or b"{}"))
                except (ValueError, TypeError) as exc:
                    return self._answer(400, {"error": str(exc)})
            return self._answer(200, asdict(sandbox.config))
        if method == "POST" and url.path == "/_sandbox/next":
            try:
                faults = json.loads(raw or b"{}").get("faults", [])
                require(all(kind in FAULTS for kind in faults), f"faults are: {', '.join(FAULTS)}")
            except (ValueError, AttributeError) as exc:
                return self._answer(400, {"error": str(exc)})
            with sandbox.lock:
                sandbox.forced.extend(faults)
            return self._answer(200, {"forced": len(sandbox.forced)})
        if method == "POST" and url.path == "/_sandbox/pay":
            try:
                events = sandbox.pay(json.loads(raw or b"{}"))
            except (PayError, ValueError) as exc:
                return self._answer(400, {"error": str(exc)})
            return self._answer(202, {"events": events})
        if method == "GET" and url.path == "/_sandbox/payments":
            with sandbox.lock:
                return self._answer(200, {"payments": dict(sandbox.payments)})
        if method == "POST" and url.path == "/_sandbox/reset":
            sandbox.reset()
            return self._answer(200, {"reset": True})
        return self._answer(404, {"error": "unknown sandbox endpoint"})
