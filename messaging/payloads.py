"""The three Kaleyra message bodies, one builder each, checked before anything is sent.

Shapes follow the reference pages field for field (kaleyra-send-*.txt): order details and order
status carry `recipient_type` and a `deterministic` language policy, the coupon code message
carries neither (as in Kaleyra's sample). The `order_details` object itself comes only from
orders.serializers.order_details_build.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orders.models import OrderStatus
from orders.serializers import order_details_build

from .errors import MessagingError

REF_MAX_LENGTH = 255
WA_SOURCES = frozenset(
    {
        "api",
        "clevertap",
        "zoho",
        "webengage",
        "shopify",
        "leadsquared",
        "responsys",
        "braze",
        "hubspot",
        "salesforce",
        "zapier",
        "eloqua",
        "moengage",
    }
)
ORDER_STATUS_VALUES = (
    OrderStatus.PROCESSING,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
    OrderStatus.CANCELED,
)
DESCRIPTION_MAX_LENGTH = 120
TEMPLATE_NAME_MAX_LENGTH = 512
MIN_EXPIRATION = timedelta(seconds=300)


def extra_info_build(*, ref: str, ref1: str, ref2: str, wa_source: str | None = None) -> dict:
    """extra_info with each ref cut to 255 characters and wa_source one of the documented values
    (anything else becomes "api", as Kaleyra itself would do)."""
    source = (wa_source if wa_source is not None else settings.KALEYRA_WA_SOURCE).strip().lower()
    return {
        "ref": str(ref or "")[:REF_MAX_LENGTH],
        "ref1": str(ref1 or "")[:REF_MAX_LENGTH],
        "ref2": str(ref2 or "")[:REF_MAX_LENGTH],
        "wa_source": source if source in WA_SOURCES else "api",
    }


def _template_check(name: str, language: str) -> None:
    if not name or not name.strip():
        raise MessagingError("The template name is empty.", code="template_missing")
    if len(name) > TEMPLATE_NAME_MAX_LENGTH:
        raise MessagingError(
            f"The template name is longer than {TEMPLATE_NAME_MAX_LENGTH} characters.",
            code="template_too_long",
        )
    if not language or not language.strip():
        raise MessagingError("The template language is empty.", code="language_missing")


def _envelope(*, to: str, template: dict, extra_info: dict, individual: bool) -> dict:
    messaging_object = {"messaging_product": "whatsapp"}
    if individual:
        messaging_object["recipient_type"] = "individual"
    messaging_object.update(to=to, type="template", template=template)
    return {"messaging_object": messaging_object, "extra_info": extra_info}


def order_details_payload(
    *,
    order,
    reference_id: str,
    to: str,
    template_name: str,
    language: str,
    extra_info: dict,
    header_image_url: str = "",
    components: list | None = None,
    now=None,
) -> dict:
    """The order-details (checkout button) message for `order`, carrying `reference_id` (issued
    for this message by orders.services.order_reference_issue). `components`: a registered
    template's header and body (messaging.services.templates), which then replace the
    `header_image_url` header."""
    _template_check(template_name, language)
    order_details_check(order=order, now=now)
    registered = components
    components = list(registered) if registered is not None else []
    if header_image_url and registered is None:
        components.append(
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": header_image_url}}],
            }
        )
    components.append(
        {
            "type": "button",
            "sub_type": "order_details",
            "index": 0,
            "parameters": [
                {
                    "type": "action",
                    "action": {
                        "order_details": order_details_build(order, reference_id=reference_id)
                    },
                }
            ],
        }
    )
    template = {
        "name": template_name,
        "language": {"policy": "deterministic", "code": language},
        "components": components,
    }
    return _envelope(to=to, template=template, extra_info=extra_info, individual=True)


def order_details_check(*, order, now=None) -> None:
    """Refuse an order that cannot be offered for checkout (before a reference is issued)."""
    if order.status != OrderStatus.PENDING:
        raise MessagingError(
            f"Order {order.reference_id} is {order.status}: only pending orders get a checkout "
            "message.",
            code="order_not_pending",
        )
    if not order.items.exists():
        raise MessagingError(f"Order {order.reference_id} has no items.", code="order_empty")
    if order.expires_at is not None:
        now = now or timezone.now()
        if order.expires_at < now + MIN_EXPIRATION:
            raise MessagingError(
                f"Order {order.reference_id} expires at {order.expires_at:%Y-%m-%d %H:%M:%S %Z}: "
                "the expiration must be at least 300 seconds ahead.",
                code="order_expiring",
            )


def order_status_check(*, status: str, description: str) -> None:
    if status not in ORDER_STATUS_VALUES:
        raise MessagingError(
            f"'{status}' is not an order status WhatsApp accepts; use one of "
            f"{', '.join(ORDER_STATUS_VALUES)}.",
            code="invalid_order_status",
        )
    if len(description or "") > DESCRIPTION_MAX_LENGTH:
        raise MessagingError(
            f"The description is {len(description)} characters long; at most "
            f"{DESCRIPTION_MAX_LENGTH} are allowed.",
            code="description_too_long",
        )


def order_status_payload(
    *,
    reference_id: str,
    status: str,
    description: str,
    to: str,
    template_name: str,
    language: str,
    extra_info: dict,
    components: list | None = None,
) -> dict:
    _template_check(template_name, language)
    order_status_check(status=status, description=description)
    order = {"status": status}
    if description:
        order["description"] = description
    template = {
        "name": template_name,
        "language": {"policy": "deterministic", "code": language},
        "components": [
            *(components or ()),
            {
                "type": "order_status",
                "parameters": [
                    {
                        "type": "order_status",
                        "order_status": {"reference_id": reference_id, "order": order},
                    }
                ],
            },
        ],
    }
    return _envelope(to=to, template=template, extra_info=extra_info, individual=True)


def coupon_code_payload(
    *,
    code: str,
    to: str,
    template_name: str,
    language: str,
    extra_info: dict,
    components: list | None = None,
) -> dict:
    _template_check(template_name, language)
    if not code:
        raise MessagingError("The coupon code is empty.", code="coupon_code_missing")
    template = {
        "name": template_name,
        "language": {"code": language},
        "components": [
            *(components or ()),
            {
                "type": "button",
                "sub_type": "COPY_CODE",
                "index": 0,
                "parameters": [{"type": "coupon_code", "coupon_code": code}],
            },
        ],
    }
    return _envelope(to=to, template=template, extra_info=extra_info, individual=False)
