"""The reference's sample order and coupons, plus a dozen other orders so the admin looks alive.

Idempotent: every record is looked up by its natural key first, so a second run changes nothing.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from checkout.models import ShippingRule
from coupons.models import Coupon
from messaging.models import HeaderFormat, MessageKind, MessageTemplate, ParameterSource
from orders.intake import order_create_from_payload
from orders.models import EventSource, Order, OrderStatus
from orders.sample import SAMPLE_ORDER_BODY, SAMPLE_REFERENCE_ID, sample_order_body
from orders.services import order_status_change

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin"  # noqa: S105 - a local demo login, printed on purpose
DEMO_REFERENCE_ID = SAMPLE_REFERENCE_ID  # the reference's sample order (orders.sample)
# Its shipping address, as WhatsApp's shipping_info and the checkout tests write it.
DEMO_ADDRESS = dict(SAMPLE_ORDER_BODY["addresses"][0])

# The reference's apply_shipping example: shipping to 400051 costs 40000 (total 168500).
DEMO_SHIPPING_RULE = {"pincode_prefix": "400051", "name": "Bandra Kurla Complex", "cost": 40000}

# As in the reference's get_coupons example; TRYNEW10 is the worked example's 10 % coupon.
DEMO_COUPONS = [
    {
        "code": "TRYNEW10",
        "public_id": "try_new_10_id",
        "description": "Save 10% on the order",
        "discount_type": Coupon.DiscountType.PERCENTAGE,
        "percent_off": 10,
    },
    {
        "code": "TRYNEW20",
        "public_id": "try_new_20_id",
        "description": "Save ₹20.00 on the order",
        "discount_type": Coupon.DiscountType.FIXED,
        "amount_off": 2000,
    },
    {
        "code": "TRYNEW30",
        "public_id": "try_new_30_id",
        "description": "Save ₹30.00 on the order",
        "discount_type": Coupon.DiscountType.FIXED,
        "amount_off": 3000,
    },
    {
        "code": "TRYNEW50",
        "public_id": "try_new50_id",
        "description": "Save ₹50.00 on the order",
        "discount_type": Coupon.DiscountType.FIXED,
        "amount_off": 5000,
    },
]

OTHER_CUSTOMERS = [
    ("Aarav Sharma", "+919812345601", "Mumbai", "400001"),
    ("Diya Patel", "+919812345602", "Ahmedabad", "380001"),
    ("Vihaan Reddy", "+919812345603", "Hyderabad", "500001"),
    ("Ananya Iyer", "+919812345604", "Chennai", "600001"),
    ("Kabir Singh", "+919812345605", "New Delhi", "110001"),
    ("Isha Nair", "+919812345606", "Kochi", "682001"),
    ("Arjun Mehta", "+919812345607", "Pune", "411001"),
    ("Saanvi Gupta", "+919812345608", "Jaipur", "302001"),
    ("Reyansh Das", "+919812345609", "Kolkata", "700001"),
    ("Myra Joshi", "+919812345610", "Bengaluru", "560001"),
    ("Aditya Rao", "+919812345611", "Mysuru", "570001"),
    ("Kiara Bose", "+919812345612", "Lucknow", "226001"),
]
OTHER_STATUSES = [
    OrderStatus.PENDING,
    OrderStatus.PROCESSING,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
    OrderStatus.CANCELED,
]


DEMO_HEADER_IMAGE = "https://shop.example/images/order-details.jpg"
S = ParameterSource
DEMO_TEMPLATES = [
    {
        "name": "order_details_demo",
        "kind": MessageKind.ORDER_DETAILS,
        "header_format": HeaderFormat.IMAGE,
        "header_media_link": DEMO_HEADER_IMAGE,
        "body_text": "Hi {{1}}, your order {{2}} for {{3}} is ready. Tap below to pay.",
        "footer_text": "Lucky Shrub",
        "parameters": [S.CUSTOMER_NAME, S.ORDER_REFERENCE, S.ORDER_TOTAL],
    },
    {
        "name": "coupon_code_demo",
        "kind": MessageKind.COUPON_CODE,
        "header_format": HeaderFormat.NONE,
        "body_text": "Save {{1}} on your next order with this code. Tap below to copy it.",
        "footer_text": "Lucky Shrub",
        "parameters": [S.COUPON_DISCOUNT],
    },
]


def demo_load() -> dict:
    """Create what is missing; return what was created and the admin login."""
    created = {"orders": 0, "coupons": 0, "templates": 0, "admin": False}
    with transaction.atomic():
        created["admin"] = _admin_ensure()
        if _order_ensure(sample_order_body()):
            created["orders"] += 1
        for number, (name, phone, city, pin) in enumerate(OTHER_CUSTOMERS, start=1):
            status = OTHER_STATUSES[number % len(OTHER_STATUSES)]
            if _order_ensure(_other_order(number, name, phone, city, pin), status=status):
                created["orders"] += 1
        for spec in DEMO_COUPONS:
            _, was_created = Coupon.objects.get_or_create(
                code=spec["code"],
                defaults={**spec, "usage_limit": None, "per_customer_limit": None},
            )
            created["coupons"] += was_created
        ShippingRule.objects.get_or_create(
            pincode_prefix=DEMO_SHIPPING_RULE["pincode_prefix"], defaults=DEMO_SHIPPING_RULE
        )
        created["templates"] = sum(_template_ensure(**spec) for spec in DEMO_TEMPLATES)
    return created


def _template_ensure(*, name, parameters, language="en_US", **fields) -> bool:
    """Register a demo template once (a second run leaves it, and an operator's edits, alone)."""
    if MessageTemplate.objects.filter(name=name, language=language).exists():
        return False
    template = MessageTemplate(name=name, language=language, **fields)
    template.full_clean()
    template.save()
    for position, source in enumerate(parameters, start=1):
        parameter = template.parameters.model(template=template, position=position, source=source)
        parameter.full_clean()
        parameter.save()
    return True


def _admin_ensure() -> bool:
    user_model = get_user_model()
    if user_model.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        return False
    user_model.objects.create_superuser(
        DEMO_ADMIN_USERNAME, "admin@example.com", DEMO_ADMIN_PASSWORD
    )
    return True


def _other_order(number, name, phone, city, pin) -> dict:
    """The sample order made another customer's: another item, price and address."""
    item = {
        key: value for key, value in SAMPLE_ORDER_BODY["items"][0].items() if key != "sale_amount"
    }
    body = sample_order_body(
        reference_id=f"DEMO-{1000 + number}",
        customer={"name": name, "phone": phone},
        items=[
            {
                **item,
                "name": f"Handmade candle set #{number}",
                "amount": {"value": 45000 + 2500 * number, "offset": 100},
                "quantity": 1 + number % 3,
            }
        ],
        addresses=[
            {
                **DEMO_ADDRESS,
                "name": name,
                "phone_number": phone.lstrip("+"),
                "address": f"{number} MG Road",
                "city": city,
                "in_pin_code": pin,
            }
        ],
        shipping={"value": 5000, "offset": 100},
        tax={"value": 2000 * number, "offset": 100},
    )
    del body["discount"]
    if number % 5 == 0:
        body["type"] = "digital-goods"
        del body["addresses"]
    return body


def _order_ensure(body: dict, *, status=OrderStatus.PENDING) -> bool:
    """Create the order `body` describes through the intake (the REST API's path), pending
    for 30 days, then move it to `status`; False when it exists."""
    if Order.objects.filter(reference_id=body["reference_id"]).exists():
        return False
    if status == OrderStatus.PENDING:
        expires = timezone.now() + timedelta(days=30)
        body = {**body, "expiration": {"timestamp": str(int(expires.timestamp()))}}
    order, _ = order_create_from_payload(data=body, source=EventSource.COMMAND)
    if status != OrderStatus.PENDING:
        order_status_change(order=order, status=status, source=EventSource.COMMAND)
    return True
