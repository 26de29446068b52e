"""Sending: one call per message, claims, retries with backoff, pause on E110, unknown outcomes."""

import json
from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone

from messaging.models import SendingPause, SentMessage
from messaging.sandbox import ERRORS
from messaging.services import (
    message_mark_accepted,
    messages_retry,
    messages_send,
    messages_sweep,
    sending_pause_clear,
)
from messaging.services.sending import backoff_delay
from tests.factories import SentMessageFactory

from .conftest import SEND_URL

pytestmark = pytest.mark.django_db


def accepted(message_id):
    return {"code": "WA202", "message": "Request Accepted", "data": {"message_id": message_id}}


def error(code):
    status, body = ERRORS[code]
    return {"json": body, "status": status}


@responses.activate
def test_accepted_stores_message_id_and_sends_the_stored_json(kaleyra):
    message = SentMessageFactory()
    responses.post(SEND_URL, json=accepted("MID1"), status=202)
    summary = messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (summary.accepted, message.status, message.provider_message_id) == (
        1,
        "accepted",
        "MID1",
    )
    assert message.attempts == 1 and message.accepted_at is not None
    assert len(responses.calls) == 1
    assert json.loads(responses.calls[0].request.body) == message.payload


@responses.activate
def test_same_task_delivered_twice_sends_once(kaleyra):
    messages = SentMessageFactory.create_batch(3)
    ids = [m.pk for m in messages]
    for n in range(3):
        responses.post(SEND_URL, json=accepted(f"MID{n}"), status=202)
    messages_send(message_ids=ids)
    second = messages_send(message_ids=ids)
    assert len(responses.calls) == 3
    assert second.skipped == 3
    assert set(SentMessage.objects.values_list("status", flat=True)) == {"accepted"}


@responses.activate
def test_message_claimed_elsewhere_is_not_sent(kaleyra):
    message = SentMessageFactory(status="sending", claimed_at=timezone.now())
    messages_send(message_ids=[message.pk])
    assert len(responses.calls) == 0


@responses.activate
def test_wa500_is_retried_with_backoff_then_fails_after_max_attempts(kaleyra):
    message = SentMessageFactory()
    responses.post(SEND_URL, **error("WA500"))
    first = messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1
    assert message.error_code == "WA500"
    ((ids, delay),) = first.deferred
    assert ids == [message.pk] and 0.5 <= delay <= 1.5
    assert message.next_attempt_at > timezone.now()
    # Not due yet: the task delivered early defers it again without calling Kaleyra.
    assert messages_send(message_ids=[message.pk]).deferred
    assert len(responses.calls) == 1
    for _attempt in (2, 3):
        SentMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert len(responses.calls) == 3
    assert (message.status, message.attempts, message.error_code) == ("failed", 3, "WA500")
    assert "gave up after 3 attempts" in message.error_message
    assert message.failed_at is not None


def test_backoff_grows_exponentially_with_jitter_and_a_cap(kaleyra):
    for attempts, base in ((1, 1), (2, 2), (3, 4), (4, 8)):
        delays = [backoff_delay(attempts) for _ in range(50)]
        assert all(0.5 * base <= d <= 1.5 * base for d in delays)
        assert len(set(delays)) > 1
    assert all(backoff_delay(20) <= 15 for _ in range(50))


@pytest.mark.parametrize("code", ["RBC001", "WA401", "WA400"])
@responses.activate
def test_permanent_errors_fail_at_once_keeping_kaleyras_message(kaleyra, code):
    message = SentMessageFactory()
    responses.post(SEND_URL, **error(code))
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", code)
    assert message.error_message == ERRORS[code][1]["message"]
    assert len(responses.calls) == 1


@pytest.mark.parametrize("code", ["E110", "WAV2101"])
@responses.activate
def test_low_balance_pauses_the_account_and_the_batch_resumes(kaleyra, code):
    messages = SentMessageFactory.create_batch(4)
    ids = [m.pk for m in messages]
    responses.post(SEND_URL, json=accepted("MID0"), status=202)
    responses.post(SEND_URL, **error(code))
    summary = messages_send(message_ids=ids)
    assert len(responses.calls) == 2  # stopped at the first refusal, no hammering
    pause = SendingPause.objects.get()
    assert (pause.code, pause.message) == (code, ERRORS[code][1]["message"])
    ((deferred_ids, delay),) = summary.deferred
    assert deferred_ids == ids[1:] and delay >= kaleyra.KALEYRA_PAUSE_SECONDS
    refused = SentMessage.objects.get(pk=ids[1])
    assert (refused.status, refused.attempts, refused.error_code) == ("queued", 0, code)
    # Other workers leave the account alone while it is paused.
    assert messages_send(message_ids=ids[1:]).deferred
    assert len(responses.calls) == 2
    # Topped up: the pause is lifted and the rest of the batch goes.
    sending_pause_clear()
    responses.reset()
    for n in range(3):
        responses.post(SEND_URL, json=accepted(f"NEXT{n}"), status=202)
    messages_send(message_ids=ids[1:])
    assert SentMessage.objects.filter(status="accepted").count() == 4


@responses.activate
def test_after_a_pause_one_worker_tries_before_the_others(kaleyra):
    from messaging.services.sending import PAUSE_PROBE_SECONDS, _pause_probe_take

    past = timezone.now() - timedelta(seconds=1)
    SendingPause.objects.create(
        account=f"{kaleyra.KALEYRA_SID}:{kaleyra.KALEYRA_WHATSAPP_NUMBER}",
        code="E110",
        since=past - timedelta(minutes=5),
        until=past,
    )
    now = timezone.now()
    assert _pause_probe_take(now=now) is True
    assert _pause_probe_take(now=now) is False  # the probe is taken
    # A chunk arriving meanwhile waits for the probe's answer instead of calling Kaleyra.
    message = SentMessageFactory()
    (deferred,) = messages_send(message_ids=[message.pk]).deferred
    assert deferred[1] >= PAUSE_PROBE_SECONDS - 1
    assert len(responses.calls) == 0


@responses.activate
def test_pause_expires_by_itself(kaleyra):
    message = SentMessageFactory()
    SendingPause.objects.create(
        account=f"{kaleyra.KALEYRA_SID}:{kaleyra.KALEYRA_WHATSAPP_NUMBER}",
        code="E110",
        since=timezone.now() - timedelta(minutes=10),
        until=timezone.now() - timedelta(seconds=1),
    )
    responses.post(SEND_URL, json=accepted("MID"), status=202)
    messages_send(message_ids=[message.pk])
    assert SentMessage.objects.get().status == "accepted"
    assert not SendingPause.objects.exists()  # the probe went through: lifted for everyone


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (requests.ReadTimeout("read timed out"), "read_timeout"),
        ({"json": {"code": "WA202", "data": {}}, "status": 202}, "invalid_answer"),
    ],
)
@responses.activate
def test_lost_answer_makes_the_message_unknown_and_never_resent_blindly(kaleyra, failure, code):
    message = SentMessageFactory()
    if isinstance(failure, Exception):
        responses.post(SEND_URL, body=failure)
    else:
        responses.post(SEND_URL, **failure)
    messages_send(message_ids=[message.pk])
    messages_send(message_ids=[message.pk])
    messages_sweep()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("unknown", code)
    assert "check before resending" in message.error_message
    assert len(responses.calls) == 1


@responses.activate
def test_connection_refused_is_retried(kaleyra):
    message = SentMessageFactory()
    responses.post(SEND_URL, body=requests.ConnectTimeout("connect timed out"))
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("queued", "connect_timeout")


def test_sweep_marks_messages_a_dead_worker_left_in_sending_as_unknown(kaleyra):
    old = timezone.now() - timedelta(seconds=kaleyra.KALEYRA_SENDING_STALE_AFTER + 1)
    lost = SentMessageFactory(status="sending", claimed_at=old, requested_at=old)
    busy = SentMessageFactory(status="sending", claimed_at=timezone.now())
    result = messages_sweep()
    lost.refresh_from_db()
    busy.refresh_from_db()
    assert result["worker_lost"] == 1
    assert (lost.status, lost.error_code) == ("unknown", "worker_lost")
    assert busy.status == "sending"


def test_sweep_requeues_queued_messages_whose_task_was_lost_once(kaleyra):
    stale = SentMessageFactory(next_attempt_at=timezone.now() - timedelta(hours=1))
    SentMessageFactory(next_attempt_at=timezone.now())
    assert messages_sweep()["requeue"] == [stale.pk]
    assert messages_sweep()["requeue"] == []


def test_sweep_leaves_queued_messages_alone_while_paused(kaleyra):
    SentMessageFactory(next_attempt_at=timezone.now() - timedelta(hours=1))
    SendingPause.objects.create(
        account=f"{kaleyra.KALEYRA_SID}:{kaleyra.KALEYRA_WHATSAPP_NUMBER}",
        code="E110",
        since=timezone.now(),
        until=timezone.now() + timedelta(minutes=5),
    )
    assert messages_sweep()["requeue"] == []


def test_unknown_messages_are_resent_only_when_configured(kaleyra):
    old = timezone.now() - timedelta(minutes=10)
    message = SentMessageFactory(status="unknown", error_code="read_timeout", claimed_at=old)
    assert messages_sweep()["unknown_resent"] == 0
    kaleyra.KALEYRA_UNKNOWN_RESEND_AFTER = 60
    result = messages_sweep()
    assert result["unknown_resent"] == 1 and message.pk in result["requeue"]
    message.refresh_from_db()
    assert message.status == "queued"


def test_callback_finds_message_by_any_id_or_adopts_an_unknown_one(kaleyra):
    known = SentMessageFactory(status="accepted", provider_message_id="KNOWN")
    assert message_mark_accepted(message_ids=["wamid.X", "KNOWN"]) == known
    lost = SentMessageFactory(status="unknown", error_code="read_timeout")
    found = message_mark_accepted(
        message_ids=["NEWID"],
        recipient=str(lost.recipient).lstrip("+"),
        ref=lost.ref,
        ref1=lost.ref1,
        ref2=lost.ref2,
    )
    assert found == lost
    lost.refresh_from_db()
    assert (lost.status, lost.provider_message_id, lost.error_code) == ("accepted", "NEWID", "")
    assert message_mark_accepted(message_ids=["OTHER"], recipient="+910", ref="x") is None


def test_retry_failed_needs_confirmation_for_permanent_and_unknown(
    kaleyra, django_capture_on_commit_callbacks
):
    transient = SentMessageFactory(status="failed", error_code="WA500")
    permanent = SentMessageFactory(status="failed", error_code="WA400")
    unknown = SentMessageFactory(status="unknown", error_code="read_timeout")
    done = SentMessageFactory(status="accepted", provider_message_id="M")
    with django_capture_on_commit_callbacks() as callbacks:
        result = messages_retry(messages=SentMessage.objects.all())
    assert result == {"retried": 1, "needs_confirmation": 2, "skipped": 1}
    assert len(callbacks) == 1
    transient.refresh_from_db()
    assert (transient.status, transient.attempts) == ("queued", 0)
    result = messages_retry(messages=SentMessage.objects.all(), confirmed=True)
    assert result["retried"] == 2
    for message in (permanent, unknown, done):
        message.refresh_from_db()
    assert (permanent.status, unknown.status, done.status) == ("queued", "queued", "accepted")


def early_callback(client, settings, message, message_id):
    """Kaleyra's "sent" callback for `message`, posted before its send answer is recorded."""
    from .callback_bodies import post_json, v2_body, wa_status

    settings.KALEYRA_CALLBACK_BASIC_AUTH = "kaleyra:first-secret"
    body = v2_body(
        message_id,
        [wa_status("wamid.EARLY", "sent", 1700000000)],
        ref=message.ref,
        ref1=message.ref1,
        ref2=message.ref2,
    )
    assert post_json(client, body).status_code == 200


@responses.activate
def test_callback_that_came_before_the_answer_was_lost_settles_the_message(
    kaleyra, client, settings
):
    message = SentMessageFactory(recipient="+919812345678")
    early_callback(client, settings, message, "MID-EARLY")  # nothing to match yet
    responses.post(SEND_URL, body=requests.ReadTimeout("read timed out"))
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "MID-EARLY")


def test_callback_that_came_before_the_worker_died_settles_the_message(kaleyra, client, settings):
    old = timezone.now() - timedelta(seconds=kaleyra.KALEYRA_SENDING_STALE_AFTER + 1)
    message = SentMessageFactory(
        recipient="+919812345678", status="sending", claimed_at=old, requested_at=old
    )
    early_callback(client, settings, message, "MID-EARLY")
    assert messages_sweep()["worker_lost"] == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "MID-EARLY")


def test_sweep_sends_again_what_a_dead_worker_claimed_but_never_requested(
    kaleyra, django_capture_on_commit_callbacks
):
    """A worker killed mid-chunk: only the message whose request went out is "unknown"; the
    rest of its chunk goes back to the queue, its attempt not counted, and is enqueued."""
    old = timezone.now() - timedelta(seconds=kaleyra.KALEYRA_SENDING_STALE_AFTER + 1)
    requested = SentMessageFactory(status="sending", claimed_at=old, requested_at=old, attempts=1)
    unsent = [SentMessageFactory(status="sending", claimed_at=old, attempts=1) for _ in range(3)]
    result = messages_sweep()
    assert (result["worker_lost"], result["returned_to_queue"]) == (1, 3)
    assert result["requeue"] == sorted(message.pk for message in unsent)
    requested.refresh_from_db()
    assert (requested.status, requested.error_code) == ("unknown", "worker_lost")
    for message in unsent:
        message.refresh_from_db()
        assert (message.status, message.error_code, message.attempts) == ("queued", "", 0)


@responses.activate
def test_each_message_is_marked_requested_just_before_its_own_call(kaleyra):
    """Before: the whole chunk was only "sending" (claimed) while its first message went out,
    so a crash then made all of it "unknown"."""
    messages = [SentMessageFactory() for _ in range(3)]
    seen = []

    def answer(request):
        states = dict(
            SentMessage.objects.filter(pk__in=[m.pk for m in messages]).values_list(
                "pk", "requested_at"
            )
        )
        seen.append([states[m.pk] is not None for m in messages])
        return 202, {}, json.dumps(accepted(f"MID{len(seen)}"))

    responses.add_callback(responses.POST, SEND_URL, callback=answer)
    assert messages_send(message_ids=[m.pk for m in messages]).accepted == 3
    assert seen == [[True, False, False], [True, True, False], [True, True, True]]


@responses.activate
def test_resending_an_unknown_message_flags_it_and_keeps_the_first_attempts_id(
    kaleyra, django_capture_on_commit_callbacks
):
    """An operator resends an unknown message; the resend is accepted; a callback about the
    first attempt comes later. Before: the message looked plainly accepted and the first
    attempt's callback matched nothing."""
    from messaging.callbacks.services import callback_event_apply

    message = SentMessageFactory(status="unknown", error_code="read_timeout", attempts=1)
    result = messages_retry(messages=SentMessage.objects.filter(pk=message.pk), confirmed=True)
    assert result["retried"] == 1
    responses.post(SEND_URL, json=accepted("SECOND"), status=202)
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("accepted", "SECOND")
    assert message.possible_duplicate is True

    event = _first_attempt_callback(message, status="delivered")
    assert callback_event_apply(event_id=event.pk).message_id == message.pk
    message.refresh_from_db()
    assert (message.provider_message_id, message.first_provider_message_id) == ("SECOND", "FIRST")
    assert (message.status, message.possible_duplicate) == ("delivered", True)


def test_retrying_a_failed_message_is_no_possible_duplicate(
    kaleyra, django_capture_on_commit_callbacks
):
    message = SentMessageFactory(status="failed", error_code="WA500")
    messages_retry(messages=SentMessage.objects.filter(pk=message.pk))
    message.refresh_from_db()
    assert (message.status, message.possible_duplicate) == ("queued", False)


def test_unknown_messages_resent_by_the_sweep_are_flagged(kaleyra):
    old = timezone.now() - timedelta(minutes=10)
    message = SentMessageFactory(status="unknown", error_code="worker_lost", claimed_at=old)
    kaleyra.KALEYRA_UNKNOWN_RESEND_AFTER = 60
    assert messages_sweep()["unknown_resent"] == 1
    message.refresh_from_db()
    assert (message.status, message.possible_duplicate) == ("queued", True)


def _first_attempt_callback(message, *, status):
    """A stored callback about the message's first attempt (id FIRST), found by its refs."""
    from messaging.models import CallbackEvent, CallbackReceipt

    return CallbackEvent.objects.create(
        receipt=CallbackReceipt.objects.create(content_type="application/json", body="{}"),
        event_hash=f"first-attempt-{message.pk}",
        top_message_id="FIRST",
        status=status,
        recipient=str(message.recipient).removeprefix("+"),
        ref=message.ref,
        ref1=message.ref1,
        ref2=message.ref2,
        occurred_at=timezone.now(),
    )


@responses.activate
def test_callback_for_an_unknown_message_queued_to_be_resent_spares_the_resend(kaleyra):
    """The sweep queued an unknown message to be sent again (KALEYRA_UNKNOWN_RESEND_AFTER), then
    the callback of its first attempt arrives: it takes that id and is not sent twice."""
    from messaging.callbacks.services import callback_event_apply

    old = timezone.now() - timedelta(minutes=10)
    message = SentMessageFactory(status="unknown", error_code="read_timeout", claimed_at=old)
    kaleyra.KALEYRA_UNKNOWN_RESEND_AFTER = 60
    assert messages_sweep()["unknown_resent"] == 1
    event = _first_attempt_callback(message, status="sent")
    assert callback_event_apply(event_id=event.pk).message_id == message.pk
    assert messages_send(message_ids=[message.pk]).skipped == 1
    assert len(responses.calls) == 0
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "FIRST")
