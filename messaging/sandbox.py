"""A local stand-in for Kaleyra's WhatsApp v2 send API, strict about the wire format.

`python manage.py kaleyra_sandbox` runs it; tests start it in-process:

    sandbox = KaleyraSandbox(SandboxConfig(sid="SID", api_key="KEY", number="+911234567890"))
    sandbox.start(port=0)  # a free port; KALEYRA_API_BASE_URL = sandbox.base_url
    ...
    sandbox.stop()

It answers POST /v2/<sid>/whatsapp/<number>/messages like Kaleyra: RBC001 for a wrong SID or api
key, WA401 for a number not on the account, WA400 for a body that is not one of the three message
shapes (the reason is in the X-Sandbox-Reason header; the body is Kaleyra's documented one), E110 /
WAV2101 while toggled on, otherwise 202 with a fresh message id. Each accepted message then gets
status callbacks (`callback_statuses`: sent, delivered, read; sent then failed for recipients
ending in `fail_digit`) posted to `callback_url` in Kaleyra's v2 format, with HTTP Basic
credentials when given.

Faults, for a share `fail_rate` of requests (kinds from `faults`) or forced for the next requests
(POST /_sandbox/next {"faults": [...]}):
  5xx       500 with the WA500 body          502       502 with an HTML body
  429       429 Too Many Requests            e110      400 with the E110 body
  slow      answer after `slow_ms` (accepted)
  timeout   accept, then answer only after `timeout_ms` (the client's read timeout fires first:
            the message WAS accepted, as when a real answer is lost)
  drop      close the connection without answering, message NOT accepted
  drop_after_accept   accept, then close without answering

Payments (messaging.sandbox_payments): POST /_sandbox/pay {"reference_id": ..., "status":
"captured" | "pending" | "pending-captured" | "failed" | "wrong-amount" | "refund", "amount"?}
posts Kaleyra's payment webhook for that reference to `callback_url` (none with
"drop_webhook": true); GET /_sandbox/payments lists the updates, by reference, and
GET /v1/<sid>/wrapper/<phone_number_id>/payments/<configuration_id>/<reference_id> answers
Kaleyra's Get Payment Status with them (404 when the reference was never paid).

Control and inspection (JSON):
  GET  /_sandbox/messages   accepted messages (?bodies=0 leaves the bodies out) and duplicates
  GET  /_sandbox/callbacks  callbacks posted and the answers they got
  GET  /_sandbox/config     POST /_sandbox/config {"e110": true, "fail_rate": 0.2, ...}
  POST /_sandbox/next       POST /_sandbox/reset
"""

import base64
import json
import queue
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import requests

from .sandbox_payments import PayError, PayRequest, order_details_sent, payment_events

# Kaleyra's documented error bodies (kaleyra-send-*.txt), with their HTTP status.
ERRORS = {
    "RBC001": (
        401,
        {
            "code": "RBC001",
            "message": "Incorrect SID or API key.",
            "data": [],
            "error": {"error": "Incorrect SID or API key."},
        },
    ),
    "WA401": (
        401,
        {
            "code": "WA401",
            "message": "Phone number is not present or does not belong to the account.",
            "data": {},
            "error": {
                "phone_number": "Phone number is not present or does not belong to the account."
            },
        },
    ),
    "WA400": (
        400,
        {
            "code": "WA400",
            "message": "Refer to correct payload format",
            "data": {},
            "error": {"payload": "Incorrect payload format"},
        },
    ),
    "WA500": (
        500,
        {
            "code": "WA500",
            "message": "Please try again later",
            "data": {},
            "error": {"error": "Internal server error"},
        },
    ),
    "E110": (
        400,
        {
            "code": "E110",
            "message": "Please check your balance, You have a low balance!",
            "data": {},
            "error": {"balance": "Please check your balance, You have a low balance!"},
        },
    ),
    # Not in the pages (see the reference README); the body follows the documented pattern.
    "WAV2101": (
        400,
        {
            "code": "WAV2101",
            "message": "Account daily limit reached",
            "data": {},
            "error": {"account": "Account daily limit reached"},
        },
    ),
}
FAULTS = ("5xx", "502", "429", "e110", "slow", "timeout", "drop", "drop_after_accept")
ORDER_STATUSES = {"processing", "partially_shipped", "shipped", "completed", "canceled"}
PATH = re.compile(r"^/v2/(?P<sid>[^/]+)/whatsapp/(?P<number>[^/]+)/messages/?$")
PAYMENT_STATUS_PATH = re.compile(
    r"^/v1/(?P<sid>[^/]+)/wrapper/[^/]+/payments/[^/]+/(?P<reference_id>[^/]+)/?$"
)
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
REFERENCE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,35}$")


@dataclass
class SandboxConfig:
    sid: str = "SANDBOXSID"
    api_key: str = "sandbox-api-key"
    number: str = "+910000000000"
    latency_ms: float = 0
    fail_rate: float = 0.0
    faults: list = field(default_factory=lambda: ["5xx", "429"])
    slow_ms: float = 1000
    timeout_ms: float = 30000
    e110: bool = False
    wav2101: bool = False
    callback_url: str = ""
    callback_auth: str = ""  # user:password for HTTP Basic
    callback_delay_ms: float = 50
    # posted for each accepted message, in order (fewer spares a test's live server)
    callback_statuses: list = field(default_factory=lambda: ["sent", "delivered", "read"])
    fail_digit: str = ""  # recipients ending in it get sent then failed
    seed: int | None = None

    def update(self, changes: dict) -> None:
        names = {f.name: f for f in fields(self)}
        unknown = set(changes) - set(names)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        bad = [kind for kind in changes.get("faults", []) if kind not in FAULTS]
        if bad:
            raise ValueError(f"unknown fault(s): {', '.join(bad)}; known: {', '.join(FAULTS)}")
        for name, value in changes.items():
            setattr(self, name, value)


class PayloadError(ValueError):
    pass


def _need(condition, reason):
    if not condition:
        raise PayloadError(reason)


def _money(value, where):
    _need(isinstance(value, dict), f"{where} must be an object")
    _need(value.get("offset") == 100, f"{where}.offset must be 100")
    _need(
        isinstance(value.get("value"), int) and value["value"] >= 0,
        f"{where}.value must be a non-negative integer",
    )
    return value["value"]


def validate_body(body) -> str:
    """The message kind (order_details, order_status, coupon_code) of a valid body, or
    PayloadError naming the first problem."""
    _need(isinstance(body, dict), "the body must be a JSON object")
    _need(not set(body) - {"messaging_object", "extra_info"}, "unknown top-level field")
    mo = body.get("messaging_object")
    _need(isinstance(mo, dict), "messaging_object is missing")
    _need(mo.get("messaging_product") == "whatsapp", "messaging_product must be whatsapp")
    if "recipient_type" in mo:
        _need(mo["recipient_type"] == "individual", "recipient_type must be individual")
    _need(isinstance(mo.get("to"), str) and E164.match(mo["to"]), "to must be E.164 with +")
    _need(mo.get("type") == "template", "type must be template")
    template = mo.get("template")
    _need(isinstance(template, dict), "template is missing")
    name = template.get("name")
    _need(isinstance(name, str) and 0 < len(name) <= 512, "template.name: 1 to 512 characters")
    language = template.get("language")
    _need(isinstance(language, dict), "template.language is missing")
    _need(isinstance(language.get("code"), str) and language["code"], "language.code missing")
    if "policy" in language:
        _need(language["policy"] == "deterministic", "language.policy must be deterministic")
    components = template.get("components")
    _need(isinstance(components, list) and components, "template.components must be a list")
    kind = None
    for component in components:
        _need(isinstance(component, dict), "each component must be an object")
        ctype = component.get("type")
        if ctype == "header":
            params = component.get("parameters")
            _need(isinstance(params, list) and len(params) == 1, "header.parameters: one item")
            image = params[0].get("image") if isinstance(params[0], dict) else None
            _need(params[0].get("type") == "image", "header parameter type must be image")
            _need(isinstance(image, dict) and isinstance(image.get("link"), str), "image.link")
        elif ctype == "order_status":
            _need(kind is None, "more than one message component")
            kind = "order_status"
            _order_status_check(component)
        elif ctype == "button":
            _need(kind is None, "more than one message component")
            _need(isinstance(component.get("index"), int), "button.index must be a number")
            sub_type = component.get("sub_type")
            if sub_type == "order_details":
                kind = "order_details"
                _order_details_check(component, mo)
            elif sub_type == "COPY_CODE":
                kind = "coupon_code"
                params = component.get("parameters")
                _need(isinstance(params, list) and len(params) == 1, "COPY_CODE: one parameter")
                _need(params[0].get("type") == "coupon_code", "parameter type must be coupon_code")
                code = params[0].get("coupon_code")
                _need(isinstance(code, str) and code, "coupon_code must be a non-empty string")
            else:
                raise PayloadError(f"unsupported button sub_type {sub_type!r}")
        else:
            raise PayloadError(f"unsupported component type {ctype!r}")
    _need(kind is not None, "no order_details, order_status or COPY_CODE component")
    if kind != "coupon_code":
        _need(language.get("policy") == "deterministic", "language.policy must be deterministic")
    extra = body.get("extra_info", {})
    _need(isinstance(extra, dict), "extra_info must be an object")
    _need(not set(extra) - {"ref", "ref1", "ref2", "wa_source"}, "unknown extra_info field")
    for key, value in extra.items():
        _need(isinstance(value, str), f"extra_info.{key} must be a string")
    return kind


def _order_status_check(component):
    params = component.get("parameters")
    _need(isinstance(params, list) and len(params) == 1, "order_status.parameters: one item")
    param = params[0]
    _need(isinstance(param, dict) and param.get("type") == "order_status", "type order_status")
    status = param.get("order_status")
    _need(isinstance(status, dict), "order_status object missing")
    _need(isinstance(status.get("reference_id"), str) and status["reference_id"], "reference_id")
    order = status.get("order")
    _need(isinstance(order, dict), "order_status.order missing")
    _need(order.get("status") in ORDER_STATUSES, "order.status is not a supported status")
    if "description" in order:
        description = order["description"]
        _need(isinstance(description, str) and len(description) <= 120, "description > 120")


def _order_details_check(component, mo):
    _need(mo.get("recipient_type", "individual") == "individual", "recipient_type individual")
    params = component.get("parameters")
    _need(isinstance(params, list) and len(params) == 1, "order_details: one parameter")
    param = params[0]
    _need(isinstance(param, dict) and param.get("type") == "action", "parameter type action")
    action = param.get("action")
    _need(isinstance(action, dict), "action missing")
    details = action.get("order_details")
    _need(isinstance(details, dict), "action.order_details missing")
    _need(REFERENCE_ID.match(str(details.get("reference_id", ""))), "reference_id invalid")
    _need(details.get("type") in {"digital-goods", "physical-goods"}, "order_details.type")
    _need(details.get("currency") == "INR", "currency must be INR")
    if "payment_settings" in details:
        settings_ = details["payment_settings"]
        _need(isinstance(settings_, list) and settings_, "payment_settings must be a list")
        for item in settings_:
            gateway = item.get("payment_gateway") if isinstance(item, dict) else None
            _need(item.get("type") == "payment_gateway", "payment_settings type")
            _need(isinstance(gateway, dict) and gateway.get("type"), "payment_gateway.type")
            _need(gateway.get("configuration_name"), "payment_gateway.configuration_name")
    else:
        _need(details.get("payment_type") == "upi", "payment_type must be upi")
        _need(details.get("payment_configuration"), "payment_configuration missing")
    if details["type"] == "physical-goods":
        info = details.get("shipping_info")
        _need(isinstance(info, dict) and info.get("country") == "IN", "shipping_info.country IN")
        _need(isinstance(info.get("addresses"), list), "shipping_info.addresses must be a list")
    order = details.get("order")
    _need(isinstance(order, dict), "order missing")
    _need(order.get("status") == "pending", "order.status must be pending")
    items = order.get("items")
    _need(isinstance(items, list) and items, "order.items must be a non-empty list")
    subtotal = 0
    for item in items:
        _need(isinstance(item, dict) and isinstance(item.get("name"), str), "item.name")
        quantity = item.get("quantity")
        _need(isinstance(quantity, int) and 1 <= quantity <= 100, "item.quantity 1-100")
        price = _money(item.get("amount"), "item.amount")
        if "sale_amount" in item:
            price = _money(item["sale_amount"], "item.sale_amount")
        subtotal += price * quantity
    _need(_money(order.get("subtotal"), "order.subtotal") == subtotal, "subtotal != items")
    total = subtotal
    for key in ("shipping", "tax"):
        if key in order:
            total += _money(order[key], f"order.{key}")
    if "discount" in order:
        total -= _money(order["discount"], "order.discount")
    if "coupon" in details:
        total -= _money(details["coupon"].get("discount"), "coupon.discount")
    if "expiration" in order:
        stamp = order["expiration"].get("timestamp") if isinstance(order["expiration"], dict) else 0
        _need(str(stamp).isdigit(), "expiration.timestamp must be unix seconds")
        _need(int(stamp) >= time.time() + 300, "expiration must be at least 300 s ahead")
    _need(_money(details.get("total_amount"), "total_amount") == total, "total_amount is wrong")


class KaleyraSandbox:
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

    # --- the send API -------------------------------------------------------------------
    def handle_send(self, *, sid, number, headers, raw: bytes):
        """(status, body dict or text, fault) for one send request; `fault` is what the
        handler must still do (slow / timeout / drop / drop_after_accept) or None."""
        config = self.config
        with self.lock:
            self.requests += 1
            fault = self.forced.pop(0) if self.forced else None
            if fault is None and config.fail_rate and self.random.random() < config.fail_rate:
                fault = self.random.choice(config.faults)
        if sid != config.sid or headers.get("api-key") != config.api_key:
            return *ERRORS["RBC001"], None
        if number != config.number:
            return *ERRORS["WA401"], None
        if fault == "5xx":
            return *ERRORS["WA500"], None
        if fault == "502":
            return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", None
        if fault == "429":
            return 429, {"code": "429", "message": "Too Many Requests", "data": {}}, None
        if fault == "drop":
            return None, None, "drop"
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            _need(content_type == "application/json", "Content-Type must be application/json")
            body = json.loads(raw)
            kind = validate_body(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return *ERRORS["WA400"], f"reason:{exc}"
        if config.e110 or fault == "e110":
            return *ERRORS["E110"], None
        if config.wav2101:
            return *ERRORS["WAV2101"], None
        message_id = self.accept(body, kind)
        answer = {
            "code": "WA202",
            "message": "Request Accepted",
            "data": {"message_id": message_id},
            "error": {},
        }
        return 202, answer, fault

    def accept(self, body, kind) -> str:
        message_id = f"SBX{uuid.uuid4().hex}"
        mo = body["messaging_object"]
        extra = {
            key: str(value)[:255]
            for key, value in body.get("extra_info", {}).items()
            if key in ("ref", "ref1", "ref2")
        }
        record = {
            "message_id": message_id,
            "wamid": f"wamid.{base64.b64encode(uuid.uuid4().bytes).decode()}",
            "to": mo["to"],
            "kind": kind,
            "ref": extra.get("ref", ""),
            "ref1": extra.get("ref1", ""),
            "ref2": extra.get("ref2", ""),
            "accepted_at": time.time(),
            "body": body,
        }
        with self.lock:
            self.messages.append(record)
        if self.config.callback_url:
            self._callback_queue.put(record)
        return message_id

    def messages_report(self, *, bodies=True) -> dict:
        with self.lock:
            messages = list(self.messages)
        seen, duplicates = {}, []
        for message in messages:
            key = json.dumps(message["body"], sort_keys=True)
            if key in seen:
                duplicates.append(message["message_id"])
            seen[key] = True
        if not bodies:
            messages = [{k: v for k, v in m.items() if k != "body"} for m in messages]
        return {
            "count": len(messages),
            "requests": self.requests,
            "duplicates": duplicates,
            "messages": messages,
        }

    # --- payments -----------------------------------------------------------------------
    def pay(self, data) -> list:
        """Carry out a pay request (see messaging.sandbox_payments) and queue its payment
        updates for the callback URL; PayError says why it cannot."""
        if not self.config.callback_url:
            raise PayError("the sandbox has no callback_url to post the payment to")
        request = PayRequest.from_json(data)
        with self.lock:
            sent = order_details_sent(self.messages, request.reference_id)
            previous = self.payments.setdefault(request.reference_id, [])
            events = payment_events(request, sent=sent, previous=previous)
            previous.extend(events)
        if not request.drop_webhook:
            self._callback_queue.put(("payment", events))  # one worker: posted in order
        return events

    def payment_status(self, *, sid, headers, reference_id) -> tuple[int, dict]:
        """Get Payment Status: every update posted (or dropped) for the reference, in the
        payment webhook's shape, under `payments`; 404 when the reference was never paid."""
        if sid != self.config.sid or headers.get("api-key") != self.config.api_key:
            return 401, {"code": "WA401", "message": "Authentication failed"}
        with self.lock:
            events = list(self.payments.get(unquote(reference_id), []))
        if not events:
            return 404, {"code": "404", "message": f"No payment for {unquote(reference_id)}"}
        return 200, {"payments": events}

    # --- status callbacks ---------------------------------------------------------------
    def callback_body(self, record, status) -> dict:
        digits = record["to"].lstrip("+")
        status_object = {
            "id": record["wamid"],
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": digits,
        }
        if status in ("sent", "delivered"):
            status_object["conversation"] = {
                "id": uuid.uuid4().hex,
                "origin": {"type": "marketing"},
            }
            status_object["pricing"] = {
                "billable": True,
                "pricing_model": "CBP",
                "category": "marketing",
            }
        if status == "failed":
            status_object["errors"] = [
                {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "The recipient is not on WhatsApp."},
                }
            ]
        return {
            "meta_object": {
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": self.config.number.lstrip("+"),
                        "phone_number_id": "100000000000000",
                    },
                    "statuses": [status_object],
                },
                "field": "messages",
            },
            "extra_info": {
                "message_id": record["message_id"],
                "trace_id": uuid.uuid4().hex,
                "waba_id": "200000000000000",
                "ref": record["ref"],
                "ref1": record["ref1"],
                "ref2": record["ref2"],
            },
            "status": status,
            "message_id": record["message_id"],
        }

    def _callback_worker(self):
        session = requests.Session()
        while True:
            record = self._callback_queue.get()
            if record is None:
                return
            if isinstance(record, tuple):  # payment updates, posted as they are
                for event in record[1]:
                    time.sleep(self.config.callback_delay_ms / 1000)
                    answer = self._post(session, event)
                    with self.lock:
                        self.callbacks.append(
                            {
                                "reference_id": event["payment"]["reference_id"],
                                "status": f"payment:{event['status']}",
                                "answer": answer,
                            }
                        )
                continue
            fail = self.config.fail_digit and record["to"].endswith(self.config.fail_digit)
            statuses = ["sent", "failed"] if fail else self.config.callback_statuses
            for status in statuses:
                time.sleep(self.config.callback_delay_ms / 1000)
                self._callback_post(session, record, status)

    def _callback_post(self, session, record, status):
        answer = self._post(session, self.callback_body(record, status))
        with self.lock:
            self.callbacks.append(
                {"message_id": record["message_id"], "status": status, "answer": answer}
            )

    def _post(self, session, body) -> int | str:
        """Post one callback body (three tries on 5xx or no answer): the last HTTP status, or
        the error's name."""
        auth = None
        if self.config.callback_auth:
            user, _, password = self.config.callback_auth.partition(":")
            auth = (user, password)
        answer = None
        for attempt in range(3):
            try:
                response = session.post(
                    self.config.callback_url,
                    json=body,
                    auth=auth,
                    timeout=(3, 10),
                )
                answer = response.status_code
                if answer < 500:
                    break
            except requests.RequestException as exc:
                answer = type(exc).__name__
            time.sleep(0.2 * (attempt + 1))
        return answer


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
                _need(all(kind in FAULTS for kind in faults), f"faults are: {', '.join(FAULTS)}")
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
