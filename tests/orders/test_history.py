"""The order history as an operator reads it: sentences, money in rupees, the real source."""

import pytest
from django.urls import reverse

from coupons.services import order_apply_coupon
from orders.history import order_event_describe
from orders.models import EventSource, OrderEvent
from orders.services import order_save, order_status_change
from tests.factories import AcceptedMessageFactory, OrderFactory
from tests.messaging.callback_bodies import CREDENTIALS, flat_body, post_json

pytestmark = pytest.mark.django_db

K = OrderEvent.Kind


@pytest.mark.parametrize(
    ("kind", "field", "before", "after", "sentence"),
    [
        (K.CREATED, "status", None, "pending", "Order created (Pending)"),
        (K.STATUS, "status", "pending", "processing", "Status changed from Pending to Processing"),
        (
            K.STATUS,
            "status",
            "processing",
            "partially_shipped",
            "Status changed from Processing to Partially shipped",
        ),
        (
            K.SHIPPING_COST,
            "shipping",
            20000,
            40000,
            "Shipping cost changed from ₹200.00 to ₹400.00",
        ),
        (K.AMOUNTS, "tax", 0, 165000, "Tax changed from ₹0.00 to ₹1,650.00"),
        (K.AMOUNTS, "discount", 5000, None, "Discount removed (was ₹50.00)"),
        (
            K.SHIPPING_ADDRESS,
            "selected_address",
            None,
            "Asha, 12 MG Road, Mumbai 400051",
            "Shipping address set to Asha, 12 MG Road, Mumbai 400051",
        ),
        (
            K.COUPON,
            "coupon",
            None,
            {"code": "TRYNEW10", "discount": 16500},
            "Coupon TRYNEW10 applied (−₹165.00)",
        ),
        (
            K.COUPON,
            "coupon",
            {"code": "TRYNEW10", "discount": 16500},
            None,
            "Coupon TRYNEW10 removed (was −₹165.00)",
        ),
        (
            K.COUPON,
            "coupon",
            {"code": "TRYNEW10", "discount": 16500},
            {"code": "TRYNEW10", "discount": 18000},
            "Coupon TRYNEW10 discount changed from −₹165.00 to −₹180.00",
        ),
        (
            K.COUPON,
            "coupon",
            {"code": "TRYNEW10", "discount": 16500},
            {"code": "TRYNEW20", "discount": 2000},
            "Coupon changed from TRYNEW10 (−₹165.00) to TRYNEW20 (−₹20.00)",
        ),
        (
            K.MESSAGE,
            "order_details",
            None,
            "SHOP-1-2",
            "Checkout message queued with reference SHOP-1-2",
        ),
        (
            K.MESSAGE,
            "message_status",
            "accepted",
            "delivered",
            "Message status changed from Accepted to Delivered",
        ),
    ],
)
def test_each_kind_of_event_reads_as_a_sentence(kind, field, before, after, sentence):
    event = OrderEvent(kind=kind, field=field, before=before, after=after, source="admin")
    assert order_event_describe(event=event) == sentence


def test_order_page_history_shows_rupees_and_words(staff_client, demo):
    demo.shipping = 40000
    order_save(order=demo, source=EventSource.ADMIN)
    order_apply_coupon(
        order=demo, code="TRYNEW10", phone=demo.customer_phone, source=EventSource.CHECKOUT
    )
    order_status_change(order=demo, status="processing", source=EventSource.ADMIN)

    html = staff_client.get(reverse("admin:orders_order_change", args=[demo.pk])).content.decode()
    listing = staff_client.get(reverse("admin:orders_orderevent_changelist")).content.decode()
    shipping = demo.events.get(kind=K.SHIPPING_COST)
    one = reverse("admin:orders_orderevent_change", args=[shipping.pk])
    assert "Shipping cost changed from ₹200.00 to ₹400.00" in staff_client.get(one).content.decode()
    for page in (html, listing):
        assert "Shipping cost changed from ₹200.00 to ₹400.00" in page
        assert "Coupon TRYNEW10 applied (−₹185.00)" in page  # 10 % of ₹1,850.00
        assert "Status changed from Pending to Processing" in page
        assert "20000" not in page and "40000" not in page
        assert "{&#x27;code&#x27;" not in page and "{'code'" not in page


def test_a_delivery_callback_is_recorded_as_coming_from_kaleyra(client, settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    message = AcceptedMessageFactory(provider_message_id="kal-history", order=OrderFactory())
    assert (
        post_json(client, flat_body("kal-history", "delivered", 1_763_700_005)).status_code == 200
    )
    event = message.order.events.get(kind=K.MESSAGE, field="message_status")
    assert (event.source, event.get_source_display()) == ("kaleyra", "Kaleyra")
    assert EventSource.API.label == "API"  # kept for the coming REST API
