import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from coupons.models import Coupon, CouponPool, PoolCode
from messaging.models import MessageKind, SendBatch, SentMessage
from messaging.payloads import coupon_code_payload, extra_info_build
from orders.models import Order, OrderAddress, OrderItem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    reference_id = factory.Sequence(lambda n: f"ORD-{n:05d}")
    customer_name = "Nidhi Tripathi"
    customer_phone = factory.Sequence(lambda n: f"+9190000{n % 100000:05d}")
    type = "physical-goods"
    payment_method = "razorpay"
    payment_configuration = "prod-razor-pay-config-05"
    shipping = 20000
    tax = 10000
    discount = 0


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    name = "Blue Elf Aloe"
    quantity = 1
    amount = 200000
    sale_amount = 150000
    country_of_origin = "India"
    importer_name = "Lucky Shrub Imports and Exports"
    importer_address_line1 = "One BKC"
    importer_address_line2 = "Bandra Kurla Complex"
    importer_city = "Mumbai"
    importer_zone_code = "MH"
    importer_postal_code = "400051"
    importer_country_code = "IN"


class OrderAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderAddress

    order = factory.SubFactory(OrderFactory)
    name = "Nidhi Tripathi"
    phone_number = "919000090000"
    address = "Bandra Kurla Complex"
    city = "Mumbai"
    state = "Maharastra"
    in_pin_code = "400051"
    house_number = "12"
    tower_number = "5"
    building_name = "One BKC"
    landmark_area = "Near BKC Circle"


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n}")
    public_id = factory.Sequence(lambda n: f"save_{n}")
    description = "Save on the order"
    discount_type = Coupon.DiscountType.FIXED
    amount_off = 2000
    per_customer_limit = None


class CouponPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponPool

    coupon = factory.SubFactory(CouponFactory)


class PoolCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PoolCode

    pool = factory.SubFactory(CouponPoolFactory)
    code = factory.Sequence(lambda n: f"PC{n:06d}")


class SendBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SendBatch

    name = factory.Sequence(lambda n: f"Batch {n}")
    kind = MessageKind.COUPON_CODE


class SentMessageFactory(factory.django.DjangoModelFactory):
    """A queued coupon-code message with its exact JSON."""

    class Meta:
        model = SentMessage

    batch = factory.SubFactory(SendBatchFactory)
    kind = MessageKind.COUPON_CODE
    recipient = factory.Sequence(lambda n: f"+9198765{n % 100000:05d}")
    template_name = "coupon_code"
    ref = "SAVE10"
    ref1 = "coupon_code"
    ref2 = factory.LazyAttribute(lambda m: m.batch.name)
    payload = factory.LazyAttribute(
        lambda m: coupon_code_payload(
            code=m.ref,
            to=str(m.recipient),
            template_name=m.template_name,
            language="en_US",
            extra_info=extra_info_build(ref=m.ref, ref1=m.ref1, ref2=m.ref2),
        )
    )


class AcceptedMessageFactory(SentMessageFactory):
    """An order-status message Kaleyra accepted (it has Kaleyra's message id), outside a batch."""

    batch = None
    kind = MessageKind.ORDER_STATUS
    recipient = factory.Sequence(lambda n: f"+9198{n % 100000000:08d}")
    template_name = "order_update"
    ref = ref1 = ref2 = ""
    payload = factory.LazyFunction(dict)
    status = "accepted"
    provider_message_id = factory.Sequence(lambda n: f"kal-{n}")
    accepted_at = factory.LazyFunction(timezone.now)
