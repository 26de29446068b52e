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
from orders.models import EventSource, Order, OrderAddress, OrderItem, OrderStatus
from orders.services import order_save, order_status_change

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin"  # noqa: S105 - a local demo login, printed on purpose
DEMO_REFERENCE_ID = "abc.123_xyz-1"

DEMO_ADDRESS = {
    "name": "Nidhi Tripathi",
    "phone_number": "919000090000",
    "address": "Bandra Kurla Complex",
    "city": "Mumbai",
    "state": "Maharastra",
    "in_pin_code": "400051",
    "house_number": "12",
    "tower_number": "5",
    "building_name": "One BKC",
    "landmark_area": "Near BKC Circle",
}

DEMO_ITEM = {
    "name": "Blue Elf Aloe",
    "amount": 200000,
    "sale_amount": 150000,
    "quantity": 1,
    "country_of_origin": "India",
    "importer_name": "Lucky Shrub Imports and Exports",
    "importer_address_line1": "One BKC",
    "importer_address_line2": "Bandra Kurla Complex",
    "importer_city": "Mumbai",
    "importer_zone_code": "MH",
    "importer_postal_code": "400051",
    "importer_country_code": "IN",
}

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
        if _order_ensure(
            reference_id=DEMO_REFERENCE_ID,
            customer_name="Nidhi Tripathi",
            customer_phone="+919000090000",
            items=[DEMO_ITEM],
            address=DEMO_ADDRESS,
            shipping=20000,
            tax=10000,
            discount=15000,
            discount_description="Additional 10% off",
        ):
            created["orders"] += 1
        for number, (name, phone, city, pin) in enumerate(OTHER_CUSTOMERS, start=1):
            status = OTHER_STATUSES[number % len(OTHER_STATUSES)]
            if _order_ensure(
                reference_id=f"DEMO-{1000 + number}",
                customer_name=name,
                customer_phone=phone,
                items=[
                    {
                        **DEMO_ITEM,
                        "name": f"Handmade candle set #{number}",
                        "amount": 45000 + 2500 * number,
                        "sale_amount": None,
                        "quantity": 1 + number % 3,
                    }
                ],
                address={
                    **DEMO_ADDRESS,
                    "name": name,
                    "phone_number": phone.lstrip("+"),
                    "address": f"{number} MG Road",
                    "city": city,
                    "in_pin_code": pin,
                },
                shipping=5000,
                tax=2000 * number,
                status=status,
                digital=number % 5 == 0,
            ):
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


def _order_ensure(
    *,
    reference_id,
    customer_name,
    customer_phone,
    items,
    address,
    shipping,
    tax,
    discount=0,
    discount_description="",
    status=OrderStatus.PENDING,
    digital=False,
) -> bool:
    if Order.objects.filter(reference_id=reference_id).exists():
        return False
    order = order_save(
        order=Order(
            reference_id=reference_id,
            customer_name=customer_name,
            customer_phone=customer_phone,
            type="digital-goods" if digital else "physical-goods",
            payment_method="razorpay",
            payment_configuration="prod-razor-pay-config-05",
            shipping=shipping,
            tax=tax,
            discount=discount,
            discount_description=discount_description,
            expires_at=None
            if status != OrderStatus.PENDING
            else timezone.now() + timedelta(days=30),
        ),
        source=EventSource.COMMAND,
    )
    for item in items:
        OrderItem.objects.create(order=order, **item)
    if not digital:
        OrderAddress.objects.create(order=order, **address)
    if status != OrderStatus.PENDING:
        order_status_change(order=order, status=status, source=EventSource.COMMAND)
    return True
