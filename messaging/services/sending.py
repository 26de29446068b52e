"""Sending queued messages, safely.

Exactly one Kaleyra call per message in the normal path:

- A message is claimed with a conditional UPDATE (queued -> sending, only if still queued) just
  before its call. A second delivery of the same task (acks_late redelivery, a duplicate enqueue
  by the sweep) finds nothing queued and does nothing.
- Kaleyra has no idempotency key. So a message is sent again only when the failure certainly
  happened before Kaleyra could have taken it: no connection was ever made, or Kaleyra answered
  and said no (WA500, other 5xx, 429). Those go back to queued with exponential backoff and
  jitter, up to KALEYRA_MAX_ATTEMPTS.
- When the request went out and the answer was lost (read timeout, connection dropped while
  waiting, 2xx without a message id), the message may have been accepted: it becomes "unknown"
  with the reason, and is NOT resent. Kaleyra's status callbacks settle it: the callback carries
  our ref/ref1/ref2 and the recipient, and `messaging.matching.message_for_callback` adopts the
  callback's message id for the one unknown message they match (accepted). An operator resends
  the rest after checking (the admin's retry action asks for confirmation), or, where a
  duplicate is preferable to a missing message, KALEYRA_UNKNOWN_RESEND_AFTER > 0 lets the sweep
  resend unknown messages no callback has claimed after that many seconds.
- Each message is marked as requested (one UPDATE by primary key) just before its own call. A
  worker that dies leaves its chunk in "sending"; acks_late + reject_on_worker_lost redeliver the
  task, whose claim skips them; the sweep takes messages "sending" for longer than
  KALEYRA_SENDING_STALE_AFTER: those never requested go back to the queue (sent once), those
  requested become unknown (worker_lost), never resent blindly.
- An unknown message sent again (confirmed retry, KALEYRA_UNKNOWN_RESEND_AFTER) is flagged
  `possible_duplicate`; a callback about its first attempt later records that attempt's id in
  `first_provider_message_id` (messaging.matching).
- Just before its call, a message is checked against what may have changed since it was queued
  (its order no longer pending or about to expire, its coupon deactivated or expired:
  messaging.services.send_checks); one that fails the check becomes failed, without a call.
- E110 (low balance) and WAV2101 (daily limit) pause the whole account (SendingPause): the message
  goes back to queued without using an attempt, the rest of the chunk is deferred to the end of
  the pause, and every worker checks the pause before sending.
"""

import functools
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..callbacks.services import callback_events_match, callback_events_match_unknown
from ..client import Outcome, SendResult, kaleyra_client
from ..limiter import send_slot_wait
from ..models import MessageStatus, SendingPause, SentMessage
from ..status_hooks import StatusChange, message_statuses_changed
from ..status_moves import messages_status_move
from .send_checks import (
    CHECKED_KINDS,
    STATE_FIELDS,
    SendState,
    message_refuse,
    message_send_refusal,
)

S = MessageStatus
# Outcome codes meaning "the request went out, the answer was lost".
UNKNOWN_CODES = ("read_timeout", "connection_dropped", "request_error", "invalid_answer")
WORKER_LOST = "worker_lost"
UNKNOWN_NOTE = "Kaleyra may or may not have accepted it: check before resending."
# How long the other workers wait while one tries whether a pause is over.
PAUSE_PROBE_SECONDS = 30


@dataclass
class SendSummary:
    accepted: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    # (message ids, delay in seconds) to send again later
    deferred: list = field(default_factory=list)


def account_key() -> str:
    return f"{settings.KALEYRA_SID}:{settings.KALEYRA_WHATSAPP_NUMBER}"


def sending_pause_active(*, now=None) -> SendingPause | None:
    now = now or timezone.now()
    return SendingPause.objects.filter(account=account_key(), until__gt=now).first()


def sending_pause_set(*, result: SendResult, now=None) -> SendingPause:
    now = now or timezone.now()
    until = now + timedelta(seconds=settings.KALEYRA_PAUSE_SECONDS)
    pause, created = SendingPause.objects.get_or_create(
        account=account_key(),
        defaults={"code": result.code, "message": result.message, "since": now, "until": until},
    )
    if not created:
        if pause.until <= now:
            pause.since = now
        pause.code, pause.message, pause.until = result.code, result.message, until
        pause.save()
    return pause


def _pause_probe_take(*, now) -> bool:
    """At the end of a pause, one worker (the one that wins this conditional UPDATE) sends one
    message to see whether Kaleyra takes messages again; the others wait PAUSE_PROBE_SECONDS
    more, so a resumed batch does not hit a still-empty balance from every worker at once."""
    probe_until = now + timedelta(seconds=PAUSE_PROBE_SECONDS)
    return bool(
        SendingPause.objects.filter(account=account_key(), until__lte=now).update(until=probe_until)
    )


def sending_pause_clear() -> int:
    """Lift the account's pause now (an operator topped up); queued messages go on their next
    try."""
    return SendingPause.objects.filter(account=account_key()).delete()[0]


def backoff_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base x 2^(attempts-1), times 0.5-1.5, capped."""
    base = settings.KALEYRA_RETRY_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, settings.KALEYRA_RETRY_BACKOFF_MAX_SECONDS) * random.uniform(0.5, 1.5)


def messages_send(*, message_ids) -> SendSummary:
    """Send these messages, those still queued and due, one Kaleyra call each.

    The due messages are claimed together (one UPDATE), each is marked as requested just before
    its call (one UPDATE by primary key), and their acceptances are written together (one UPDATE
    every quarter second or so). A worker dying in between leaves the chunk's messages in
    "sending": the sweep gives those never requested back to the queue and turns the requested
    ones "unknown" (never resent blindly; callbacks still settle them by their refs). Other
    outcomes are written at once. A chunk stops taking time after half of
    KALEYRA_SENDING_STALE_AFTER and gives its unsent messages back to the queue, so no live
    message ever looks stale.
    """
    summary = SendSummary()
    ids = list(message_ids)
    now = timezone.now()
    pause = SendingPause.objects.filter(account=account_key()).first()
    probing = False
    if pause is not None:
        probing = pause.until <= now and _pause_probe_take(now=now)
        if not probing:  # still paused, or another worker is trying whether it is over
            summary.deferred.append((ids, _pause_delay(pause, now)))
            return summary
    rows, states = _messages_claim(ids, now=now)
    if len(rows) < len(ids):
        claimed = {pk for pk, _ in rows}
        for pk, next_attempt_at in SentMessage.objects.filter(
            pk__in=[pk for pk in ids if pk not in claimed], status=S.QUEUED
        ).values_list("pk", "next_attempt_at"):
            if next_attempt_at and next_attempt_at > now:  # else another worker holds it
                summary.deferred.append(([pk], (next_attempt_at - now).total_seconds()))
        summary.skipped = len(ids) - len(rows) - len(summary.deferred)
    client = kaleyra_client()
    accepted = _AcceptedWriter()
    budget = time.monotonic() + settings.KALEYRA_SENDING_STALE_AFTER / 2
    try:
        for index, (pk, payload) in enumerate(rows):
            if time.monotonic() > budget:
                rest = [row[0] for row in rows[index:]]
                _messages_release(rest)
                summary.deferred.append((rest, 0))
                break
            state = states.get(pk)
            if state is not None and (
                refusal := message_send_refusal(state=state, payload=payload)
            ):
                message_refuse(pk=pk, refusal=refusal)
                summary.failed += 1
                continue
            send_slot_wait()
            _message_requested(pk)
            result = client.send(payload)
            if probing and result.outcome != Outcome.PAUSE:
                sending_pause_clear()  # Kaleyra takes messages again: everyone may go on
                probing = False
            if result.outcome == Outcome.ACCEPTED:
                accepted.add(pk, result.message_id)
                summary.accepted += 1
                continue
            if result.outcome == Outcome.PAUSE:
                pause = sending_pause_set(result=result)
                _message_requeue(pk, result, delay=None, refund_attempt=True)
                rest = [row[0] for row in rows[index + 1 :]]
                _messages_release(rest)
                summary.deferred.append(([pk, *rest], _pause_delay(pause, timezone.now())))
                break
            delay = message_result_record(pk=pk, result=result)
            if delay is not None:
                summary.deferred.append(([pk], delay))
            elif result.outcome == Outcome.UNKNOWN:
                summary.unknown += 1
            else:
                summary.failed += 1
    finally:
        accepted.flush()
    return summary


def _messages_claim(ids, *, now) -> tuple[list[tuple[int, dict]], dict[int, SendState]]:
    """Take the queued, due messages among `ids` for sending: queued -> sending, in one
    transaction, skipping rows another worker holds. Returns (pk, payload) of those taken, and
    the state of their orders and coupons (read in the same query, locking only the messages)
    for the checks just before each call (messaging.services.send_checks)."""
    with transaction.atomic():
        taken = list(
            SentMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, status=S.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
            .values_list("pk", "batch_id", "order_id", "payload", *STATE_FIELDS)
        )
        if taken:
            SentMessage.objects.filter(pk__in=[row[0] for row in taken], status=S.QUEUED).update(
                status=S.SENDING, claimed_at=now, requested_at=None, attempts=F("attempts") + 1
            )
            message_statuses_changed(
                changes=[
                    StatusChange(pk, batch_id, order_id, S.QUEUED, S.SENDING, now)
                    for pk, batch_id, order_id, *_ in taken
                ]
            )
    rows = [(pk, payload) for pk, _, _, payload, *_ in taken]
    states = {pk: SendState(*state) for pk, _, _, _, *state in taken if state[0] in CHECKED_KINDS}
    return rows, states


def _message_requested(pk) -> None:
    """Durably note that this message's request is about to go out (autocommit): after a crash
    only such messages may have reached Kaleyra. One plain statement built once: it runs for
    every message sent, and the ORM's building of the same UPDATE cost more CPU than the call."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_requested_statement(connection.vendor), [now, pk, S.SENDING])


@functools.cache
def _requested_statement(vendor: str) -> str:
    table = connection.ops.quote_name(SentMessage._meta.db_table)
    return f"UPDATE {table} SET requested_at = %s WHERE id = %s AND status = %s"  # noqa: S608


def _messages_release(ids) -> None:
    """Claimed but not sent: back to queued, the attempt not counted."""
    if ids:
        messages_status_move(
            messages=SentMessage.objects.filter(pk__in=ids, status=S.SENDING),
            status=S.QUEUED,
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now(),
        )


class _AcceptedWriter:
    """Writes acceptances in groups: UPDATE ... FROM (VALUES (id, message_id), ...)."""

    FLUSH_SECONDS = 0.25
    FLUSH_SIZE = 100

    def __init__(self):
        self.pending = []
        self.last = time.monotonic()

    def add(self, pk, message_id):
        self.pending.append((pk, message_id))
        if (
            len(self.pending) >= self.FLUSH_SIZE
            or time.monotonic() - self.last > self.FLUSH_SECONDS
        ):
            self.flush()

    def flush(self):
        pending, self.pending, self.last = self.pending, [], time.monotonic()
        if not pending:
            return
        table = connection.ops.quote_name(SentMessage._meta.db_table)
        values = ", ".join(["(%s, %s)"] * len(pending))
        sql = (
            f"UPDATE {table} SET status = %s, provider_message_id = v.column2, "  # noqa: S608
            f"accepted_at = %s, updated_at = %s, error_code = '', error_message = '' "
            f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1 AND {table}.status = %s "
            f"RETURNING {table}.id, {table}.batch_id, {table}.order_id"
        )
        now = timezone.now()
        params = [S.ACCEPTED, now, now, *(item for pair in pending for item in pair), S.SENDING]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                message_statuses_changed(
                    changes=[
                        StatusChange(pk, batch_id, order_id, S.SENDING, S.ACCEPTED, now)
                        for pk, batch_id, order_id in cursor.fetchall()
                    ]
                )
        except IntegrityError:
            # A message id we already hold (should never happen): settle them one by one.
            for pk, message_id in pending:
                message_result_record(
                    pk=pk, result=SendResult(Outcome.ACCEPTED, message_id=message_id)
                )
            return
        # Callbacks can arrive before the answer's id is stored: apply them now.
        callback_events_match(provider_message_ids=[message_id for _, message_id in pending])


def message_result_record(*, pk: int, result: SendResult) -> float | None:
    """Store a claimed message's result. Returns the retry delay when it goes back to queued."""
    now = timezone.now()
    claimed = SentMessage.objects.filter(pk=pk, status=S.SENDING)
    if result.outcome == Outcome.ACCEPTED:
        try:
            messages_status_move(
                messages=claimed,
                status=S.ACCEPTED,
                provider_message_id=result.message_id,
                accepted_at=now,
                error_code="",
                error_message="",
            )
        except IntegrityError:
            messages_status_move(
                messages=claimed,
                status=S.UNKNOWN,
                error_code="duplicate_message_id",
                error_message=f"Kaleyra answered with message id {result.message_id}, which "
                "another message already has. " + UNKNOWN_NOTE,
            )
            return None
        # Callbacks can arrive before the answer's id is stored: apply them now.
        callback_events_match(provider_message_ids=[result.message_id])
        return None
    if result.outcome == Outcome.UNKNOWN:
        messages_status_move(
            messages=claimed,
            status=S.UNKNOWN,
            error_code=result.code,
            error_message=f"{result.message} -- {UNKNOWN_NOTE}"[:2000],
        )
        # Its callbacks may have come while it was being sent: they settle it now.
        callback_events_match_unknown(message_ids=[pk])
        return None
    if result.outcome == Outcome.RETRY:
        attempts = SentMessage.objects.filter(pk=pk).values_list("attempts", flat=True).first()
        if attempts is not None and attempts < settings.KALEYRA_MAX_ATTEMPTS:
            delay = backoff_delay(attempts)
            _message_requeue(pk, result, delay=delay)
            return delay
        message = f"{result.message} (gave up after {attempts} attempts)"
    else:
        message = result.message
    messages_status_move(
        messages=claimed,
        status=S.FAILED,
        error_code=result.code,
        error_message=message[:2000],
        failed_at=now,
    )
    return None


def _message_requeue(pk, result: SendResult, *, delay: float | None, refund_attempt=False):
    now = timezone.now()
    changes = {
        "error_code": result.code,
        "error_message": result.message[:2000],
        "next_attempt_at": now + timedelta(seconds=delay) if delay else now,
    }
    if refund_attempt:
        changes["attempts"] = F("attempts") - 1
    messages_status_move(
        messages=SentMessage.objects.filter(pk=pk, status=S.SENDING), status=S.QUEUED, **changes
    )


def _pause_delay(pause: SendingPause, now) -> float:
    left = (pause.until - now).total_seconds()
    if left <= 0:  # over, and another worker is trying it
        left = PAUSE_PROBE_SECONDS
    # Spread the wake-ups so the resumed batch does not arrive as one burst.
    return left + random.uniform(0, 5)
