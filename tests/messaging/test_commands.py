"""The send commands print what was queued and what was refused."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from messaging.models import SentMessage
from orders.models import OrderEvent
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_send_order_details_prints_queued_and_refused(demo, kaleyra):
    shipped = OrderFactory(status="shipped")
    OrderItemFactory(order=shipped)
    output = run("send_order_details", demo.reference_id, shipped.reference_id, "NOPE-1")
    assert "Queued 1 message(s)" in output
    assert "queued  +919000090000  ref=abc.123_xyz-1" in output
    assert f"refused {shipped.reference_id}: Order {shipped.reference_id} is shipped" in output
    assert "refused NOPE-1: no order has this reference id." in output
    message = SentMessage.objects.get()
    assert message.order == demo
    assert demo.events.filter(kind=OrderEvent.Kind.MESSAGE, source="command").exists()


def test_send_order_status_moves_the_order(demo, kaleyra):
    output = run(
        "send_order_status", demo.reference_id, "--status", "shipped", "--description", "On its way"
    )
    demo.refresh_from_db()
    assert demo.status == "shipped" and "Queued 1 message(s)" in output
    component = SentMessage.objects.get().payload["messaging_object"]["template"]["components"][0]
    assert component["parameters"][0]["order_status"]["order"] == {
        "status": "shipped",
        "description": "On its way",
    }


def test_send_order_status_refuses_a_long_description(demo, kaleyra):
    with pytest.raises(CommandError, match="at most 120"):
        run(
            "send_order_status",
            demo.reference_id,
            "--status",
            "shipped",
            "--description",
            "x" * 121,
        )
    demo.refresh_from_db()
    assert demo.status == "pending"


def test_send_coupon_code_unknown_coupon():
    with pytest.raises(CommandError, match="No coupon has the code"):
        run("send_coupon_code", "NOPE", "--to", "+919000090000")
