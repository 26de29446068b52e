"""A message as the customer sees it in WhatsApp, drawn from the exact JSON that is (or would be)
sent and its registered template (messaging.services.templates), if any.

The payload is the truth: header media and body values come from its components, the items and
the total from its order_details; the template only adds what WhatsApp holds on its side (the
body text with its {{n}} placeholders, a text header, the footer). Every value is untrusted text:
the bubble's template (messaging/_bubble.html) escapes it all.
"""

from dataclasses import dataclass, field

from django.template.loader import render_to_string

from orders.money import format_money

from .models import MessageKind
from .models.templates import MEDIA_HEADERS, PLACEHOLDER, HeaderFormat, placeholders_find
from .services.templates import template_find

BUTTON_LABELS = {
    MessageKind.ORDER_DETAILS: "Review and pay",
    MessageKind.COUPON_CODE: "Copy code",
}


@dataclass(frozen=True)
class BodyPart:
    """A stretch of the body: template text, or a placeholder's value (`value=True`)."""

    text: str
    value: bool = False
    missing: bool = False


@dataclass(frozen=True)
class Header:
    format: str  # text, image, video, document
    text: str = ""
    link: str = ""
    media_id: str = ""
    filename: str = ""

    @property
    def shows_image(self) -> bool:
        return self.format == "image" and self.link.startswith("https://")


@dataclass(frozen=True)
class Line:
    label: str
    amount: str
    quantity: int | None = None


@dataclass(frozen=True)
class Bubble:
    kind: str
    template_name: str
    language: str
    registered: bool
    header: Header | None = None
    body: tuple[BodyPart, ...] = ()
    values: tuple[str, ...] = ()  # the body parameters (shown as such without a template)
    footer: str = ""
    button: str = ""
    coupon_code: str = ""
    items: tuple[Line, ...] = ()
    summary: tuple[Line, ...] = ()
    total: str = ""
    status: str = ""
    description: str = ""
    problems: tuple[str, ...] = field(default=())

    @property
    def body_text(self) -> str:
        return "".join(part.text for part in self.body)


def message_kind(payload: dict) -> str:
    """The kind of a payload, from its components (a payload does not name its kind)."""
    for component in _components(payload):
        if component.get("type") == "order_status":
            return MessageKind.ORDER_STATUS
        if component.get("type") == "button":
            sub_type = str(component.get("sub_type", "")).lower()
            if sub_type == "order_details":
                return MessageKind.ORDER_DETAILS
            if sub_type == "copy_code":
                return MessageKind.COUPON_CODE
    return ""


def bubble_build(*, payload: dict, template=None, kind: str = "") -> Bubble:
    """The bubble for `payload` and its registered `template` (None: not registered)."""
    template_json = payload.get("messaging_object", {}).get("template", {})
    kind = kind or message_kind(payload)
    components = _components(payload)
    problems = []
    values = tuple(_parameter_texts(_component(components, "body")))
    body = _body(template, values, problems)
    details = _order_details(components)
    status = _order_status(components)
    coupon = _button_parameter(components, "coupon_code")
    return Bubble(
        kind=kind,
        template_name=str(template_json.get("name", "")),
        language=str(template_json.get("language", {}).get("code", "")),
        registered=template is not None,
        header=_header(_component(components, "header"), template),
        body=body,
        values=values,
        footer=str(getattr(template, "footer_text", "") or ""),
        button=BUTTON_LABELS.get(kind, ""),
        coupon_code=str(coupon.get("coupon_code", "")) if coupon else "",
        items=_items(details),
        summary=_summary(details),
        total=_amount(details.get("total_amount")),
        status=str(status.get("order", {}).get("status", "")),
        description=str(status.get("order", {}).get("description", "")),
        problems=tuple(problems),
    )


def bubble_for(*, payload: dict, kind: str = "") -> Bubble:
    """The bubble for `payload`, its template looked up in the registry by name and language."""
    template_json = payload.get("messaging_object", {}).get("template", {})
    template = template_find(
        name=str(template_json.get("name", "")),
        language=str(template_json.get("language", {}).get("code", "")),
    )
    return bubble_build(payload=payload, template=template, kind=kind)


def bubble_render(*, bubble: Bubble) -> str:
    """The bubble's HTML (safe to put on a page: every value is escaped)."""
    return render_to_string("messaging/_bubble.html", {"bubble": bubble})


# --- reading the payload --------------------------------------------------------------------


def _components(payload: dict) -> list:
    template = payload.get("messaging_object", {}).get("template", {})
    return [c for c in template.get("components", ()) if isinstance(c, dict)]


def _component(components: list, type_: str) -> dict:
    return next((c for c in components if c.get("type") == type_), {})


def _parameter_texts(component: dict) -> list[str]:
    return [str(p.get("text", "")) for p in component.get("parameters", ())]


def _button_parameter(components: list, type_: str) -> dict:
    for component in components:
        if component.get("type") != "button":
            continue
        for parameter in component.get("parameters", ()):
            if parameter.get("type") == type_:
                return parameter
    return {}


def _order_details(components: list) -> dict:
    action = _button_parameter(components, "action").get("action", {})
    return action.get("order_details", {}) or {}


def _order_status(components: list) -> dict:
    parameters = _component(components, "order_status").get("parameters", ())
    return next(iter(parameters), {}).get("order_status", {}) if parameters else {}


def _header(component: dict, template) -> Header | None:
    parameter = next(iter(component.get("parameters", ())), None)
    if parameter is not None:
        format_ = str(parameter.get("type", ""))
        if format_ == HeaderFormat.TEXT:
            return Header(format_, text=str(parameter.get("text", "")))
        if format_ in MEDIA_HEADERS:
            media = parameter.get(format_, {}) or {}
            return Header(
                format_,
                link=str(media.get("link", "")),
                media_id=str(media.get("id", "")),
                filename=str(media.get("filename", "")),
            )
    format_ = str(getattr(template, "header_format", "") or "")
    if format_ == HeaderFormat.TEXT and template.header_text:
        # A text header without a variable is WhatsApp's: the payload carries none.
        return Header(format_, text=template.header_text)
    if format_ in MEDIA_HEADERS:
        return Header(
            format_,
            link=template.header_media_link,
            media_id=template.header_media_id,
            filename=template.header_filename,
        )
    return None


def _body(template, values: tuple[str, ...], problems: list) -> tuple[BodyPart, ...]:
    """The template's body with each {{n}} replaced by the n-th value; a placeholder without a
    value stays visible and is named in `problems`."""
    if template is None:
        return ()
    parts, position = [], 0
    text = template.body_text or ""
    for match in PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(BodyPart(text[position : match.start()]))
        name = match.group(1)
        number = int(name) if name.isdigit() else 0
        if 1 <= number <= len(values):
            parts.append(BodyPart(values[number - 1], value=True))
        else:
            parts.append(BodyPart(match.group(0), value=True, missing=True))
            problems.append(f"The body's {match.group(0)} has no value in the message.")
        position = match.end()
    if position < len(text):
        parts.append(BodyPart(text[position:]))
    placeholders = set(placeholders_find(text))
    if len(values) > len(placeholders):
        problems.append(
            f"The message carries {len(values)} body values; the template has "
            f"{len(placeholders)} placeholder(s): WhatsApp refuses the message."
        )
    return tuple(parts)


def _amount(amount, *, sign: int = 1) -> str:
    if not isinstance(amount, dict) or "value" not in amount:
        return ""
    return format_money(sign * int(amount["value"]), offset=int(amount.get("offset") or 100))


def _items(details: dict) -> tuple[Line, ...]:
    items = details.get("order", {}).get("items", ())
    return tuple(
        Line(
            label=str(item.get("name", "")),
            amount=_amount(item.get("sale_amount") or item.get("amount")),
            quantity=item.get("quantity"),
        )
        for item in items
    )


def _summary(details: dict) -> tuple[Line, ...]:
    order = details.get("order", {})
    lines = [
        Line("Subtotal", _amount(order.get("subtotal"))),
        Line("Shipping", _amount(order.get("shipping"))),
        Line("Tax", _amount(order.get("tax"))),
    ]
    if order.get("discount"):
        lines.append(Line("Discount", _amount(order["discount"], sign=-1)))
    coupon = details.get("coupon")
    if coupon:
        label = f"Coupon {coupon.get('code', '')}"
        lines.append(Line(label, _amount(coupon.get("discount"), sign=-1)))
    return tuple(line for line in lines if line.amount)
