"""Stored receipts turned into events and applied, in batches, off the request.

The callback request only authenticates, checks that the body parses, stores the raw receipt
(one INSERT) and answers; `parsed_at` stays empty until a worker stores the receipt's events.
With CALLBACKS_APPLY=queued (the default) the request then wakes a worker (`callbacks_wake`:
at most one wake-up pending at a time) and `callback_receipts_apply` takes the waiting receipts
in batches (locked with SKIP LOCKED, so runs never take the same ones). One run goes on at a
time across every worker (`callback_receipts_run`, a lock in Redis): a wake-up that finds one
going on leaves it the receipts, so a steady stream of callbacks keeps one thread of the worker
pool busy, not all of them. With CALLBACKS_APPLY=inline the request applies its own receipt
before it answers. A wake-up that is lost (broker down, a worker killed) is made up by the
periodic `callbacks_apply_task` run from beat.

The delivery statuses of a batch are stored and applied set-wise (messaging.callbacks.batch) and
the other events stored set-wise (events.inbound_events_store), and the receipts marked parsed,
in one transaction; the other events go to their registered handlers after it commits, all of a
type in one call (payments are recorded together too: checkout.payments.services), and a status
event whose applying failed is taken again by `callback_events_sweep`.
"""

import logging
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockNotOwnedError

from messaging.models import CallbackEvent, CallbackReceipt

from .batch import status_events_store_and_apply
from .events import InboundItem, inbound_events_dispatch, inbound_events_store
from .parsers import CallbackParseError, callback_document, callback_events_parse
from .services import callback_events_match

logger = logging.getLogger(__name__)

RECEIPT_BATCH = 200
INLINE, QUEUED = "inline", "queued"
WAKE_KEY = "callbacks:apply:wake"
WAKE_SECONDS = 30  # a wake-up whose task never ran stops coalescing after this
# With Redis, a process that has just set (or found) the wake-up flag does not ask Redis again
# for this long: a run that takes the flag lingers longer than this (RUN_LINGER_SECONDS) before
# it stops, so the receipts stored meanwhile are taken by it.
WAKE_QUIET_SECONDS = 0.5
RUN_LINGER_SECONDS = WAKE_QUIET_SECONDS + 0.25
RUN_POLL_SECONDS = 0.05
# One run at a time, across every worker: a run holds this lock in Redis (renewed every
# RUN_RENEW_SECONDS while it runs), so one killed mid-way keeps another from starting for at
# most RUN_LOCK_SECONDS. Without it, each wake-up sent while a run went on started another (the
# flag is cleared when a run starts): under a steady stream of callbacks the runs piled up until
# they held every thread of the worker pool, and sending waited behind them.
RUN_KEY = "callbacks:apply:run"
RUN_LOCK_SECONDS = 15.0
RUN_RENEW_SECONDS = 1.0
# By name: messaging.tasks imports this module (services -> callbacks, never back).
APPLY_TASK = "messaging.tasks.callbacks_apply_task"


def callback_receipts_apply(*, receipt_ids=None, limit: int = RECEIPT_BATCH) -> int:
    """Store the events of up to `limit` waiting receipts (these ids only, when given) and apply
    them. Returns how many receipts it took (0: nothing was waiting)."""
    with transaction.atomic():
        waiting = CallbackReceipt.objects.filter(parsed_at__isnull=True)
        if receipt_ids is not None:
            waiting = waiting.filter(pk__in=list(receipt_ids))
        receipts = list(
            waiting.order_by("pk")
            .select_for_update(skip_locked=True)
            .only("pk", "body", "content_type", "received_at", "event_count")[:limit]
        )
        if not receipts:
            return 0
        statuses, others = [], []
        for receipt in receipts:
            for event in _events(receipt):
                if isinstance(event, InboundItem):
                    others.append((receipt, event))
                else:
                    statuses.append((receipt, event))
        status_events_store_and_apply(items=statuses)
        stored = inbound_events_store(items=others) if others else []
        CallbackReceipt.objects.filter(pk__in=[r.pk for r in receipts]).update(
            parsed_at=timezone.now()
        )
    _unmatched_recheck(receipts=receipts)
    # The batch's events not handled yet, once each, in arrival order, to their handlers (all
    # of a type in one call: payments are applied set-wise).
    pending = {event.pk: event for event in stored if event.handled_at is None}
    if pending:
        try:
            inbound_events_dispatch(events=pending.values())
        except Exception:  # kept unhandled: a repeat delivery tries again
            logger.exception("Inbound events not all handled")
    return len(receipts)


def _unmatched_recheck(*, receipts) -> None:
    """The batch's statuses that found no message by id, tried again now that the batch is
    committed: a send that stored its message id meanwhile looked for waiting events before
    they were visible to it (services.callback_events_match, one query)."""
    ids = set()
    for values in CallbackEvent.objects.filter(
        receipt__in=receipts, outcome=CallbackEvent.Outcome.UNMATCHED
    ).values_list("top_message_id", "extra_message_id", "wa_message_id"):
        ids.update(value for value in values if value)
    if ids:
        callback_events_match(provider_message_ids=ids)


def _events(receipt: CallbackReceipt) -> list:
    """The receipt's events, parsed again from its stored body (the request checked it)."""
    try:
        body = receipt.body.encode("utf-8")
        return callback_events_parse(
            callback_document(body=body, content_type=receipt.content_type)
        )
    except CallbackParseError as exc:  # only if the stored text differs from the bytes
        logger.warning("Callback %s no longer parses: %s", receipt.pk, exc.message)
    except Exception:  # a parser bug (the request answered 500): kept, not retried forever
        logger.exception("Callback %s cannot be parsed", receipt.pk)
    return []


def callback_receipts_run(*, seconds: float) -> int:
    """The apply task's work: a run of callback_receipts_drain, one at a time across every
    worker. A task that finds a run going on returns 0 at once, leaving the wake-up flag as it
    is: that run takes the receipts, and once it has stopped and let go of the run, it clears
    the flag and wakes the next run if any receipt is waiting (one stored after its last look,
    whose request found the flag set or skipped asking)."""
    with _apply_run() as renew:
        if renew is None:
            return 0
        callbacks_wake_clear()
        taken = callback_receipts_drain(seconds=seconds, renew=renew, wake=False)
    callbacks_wake_clear()
    callbacks_wake_if_waiting()
    return taken


def callback_receipts_drain(*, seconds: float, renew=None, wake: bool = True) -> int:
    """Apply waiting receipts batch after batch for up to `seconds`; how many it took. With
    Redis, it stops only after finding none for RUN_LINGER_SECONDS (the requests' quiet window,
    see callbacks_wake). `renew()` is called every RUN_RENEW_SECONDS; it stops the drain by
    answering False. With `wake`, another run is woken when receipts are left."""
    linger = RUN_LINGER_SECONDS if _on_redis() else 0.0
    deadline = time.monotonic() + seconds
    taken, idle_since, renewed = 0, None, time.monotonic()
    while time.monotonic() < deadline:
        if renew is not None and time.monotonic() - renewed >= RUN_RENEW_SECONDS:
            if not renew():
                break
            renewed = time.monotonic()
        count = callback_receipts_apply()
        taken += count
        if count:
            idle_since = None
            continue
        now = time.monotonic()
        idle_since = now if idle_since is None else idle_since
        if now - idle_since >= linger:
            return taken
        time.sleep(RUN_POLL_SECONDS)
    if wake:
        callbacks_wake(force=True)
    return taken


def callbacks_wake_if_waiting() -> None:
    """Wake a run when a receipt waits for one."""
    if CallbackReceipt.objects.filter(parsed_at__isnull=True).exists():
        callbacks_wake(force=True)


_run_lock = threading.Lock()  # without Redis: one run at a time in this process


@contextmanager
def _apply_run():
    """Yields a `renew()` callable while this process holds the run, or None when another run
    holds it. With Redis unreachable it runs all the same (SKIP LOCKED keeps runs apart)."""
    if not _on_redis():
        if not _run_lock.acquire(blocking=False):
            yield None
            return
        try:
            yield lambda: True
        finally:
            _run_lock.release()
        return
    try:
        lock = _redis().lock(RUN_KEY, timeout=RUN_LOCK_SECONDS)
        held = lock.acquire(blocking=False)
    except Exception:  # noqa: BLE001 - the broker's Redis is down: no wake-ups either
        logger.warning("Callback run lock unavailable; applying without it")
        yield lambda: True
        return
    if not held:
        yield None
        return

    def renew() -> bool:
        try:
            lock.reacquire()
        except LockNotOwnedError:  # it expired (and may be another run's now): stop
            return False
        except Exception:  # noqa: BLE001 - a Redis blip: go on, it is tried again
            logger.warning("Callback run lock not renewed")
        return True

    try:
        yield renew
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - it expired: nothing to let go of
            logger.warning("Callback run lock had expired before the run let go of it")


def callback_receipt_received(*, receipt: CallbackReceipt) -> None:
    """After the request stored a receipt that parses: apply it now (inline) or wake a worker
    once the receipt is committed (queued)."""
    if settings.CALLBACKS_APPLY == INLINE:
        callback_receipts_apply(receipt_ids=[receipt.pk])
    else:
        transaction.on_commit(callbacks_wake, robust=True)


# --- the wake-up: at most one pending at a time ------------------------------------------------

_local = {"until": 0.0, "quiet_until": 0.0}
_local_lock = threading.Lock()


def _redis():
    url = settings.CELERY_BROKER_URL
    client = _local.get(url)
    if client is None:
        import redis

        client = _local[url] = redis.Redis.from_url(url)
    return client


def _on_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def callbacks_wake(*, force: bool = False) -> None:
    """Have a worker apply the waiting receipts, unless a wake-up is already pending (a key in
    Redis when the broker is Redis, shared by every process; else per process, for a few
    seconds). A broker that is down is left to the periodic run.

    With Redis, a process that set or found the flag less than WAKE_QUIET_SECONDS ago does not
    ask again (a round trip per callback otherwise): the run woken by that flag starts after
    it was set, and stops only after finding nothing for longer than the quiet window, so a
    receipt committed within the window is taken by it."""
    try:
        if _on_redis():
            now = time.monotonic()
            if not force and _local["quiet_until"] > now:
                return
            first = _redis().set(WAKE_KEY, "1", nx=not force, ex=WAKE_SECONDS)
            _local["quiet_until"] = now + WAKE_QUIET_SECONDS
        else:
            with _local_lock:
                now = time.monotonic()
                first = force or _local["until"] <= now
                if first:
                    _local["until"] = now + 2
        if first:
            _wake_send()
    except Exception:  # noqa: BLE001 - the periodic run applies them anyway
        logger.warning("Callback worker not woken; the periodic run will apply the receipts")


def _wake_send() -> None:
    from celery import current_app

    current_app.send_task(APPLY_TASK)


def callbacks_wake_clear() -> None:
    """The task clears the flag before it looks for receipts: one stored after that wakes
    another run."""
    _local["until"] = _local["quiet_until"] = 0.0
    if _on_redis():
        try:
            _redis().delete(WAKE_KEY)
        except Exception:  # noqa: BLE001
            logger.warning("Callback wake-up flag not cleared; it expires by itself")
