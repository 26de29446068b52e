"""A real Celery worker on the Redis broker sends a batch through the sandbox over HTTP."""

import pytest

from messaging.models import SentMessage
from messaging.sandbox import KaleyraSandbox, SandboxConfig
from messaging.services import order_details_send
from tests.factories import OrderFactory, OrderItemFactory
from tests.stack import Worker, wait_until

from .conftest import API_KEY, NUMBER, SID


@pytest.fixture
def worker_env(transactional_db):
    sandbox = KaleyraSandbox(SandboxConfig(sid=SID, api_key=API_KEY, number=NUMBER)).start(port=0)
    worker = Worker(
        KALEYRA_API_BASE_URL=sandbox.base_url,
        KALEYRA_SID=SID,
        KALEYRA_API_KEY=API_KEY,
        KALEYRA_WHATSAPP_NUMBER=NUMBER,
        KALEYRA_SENDS_PER_SECOND=80,
    ).start()
    yield sandbox
    worker.stop()
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
    wait_until(
        lambda: not SentMessage.objects.exclude(status="accepted").exists(),
        timeout=90,
        message="every message accepted",
    )
    rows = list(SentMessage.objects.values_list("status", "provider_message_id"))
    assert {status for status, _ in rows} == {"accepted"}
    accepted = {message["message_id"] for message in sandbox.messages}
    assert {message_id for _, message_id in rows} == accepted
    assert len(sandbox.messages) == 30
