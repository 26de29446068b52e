"""A batch's counts under concurrent status changes, on PostgreSQL (skipped on SQLite).

Several threads, each with its own connection, move the same batch's messages the way the
workers and callbacks do (claims under SKIP LOCKED, the sending code's raw UPDATEs, bulk ORM
updates of overlapping rows), while another folds and another reads: every read sees exactly
the batch's size, and at the end the counts equal a count of the messages."""

import random
import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from messaging.models import BatchStatusCount, MessageDelta, SentMessage
from messaging.rollups.fold import rollups_fold
from messaging.rollups.read import batch_status_counts
from messaging.rollups.verify import reports_verify
from tests.factories import SendBatchFactory, SentMessageFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MESSAGES = 300
WORKERS = 6
ROUNDS = 15


def _worker(batch_id: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data
    for _ in range(ROUNDS):
        with transaction.atomic(), connection.cursor() as cursor:
            # The sending claim: queued -> sending, rows locked by another worker skipped.
            cursor.execute(
                "UPDATE messaging_sentmessage SET status = 'sending', claimed_at = now() "
                "WHERE id IN (SELECT id FROM messaging_sentmessage WHERE batch_id = %s "
                "AND status = 'queued' ORDER BY id LIMIT 25 FOR UPDATE SKIP LOCKED) "
                "RETURNING id",
                [batch_id],
            )
            claimed = [row[0] for row in cursor.fetchall()]
        with transaction.atomic(), connection.cursor() as cursor:
            # The sending code's raw acceptance (one statement for the chunk) or a failure.
            accepted = [pk for pk in claimed if rng.random() < 0.8]
            if accepted:
                cursor.execute(
                    "UPDATE messaging_sentmessage SET status = 'accepted', accepted_at = now() "
                    "WHERE id = ANY(%s) AND status = 'sending'",
                    [accepted],
                )
            SentMessage.objects.filter(pk__in=set(claimed) - set(accepted)).update(
                status="failed", error_code="131026", failed_at=timezone.now()
            )
        # Callbacks on overlapping rows of the whole batch: one message each, conditional on
        # its status, in any order (as the callbacks apply them).
        ids = list(
            SentMessage.objects.filter(batch_id=batch_id, status__in=["accepted", "sent"])
            .order_by("?")
            .values_list("pk", flat=True)[:30]
        )
        for pk in ids[:15]:
            SentMessage.objects.filter(pk=pk, status="accepted").update(
                status="sent", sent_at=timezone.now()
            )
        for pk in ids[8:]:
            SentMessage.objects.filter(pk=pk, status__in=["accepted", "sent"]).update(
                status="delivered", delivered_at=timezone.now()
            )


def test_batch_counts_stay_exact_under_concurrent_status_changes():
    batch = SendBatchFactory()
    SentMessageFactory.create_batch(MESSAGES, batch=batch)
    stop = threading.Event()
    errors, totals = [], []

    def guarded(target, *args):
        try:
            target(*args)
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)
        finally:
            connection.close()

    def folder():
        while not stop.is_set():
            rollups_fold()

    def reader():
        while not stop.is_set():
            counts = batch_status_counts(batch_ids=[batch.pk])[batch.pk]
            totals.append(sum(counts.values()))

    workers = [
        threading.Thread(target=guarded, args=(_worker, batch.pk, seed)) for seed in range(WORKERS)
    ]
    others = [threading.Thread(target=guarded, args=(f,)) for f in (folder, reader)]
    for thread in [*workers, *others]:
        thread.start()
    for thread in workers:
        thread.join()
    stop.set()
    for thread in others:
        thread.join()

    assert errors == []
    assert totals and set(totals) == {MESSAGES}  # every read, mid-fold or not, saw them all
    raw = dict(
        SentMessage.objects.filter(batch=batch)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    assert set(raw) - {"queued"}, raw  # the workers moved messages
    assert batch_status_counts(batch_ids=[batch.pk]) == {batch.pk: raw}
    rollups_fold()
    assert not MessageDelta.objects.exists()
    folded = dict(
        BatchStatusCount.objects.filter(batch_id=batch.pk, count__gt=0).values_list(
            "status", "count"
        )
    )
    assert folded == raw
    today = timezone.localdate()
    assert reports_verify(first=today, last=today) == []
