"""A real Celery worker on the Redis broker sends a batch through the sandbox over HTTP."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from messaging.models import SentMessage
from messaging.sandbox import KaleyraSandbox, SandboxConfig
from messaging.services import order_details_send
from tests.factories import OrderFactory, OrderItemFactory

from .conftest import API_KEY, NUMBER, SID

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env(transactional_db):
    sandbox = KaleyraSandbox(SandboxConfig(sid=SID, api_key=API_KEY, number=NUMBER)).start(port=0)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "KALEYRA_API_BASE_URL": sandbox.base_url,
        "KALEYRA_SID": SID,
        "KALEYRA_API_KEY": API_KEY,
        "KALEYRA_WHATSAPP_NUMBER": NUMBER,
        "KALEYRA_SENDS_PER_SECOND": "80",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "8",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield sandbox
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    sandbox.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_worker_sends_a_batch_through_the_sandbox(worker_env, settings):
    sandbox = worker_env
    orders = []
    for _ in range(30):
        order = OrderFactory()
        OrderItemFactory(order=order)
        orders.append(order)
    result = order_details_send(orders=orders)  # commits, then publishes to Redis
    assert len(result.messages) == 30
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not SentMessage.objects.exclude(status="accepted").exists():
            break
        time.sleep(0.5)
    rows = list(SentMessage.objects.values_list("status", "provider_message_id"))
    assert {status for status, _ in rows} == {"accepted"}
    accepted = {message["message_id"] for message in sandbox.messages}
    assert {message_id for _, message_id in rows} == accepted
    assert len(sandbox.messages) == 30
