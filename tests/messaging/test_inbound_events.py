"""Events other than delivery statuses at Kaleyra's callback URL: payment updates, incoming
customer messages, template-status changes and unknown types are stored, acknowledged with 200,
dispatched to the handler registered for their type, and listed in the admin; bodies over
Django's upload limits are still read, stored and parsed; bodies over our own limit get 413."""

import copy
import json

import pytest
from django.test.client import MULTIPART_CONTENT

from common.webhooks import webhook_handler_register, webhook_handler_unregister
from messaging.models import CallbackEvent, CallbackReceipt, InboundEvent
from tests.factories import AcceptedMessageFactory, OrderFactory

from .callback_bodies import (
    CREDENTIALS,
    flat_body,
    post_form,
    post_json,
    post_raw,
    v2_body,
    wa_status,
)
from .conftest import staff

pytestmark = pytest.mark.django_db

T_SENT = 1_763_700_000

# Kaleyra's sample payment update (reference digest: "Kaleyra: payment updates").
PAYMENT = {
    "id": "wamid.HBgM...",
    "type": "payment",
    "status": "captured",
    "phone_number": "91XXXXXXXXXX",
    "payment": {
        "reference_id": "SampleMSIL1102",
        "amount": {"offset": 100, "value": 450},
        "currency": "INR",
        "receipt": "",
        "transaction": {
            "id": "order_SdrcSSqobZ7voR",
            "type": "razorpay",
            "status": "success",
            "amount": {"offset": 100, "value": 450},
            "currency": "INR",
            "created_timestamp": 1746500000,
            "updated_timestamp": 1746500005,
            "refunds": None,
        },
    },
}


def refund_update():
    body = copy.deepcopy(PAYMENT)
    body["payment"]["transaction"]["refunds"] = [
        {
            "id": "rfnd_Q1w2e3r4",
            "amount": {"offset": 100, "value": 450},
            "created_timestamp": 1746600000,
            "updated_timestamp": 1746600100,
            "status": "processed",
        }
    ]
    return body


V2_INCOMING = {
    "meta_object": {
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "919000000000", "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Asha"}, "wa_id": "919812345678"}],
            "messages": [
                {
                    "from": "919812345678",
                    "id": "wamid.IN1",
                    "timestamp": "1763700100",
                    "type": "text",
                    "text": {"body": "Is my order on its way?"},
                }
            ],
        },
        "field": "messages",
    },
    "extra_info": {"ref": "", "reply_to": "wamid.OUT9", "trace_id": "t-9", "waba_id": "waba-1"},
}

FLAT_INCOMING = {
    "body": "STOP",
    "from": "919812345678",
    "name": "Asha",
    "type": "button",
    "created_at": "1763700200",
    "reply_to": "wamid.OUT9",
    "wanumber": "919000000000",
    "mobile": "919812345678",
}

TEMPLATE_STATUS = {
    "meta_object": {
        "value": {
            "event": "APPROVED",
            "message_template_id": 1234567890,
            "message_template_name": "order_status",
            "message_template_language": "en_US",
            "reason": "NONE",
        },
        "field": "message_template_status_update",
    }
}


@pytest.fixture(autouse=True)
def callback_credentials(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS


@pytest.fixture
def recorded():
    """A payment handler registered as checkout's would be, from outside messaging."""
    calls = []

    def handler(*, events):
        calls.append([(e.event_type, e.reference, e.status) for e in events])

    webhook_handler_register(provider="kaleyra", event_type="payment", handler=handler)
    yield calls
    webhook_handler_unregister(provider="kaleyra", event_type="payment", handler=handler)


def the_event(*fields):
    """The one stored InboundEvent and the values of `fields`."""
    event = InboundEvent.objects.get()
    return event, tuple(getattr(event, name) for name in fields)


def admin_html(client, path, **params):
    client.force_login(staff("view_callbackreceipt", "view_inboundevent"))
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


# --- payment updates ---------------------------------------------------------------------------


@pytest.fixture
def no_payment_handler():
    """Without the payments handler checkout registers (issue 14): what messaging does alone."""
    from checkout.payments.services import payments_from_kaleyra

    webhook_handler_unregister(
        provider="kaleyra", event_type="payment", handler=payments_from_kaleyra
    )
    yield
    webhook_handler_register(
        provider="kaleyra", event_type="payment", handler=payments_from_kaleyra
    )


def test_a_payment_update_is_answered_200_stored_and_listed_in_the_admin(
    client, no_payment_handler
):
    response = post_json(client, PAYMENT)
    assert response.status_code == 200
    receipt = CallbackReceipt.objects.get()
    assert (receipt.rejected_reason, receipt.event_count) == ("", 1)
    assert json.loads(receipt.body) == PAYMENT
    event, seen = the_event("provider", "event_type", "type_name")
    assert seen == ("kaleyra", "payment", "payment")
    assert (event.status, event.reference, event.external_id, event.phone) == (
        "captured",
        "SampleMSIL1102",
        "order_SdrcSSqobZ7voR",
        "91XXXXXXXXXX",
    )
    assert event.data == PAYMENT
    assert event.receipt == receipt
    assert event.handled_at is None  # no payment handler yet
    assert CallbackEvent.objects.count() == 0

    html = admin_html(client, "/admin/messaging/inboundevent/")
    assert "SampleMSIL1102" in html and "Payment update" in html
    html = admin_html(client, "/admin/messaging/inboundevent/", q="SampleMSIL1102")
    assert "order_SdrcSSqobZ7voR" in html
    html = admin_html(client, f"/admin/messaging/inboundevent/{event.pk}/change/")
    assert "razorpay" in html
    html = admin_html(client, "/admin/messaging/callbackreceipt/")
    assert f"/admin/messaging/callbackreceipt/{receipt.pk}/change/" in html
    html = admin_html(client, f"/admin/messaging/callbackreceipt/{receipt.pk}/change/")
    assert "SampleMSIL1102" in html and "not handled" in html


def test_the_same_payment_update_twice_is_stored_raw_twice_and_counted_once(client):
    assert post_json(client, PAYMENT).status_code == 200
    assert post_json(client, PAYMENT).status_code == 200
    assert CallbackReceipt.objects.count() == 2
    assert InboundEvent.objects.get().times_received == 2


def test_a_refund_update_is_a_new_payment_event_with_its_refunds(client):
    post_json(client, PAYMENT)
    assert post_json(client, refund_update()).status_code == 200
    events = list(InboundEvent.objects.order_by("pk"))
    assert [e.event_type for e in events] == ["payment", "payment"]
    refunds = events[1].data["payment"]["transaction"]["refunds"]
    assert refunds[0]["id"] == "rfnd_Q1w2e3r4"
    assert events[1].reference == "SampleMSIL1102"


def test_a_registered_payment_handler_gets_the_event_and_it_is_marked_handled(client, recorded):
    assert post_json(client, PAYMENT).status_code == 200
    assert recorded == [[("payment", "SampleMSIL1102", "captured")]]
    assert InboundEvent.objects.get().handled_at is not None
    post_json(client, PAYMENT)  # a repeat of a handled event is not handed over again
    assert len(recorded) == 1


def test_a_failing_handler_leaves_the_event_unhandled_and_a_repeat_retries(client):
    attempts = []

    def flaky(*, events):
        attempts.append(len(events))
        if len(attempts) == 1:
            raise RuntimeError("payments are down")

    webhook_handler_register(provider="kaleyra", event_type="payment", handler=flaky)
    try:
        assert post_json(client, PAYMENT).status_code == 200
        assert InboundEvent.objects.get().handled_at is None
        assert post_json(client, PAYMENT).status_code == 200
    finally:
        webhook_handler_unregister(provider="kaleyra", event_type="payment", handler=flaky)
    assert attempts == [1, 1]
    assert InboundEvent.objects.get().handled_at is not None


def test_a_body_mixing_a_status_and_a_payment_handles_both(client, recorded):
    message = AcceptedMessageFactory(provider_message_id="kal-1", order=OrderFactory())
    body = [v2_body("kal-1", [wa_status("wamid.1", "delivered", T_SENT)]), PAYMENT]
    assert post_json(client, body).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert recorded == [[("payment", "SampleMSIL1102", "captured")]]
    assert CallbackReceipt.objects.get().event_count == 2


def test_a_payment_as_form_data_with_json_fields(client):
    fields = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in PAYMENT.items()}
    response = post_form(client, fields)
    assert response.status_code == 200
    assert InboundEvent.objects.get().reference == "SampleMSIL1102"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({**PAYMENT, "payment": "[1]"}, "payment must be an object"),
        ({**PAYMENT, "payment": {"transaction": 5}}, "payment.transaction must be an object"),
        ({**PAYMENT, "status": ["captured"]}, "status must be a string"),
    ],
)
def test_a_malformed_payment_gets_400_with_the_reason_and_stores_no_event(client, body, reason):
    response = post_json(client, body)
    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert reason in CallbackReceipt.objects.get().rejected_reason
    assert InboundEvent.objects.count() == 0


# --- incoming messages, template statuses, unknown types -------------------------------------


def test_an_incoming_text_message_v2(client):
    assert post_json(client, V2_INCOMING).status_code == 200
    event, seen = the_event("event_type", "type_name", "external_id", "phone")
    assert seen == ("message", "text", "wamid.IN1", "919812345678")
    assert event.reference == "wamid.OUT9"
    assert event.data["message"]["text"]["body"] == "Is my order on its way?"
    assert event.data["contact"] == {"name": "Asha"}
    assert CallbackEvent.objects.count() == 0


def test_an_incoming_message_flat_as_form_data(client):
    response = post_form(client, FLAT_INCOMING)
    assert response.status_code == 200
    event, seen = the_event("event_type", "type_name", "phone", "reference")
    assert seen == ("message", "button", "919812345678", "wamid.OUT9")
    assert event.data["body"] == "STOP"


def test_a_template_status_update(client):
    assert post_json(client, TEMPLATE_STATUS).status_code == 200
    event, seen = the_event("event_type", "status", "reference", "external_id")
    assert seen == ("template_status", "APPROVED", "order_status", "1234567890")
    html = admin_html(client, "/admin/messaging/inboundevent/", event_type="template_status")
    assert "order_status" in html


def test_an_unknown_type_is_stored_acknowledged_and_listed_as_not_handled(client):
    body = {"type": "order_update", "id": "evt-77", "status": "shipped", "mobile": "919812345678"}
    assert post_json(client, body).status_code == 200
    event, seen = the_event("event_type", "type_name", "status", "external_id")
    assert seen == ("unknown", "order_update", "shipped", "evt-77")
    html = admin_html(client, "/admin/messaging/inboundevent/", handled="no")
    assert "evt-77" in html
    html = admin_html(client, "/admin/messaging/inboundevent/", handled="yes")
    assert "evt-77" not in html


def test_an_unknown_v2_field_is_stored_as_unknown(client):
    body = {
        "meta_object": {"value": {"ban_info": {"state": "SCHEDULE"}}, "field": "account_update"}
    }
    assert post_json(client, body).status_code == 200
    event, seen = the_event("event_type", "type_name")
    assert seen == ("unknown", "account_update")


def test_a_status_body_naming_its_type_is_still_a_status(client):
    message = AcceptedMessageFactory(provider_message_id="kal-1")
    body = flat_body("kal-1", "read", T_SENT, type="dlr")
    assert post_json(client, body).status_code == 200
    message.refresh_from_db()
    assert message.status == "read"
    assert InboundEvent.objects.count() == 0


def test_json_the_database_cannot_store_is_made_storable(client):
    body = '{"type": "order_update", "id": "x\\u0000y", "n": NaN, "big": Infinity}'
    assert post_json(client, body).status_code == 200
    event = InboundEvent.objects.get()
    assert event.data == {"type": "order_update", "id": "xy", "n": "nan", "big": "inf"}


def test_unauthenticated_payment_updates_are_refused_and_not_stored(client):
    assert post_json(client, PAYMENT, auth=("kaleyra", "wrong")).status_code == 401
    assert CallbackReceipt.objects.count() == 0
    assert InboundEvent.objects.count() == 0


# --- sizes and Django's upload limits ----------------------------------------------------------


def test_a_body_over_djangos_memory_limit_but_under_ours_is_stored_and_parsed(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.KALEYRA_CALLBACK_MAX_BODY_BYTES = 64 * 1024
    body = {**PAYMENT, "notes": "x" * 5000}
    data = json.dumps(body)
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert post_json(client, data).status_code == 200
    receipt = CallbackReceipt.objects.get()
    assert (receipt.size, receipt.truncated, receipt.rejected_reason) == (len(data), False, "")
    assert InboundEvent.objects.get().data["notes"] == "x" * 5000


def test_a_form_body_with_more_than_django_field_limit_is_stored_and_parsed(client, settings):
    message = AcceptedMessageFactory(provider_message_id="kal-1")
    fields = [(f"extra{n}", str(n)) for n in range(1500)]
    fields += list(flat_body("kal-1", "delivered", T_SENT).items())
    assert len(fields) > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = post_form(client, fields)
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert CallbackReceipt.objects.get().body.startswith("extra0=0&extra1=1")


def test_a_body_over_our_limit_is_stored_truncated_and_answered_413_naming_it(client, settings):
    settings.KALEYRA_CALLBACK_MAX_BODY_BYTES = 2000
    data = json.dumps({**PAYMENT, "notes": "y" * 5000})
    response = post_json(client, data)
    assert response.status_code == 413
    answer = response.json()
    assert answer["error"] == "body_too_large"
    assert "2000-byte limit" in answer["message"]
    receipt = CallbackReceipt.objects.get()
    assert answer["receipt"] == receipt.pk
    assert (receipt.truncated, receipt.size) == (True, len(data))
    assert receipt.body == data[:2000]
    assert "2000-byte limit" in receipt.rejected_reason
    assert InboundEvent.objects.count() == 0


def test_a_body_of_exactly_our_limit_is_accepted(client, settings):
    data = json.dumps(PAYMENT)
    settings.KALEYRA_CALLBACK_MAX_BODY_BYTES = len(data)
    assert post_json(client, data).status_code == 200
    assert CallbackReceipt.objects.get().truncated is False


def test_a_multipart_status_callback_is_read_from_the_raw_body(client):
    message = AcceptedMessageFactory(provider_message_id="kal-1")
    fields = flat_body("kal-1", "delivered", T_SENT)
    response = post_raw(client, fields, MULTIPART_CONTENT)  # the client encodes it
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("multipart/form-data", b"--x\r\n", "boundary is missing"),
        ("multipart/form-data; boundary=x", b"no parts here", "malformed"),
    ],
)
def test_unreadable_multipart_gets_400_with_the_reason(client, content_type, body, reason):
    response = post_raw(client, body, content_type)
    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert reason in CallbackReceipt.objects.get().rejected_reason


def test_startup_check_refuses_a_body_limit_that_is_not_positive(settings):
    from django.core import checks

    settings.KALEYRA_CALLBACK_MAX_BODY_BYTES = 0
    assert "messaging.E102" in [m.id for m in checks.run_checks()]
    settings.KALEYRA_CALLBACK_MAX_BODY_BYTES = 1024
    assert "messaging.E102" not in [m.id for m in checks.run_checks()]


def test_a_change_value_with_a_status_and_an_incoming_message_handles_both(client):
    message = AcceptedMessageFactory(provider_message_id="kal-1")
    body = copy.deepcopy(V2_INCOMING)
    body["meta_object"]["value"]["statuses"] = [wa_status("wamid.1", "read", T_SENT)]
    body["extra_info"]["message_id"] = "kal-1"
    assert post_json(client, body).status_code == 200
    message.refresh_from_db()
    assert message.status == "read"
    assert InboundEvent.objects.get().external_id == "wamid.IN1"
    assert CallbackReceipt.objects.get().event_count == 2


def test_a_large_raw_body_is_shown_cut_on_its_admin_page(client):
    body = json.dumps({**PAYMENT, "notes": "z" * 150_000})
    assert post_json(client, body).status_code == 200
    receipt = CallbackReceipt.objects.get()
    html = admin_html(client, f"/admin/messaging/callbackreceipt/{receipt.pk}/change/")
    assert f"The first 100,000 of {len(body):,} characters" in html
    assert "z" * 1000 in html and "z" * 150_000 not in html
