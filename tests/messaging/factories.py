import factory

from messaging.models import MessageKind, SendBatch, SentMessage
from messaging.payloads import coupon_code_payload, extra_info_build


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
