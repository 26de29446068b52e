"""The order bodies as the OpenAPI schema shows them (drf-spectacular reads these serializers).

They document; they do not validate: orders.intake checks bodies (every problem with its path).
Lengths come from the same model fields intake reads.
"""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from .choices import OrderStatus, OrderType, PaymentMethod
from .models import Order, OrderAddress, OrderItem
from .sample import SAMPLE_ORDER_TOTAL, sample_order_body
from .validators import REFERENCE_ID_MAX_LENGTH


def _length(model, field):
    return model._meta.get_field(field).max_length


class AmountSchema(serializers.Serializer):
    value = serializers.IntegerField(min_value=0, help_text="Minor units (paise): ₹1.00 is 100.")
    offset = serializers.IntegerField(help_text="Always 100 (INR).")


class DescribedAmountSchema(AmountSchema):
    description = serializers.CharField(required=False, max_length=60)


class CustomerSchema(serializers.Serializer):
    name = serializers.CharField(max_length=_length(Order, "customer_name"))
    phone = serializers.CharField(help_text="WhatsApp number; answered in E.164 (+91...).")


class PaymentSchema(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.values)
    configuration_name = serializers.CharField(max_length=_length(Order, "payment_configuration"))


class ImporterAddressSchema(serializers.Serializer):
    address_line1 = serializers.CharField(max_length=100)
    address_line2 = serializers.CharField(max_length=100, required=False)
    city = serializers.CharField(max_length=120)
    zone_code = serializers.CharField(max_length=2)
    postal_code = serializers.CharField(max_length=6)
    country_code = serializers.CharField(max_length=2)


class ItemSchema(serializers.Serializer):
    name = serializers.CharField(max_length=_length(OrderItem, "name"))
    retailer_id = serializers.CharField(max_length=100, required=False)
    quantity = serializers.IntegerField(min_value=1, max_value=100)
    amount = AmountSchema()
    sale_amount = AmountSchema(required=False)
    country_of_origin = serializers.CharField(max_length=100)
    importer_name = serializers.CharField(max_length=200)
    importer_address = ImporterAddressSchema()


class AddressSchema(serializers.Serializer):
    name = serializers.CharField(max_length=_length(OrderAddress, "name"))
    phone_number = serializers.CharField(max_length=12, help_text="Digits, country code first.")
    address = serializers.CharField(max_length=_length(OrderAddress, "address"))
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=100)
    in_pin_code = serializers.CharField(max_length=6)
    house_number = serializers.CharField(max_length=8, required=False)
    tower_number = serializers.CharField(max_length=8, required=False)
    building_name = serializers.CharField(max_length=128, required=False)
    landmark_area = serializers.CharField(max_length=128, required=False)
    floor_number = serializers.CharField(max_length=10, required=False)


class ExpirationSchema(serializers.Serializer):
    timestamp = serializers.CharField(help_text="Unix seconds (WhatsApp writes a string).")


class HeaderImageSchema(serializers.Serializer):
    link = serializers.URLField(max_length=1024, help_text="https link to the header image.")


class OrderBodySchema(serializers.Serializer):
    """A body shaped like WhatsApp's order_details (flattened: items at the top)."""

    reference_id = serializers.CharField(max_length=REFERENCE_ID_MAX_LENGTH)
    type = serializers.ChoiceField(choices=OrderType.values, required=False)
    currency = serializers.ChoiceField(choices=["INR"], required=False)
    customer = CustomerSchema()
    payment = PaymentSchema()
    items = ItemSchema(many=True)
    shipping = AmountSchema(required=False)
    tax = DescribedAmountSchema(required=False)
    discount = DescribedAmountSchema(required=False)
    addresses = AddressSchema(many=True, required=False)
    expiration = ExpirationSchema(required=False)
    header_image = HeaderImageSchema(required=False)


class OrderUpdateSchema(OrderBodySchema):
    reference_id = serializers.CharField(
        max_length=REFERENCE_ID_MAX_LENGTH, required=False, help_text="Cannot change."
    )


class CouponSchema(serializers.Serializer):
    code = serializers.CharField()
    discount = AmountSchema()


class LatestMessageSchema(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    error_code = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField()


class OrderSchema(serializers.Serializer):
    """An order as the API answers it: the body plus status, totals and what happened since."""

    reference_id = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.values)
    currency = serializers.CharField()
    type = serializers.ChoiceField(choices=OrderType.values)
    customer = CustomerSchema()
    payment = PaymentSchema()
    items = ItemSchema(many=True)
    shipping = AmountSchema()
    tax = DescribedAmountSchema()
    discount = DescribedAmountSchema()
    addresses = AddressSchema(many=True)
    expiration = ExpirationSchema(required=False)
    header_image = HeaderImageSchema(required=False)
    subtotal = AmountSchema()
    coupon = CouponSchema(allow_null=True)
    total_amount = AmountSchema()
    references = serializers.ListField(
        child=serializers.CharField(), help_text="Checkout references issued (resends: -2 ...)."
    )
    payment_status = serializers.CharField(
        allow_null=True,
        help_text="unpaid, pending, paid, failed, refunded, partially_refunded.",
    )
    latest_message = LatestMessageSchema(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderPageSchema(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderSchema(many=True)


# The reference's sample order (orders.sample), under the id the README's example creates (the
# demo data holds abc.123_xyz-1).
SAMPLE_BODY = sample_order_body(reference_id="abc.123_xyz-2")

SAMPLE_ORDER = {
    "reference_id": "abc.123_xyz-2",
    "status": "pending",
    "currency": "INR",
    **{key: value for key, value in SAMPLE_BODY.items() if key != "reference_id"},
    "subtotal": {"value": 150000, "offset": 100},
    "coupon": None,
    "total_amount": {"value": SAMPLE_ORDER_TOTAL, "offset": 100},
    "references": [],
    "payment_status": "unpaid",
    "latest_message": None,
    "created_at": "2026-12-01T02:34:00.010871Z",
    "updated_at": "2026-12-01T02:34:00.010871Z",
}

EXAMPLES = [
    OpenApiExample("The reference's sample order", value=SAMPLE_BODY, request_only=True),
    OpenApiExample(
        "The order created", value=SAMPLE_ORDER, response_only=True, status_codes=["201", "200"]
    ),
    OpenApiExample(
        "A field not valid",
        value={
            "code": "invalid",
            "message": "The order is not valid: see details.",
            "details": [
                {
                    "field": "items[0].quantity",
                    "code": "out_of_range",
                    "message": "Use a number from 1 to 100.",
                }
            ],
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "The reference_id is taken by another body",
        value={
            "code": "conflict",
            "message": "An order with this reference_id exists with a different body: "
            "items[0].quantity.",
            "details": [
                {
                    "field": "items[0].quantity",
                    "code": "differs",
                    "message": "Differs from the stored order.",
                }
            ],
        },
        response_only=True,
        status_codes=["409"],
    ),
]
