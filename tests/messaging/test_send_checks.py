"""Checks at the moment of sending: what changed between queueing and sending stops a message
before its Kaleyra call (failed, with a stable code and a reason the operator can read)."""

from datetime import timedelta

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coupons.models import Coupon
from messaging.models import SentMessage
from messaging.services import coupon_code_send, messages_send, order_details_send
from orders.models import Order, OrderStatus
from tests.factories import CouponFactory, OrderFactory, OrderItemFactory, SentMessageFactory

from .conftest import SEND_URL
from .test_sending import accepted

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Moves the clock every part of the product reads (django.utils.timezone.now)."""
    real_now = timezone.now

    class Clock:
        offset = timedelta()

        def move(self, **delta):
            self.offset += timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + clock.offset)
    return clock


def queued_order_details(**order_fields):
    order = OrderFactory(**order_fields)
    OrderItemFactory(order=order)
    result = order_details_send(orders=[order])
    assert not result.refused
    return order, SentMessage.objects.get(order=order)


def assert_failed_without_call(message, code, reason):
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", code)
    assert message.error_message == reason
    assert message.failed_at is not None and message.requested_at is None
    assert message.provider_message_id is None
    assert len(responses.calls) == 0


@responses.activate
def test_order_expiry_less_than_300_s_ahead_at_sending_fails_without_a_call(kaleyra, clock):
    expires_at = timezone.now().replace(microsecond=0) + timedelta(minutes=10)
    _, message = queued_order_details(expires_at=expires_at)
    clock.move(minutes=6)  # the queue was long: 240 s left when its turn comes
    summary = messages_send(message_ids=[message.pk])
    assert (summary.failed, summary.accepted) == (1, 0)
    expiry = timezone.localtime(expires_at)
    assert_failed_without_call(
        message,
        "order_expiring",
        f"Order {message.order.reference_id}'s checkout expires at "
        f"{expiry:%Y-%m-%d %H:%M:%S} IST, less than 300 seconds after sending (WhatsApp needs "
        "at least 300). Not sent (checked just before sending). Give the order a later "
        "expiry, then send it a new checkout message.",
    )


@responses.activate
def test_order_expiry_still_far_enough_at_sending_is_sent(kaleyra, clock):
    _, message = queued_order_details(expires_at=timezone.now() + timedelta(minutes=10))
    clock.move(minutes=4)  # 360 s left: fine
    responses.post(SEND_URL, json=accepted("MID-1"), status=202)
    assert messages_send(message_ids=[message.pk]).accepted == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("accepted", "MID-1")
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("new_expiry", "fix"),
    [
        (timedelta(hours=2), "Send it a new checkout message: the order now expires later."),
        (None, "Send it a new checkout message: the order no longer expires."),
    ],
)
def test_order_expiry_changed_after_queueing_still_refuses_the_stale_message(
    kaleyra, clock, new_expiry, fix
):
    """The JSON carries the expiry it was queued with: it is not rewritten, the operator sends
    the order a new message (the reason says so)."""
    order, message = queued_order_details(expires_at=timezone.now() + timedelta(minutes=10))
    expires_at = None if new_expiry is None else timezone.now() + new_expiry
    Order.objects.filter(pk=order.pk).update(expires_at=expires_at)
    clock.move(minutes=6)
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "order_expiring")
    assert message.error_message.endswith(fix)
    assert len(responses.calls) == 0


@responses.activate
def test_order_expiry_moved_earlier_after_queueing_is_checked_too(kaleyra):
    order, message = queued_order_details(expires_at=timezone.now() + timedelta(hours=1))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() + timedelta(seconds=60))
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "order_expiring")
    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize(
    ("status", "label"),
    [
        (OrderStatus.CANCELED, "canceled"),
        (OrderStatus.PROCESSING, "processing"),  # paid meanwhile
        (OrderStatus.COMPLETED, "completed"),
    ],
)
def test_order_moved_on_from_pending_is_not_sent_a_checkout_button(kaleyra, status, label):
    order, message = queued_order_details()
    Order.objects.filter(pk=order.pk).update(status=status)
    summary = messages_send(message_ids=[message.pk])
    assert summary.failed == 1
    assert_failed_without_call(
        message,
        "order_not_pending",
        f"Order {order.reference_id} is {label} now: a checkout button goes only to pending "
        "orders. Not sent (checked just before sending).",
    )


@responses.activate
def test_only_the_refused_message_of_a_chunk_is_held_back(kaleyra):
    first, first_message = queued_order_details()
    _, second_message = queued_order_details()
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.CANCELED)
    responses.post(SEND_URL, json=accepted("MID-2"), status=202)
    summary = messages_send(message_ids=[first_message.pk, second_message.pk])
    assert (summary.failed, summary.accepted) == (1, 1)
    statuses = dict(SentMessage.objects.values_list("pk", "status"))
    assert statuses == {first_message.pk: "failed", second_message.pk: "accepted"}
    assert len(responses.calls) == 1
    assert responses.calls[0].request.body.decode().count(second_message.ref) >= 1


@responses.activate
def test_coupon_deactivated_between_queueing_and_sending_is_not_sent(kaleyra):
    coupon = CouponFactory(code="FESTIVE")
    coupon_code_send(coupon=coupon, recipients=["+919000090001"])
    Coupon.objects.filter(pk=coupon.pk).update(is_active=False)
    message = SentMessage.objects.get()
    summary = messages_send(message_ids=[message.pk])
    assert summary.failed == 1
    assert_failed_without_call(
        message,
        "coupon_inactive",
        "Coupon FESTIVE is not active. Not sent (checked just before sending).",
    )


@responses.activate
def test_coupon_expired_between_queueing_and_sending_is_not_sent(kaleyra, clock):
    coupon = CouponFactory(code="LASTDAY", valid_until=timezone.now() + timedelta(minutes=5))
    coupon_code_send(coupon=coupon, recipients=["+919000090001"])
    message = SentMessage.objects.get()
    clock.move(minutes=6)
    messages_send(message_ids=[message.pk])
    assert_failed_without_call(
        message,
        "coupon_expired",
        "Coupon LASTDAY has expired. Not sent (checked just before sending).",
    )


@responses.activate
def test_coupon_code_queued_before_the_copy_code_rule_is_not_sent_too_long(kaleyra):
    """A message queued before the 15-character rule (its JSON carries a longer code)."""
    message = SentMessageFactory(ref="WELCOME-BACK-2024")
    messages_send(message_ids=[message.pk])
    assert_failed_without_call(
        message,
        "coupon_code_too_long",
        "The code 'WELCOME-BACK-2024' is 17 characters long; WhatsApp's copy-code button "
        "takes at most 15. Not sent (checked just before sending).",
    )


@responses.activate
def test_a_refused_message_retried_is_checked_again(kaleyra):
    from messaging.services import messages_retry

    order, message = queued_order_details()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELED)
    messages_send(message_ids=[message.pk])
    messages_retry(messages=SentMessage.objects.filter(pk=message.pk))
    messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "order_not_pending")
    assert len(responses.calls) == 0


def _queries_to_send(count):
    ids = []
    for _ in range(count):
        ids.append(queued_order_details(expires_at=timezone.now() + timedelta(hours=1))[1].pk)
    with CaptureQueriesContext(connection) as queries:
        summary = messages_send(message_ids=ids)
    assert summary.accepted == count
    return len(queries)


@responses.activate
def test_the_checks_read_no_row_per_message(kaleyra):
    """The chunk's orders come with its claim: each more message costs only its own
    'requested' mark, as before the checks."""
    for n in range(8):
        responses.post(SEND_URL, json=accepted(f"MID-{n}"), status=202)
    assert _queries_to_send(6) - _queries_to_send(2) == 4


@responses.activate
def test_batch_page_shows_why_messages_failed(client, operator, kaleyra):
    order, message = queued_order_details()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELED)
    messages_send(message_ids=[message.pk])
    page = client.get(reverse("admin:messaging_sendbatch_change", args=[message.batch_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        f"<tr><td>order_not_pending</td><td>1</td><td>Order {order.reference_id} is canceled "
        "now: a checkout button goes only to pending orders. Not sent (checked just before "
        "sending).</td></tr>"
    ) in html
    progress = client.get(reverse("admin:messaging_sendbatch_progress", args=[message.batch_id]))
    assert progress.json()["failures"] == [
        {
            "code": "order_not_pending",
            "count": 1,
            "example": f"Order {order.reference_id} is canceled now: a checkout button goes "
            "only to pending orders. Not sent (checked just before sending).",
        }
    ]
    message_page = client.get(reverse("admin:messaging_sentmessage_change", args=[message.pk]))
    assert "order_not_pending: Order" in message_page.content.decode()


def test_batch_page_keeps_the_failed_table_hidden_until_a_message_fails(client, operator):
    """The live progress fills the table as failures come (it is on the page, hidden)."""
    _, message = queued_order_details()
    page = client.get(reverse("admin:messaging_sendbatch_change", args=[message.batch_id]))
    html = page.content.decode()
    assert '<fieldset class="module" id="batch-failures-box" hidden>' in html
    assert 'document.getElementById("batch-failures-box").hidden' in html
    assert "cell.textContent = value" in html  # reasons are Kaleyra's or ours: text, never HTML
