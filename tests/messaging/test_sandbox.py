"""The Kaleyra sandbox: strict about the wire format, documented answers, callbacks, faults."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from messaging.client import Outcome, kaleyra_client
from messaging.payloads import coupon_code_payload, extra_info_build
from messaging.sandbox import ERRORS, KaleyraSandbox, SandboxConfig

from .conftest import API_KEY, NUMBER, SID


def coupon_body(to="+919000090001", code="SAVE10"):
    return coupon_code_payload(
        code=code,
        to=to,
        template_name="coupon_code",
        language="en_US",
        extra_info=extra_info_build(ref=code, ref1="coupon_code", ref2="Batch 1"),
    )


def post(sandbox, body, *, sid=SID, number=NUMBER, key=API_KEY, raw=None):
    return requests.post(
        f"{sandbox.base_url}/v2/{sid}/whatsapp/{number}/messages",
        data=raw if raw is not None else json.dumps(body),
        headers={"api-key": key, "Content-Type": "application/json"},
        timeout=5,
    )


def test_accepts_a_valid_message_with_a_fresh_id(sandbox):
    first = kaleyra_client().send(coupon_body())
    second = kaleyra_client().send(coupon_body(to="+919000090002"))
    assert first.outcome == second.outcome == Outcome.ACCEPTED
    assert first.message_id != second.message_id
    report = requests.get(f"{sandbox.base_url}/_sandbox/messages", timeout=5).json()
    assert [m["message_id"] for m in report["messages"]] == [first.message_id, second.message_id]
    assert report["messages"][0]["ref"] == "SAVE10" and report["duplicates"] == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"key": "wrong"}, "RBC001"),
        ({"sid": "OTHER"}, "RBC001"),
        ({"number": "+910000000001"}, "WA401"),
    ],
)
def test_checks_credentials_and_business_number(sandbox, kwargs, code):
    response = post(sandbox, coupon_body(), **kwargs)
    assert (response.status_code, response.json()) == ERRORS[code]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b["messaging_object"].update(to="9000090001"),
        lambda b: b["messaging_object"].update(messaging_product="sms"),
        lambda b: b["messaging_object"]["template"]["components"][0].update(sub_type="URL"),
        lambda b: b["messaging_object"]["template"]["components"][0]["parameters"][0].pop(
            "coupon_code"
        ),
        lambda b: b["extra_info"].update(ref=5),
        lambda b: b.update(other={}),
    ],
)
def test_refuses_a_wrong_shape_with_wa400(sandbox, mutate):
    body = coupon_body()
    mutate(body)
    response = post(sandbox, body)
    assert (response.status_code, response.json()) == ERRORS["WA400"]
    assert response.headers["X-Sandbox-Reason"]


def test_refuses_non_json(sandbox):
    response = post(sandbox, None, raw="not json")
    assert response.json()["code"] == "WA400"


def test_e110_toggle_and_forced_faults(sandbox):
    control = f"{sandbox.base_url}/_sandbox"
    requests.post(f"{control}/config", json={"e110": True}, timeout=5)
    assert kaleyra_client().send(coupon_body()).outcome == Outcome.PAUSE
    requests.post(f"{control}/config", json={"e110": False}, timeout=5)
    requests.post(f"{control}/next", json={"faults": ["5xx", "502", "429", "drop"]}, timeout=5)
    outcomes = [kaleyra_client().send(coupon_body()).outcome for _ in range(5)]
    assert outcomes == [Outcome.RETRY] * 3 + [Outcome.UNKNOWN, Outcome.ACCEPTED]
    assert requests.get(f"{control}/messages", timeout=5).json()["count"] == 1


def test_timeout_fault_accepts_but_the_answer_is_lost(sandbox, kaleyra):
    kaleyra.KALEYRA_READ_TIMEOUT = 0.3
    sandbox.config.timeout_ms = 1000
    sandbox.forced.append("timeout")
    result = kaleyra_client().send(coupon_body())
    assert (result.outcome, result.code) == (Outcome.UNKNOWN, "read_timeout")
    assert len(sandbox.messages) == 1


def test_control_refuses_unknown_settings(sandbox):
    response = requests.post(f"{sandbox.base_url}/_sandbox/config", json={"nope": 1}, timeout=5)
    assert response.status_code == 400


class _Receiver(BaseHTTPRequestHandler):
    received = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers.get("Authorization"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_posts_v2_status_callbacks_with_basic_auth():
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    config = SandboxConfig(
        callback_url=f"http://127.0.0.1:{receiver.server_address[1]}/kaleyra/callbacks/",
        callback_auth="kaleyra:s3cret",
        callback_delay_ms=1,
        fail_digit="9",
    )
    sandbox = KaleyraSandbox(config).start(port=0, callback_threads=1)
    try:
        ok = sandbox.accept(coupon_body(to="+919000090001"), "coupon_code")
        failed = sandbox.accept(coupon_body(to="+919000090009"), "coupon_code")
        for _ in range(200):
            if len(sandbox.callbacks) == 5:
                break
            threading.Event().wait(0.02)
    finally:
        sandbox.stop()
        receiver.shutdown()
        receiver.server_close()
    auth = "Basic " + base64.b64encode(b"kaleyra:s3cret").decode()
    assert {header for header, _ in _Receiver.received} == {auth}
    bodies = [body for _, body in _Receiver.received]
    statuses = [(b["extra_info"]["message_id"], b["status"]) for b in bodies]
    assert statuses == [
        (ok, "sent"),
        (ok, "delivered"),
        (ok, "read"),
        (failed, "sent"),
        (failed, "failed"),
    ]
    first = bodies[0]
    status = first["meta_object"]["value"]["statuses"][0]
    assert first["meta_object"]["field"] == "messages"
    assert first["meta_object"]["value"]["messaging_product"] == "whatsapp"
    assert status["recipient_id"] == "919000090001" and status["timestamp"].isdigit()
    assert status["id"].startswith("wamid.")
    assert first["extra_info"]["ref"] == "SAVE10" and first["extra_info"]["ref2"] == "Batch 1"
    assert set(first["extra_info"]) == {"message_id", "trace_id", "waba_id", "ref", "ref1", "ref2"}
    error = bodies[4]["meta_object"]["value"]["statuses"][0]["errors"][0]
    assert set(error) == {"code", "title", "message", "error_data"}


@pytest.mark.django_db
def test_faults_are_retried_or_held_never_sent_twice(sandbox, kaleyra):
    from django.utils import timezone

    from messaging.models import SentMessage
    from messaging.services import message_mark_accepted, messages_send
    from tests.factories import SentMessageFactory

    kaleyra.KALEYRA_READ_TIMEOUT = 0.3
    kaleyra.KALEYRA_MAX_ATTEMPTS = 5
    sandbox.config.timeout_ms = 600
    messages = SentMessageFactory.create_batch(6)
    sandbox.forced.extend(["5xx", "429", "502", "drop", "timeout", "drop_after_accept"])
    for _ in range(5):
        SentMessage.objects.filter(status="queued").update(next_attempt_at=timezone.now())
        messages_send(message_ids=[m.pk for m in messages])
    statuses = dict(SentMessage.objects.values_list("pk", "status"))
    assert sorted(statuses.values()) == ["accepted"] * 3 + ["unknown"] * 3
    # Kaleyra's callbacks (carrying our refs) settle the two the sandbox did accept.
    for record in sandbox.messages:
        message_mark_accepted(
            message_ids=[record["message_id"]],
            recipient=record["to"],
            ref=record["ref"],
            ref1=record["ref1"],
            ref2=record["ref2"],
        )
    accepted = dict(
        SentMessage.objects.filter(status="accepted").values_list("provider_message_id", "pk")
    )
    assert set(accepted) == {record["message_id"] for record in sandbox.messages}
    assert len(sandbox.messages) == 5 and sandbox.messages_report()["duplicates"] == []
    (dropped,) = SentMessage.objects.filter(status="unknown")
    assert dropped.error_code == "connection_dropped"
