"""CALLBACKS_APPLY=queued (the production default): the request stores the raw receipt and wakes
a worker, at most one wake-up pending at a time; the worker (or beat's run, when a wake-up was
lost) stores the receipts' events and applies them in batches, with the same outcome as inline."""

import threading
import time
from datetime import UTC, datetime

import pytest
from redis.exceptions import LockNotOwnedError

from messaging.callbacks import intake
from messaging.callbacks.intake import callback_receipts_apply, callbacks_wake_clear
from messaging.models import CallbackEvent, CallbackReceipt, SentMessage
from messaging.tasks import callbacks_apply_task
from tests.coupons.test_concurrency import run_together
from tests.factories import AcceptedMessageFactory, OrderFactory
from tests.stack import Worker, wait_until

from .callback_bodies import CREDENTIALS, flat_body, post_json, v2_body, wa_status

T_SENT = 1_763_700_000
T_READ = T_SENT + 60


def at(ts):
    return datetime.fromtimestamp(ts, tz=UTC)


@pytest.fixture
def queued(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    settings.CALLBACKS_APPLY = "queued"
    callbacks_wake_clear()
    yield
    callbacks_wake_clear()


@pytest.fixture
def wakes(monkeypatch):
    """The wake-up tasks sent (not run: the test runs the task itself)."""
    sent = []
    monkeypatch.setattr(intake, "_wake_send", lambda: sent.append(intake.APPLY_TASK))
    return sent


def refreshed(message):
    message.refresh_from_db()
    return message


@pytest.mark.django_db
def test_the_request_stores_only_the_receipt_and_wakes_one_worker(
    client, queued, wakes, django_capture_on_commit_callbacks
):
    message = AcceptedMessageFactory(provider_message_id="kal-q1", order=OrderFactory())
    with django_capture_on_commit_callbacks(execute=True):
        for status, ts in (("read", T_READ), ("sent", T_SENT)):
            body = v2_body("kal-q1", [wa_status("wamid.q1", status, ts)])
            assert post_json(client, body).status_code == 200
    receipts = CallbackReceipt.objects.order_by("pk")
    assert [(r.event_count, r.parsed_at) for r in receipts] == [(1, None), (1, None)]
    assert CallbackEvent.objects.count() == 0
    assert refreshed(message).status == "accepted"
    assert wakes == [intake.APPLY_TASK]  # the second post found a wake-up pending

    assert callbacks_apply_task() == 2
    message = refreshed(message)
    assert (message.status, message.sent_at, message.read_at) == ("read", at(T_SENT), at(T_READ))
    assert not CallbackReceipt.objects.filter(parsed_at__isnull=True).exists()
    assert CallbackEvent.objects.filter(processed_at__isnull=False).count() == 2

    # The task cleared the flag: the next receipt wakes a worker again; a repeat changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        body = v2_body("kal-q1", [wa_status("wamid.q1", "read", T_READ)])
        assert post_json(client, body).status_code == 200
    assert wakes == [intake.APPLY_TASK] * 2
    assert callbacks_apply_task() == 1
    assert CallbackEvent.objects.get(status="read").times_received == 2
    assert refreshed(message).read_at == at(T_READ)


@pytest.mark.django_db
def test_a_refused_body_is_stored_parsed_and_wakes_nobody(
    client, queued, wakes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, "{not json")
    assert response.status_code == 400
    receipt = CallbackReceipt.objects.get()
    assert "not valid JSON" in receipt.rejected_reason
    assert receipt.parsed_at is not None
    assert wakes == []
    assert callbacks_apply_task() == 0


@pytest.mark.django_db
def test_a_lost_wake_up_is_made_up_by_the_periodic_run(
    client, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down():
        raise ConnectionError("broker down")

    monkeypatch.setattr(intake, "_wake_send", broker_down)
    message = AcceptedMessageFactory(provider_message_id="kal-q2")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(client, flat_body("kal-q2", "delivered", T_SENT)).status_code == 200
    assert refreshed(message).status == "accepted"
    assert callbacks_apply_task() == 1  # beat's callbacks-apply
    assert refreshed(message).status == "delivered"


@pytest.mark.django_db
def test_unknown_message_is_kept_and_matched_later(client, queued, wakes):
    assert post_json(client, flat_body("kal-later", "sent", T_SENT)).status_code == 200
    assert callbacks_apply_task() == 1
    assert CallbackEvent.objects.get().outcome == "unmatched"
    message = AcceptedMessageFactory(provider_message_id="kal-later")
    from messaging.callbacks.services import callback_events_sweep

    assert callback_events_sweep() == 1
    assert refreshed(message).status == "sent"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_at_once_take_each_receipt_once(client, queued, wakes):
    """Four appliers at once on PostgreSQL (SKIP LOCKED): each receipt taken by one of them."""
    messages = [AcceptedMessageFactory(provider_message_id=f"kal-c{n}") for n in range(40)]
    for n in range(40):
        for status, ts in (("sent", T_SENT), ("read", T_READ)):
            body = flat_body(f"kal-c{n}", status, ts)
            assert post_json(client, body).status_code == 200

    def apply():
        taken = 0
        while count := callback_receipts_apply(limit=7):
            taken += count
        return taken

    taken = run_together(apply, [()] * 4)
    assert sum(taken) == 80
    assert CallbackEvent.objects.count() == 80
    assert set(CallbackEvent.objects.values_list("times_received", flat=True)) == {1}
    assert {refreshed(m).status for m in messages} == {"read"}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_applies_the_receipts(client, queued, settings):
    messages = [AcceptedMessageFactory(provider_message_id=f"kal-w{n}") for n in range(30)]
    worker = Worker(concurrency=2).start()
    try:
        for n in range(30):
            for status, ts in (("sent", T_SENT), ("read", T_READ)):
                assert post_json(client, flat_body(f"kal-w{n}", status, ts)).status_code == 200
        wait_until(
            lambda: SentMessage.objects.filter(status="read").count() == 30,
            timeout=60,
            message="every message read",
        )
    finally:
        worker.stop()
    assert not CallbackReceipt.objects.filter(parsed_at__isnull=True).exists()
    assert CallbackEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert {refreshed(m).read_at for m in messages} == {at(T_READ)}


class FakeRedis:
    """The wake-up flag in Redis: SET NX succeeds while the key is absent; the run's lock."""

    def __init__(self):
        self.key, self.calls, self.holder = None, [], None

    def lock(self, name, timeout):
        assert (name, timeout) == (intake.RUN_KEY, intake.RUN_LOCK_SECONDS)
        return FakeLock(self)

    def set(self, key, value, nx, ex):
        self.calls.append("set")
        if nx and self.key is not None:
            return None
        self.key = value
        return True

    def delete(self, key):
        self.calls.append("delete")
        self.key = None


class FakeLock:
    def __init__(self, redis):
        self.redis = redis

    def acquire(self, blocking):
        assert blocking is False
        if self.redis.holder is not None:
            return False
        self.redis.holder = self
        return True

    def reacquire(self):
        if self.redis.holder is not self:
            raise LockNotOwnedError("expired")

    def release(self):
        self.reacquire()
        self.redis.holder = None


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def on_redis(monkeypatch):
    redis, clock = FakeRedis(), FakeClock()
    monkeypatch.setattr(intake, "_on_redis", lambda: True)
    monkeypatch.setattr(intake, "_redis", lambda: redis)
    monkeypatch.setattr(intake, "time", clock)
    intake._local["quiet_until"] = 0.0
    return redis, clock


def test_with_redis_a_process_asks_once_per_quiet_window(on_redis, wakes):
    redis, clock = on_redis
    for _ in range(5):  # a burst of callbacks in one process
        intake.callbacks_wake()
    assert (redis.calls, wakes) == (["set"], [intake.APPLY_TASK])
    clock.now += intake.WAKE_QUIET_SECONDS  # the window is over, the flag still set: no wake
    intake.callbacks_wake()
    assert (redis.calls, wakes) == (["set", "set"], [intake.APPLY_TASK])
    intake.callbacks_wake_clear()  # the run took the flag: the next receipt wakes another
    intake.callbacks_wake()
    assert wakes == [intake.APPLY_TASK] * 2


def test_with_redis_a_run_takes_what_was_stored_in_the_quiet_window(on_redis, monkeypatch):
    """A request that skipped the wake-up (its process asked Redis less than the quiet window
    ago) committed its receipt up to WAKE_QUIET_SECONDS after the run started: the run is still
    polling then."""
    _, clock = on_redis
    committed_at = intake.WAKE_QUIET_SECONDS - 0.01
    waiting = {committed_at: 3}

    def apply():
        for at in list(waiting):
            if clock.now >= at:
                return waiting.pop(at)
        return 0

    monkeypatch.setattr(intake, "callback_receipts_apply", apply)
    assert intake.callback_receipts_drain(seconds=50) == 3
    assert not waiting
    assert clock.now >= committed_at + intake.RUN_LINGER_SECONDS  # idle that long, then stops
    assert clock.now < committed_at + intake.RUN_LINGER_SECONDS + 0.2


def test_without_redis_a_run_stops_at_once_when_nothing_waits(monkeypatch):
    monkeypatch.setattr(intake, "_on_redis", lambda: False)
    clock = FakeClock()
    monkeypatch.setattr(intake, "time", clock)
    monkeypatch.setattr(intake, "callback_receipts_apply", lambda: 0)
    assert intake.callback_receipts_drain(seconds=50) == 0
    assert clock.now == 0.0


def test_with_redis_a_task_finds_the_run_taken_and_leaves_at_once(on_redis, wakes, monkeypatch):
    redis, _ = on_redis
    redis.holder, redis.key = "another run", "1"  # going on; a wake-up pending
    monkeypatch.setattr(intake, "callback_receipts_apply", lambda: pytest.fail("applied"))
    assert callbacks_apply_task() == 0
    assert (redis.holder, redis.key, wakes) == ("another run", "1", [])  # left as they were


@pytest.mark.django_db
def test_a_run_that_stopped_lets_go_and_wakes_the_next_for_a_receipt_stored_late(
    on_redis, wakes, monkeypatch
):
    redis, _ = on_redis
    late = []

    def apply():  # nothing on its last look; the receipt is committed just after it
        if not late:
            late.append(CallbackReceipt.objects.create(body="{}", event_count=1))
        return 0

    monkeypatch.setattr(intake, "callback_receipts_apply", apply)
    redis.key = "1"
    assert callbacks_apply_task() == 0
    assert redis.holder is None  # let go of the run before looking again
    assert (redis.key, wakes) == ("1", [intake.APPLY_TASK])  # the next run woken

    CallbackReceipt.objects.update(parsed_at=datetime.now(tz=UTC))  # nothing waits now
    monkeypatch.setattr(intake, "callback_receipts_apply", lambda: 0)
    assert callbacks_apply_task() == 0
    assert (redis.holder, redis.key, wakes) == (None, None, [intake.APPLY_TASK])


def test_a_run_whose_lock_expired_stops(on_redis, monkeypatch):
    redis, clock = on_redis
    calls = []

    def apply():
        calls.append(clock.now)
        clock.now += 0.6  # each batch takes a while
        if len(calls) == 2:
            redis.holder = "another run"  # the lock expired and was taken meanwhile
        return 10

    monkeypatch.setattr(intake, "callback_receipts_apply", apply)
    with intake._apply_run() as renew:
        assert intake.callback_receipts_drain(seconds=50, renew=renew, wake=False) == 20
    assert len(calls) == 2  # renewed after 1 s: refused, so no third batch
    assert redis.holder == "another run"  # not taken from the run that has it now


@pytest.mark.django_db
def test_without_redis_one_run_at_a_time_in_a_process(monkeypatch, wakes):
    monkeypatch.setattr(intake, "_on_redis", lambda: False)
    monkeypatch.setattr(intake, "callback_receipts_apply", lambda: pytest.fail("applied"))
    with intake._apply_run() as renew:
        assert renew is not None
        assert callbacks_apply_task() == 0
    monkeypatch.setattr(intake, "callback_receipts_apply", lambda: 0)
    assert callbacks_apply_task() == 0
    assert not intake._run_lock.locked()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_steady_stream_of_callbacks_keeps_one_apply_run(client, queued):
    """Wake-ups keep coming while a run goes on (one per quiet window); before the run lock each
    started a run of its own, until every thread of the pool was applying callbacks."""
    from config.celery import app

    messages = [AcceptedMessageFactory(provider_message_id=f"kal-s{n}") for n in range(40)]
    worker = Worker(concurrency=4).start()
    seen, done = [], threading.Event()

    def sample():
        while not done.is_set():
            active = app.control.inspect(timeout=0.3).active() or {}
            seen.append(
                sum(1 for tasks in active.values() for task in tasks if task["name"] == APPLY)
            )

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        n, deadline = 0, time.monotonic() + 4
        while time.monotonic() < deadline:  # 4 s: eight quiet windows
            body = flat_body(f"kal-s{n % 40}", "sent", T_SENT + n)
            assert post_json(client, body).status_code == 200
            n += 1
            time.sleep(0.01)
        wait_until(
            lambda: not CallbackReceipt.objects.filter(parsed_at__isnull=True).exists(),
            timeout=60,
            message="every receipt applied",
        )
    finally:
        done.set()
        sampler.join()
        worker.stop()
    assert max(seen) == 1, seen  # a run was seen going on, and never two
    assert {refreshed(m).status for m in messages} == {"sent"}


APPLY = intake.APPLY_TASK
