"""Registered templates (messaging.models.MessageTemplate) turned into the `header` and `body`
components of one message, their values computed from our records when it is queued.

A template name that is not registered sends exactly as before: no header or body component
beyond what the kind's payload builder adds itself.
"""

from decimal import Decimal

from django.utils import timezone

from orders.money import format_money

from ..errors import MessagingError
from ..models import HeaderFormat, MessageKind, MessageTemplate, ParameterSource
from ..models.templates import (
    BODY_MAX_LENGTH,
    MEDIA_HEADERS,
    PLACEHOLDER,
    parameter_value_problem,
    parameters_problem,
)

EXPIRY_FORMAT = "%d %b %Y, %I:%M %p"  # 30 Nov 2026, 08:15 PM, in the shop's time zone


def template_find(*, name: str, language: str) -> MessageTemplate | None:
    """The registered template `name` in `language` with its parameters, or None."""
    return (
        MessageTemplate.objects.filter(name=name, language=language)
        .prefetch_related("parameters")
        .first()
    )


def template_check(*, template: MessageTemplate, kind: str) -> None:
    """Refuse a whole batch whose registered template cannot serve `kind` or is incomplete
    (something saved around the admin's checks)."""
    if template.kind != kind:
        raise MessagingError(
            f"Template {template} is registered for {template.get_kind_display().lower()} "
            f"messages, not {MessageKind(kind).label.lower()}.",
            code="template_kind_mismatch",
        )
    problem = parameters_problem(template=template, parameters=template.parameters.all())
    if problem:
        raise MessagingError(f"Template {template}: {problem[1]}", code="template_invalid")


def template_components_build(
    *, template: MessageTemplate, order=None, coupon=None, code=None, media_link: str = ""
) -> list[dict]:
    """The `header` and `body` components of one message, in WhatsApp's order (the kind's own
    button or status component goes after them). `media_link` replaces the template's default
    media of an image, video or document header (an order's own header image). A value that
    WhatsApp would refuse refuses this target (MessagingError, code template_value_invalid)."""
    components = []
    header = _header_parameter(template, media_link)
    if header is not None:
        components.append({"type": "header", "parameters": [header]})
    values = _body_values(template, order=order, coupon=coupon, code=code)
    if values:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": value} for value in values]}
        )
    return components


def _header_parameter(template, media_link: str) -> dict | None:
    fmt = template.header_format
    if fmt not in MEDIA_HEADERS:
        # A text header is approved as fixed text: WhatsApp takes no parameter for it.
        return None
    link = media_link or template.header_media_link
    media = {"link": link} if link else {"id": template.header_media_id}
    if fmt == HeaderFormat.DOCUMENT and template.header_filename:
        media["filename"] = template.header_filename
    return {"type": str(fmt), str(fmt): media}


def _body_values(template, *, order, coupon, code) -> list[str]:
    parameters = sorted(template.parameters.all(), key=lambda parameter: parameter.position)
    values = []
    for parameter in parameters:
        value = _value(parameter, order=order, coupon=coupon, code=code)
        problem = parameter_value_problem(value)
        if problem:
            raise _value_error(parameter, f"{problem} ({value!r})" if value else problem)
        values.append(value)
    if values:
        filled = PLACEHOLDER.sub(lambda match: values[int(match.group(1)) - 1], template.body_text)
        if len(filled) > BODY_MAX_LENGTH:
            longest = max(parameters, key=lambda parameter: len(values[parameter.position - 1]))
            raise _value_error(
                longest,
                f"is {len(values[longest.position - 1])} characters long: the filled body "
                f"would be {len(filled)}, WhatsApp allows {BODY_MAX_LENGTH}",
            )
    return values


def _value_error(parameter, problem: str) -> MessagingError:
    return MessagingError(
        f"Template {parameter.template.name}: placeholder {{{{{parameter.position}}}}} "
        f"({parameter.get_source_display()}) {problem}.",
        code="template_value_invalid",
        details={"placeholder": parameter.position, "source": parameter.source},
    )


def _value(parameter, *, order, coupon, code) -> str:
    source = parameter.source
    if source == ParameterSource.FIXED:
        return parameter.fixed_text
    if source in _ORDER_VALUES:
        return _ORDER_VALUES[source](order) if order is not None else ""
    if source in _COUPON_VALUES:
        return _COUPON_VALUES[source](coupon, code) if coupon is not None or code else ""
    return ""


def _items(order) -> list:
    return list(order.items.all())


def _local(moment) -> str:
    return timezone.localtime(moment).strftime(EXPIRY_FORMAT) if moment else ""


def coupon_discount_display(coupon) -> str:
    """'10%' or '₹150.00', as the customer reads a coupon's discount."""
    if coupon.discount_type == coupon.DiscountType.PERCENTAGE:
        if coupon.percent_off is None:
            return ""
        percent = Decimal(coupon.percent_off).normalize()
        return f"{percent:f}%"
    return format_money(coupon.amount_off)


_ORDER_VALUES = {
    ParameterSource.CUSTOMER_NAME: lambda order: (order.customer_name or "").strip(),
    ParameterSource.ORDER_REFERENCE: lambda order: order.reference_id,
    ParameterSource.ORDER_TOTAL: lambda order: format_money(order.totals.total),
    ParameterSource.ITEM_COUNT: lambda order: str(sum(item.quantity for item in _items(order))),
    ParameterSource.FIRST_ITEM_NAME: lambda order: (_items(order)[0].name if _items(order) else ""),
    ParameterSource.ORDER_EXPIRY: lambda order: _local(order.expires_at),
}
_COUPON_VALUES = {
    ParameterSource.COUPON_CODE: lambda coupon, code: code or coupon.code,
    ParameterSource.COUPON_DISCOUNT: lambda coupon, code: (
        coupon_discount_display(coupon) if coupon else ""
    ),
    ParameterSource.COUPON_DESCRIPTION: lambda coupon, code: coupon.description if coupon else "",
    ParameterSource.COUPON_EXPIRY: lambda coupon, code: (
        _local(coupon.valid_until) if coupon else ""
    ),
}
