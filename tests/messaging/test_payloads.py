"""Each message's JSON compared field by field with the Kaleyra reference samples."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.errors import MessagingError
from messaging.payloads import (
    coupon_code_payload,
    extra_info_build,
    order_details_check,
    order_details_payload,
    order_status_payload,
)
from tests.factories import OrderFactory, OrderItemFactory
from tests.orders.test_serializer import REFERENCE_ORDER_DETAILS

SAMPLE_EXTRA_INFO = {
    "ref": "customer1",
    "ref1": "marketing",
    "ref2": "dictionary",
    "wa_source": "api",
}

# kaleyra-send-coupon-code-template.txt, "Sample Request Format"
COUPON_SAMPLE = {
    "messaging_object": {
        "messaging_product": "whatsapp",
        "to": "+91xxxxxxxxxxxx",
        "type": "template",
        "template": {
            "name": "cc_img_statics20",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "button",
                    "sub_type": "COPY_CODE",
                    "index": 0,
                    "parameters": [{"type": "coupon_code", "coupon_code": "2532334"}],
                }
            ],
        },
    },
    "extra_info": SAMPLE_EXTRA_INFO,
}

# kaleyra-send-order-status-template.txt, "Sample Request Format" (the sample's reference_id
# has a stray trailing space, left out here)
ORDER_STATUS_SAMPLE = {
    "messaging_object": {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+16XXXXXX234",
        "type": "template",
        "template": {
            "name": "order_confirmation",
            "language": {"policy": "deterministic", "code": "en_US"},
            "components": [
                {
                    "type": "order_status",
                    "parameters": [
                        {
                            "type": "order_status",
                            "order_status": {
                                "reference_id": "395XXXXX",
                                "order": {
                                    "status": "shipped",
                                    "description": "This order has been shipped.",
                                },
                            },
                        }
                    ],
                }
            ],
        },
    },
    "extra_info": SAMPLE_EXTRA_INFO,
}


def order_details_sample(order_details):
    """kaleyra-send-order-details-template.txt's sample envelope around `order_details`."""
    return {
        "messaging_object": {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+919000090000",
            "type": "template",
            "template": {
                "name": "ord_det_temp1",
                "language": {"policy": "deterministic", "code": "en_US"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [
                            {"type": "image", "image": {"link": "http://shop_order_image.jpg"}}
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "order_details",
                        "index": 0,
                        "parameters": [
                            {"type": "action", "action": {"order_details": order_details}}
                        ],
                    },
                ],
            },
        },
        "extra_info": SAMPLE_EXTRA_INFO,
    }


def test_coupon_code_matches_sample():
    built = coupon_code_payload(
        code="2532334",
        to="+91xxxxxxxxxxxx",
        template_name="cc_img_statics20",
        language="en_US",
        extra_info=extra_info_build(ref="customer1", ref1="marketing", ref2="dictionary"),
    )
    assert built == COUPON_SAMPLE


def test_order_status_matches_sample():
    built = order_status_payload(
        reference_id="395XXXXX",
        status="shipped",
        description="This order has been shipped.",
        to="+16XXXXXX234",
        template_name="order_confirmation",
        language="en_US",
        extra_info=extra_info_build(ref="customer1", ref1="marketing", ref2="dictionary"),
    )
    assert built == ORDER_STATUS_SAMPLE


def test_order_status_without_description_leaves_it_out():
    built = order_status_payload(
        reference_id="R1",
        status="processing",
        description="",
        to="+919000090000",
        template_name="t",
        language="en_US",
        extra_info=extra_info_build(ref="", ref1="", ref2=""),
    )
    component = built["messaging_object"]["template"]["components"][0]
    assert component["parameters"][0]["order_status"]["order"] == {"status": "processing"}


@pytest.mark.parametrize(
    ("status", "description", "code"),
    [
        ("pending", "", "invalid_order_status"),
        ("delivered", "", "invalid_order_status"),
        ("shipped", "x" * 121, "description_too_long"),
    ],
)
def test_order_status_refuses_bad_values(status, description, code):
    with pytest.raises(MessagingError) as error:
        order_status_payload(
            reference_id="R1",
            status=status,
            description=description,
            to="+919000090000",
            template_name="t",
            language="en_US",
            extra_info={},
        )
    assert error.value.code == code


def test_order_status_accepts_120_characters():
    built = order_status_payload(
        reference_id="R1",
        status="canceled",
        description="x" * 120,
        to="+919000090000",
        template_name="t",
        language="en_US",
        extra_info={},
    )
    order = built["messaging_object"]["template"]["components"][0]["parameters"][0]
    assert order["order_status"]["order"]["description"] == "x" * 120


def test_order_details_gateway_order_matches_samples(demo):
    built = order_details_payload(
        order=demo,
        reference_id="abc.123_xyz-1",
        to="+919000090000",
        template_name="ord_det_temp1",
        language="en_US",
        header_image_url="http://shop_order_image.jpg",
        extra_info=extra_info_build(ref="customer1", ref1="marketing", ref2="dictionary"),
    )
    component = built["messaging_object"]["template"]["components"][1]
    details = component["parameters"][0]["action"]["order_details"]
    assert details["order"].pop("expiration") == {
        "timestamp": str(int(demo.expires_at.timestamp()))
    }
    assert details == REFERENCE_ORDER_DETAILS
    assert built == order_details_sample(REFERENCE_ORDER_DETAILS)


@pytest.mark.django_db
def test_order_details_upi_uses_kaleyra_payment_fields_and_no_header():
    order = OrderFactory(
        type="digital-goods",
        payment_method="upi",
        payment_configuration="unique_payment_config_id",
        customer_phone="+919000090000",
        shipping=0,
        tax=500,
    )
    OrderItemFactory(
        order=order, amount=400, sale_amount=None, retailer_id="ORDER_ITEM_RETAILER_ID"
    )
    built = order_details_payload(
        order=order,
        reference_id="reference_id_value",
        to="+919000090000",
        template_name="ord_det_temp1",
        language="en_US",
        extra_info=extra_info_build(ref="customer1", ref1="marketing", ref2="dictionary"),
    )
    components = built["messaging_object"]["template"]["components"]
    assert [c["type"] for c in components] == ["button"]
    details = components[0]["parameters"][0]["action"]["order_details"]
    # The sample's order_details fields, UPI intent, digital goods (no shipping_info).
    assert set(details) == {
        "reference_id",
        "type",
        "currency",
        "payment_type",
        "payment_configuration",
        "order",
        "total_amount",
    }
    assert details["payment_type"] == "upi"
    assert details["payment_configuration"] == "unique_payment_config_id"
    assert details["reference_id"] == "reference_id_value"
    assert details["type"] == "digital-goods"
    assert details["currency"] == "INR"
    assert details["order"]["status"] == "pending"
    assert details["order"]["items"][0]["retailer_id"] == "ORDER_ITEM_RETAILER_ID"
    assert details["total_amount"] == {"offset": 100, "value": 900}
    sample = order_details_sample(details)
    sample["messaging_object"]["template"]["components"].pop(0)
    assert built == sample


@pytest.mark.django_db
def test_order_details_refuses_expiration_closer_than_300_seconds():
    now = timezone.now()
    order = OrderFactory(expires_at=now + timedelta(seconds=299))
    OrderItemFactory(order=order)
    with pytest.raises(MessagingError) as error:
        order_details_check(order=order, now=now)
    assert error.value.code == "order_expiring"
    order.expires_at = now + timedelta(seconds=300)
    order_details_check(order=order, now=now)


@pytest.mark.django_db
def test_order_details_refuses_orders_not_pending_or_empty():
    order = OrderFactory(status="shipped")
    OrderItemFactory(order=order)
    with pytest.raises(MessagingError) as error:
        order_details_check(order=order)
    assert error.value.code == "order_not_pending"
    with pytest.raises(MessagingError) as error:
        order_details_check(order=OrderFactory())
    assert error.value.code == "order_empty"


def test_extra_info_cuts_refs_and_normalises_wa_source():
    built = extra_info_build(ref="r" * 300, ref1="a" * 255, ref2="b" * 256, wa_source="mailchimp")
    assert built == {"ref": "r" * 255, "ref1": "a" * 255, "ref2": "b" * 255, "wa_source": "api"}
    assert extra_info_build(ref="", ref1="", ref2="", wa_source="Shopify")["wa_source"] == "shopify"


def test_template_name_and_language_are_required():
    for name, language in (("", "en_US"), ("t", ""), ("x" * 513, "en_US")):
        with pytest.raises(MessagingError):
            coupon_code_payload(
                code="C", to="+919000090000", template_name=name, language=language, extra_info={}
            )
