"""Integration: the Kaleyra sandbox (messaging.sandbox, from the sending work) accepts a batch's
sends and posts their status callbacks to a live server; the messages, their orders' history and
the reports show them. Sends go straight to the sandbox here, each answer stored the way the
sending code stores it, followed by callback_events_match (callbacks may come first)."""

import time

import pytest
import requests
from django.contrib.auth.models import Permission
from django.test import Client

from messaging.callbacks.services import callback_events_match
from messaging.models import SentMessage
from tests.factories import AcceptedMessageFactory, OrderFactory, SendBatchFactory, UserFactory

sandbox_module = pytest.importorskip("messaging.sandbox")

SID, API_KEY, NUMBER = "SBXSID", "sandbox-key", "+911234567890"


def coupon_payload(to: str, ref: str) -> dict:
    return {
        "messaging_object": {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {
                "name": "coupon_offer",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "button",
                        "sub_type": "COPY_CODE",
                        "index": 0,
                        "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
                    }
                ],
            },
        },
        "extra_info": {"ref": ref, "ref1": "", "ref2": "", "wa_source": "api"},
    }


@pytest.fixture
def sandbox(live_server, settings, transactional_db):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = "kaleyra:sandbox-secret"
    config = sandbox_module.SandboxConfig(
        sid=SID,
        api_key=API_KEY,
        number=NUMBER,
        callback_url=f"{live_server.url}/kaleyra/callbacks/",
        callback_auth="kaleyra:sandbox-secret",
        callback_delay_ms=5,
        fail_digit="9",
    )
    sandbox = sandbox_module.KaleyraSandbox(config).start(port=0)
    yield sandbox
    sandbox.stop()


@pytest.mark.postgres  # concurrent callbacks: SQLite's shared in-memory test database locks
def test_sandbox_callbacks_for_a_batch_reach_messages_history_and_reports(sandbox):
    batch = SendBatchFactory(kind="coupon_code")
    recipients = ["+919800000001", "+919800000002", "+919800000003", "+919800000009"]
    messages = []
    for to in recipients:
        message = AcceptedMessageFactory(
            batch=batch,
            kind="coupon_code",
            template_name="coupon_offer",
            recipient=to,
            ref="launch",
            order=OrderFactory(),
            status="sending",
            provider_message_id=None,
            accepted_at=None,
        )
        answer = requests.post(
            f"{sandbox.base_url}/v2/{SID}/whatsapp/{NUMBER}/messages",
            json=coupon_payload(to, "launch"),
            headers={"api-key": API_KEY},
            timeout=10,
        )
        assert answer.status_code == 202
        provider_id = answer.json()["data"]["message_id"]
        SentMessage.objects.filter(pk=message.pk).update(
            status="accepted", provider_message_id=provider_id, accepted_at=message.created_at
        )
        callback_events_match(provider_message_ids=[provider_id])
        messages.append(message)

    expected_callbacks = 3 * 3 + 2  # sent, delivered, read; sent, failed for the 9
    deadline = time.monotonic() + 20
    while len(sandbox.callbacks) < expected_callbacks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sandbox.callbacks) == expected_callbacks
    assert {c["answer"] for c in sandbox.callbacks} == {200}
    callback_events_match(provider_message_ids=[])  # nothing to do, nothing breaks

    statuses = [m.status for m in SentMessage.objects.filter(batch=batch).order_by("pk")]
    assert statuses == ["read", "read", "read", "failed"]
    failed = SentMessage.objects.get(batch=batch, status="failed")
    assert (failed.error_code, failed.error_title) == ("131026", "Message undeliverable")
    history = messages[0].order.events.filter(kind="message").values_list("after", flat=True)
    assert list(history)[-1] == "read"

    staff = UserFactory(username="sandbox-reporter", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client = Client()
    client.force_login(staff)
    csv_text = client.get("/admin/reports/refs/", {"batch": batch.pk, "format": "csv"})
    rows = [line.split(",") for line in csv_text.content.decode().splitlines()]
    # ref, messages, queued, accepted, sent, delivered, read, failed, not sent, rates, paid
    # orders, revenue
    assert rows[1] == [
        *["launch", "4", "0", "4", "4", "3", "3", "1", "0", "75.0%", "100.0%"],
        *["0", "₹0.00"],
    ]
