import io
import json
from datetime import UTC, datetime

import pytest
from django.core import checks

from messaging.callbacks.parsers import callback_events_parse
from messaging.callbacks.services import (
    callback_events_match,
    callback_events_sweep,
    callback_receipt_store,
)
from messaging.models import CallbackEvent, CallbackReceipt
from orders.models import OrderEvent
from tests.factories import AcceptedMessageFactory, OrderFactory

from .callback_bodies import (
    CALLBACK_URL,
    CREDENTIALS,
    basic,
    flat_body,
    post_form,
    post_json,
    v2_body,
    wa_status,
)

pytestmark = pytest.mark.django_db

T_SENT = 1_763_700_000
T_DELIVERED = T_SENT + 5
T_READ = T_SENT + 60
T_FAILED = T_SENT + 30


def at(ts):
    return datetime.fromtimestamp(ts, tz=UTC)


@pytest.fixture(autouse=True)
def callback_credentials(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS


@pytest.fixture
def message():
    return AcceptedMessageFactory(provider_message_id="kal-1", order=OrderFactory())


def refreshed(message):
    message.refresh_from_db()
    return message


# --- credentials -------------------------------------------------------------------------------


def test_missing_credentials_are_refused_and_nothing_is_stored(client, message):
    response = post_json(
        client, v2_body("kal-1", [wa_status("wamid.1", "sent", T_SENT)]), auth=None
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="kaleyra-callbacks"'
    assert CallbackReceipt.objects.count() == 0
    assert refreshed(message).status == "accepted"


@pytest.mark.parametrize(
    "header",
    [
        basic("kaleyra", "wrong"),
        basic("someone", "first-secret"),
        basic("kaleyra", "first-secret")[:-2],
        "Bearer first-secret",
        "Basic !!!not-base64!!!",
        "Basic " + "a2FsZXlyYQ==",  # "kaleyra" without a colon
    ],
)
def test_wrong_credentials_are_refused_and_nothing_is_stored(client, message, header):
    body = json.dumps(v2_body("kal-1", [wa_status("wamid.1", "sent", T_SENT)]))
    response = client.post(
        CALLBACK_URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
    assert CallbackReceipt.objects.count() == 0
    assert CallbackEvent.objects.count() == 0
    assert refreshed(message).status == "accepted"


@pytest.mark.parametrize("password", ["first-secret", "rotated-secret"])
def test_both_pairs_of_a_rotation_are_accepted(client, message, password):
    body = v2_body("kal-1", [wa_status("wamid.1", "sent", T_SENT)])
    assert post_json(client, body, auth=("kaleyra", password)).status_code == 200
    assert refreshed(message).status == "sent"


@pytest.mark.parametrize("configured", ["", "  ", "no-colon", "user:"])
def test_unconfigured_callbacks_are_all_refused(client, settings, message, configured):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = configured
    body = v2_body("kal-1", [wa_status("wamid.1", "sent", T_SENT)])
    response = post_json(client, body, auth=("user", ""))
    assert response.status_code == 503
    assert response.json()["error"] == "not_configured"
    assert CallbackReceipt.objects.count() == 0


def test_startup_check_warns_when_not_configured_and_errs_when_malformed(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = ""
    assert "messaging.W101" in [m.id for m in checks.run_checks()]
    settings.KALEYRA_CALLBACK_BASIC_AUTH = "user-without-password"
    assert "messaging.E101" in [m.id for m in checks.run_checks()]
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    ids = [m.id for m in checks.run_checks()]
    assert "messaging.W101" not in ids and "messaging.E101" not in ids


def test_only_post_is_allowed(client):
    assert client.get(CALLBACK_URL).status_code == 405


# --- formats -----------------------------------------------------------------------------------


def test_v2_json_with_several_statuses_moves_the_message_and_stamps_each_step(client, message):
    body = v2_body(
        "kal-1",
        [
            wa_status("wamid.1", "sent", T_SENT),
            wa_status("wamid.1", "delivered", T_DELIVERED),
            wa_status("wamid.1", "read", T_READ),
        ],
        ref="diwali",
    )
    response = post_json(client, body)
    assert response.status_code == 200
    message = refreshed(message)
    assert message.status == "read"
    assert (message.sent_at, message.delivered_at, message.read_at) == (
        at(T_SENT),
        at(T_DELIVERED),
        at(T_READ),
    )
    events = list(CallbackEvent.objects.order_by("occurred_at"))
    assert [e.status for e in events] == ["sent", "delivered", "read"]
    assert {e.ref for e in events} == {"diwali"}
    assert all(e.message == message and e.outcome == "applied" for e in events)
    assert CallbackReceipt.objects.get().event_count == 3


def test_v2_body_matches_on_the_whatsapp_id_alone(client):
    message = AcceptedMessageFactory(provider_message_id="wamid.only")
    body = v2_body("", [wa_status("wamid.only", "delivered", T_DELIVERED)], top_level_id=False)
    assert post_json(client, body).status_code == 200
    assert refreshed(message).status == "delivered"


def test_flat_json(client, message):
    assert post_json(client, flat_body("kal-1", "delivered", T_DELIVERED)).status_code == 200
    message = refreshed(message)
    assert message.status == "delivered"
    assert message.delivered_at == at(T_DELIVERED)
    assert message.sent_at == at(T_DELIVERED)  # delivered implies sent


def test_flat_form_data_with_a_failure(client, message):
    fields = flat_body(
        "kal-1", "failed", T_FAILED, error="Message undeliverable", error_code="131026"
    )
    assert post_form(client, fields).status_code == 200
    message = refreshed(message)
    assert (message.status, message.error_code, message.error_title) == (
        "failed",
        "131026",
        "Message undeliverable",
    )
    assert message.failed_at == at(T_FAILED)


def test_v2_as_form_data_with_json_fields(client, message):
    body = v2_body("kal-1", [wa_status("wamid.1", "read", T_READ)])
    fields = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in body.items()}
    assert post_form(client, fields).status_code == 200
    assert refreshed(message).status == "read"


def test_not_sent_is_normalised(client, message):
    assert post_json(client, flat_body("kal-1", "not-sent", T_SENT)).status_code == 200
    assert refreshed(message).status == "not_sent"


def test_whatsapp_error_code_title_and_details_are_stored_on_failure(client, message):
    error = {
        "code": 131049,
        "title": "This message was not delivered to maintain healthy ecosystem engagement.",
        "message": "This message was not delivered to maintain healthy ecosystem engagement.",
        "error_data": {"details": "In order to maintain a healthy ecosystem engagement..."},
    }
    body = v2_body("kal-1", [wa_status("wamid.1", "failed", T_FAILED, error=error)])
    assert post_json(client, body).status_code == 200
    message = refreshed(message)
    assert message.status == "failed"
    assert message.error_code == "131049"
    assert message.error_title.startswith("This message was not delivered")
    assert message.error_details == "In order to maintain a healthy ecosystem engagement..."


# --- order of events, duplicates, history --------------------------------------------------------


def test_read_before_delivered_keeps_read_and_takes_the_real_delivery_time(client, message):
    post_json(client, v2_body("kal-1", [wa_status("wamid.1", "read", T_READ)]))
    message = refreshed(message)
    assert message.status == "read"
    assert message.delivered_at == at(T_READ)  # read implies delivered
    post_json(client, v2_body("kal-1", [wa_status("wamid.1", "delivered", T_DELIVERED)]))
    message = refreshed(message)
    assert message.status == "read"
    assert message.delivered_at == at(T_DELIVERED)
    assert CallbackEvent.objects.get(status="delivered").outcome == "recorded"


def test_delivered_after_failed_is_delivered_with_an_anomaly(client, message):
    post_json(client, flat_body("kal-1", "failed", T_FAILED, error_code="131000"))
    post_json(client, flat_body("kal-1", "delivered", T_DELIVERED))
    message = refreshed(message)
    assert (message.status, message.delivery_anomaly) == ("delivered", True)
    assert message.failed_at == at(T_FAILED)


def test_failure_after_delivered_is_an_anomaly_not_a_step_back(client, message):
    post_json(client, flat_body("kal-1", "delivered", T_DELIVERED))
    error = {"code": 131000, "title": "Something went wrong"}
    post_json(client, v2_body("kal-1", [wa_status("wamid.1", "failed", T_FAILED, error=error)]))
    message = refreshed(message)
    assert (message.status, message.delivery_anomaly) == ("delivered", True)
    assert message.error_code == "131000"
    assert CallbackEvent.objects.get(status="failed").outcome == "anomaly"
    notes = list(message.order.events.filter(kind="message").values_list("after", "note"))
    assert notes[-1][0] == "delivered"
    assert "failure and delivery both reported" in notes[-1][1]


def test_late_sent_after_failed_does_not_undo_the_failure(client, message):
    post_json(client, flat_body("kal-1", "failed", T_FAILED))
    post_json(client, flat_body("kal-1", "sent", T_SENT))
    message = refreshed(message)
    assert (message.status, message.delivery_anomaly) == ("failed", False)
    assert message.sent_at == at(T_SENT)


def test_the_same_event_twice_is_stored_raw_twice_and_counted_once(client, message):
    body = v2_body("kal-1", [wa_status("wamid.1", "delivered", T_DELIVERED)])
    assert post_json(client, body).status_code == 200
    assert post_json(client, body).status_code == 200
    assert CallbackReceipt.objects.count() == 2
    event = CallbackEvent.objects.get()
    assert event.times_received == 2
    assert message.order.events.filter(kind=OrderEvent.Kind.MESSAGE).count() == 1


def test_order_history_gets_one_event_per_status_change(client, message):
    post_json(client, flat_body("kal-1", "sent", T_SENT))
    post_json(client, flat_body("kal-1", "sent", T_SENT))  # duplicate
    post_json(client, flat_body("kal-1", "delivered", T_DELIVERED))
    post_json(client, flat_body("kal-1", "sent", T_SENT + 1))  # late, changes nothing
    history = list(
        message.order.events.filter(kind="message").values_list("before", "after", "source")
    )
    assert history == [("accepted", "sent", "kaleyra"), ("sent", "delivered", "kaleyra")]


# --- unknown ids ---------------------------------------------------------------------------------


def test_unknown_id_is_kept_and_matched_when_the_send_answer_arrives(client):
    body = v2_body("kal-late", [wa_status("wamid.late", "delivered", T_DELIVERED)])
    assert post_json(client, body).status_code == 200
    body = v2_body("kal-late", [wa_status("wamid.late", "sent", T_SENT)])
    assert post_json(client, body).status_code == 200
    assert {e.outcome for e in CallbackEvent.objects.all()} == {"unmatched"}

    message = AcceptedMessageFactory(provider_message_id=None, status="sending", accepted_at=None)
    message.provider_message_id = "kal-late"
    message.status = "accepted"
    message.save()
    assert callback_events_match(provider_message_ids=["kal-other", "kal-late"]) == 2
    message = refreshed(message)
    assert (message.status, message.sent_at, message.delivered_at) == (
        "delivered",
        at(T_SENT),
        at(T_DELIVERED),
    )
    assert {e.message for e in CallbackEvent.objects.all()} == {message}
    assert callback_events_match(provider_message_ids=["kal-late"]) == 0  # nothing waits


def test_a_callback_settles_a_message_whose_send_answer_was_lost(client):
    """The send's answer was lost (status unknown, no id); Kaleyra's callback carries our refs and
    recipient, so it identifies the message: it becomes accepted with Kaleyra's id, then moves."""
    lost = AcceptedMessageFactory(
        recipient="+919812345678",
        ref="SAVE10",
        ref1="coupon_code",
        ref2="Diwali",
        status="unknown",
        provider_message_id=None,
        accepted_at=None,
    )
    AcceptedMessageFactory(  # same person, other campaign: not a candidate
        recipient="+919812345678",
        ref="SAVE10",
        ref1="coupon_code",
        ref2="Holi",
        status="unknown",
        provider_message_id=None,
        accepted_at=None,
    )
    body = v2_body(
        "kal-lost",
        [wa_status("wamid.lost", "delivered", T_DELIVERED)],
        ref="SAVE10",
        ref1="coupon_code",
        ref2="Diwali",
    )
    assert post_json(client, body).status_code == 200
    lost = refreshed(lost)
    assert (lost.status, lost.provider_message_id) == ("delivered", "kal-lost")
    assert lost.delivered_at == at(T_DELIVERED)


def test_sweep_applies_events_stored_but_not_processed_and_late_matches():
    events = callback_events_parse(flat_body("kal-s", "read", T_READ))
    callback_receipt_store(
        body=b"{}", content_type="application/json", remote_addr=None, events=events
    )
    assert CallbackEvent.objects.get().processed_at is None
    assert callback_events_sweep() == 0  # processed now, but no such message yet
    assert CallbackEvent.objects.get().outcome == "unmatched"
    message = AcceptedMessageFactory(provider_message_id="kal-s")
    assert callback_events_sweep() == 1
    assert refreshed(message).status == "read"


# --- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("", "empty"),
        ("[]", "empty list"),
        ("42", "must be an object"),
        (json.dumps({"id": "kal-1"}), "status is missing"),
        (json.dumps({"id": "kal-1", "status": "teleported"}), "'teleported' is not one of"),
        (json.dumps({"status": "sent"}), "carries no message id"),
        (json.dumps({"id": "kal-1", "status": "sent", "timestamp": "yesterday"}), "timestamp"),
        (json.dumps({"id": {"x": 1}, "status": "sent"}), "id must be a string"),
        (json.dumps({"meta_object": "[1]"}), "meta_object must be an object"),
        (
            json.dumps({"meta_object": {"value": {"statuses": [{"id": "w", "status": 5}]}}}),
            "meta_object.value.statuses[0].status must be a string",
        ),
        (json.dumps({"meta_object": {"value": {"statuses": "no"}}}), "statuses must be a list"),
    ],
)
def test_malformed_bodies_get_400_with_the_reason_and_are_kept(client, message, body, reason):
    response = post_json(client, body)
    assert response.status_code == 400
    assert reason in response.json()["message"]
    receipt = CallbackReceipt.objects.get()
    assert reason in receipt.rejected_reason
    assert CallbackEvent.objects.count() == 0
    assert refreshed(message).status == "accepted"


def test_a_bad_status_anywhere_rejects_the_whole_body(client, message):
    body = v2_body(
        "kal-1", [wa_status("wamid.1", "sent", T_SENT), wa_status("wamid.1", "bogus", T_READ)]
    )
    response = post_json(client, body)
    assert response.status_code == 400
    assert "statuses[1].status" in response.json()["message"]
    assert refreshed(message).status == "accepted"


def test_raw_receipts_are_append_only(client, message):
    post_json(client, flat_body("kal-1", "sent", T_SENT))
    receipt = CallbackReceipt.objects.get()
    with pytest.raises(Exception, match="append-only"):
        receipt.save()
    with pytest.raises(Exception, match="append-only"):
        receipt.delete()


def test_an_acknowledged_event_whose_processing_fails_is_applied_by_the_sweep(
    client, message, monkeypatch
):
    from django.core.management import call_command

    from messaging.callbacks import batch

    def broken(*, events):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(batch, "status_events_apply", broken)
    body = v2_body("kal-1", [wa_status("wamid.1", "delivered", T_DELIVERED)])
    assert post_json(client, body).status_code == 200
    assert CallbackEvent.objects.get().processed_at is None
    assert refreshed(message).status == "accepted"

    monkeypatch.undo()
    out = io.StringIO()
    call_command("kaleyra_callbacks_sweep", stdout=out)
    assert "1 callback event(s) applied" in out.getvalue()
    assert refreshed(message).status == "delivered"
