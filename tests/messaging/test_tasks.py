"""Tasks: chunked enqueueing, duplicate deliveries, deferral with a countdown, the sweep."""

import os
import subprocess
import sys
from unittest import mock

import pytest
import responses
from django.conf import settings

from messaging import tasks
from messaging.limiter import LocalLimiter, RedisLimiter, send_limiter
from messaging.models import SentMessage
from messaging.sandbox import ERRORS
from tests.factories import SendBatchFactory, SentMessageFactory

from .conftest import SEND_URL

pytestmark = pytest.mark.django_db


def test_batch_dispatch_enqueues_queued_messages_in_chunks(kaleyra):
    kaleyra.KALEYRA_SEND_CHUNK_SIZE = 2
    batch = SendBatchFactory()
    messages = SentMessageFactory.create_batch(5, batch=batch)
    SentMessageFactory(batch=batch, status="accepted", provider_message_id="X")
    with mock.patch.object(tasks.send_messages, "apply_async") as apply_async:
        assert tasks.batch_dispatch(batch.pk) == 3
    chunks = [call.args[0][0] for call in apply_async.call_args_list]
    assert chunks == [[m.pk for m in messages[:2]], [m.pk for m in messages[2:4]], [messages[4].pk]]


@responses.activate
def test_task_delivered_twice_calls_kaleyra_once(kaleyra):
    message = SentMessageFactory()
    responses.post(SEND_URL, json={"data": {"message_id": "M1"}}, status=202)
    first = tasks.send_messages.apply(args=[[message.pk]]).get()
    second = tasks.send_messages.apply(args=[[message.pk]]).get()
    assert (first["accepted"], second["skipped"]) == (1, 1)
    assert len(responses.calls) == 1


@responses.activate
def test_pause_defers_the_chunk_with_a_countdown(kaleyra):
    messages = SentMessageFactory.create_batch(3)
    status, body = ERRORS["E110"]
    responses.post(SEND_URL, json=body, status=status)
    with mock.patch.object(tasks.send_messages, "apply_async") as apply_async:
        tasks.send_messages([m.pk for m in messages])
    (call,) = apply_async.call_args_list
    assert call.args[0][0] == [m.pk for m in messages]
    assert call.kwargs["countdown"] >= kaleyra.KALEYRA_PAUSE_SECONDS
    assert len(responses.calls) == 1
    assert set(SentMessage.objects.values_list("status", flat=True)) == {"queued"}


def test_sweep_task_requeues_and_reports(kaleyra):
    with (
        mock.patch.object(
            tasks,
            "messages_sweep",
            return_value={"worker_lost": 1, "unknown_resent": 0, "requeue": [5, 6]},
        ),
        mock.patch.object(tasks.send_messages, "apply_async") as apply_async,
    ):
        result = tasks.messages_sweep_task()
    assert result == {"worker_lost": 1, "unknown_resent": 0, "requeue": 2}
    assert apply_async.call_args.args[0] == ([5, 6],)


def test_local_limiter_spaces_sends_by_the_rate():
    now = [100.0]
    limiter = LocalLimiter(rate=50, clock=lambda: now[0])
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0, 0.02, 0.04, 0.06])
    now[0] += 1.0  # idle for a second: no credit saved up beyond the next slot
    assert limiter.reserve() == 0
    assert limiter.reserve() == pytest.approx(0.02)


def test_limiter_choice(kaleyra):
    assert send_limiter().reserve() == 0  # KALEYRA_SENDS_PER_SECOND = 0: lifted
    kaleyra.KALEYRA_SENDS_PER_SECOND = 80
    expected = RedisLimiter if settings.CELERY_BROKER_URL.startswith("redis") else LocalLimiter
    assert isinstance(send_limiter(), expected)


@pytest.mark.redis
def test_redis_limiter_is_shared_between_limiters():
    import time
    import uuid

    key = f"test:limiter:{uuid.uuid4().hex}"
    one = RedisLimiter(10, url=settings.CELERY_BROKER_URL, key=key)
    two = RedisLimiter(10, url=settings.CELERY_BROKER_URL, key=key)
    started = time.monotonic()
    for k, limiter in enumerate((one, two, one, two)):
        wait = limiter.reserve()
        # The k-th caller, whichever limiter it uses, gets the slot k x 100 ms after the first.
        assert wait + (time.monotonic() - started) == pytest.approx(k * 0.1, abs=0.03)


_DECLARE_THE_WORKERS_QUEUE = """
import django, kombu
django.setup()
from config import celery_app
with celery_app.connection_for_write() as connection:
    kombu.Queue("celery", kombu.Exchange("celery"), routing_key="celery")(
        connection.default_channel
    ).declare()
"""


def test_the_embedded_broker_keeps_its_files_in_var_whatever_the_working_directory(tmp_path):
    """The web process and a worker started from another directory share one broker."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    environment.update(DJANGO_DEBUG="true", PYTHONPATH=str(settings.BASE_DIR))
    environment.pop("CELERY_BROKER_URL", None)
    environment.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", _DECLARE_THE_WORKERS_QUEUE],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
    assert (settings.BASE_DIR / "var" / "celery" / "control" / "celery.exchange").exists()
