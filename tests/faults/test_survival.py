"""Faults survived, nothing lost: real workers, a real broker and PostgreSQL, the Kaleyra sandbox
failing in the ways a network and a provider do, and its status callbacks reaching the product.

Each scenario prints `scenario=<name> sent=N accepted=N duplicates=N lost=N flagged=N` in the
terminal report: accepted means accepted by Kaleyra or beyond (callbacks move it on), duplicates
how many messages the sandbox took more than once, lost the rows left queued or sending (or
marked accepted under an id the sandbox never gave), flagged those left "unknown" for an operator.
"""

import os
import time
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Sum
from django.test import Client

from messaging.models import MessageStatus, SendBatch, SendingPause, SentMessage
from messaging.services import coupon_code_send
from messaging.tasks import callbacks_apply_task, messages_sweep_task
from tests.factories import CouponFactory
from tests.stack import wait_until

from .conftest import CONCURRENCY, summary_report

S = MessageStatus
ACCEPTED_OR_BEYOND = (S.ACCEPTED, S.SENT, S.DELIVERED, S.READ)
WAITING = (S.QUEUED, S.SENDING)
MAX_ATTEMPTS = 8  # the workers' KALEYRA_MAX_ATTEMPTS (conftest)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240)]


def batch_queue(count: int, name: str) -> SendBatch:
    """A coupon campaign to `count` numbers, queued (committed, then published)."""
    phones = [f"+9198{n:08d}" for n in range(count)]
    result = coupon_code_send(coupon=CouponFactory(), recipients=phones, batch_name=name)
    assert len(result.messages) == count, result.refused[:3]
    return result.batch


def rows(batch):
    return SentMessage.objects.filter(batch=batch)


def accepted_count(batch) -> int:
    return rows(batch).filter(status__in=ACCEPTED_OR_BEYOND).count()


def sweep() -> None:
    """What beat does every 30 s (and a starting worker once), for a worker to run with its
    settings: stale "sending" rows become unknown, unknown ones no callback claimed are resent
    when KALEYRA_UNKNOWN_RESEND_AFTER says so, queued rows whose task was lost re-enqueued; and
    the callback receipts a lost wake-up left waiting applied (beat's callbacks-apply)."""
    messages_sweep_task.delay()
    callbacks_apply_task.delay()


def sweeping_until(predicate, *, timeout, message, batch):
    def check():
        if predicate():
            return True
        sweep()
        return predicate()

    try:
        wait_until(check, timeout=timeout, interval=1.0, message=message)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; messages: {statuses(batch)}") from None


def statuses(batch) -> dict:
    """(status, error code) -> count: what a timed-out wait shows."""
    counted = rows(batch).values_list("status", "error_code").annotate(n=Count("id"))
    return {f"{status}:{code}": n for status, code, n in counted}


def callbacks_drained(sandbox) -> bool:
    """Every accepted message's callback posted."""
    with sandbox.lock:
        return len(sandbox.callbacks) >= len(sandbox.messages)


def outcome(batch, sandbox) -> dict:
    report = sandbox.messages_report(bodies=False)
    given = {message["message_id"] for message in report["messages"]}
    ids = set(
        rows(batch)
        .filter(status__in=ACCEPTED_OR_BEYOND)
        .values_list("provider_message_id", flat=True)
    )
    return {
        "sent": rows(batch).count(),
        "accepted": accepted_count(batch),
        "duplicates": len(report["duplicates"]),
        "lost": rows(batch).filter(status__in=WAITING).count() + len(ids - given),
        "flagged": rows(batch).filter(status=S.UNKNOWN).count(),
    }


def summary_print(scenario, counts, capsys, **extra):
    line = summary_report(scenario=scenario, **counts, **extra)
    with capsys.disabled():
        print(f"\n{line}")


@contextmanager
def broker(url):
    """Publish from this process to `url`. Celery reads CELERY_BROKER_URL from the environment
    before its settings, and CELERY_BROKER_WRITE_URL before that for publishing; its connection
    pool is cached, so it is dropped on the way in and out."""
    from config.celery import app

    def use(value):
        if value is None:
            os.environ.pop("CELERY_BROKER_WRITE_URL", None)
        else:
            os.environ["CELERY_BROKER_WRITE_URL"] = value
        app._pool = None
        app.amqp._producer_pool = None

    before = os.environ.get("CELERY_BROKER_WRITE_URL")
    use(url)
    try:
        yield
    finally:
        use(before)


def test_flaky_kaleyra_every_message_accepted_once(sandbox, workers, capsys):
    """20 % of requests fail: 5xx, 502, 429, answers lost after acceptance (timeout, dropped
    after accept) and connections dropped before it. Refusals are retried with backoff; lost
    answers become unknown and the sandbox's callbacks settle those it accepted; the rest (never
    accepted) are resent by the sweep once no callback has claimed them."""
    sandbox.config.update(
        {
            "fail_rate": 0.2,
            "faults": ["5xx", "502", "429", "timeout", "drop", "drop_after_accept"],
            "seed": 2000,
        }
    )
    # Well above the callbacks' lag here (the live server shares one busy core): a message
    # the sandbox took is settled by its callback long before it could be resent.
    workers(KALEYRA_UNKNOWN_RESEND_AFTER=50)
    batch = batch_queue(2000, "faults-flaky")

    # Room for a message dropped late in the batch: it is resent 50 s after it was lost.
    sweeping_until(
        lambda: accepted_count(batch) == 2000,
        timeout=300,
        message="every message accepted",
        batch=batch,
    )

    counts = outcome(batch, sandbox)
    totals = rows(batch).aggregate(total=Sum("attempts"), most=Max("attempts"))
    summary_print(
        "flaky_kaleyra", counts, capsys, requests=sandbox.requests, max_attempts=totals["most"]
    )
    assert counts == {"sent": 2000, "accepted": 2000, "duplicates": 0, "lost": 0, "flagged": 0}
    # One request per attempt, none beyond the limit, and the faults did happen. An attempt can
    # fail on a kept-alive connection the sandbox had just closed (after a "drop" fault) before
    # the sandbox read it: the client records "connection_dropped" (unknown, resent once no
    # callback claims it) and the sandbox never counts it. CI saw 2 such in 2,328 attempts.
    assert totals["most"] <= MAX_ATTEMPTS
    assert totals["total"] - 5 <= sandbox.requests <= totals["total"]
    assert sandbox.requests > 2000 * 1.05
    assert len(sandbox.messages) == 2000


def test_worker_killed_mid_batch_nothing_lost(sandbox, workers, own_redis, capsys):
    """SIGKILL the worker with a 2,000-message batch half sent, start another: every message is
    accepted or flagged unknown, none is stuck, and only messages whose request reached Kaleyra
    without a recorded answer are flagged (the rest of the dead worker's chunks, claimed but
    never requested, go back to the queue and are sent once)."""
    with broker(own_redis.url):
        first = workers(CELERY_BROKER_URL=own_redis.url, KALEYRA_REQUEUE_AFTER=3)
        batch = batch_queue(2000, "faults-kill")
        wait_until(lambda: accepted_count(batch) >= 800, timeout=60, message="batch half sent")
        first.kill()
        killed_at = accepted_count(batch)
        time.sleep(1)  # requests on the wire when it died reach the sandbox (and are answered)
        with sandbox.lock:
            reached = {message["message_id"] for message in sandbox.messages}
        recorded = set(rows(batch).values_list("provider_message_id", flat=True))
        unanswered_at_kill = len(reached - recorded)
        claimed_at_kill = rows(batch).filter(status=S.SENDING).count()
        # A request the dead worker had started (requested_at set) may or may not have reached
        # the sandbox before the connection died: the product cannot tell, so it may flag it.
        requested_at_kill = rows(batch).filter(status=S.SENDING, requested_at__isnull=False).count()
        workers(CELERY_BROKER_URL=own_redis.url, KALEYRA_REQUEUE_AFTER=3)
        sweeping_until(
            lambda: not rows(batch).filter(status__in=WAITING).exists(),
            timeout=90,
            message="no message queued or sending",
            batch=batch,
        )
        flagged_by_sweep = rows(batch).filter(status=S.UNKNOWN).count()
        wait_until(lambda: callbacks_drained(sandbox), timeout=60, message="callbacks posted")
        sweep()

    counts = outcome(batch, sandbox)
    summary_print(
        "worker_killed",
        counts,
        capsys,
        accepted_at_kill=killed_at,
        sending_at_kill=claimed_at_kill,
        unanswered_at_kill=unanswered_at_kill,
        requested_at_kill=requested_at_kill,
        flagged_by_sweep=flagged_by_sweep,
        settled_by_callbacks=flagged_by_sweep - counts["flagged"],
    )
    # Only a message whose request may have reached Kaleyra is left for an operator to check:
    # one the dead worker had started to request (reached or not: a request cut mid-body never
    # shows in the sandbox). The claimed but never requested ones went back to the queue.
    assert flagged_by_sweep <= requested_at_kill
    assert counts["sent"] == 2000
    assert counts["lost"] == 0
    assert counts["accepted"] + counts["flagged"] == 2000
    assert counts["duplicates"] <= CONCURRENCY
    flagged = rows(batch).filter(status=S.UNKNOWN)
    assert set(flagged.values_list("error_code", flat=True)) <= {"worker_lost"}
    # Every message the sandbox took is recorded as accepted (directly or by its callbacks).
    recorded = set(rows(batch).values_list("provider_message_id", flat=True))
    assert {message["message_id"] for message in sandbox.messages} <= recorded


def test_low_balance_pauses_and_resumes(sandbox, workers, capsys):
    """E110 mid-batch: sending pauses, the batch page says why, and it goes on when the
    balance is back. E110 answers use no attempt."""
    workers()
    batch = batch_queue(600, "faults-e110")
    wait_until(lambda: accepted_count(batch) >= 150, timeout=60, message="batch under way")
    sandbox.config.update({"e110": True})
    wait_until(SendingPause.objects.exists, timeout=30, message="sending paused")
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "x"))
    progress = admin.get(f"/admin/messaging/sendbatch/{batch.pk}/progress/").json()
    page = admin.get(f"/admin/messaging/sendbatch/{batch.pk}/change/").content.decode()
    paused_at = accepted_count(batch)
    wait_until(
        lambda: accepted_count(batch) == paused_at and rows(batch).filter(status=S.QUEUED).exists(),
        timeout=10,
        message="sending stopped",
    )
    sandbox.config.update({"e110": False})
    wait_until(lambda: accepted_count(batch) == 600, timeout=120, message="batch completed")

    counts = outcome(batch, sandbox)
    summary_print("low_balance", counts, capsys, accepted_when_paused=paused_at)
    assert progress["pause"]["code"] == "E110"
    assert progress["pause"]["message"] == "Please check your balance, You have a low balance!"
    assert progress["finished"] is False
    assert "Sending is paused" in page
    assert "Please check your balance, You have a low balance!" in page
    assert counts == {"sent": 600, "accepted": 600, "duplicates": 0, "lost": 0, "flagged": 0}
    assert not SendingPause.objects.exists()
    assert set(rows(batch).values_list("attempts", flat=True)) == {1}


def test_redis_restarted_mid_batch(sandbox, workers, own_redis, capsys):
    """The broker restarts (and, without persistence, forgets its queue) mid-batch: the
    worker reconnects, the sweep re-enqueues what the broker forgot, the batch completes."""
    with broker(own_redis.url):
        worker = workers(CELERY_BROKER_URL=own_redis.url, KALEYRA_REQUEUE_AFTER=3)
        batch = batch_queue(1000, "faults-redis")
        wait_until(lambda: accepted_count(batch) >= 200, timeout=60, message="batch under way")
        own_redis.stop()
        stopped_at = accepted_count(batch)
        own_redis.start()
        sweeping_until(
            lambda: accepted_count(batch) == 1000,
            timeout=120,
            message="batch completed",
            batch=batch,
        )

    counts = outcome(batch, sandbox)
    summary_print("redis_restarted", counts, capsys, accepted_at_restart=stopped_at)
    assert worker.process.poll() is None  # the same worker, reconnected
    assert stopped_at < 1000
    assert counts == {"sent": 1000, "accepted": 1000, "duplicates": 0, "lost": 0, "flagged": 0}
