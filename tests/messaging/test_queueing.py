"""Queueing: batches and rows written before any call, refusals named, orders moved with it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.errors import MessagingError
from messaging.models import SendBatch, SentMessage
from messaging.sandbox import validate_body
from messaging.services import order_details_send, order_status_send, recipients_parse
from messaging.services.queueing import recipients_validate
from orders.models import OrderEvent
from orders.selectors import order_get_by_reference
from tests.factories import OrderFactory, OrderItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def pending_order(**kwargs):
    order = OrderFactory(**kwargs)
    OrderItemFactory(order=order)
    return order


def test_order_details_rows_written_queued_and_enqueued_on_commit(
    demo, kaleyra, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        result = order_details_send(orders=[demo], template_name="ord_det_temp1", user=user)
    assert len(callbacks) == 1  # one dispatch task, published after the commit
    message = SentMessage.objects.get()
    assert message.status == "queued" and message.next_attempt_at is not None
    assert message.payload == result.preview
    assert validate_body(message.payload) == "order_details"  # the sandbox's strict check
    assert (message.ref, message.ref1) == ("abc.123_xyz-1", "order_details")
    assert message.ref2 == result.batch.name == message.payload["extra_info"]["ref2"]
    assert str(message.recipient) == "+919000090000"
    assert (result.batch.kind, result.batch.created_by) == ("order_details", user)
    event = demo.events.filter(kind=OrderEvent.Kind.MESSAGE).get()
    assert event.after == "abc.123_xyz-1"


def test_resending_an_order_uses_the_next_reference_and_finds_the_order(demo, kaleyra):
    order_details_send(orders=[demo])
    second = order_details_send(orders=[demo], ref="campaign-7")
    details = second.preview["messaging_object"]["template"]["components"][0]["parameters"][0]
    assert details["action"]["order_details"]["reference_id"] == "abc.123_xyz-1-2"
    assert second.messages[0].ref == "campaign-7"
    assert order_get_by_reference(reference_id="abc.123_xyz-1-2") == demo


def test_refused_orders_are_listed_not_dropped(kaleyra):
    good = pending_order()
    shipped = pending_order(status="shipped")
    expiring = pending_order(expires_at=timezone.now() + timedelta(seconds=100))
    result = order_details_send(orders=[good, shipped, expiring])
    assert [m.order for m in result.messages] == [good]
    assert [(r.target, r.code) for r in result.refused] == [
        (shipped.reference_id, "order_not_pending"),
        (expiring.reference_id, "order_expiring"),
    ]
    assert [r["code"] for r in result.batch.refused] == ["order_not_pending", "order_expiring"]


def test_dry_run_previews_without_writing_anything(
    demo, kaleyra, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        result = order_details_send(orders=[demo], dry_run=True)
    assert result.preview["messaging_object"]["to"] == "+919000090000"
    assert callbacks == []
    assert not SentMessage.objects.exists() and not SendBatch.objects.exists()
    assert not demo.references.exists()


def test_order_status_moves_the_order_and_refuses_illegal_moves(kaleyra):
    order = pending_order()
    done = pending_order(status="completed")
    result = order_status_send(
        orders=[order, done], status="shipped", description="On its way", template_name="upd"
    )
    order.refresh_from_db()
    done.refresh_from_db()
    assert (order.status, done.status) == ("shipped", "completed")
    assert [(r.target, r.code) for r in result.refused] == [
        (done.reference_id, "illegal_status_move")
    ]
    payload = result.messages[0].payload
    assert validate_body(payload) == "order_status"
    status = payload["messaging_object"]["template"]["components"][0]["parameters"][0]
    assert status["order_status"] == {
        "reference_id": order.reference_id,
        "order": {"status": "shipped", "description": "On its way"},
    }


def test_order_status_refers_to_the_last_checkout_reference(demo, kaleyra):
    order_details_send(orders=[demo])
    order_details_send(orders=[demo])
    result = order_status_send(orders=[demo], status="processing")
    status = result.preview["messaging_object"]["template"]["components"][0]["parameters"][0]
    assert status["order_status"]["reference_id"] == "abc.123_xyz-1-2"


def test_order_status_bad_input_refuses_the_whole_request(kaleyra):
    order = pending_order()
    with pytest.raises(MessagingError) as error:
        order_status_send(orders=[order], status="shipped", description="x" * 121)
    assert error.value.code == "description_too_long"
    order.refresh_from_db()
    assert order.status == "pending"


def test_nothing_queued_means_no_batch(kaleyra):
    result = order_details_send(orders=[pending_order(status="canceled")])
    assert result.batch is None and len(result.refused) == 1


def test_recipients_from_lines_and_csv():
    import io

    csv_file = io.BytesIO(b"phone,name\n+919000090003,A\n9000090004,B\n")
    raw = recipients_parse(text="+919000090001\n\n 9000090002 \n", csv_file=csv_file)
    assert raw == ["+919000090001", "9000090002", "+919000090003", "9000090004"]
    phones, refused = recipients_validate(raw + ["12345", "+91 90000 90001"])
    assert phones == ["+919000090001", "+919000090002", "+919000090003", "+919000090004"]
    assert [(r.target, r.code) for r in refused] == [
        ("12345", "invalid_phone"),
        ("+91 90000 90001", "duplicate_phone"),
    ]


def test_phone_fast_path_agrees_with_phonenumbers():
    import random

    import phonenumbers

    from common.phones import phone_e164 as phone_normalize

    def reference(raw):
        try:
            number = phonenumbers.parse(raw, "IN")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    rng = random.Random(4)
    samples = [str(rng.randint(10**9, 10**10 - 1)) for _ in range(3000)]
    for raw in samples + [f"+91{digits}" for digits in samples] + ["0123456789", "+14155552671"]:
        assert phone_normalize(raw) == reference(raw), raw


@pytest.mark.postgres
def test_big_batches_written_with_copy_get_every_column_default(kaleyra):
    """On PostgreSQL the rows go in with COPY, which fills in no model default: the columns
    the queueing code does not set (callback fields added later included) get theirs."""
    from messaging.services import coupon_code_send
    from tests.factories import CouponFactory

    result = coupon_code_send(coupon=CouponFactory(), recipients=["+919812345678"])
    message = SentMessage.objects.get(batch=result.batch)
    assert (message.error_title, message.error_details, message.delivery_anomaly) == ("", "", False)
    assert message.provider_message_id is None and message.accepted_at is None


def test_order_status_refusals_are_listed_as_the_orders_were_and_nothing_moves(kaleyra):
    """Refusals from building the message and from the move, in the operator's order."""
    done = pending_order(status="completed")
    no_phone = pending_order(customer_phone="")
    result = order_status_send(orders=[done, no_phone], status="shipped")
    assert [(r.target, r.code) for r in result.refused] == [
        (done.reference_id, "illegal_status_move"),
        (no_phone.reference_id, "invalid_phone"),
    ]
    no_phone.refresh_from_db()
    assert no_phone.status == "pending"
    assert result.batch is None and not SentMessage.objects.exists()
