"""Kaleyra events that are not delivery statuses, read into InboundItems: incoming customer
messages (v2 and flat), WhatsApp Payments updates, template-status changes, unknown types. The
payment and template readers are lenient: what they do not recognise stays in the stored JSON."""

import math

from messaging.models import InboundEvent

from .events import InboundItem
from .fields import CallbackParseError, id_read, object_read, path_join, text_clean, text_read

T = InboundEvent.Type


def messages_parse(value: dict, path: str, extra: dict) -> list[InboundItem]:
    """Incoming customer messages: WhatsApp's `messages[]`, the sender's name from
    `contacts[]`, Kaleyra's `extra_info` (refs, reply_to) kept with each."""
    messages = value["messages"]
    if not isinstance(messages, list):
        raise CallbackParseError(f"{path}.messages must be a list.")
    contacts = value.get("contacts") or []
    if not isinstance(contacts, list):
        raise CallbackParseError(f"{path}.contacts must be a list.")
    names = {}
    for index, contact in enumerate(contacts):
        contact = object_read(contact, f"{path}.contacts[{index}]")
        profile = contact.get("profile")
        names[text_read(contact.get("wa_id"), 32)] = profile if isinstance(profile, dict) else {}
    items = []
    for index, message in enumerate(messages):
        message_path = f"{path}.messages[{index}]"
        message = object_read(message, message_path)
        sender = text_read(message.get("from"), 32)
        data = {"message": message, "contact": names.get(sender, {}), "extra_info": extra}
        items.append(
            InboundItem(
                T.MESSAGE,
                storable(data),
                type_name=text_read(message.get("type"), 64),
                reference=text_read(extra.get("reply_to"), 255),
                external_id=id_read(message.get("id"), f"{message_path}.id"),
                phone=sender,
            )
        )
    return items


def flat_message_parse(document: dict, path: str, type_name: str) -> InboundItem:
    """The older flat incoming-message format: body, from, name, type, created_at, reply_to,
    wanumber, mobile."""
    return InboundItem(
        T.MESSAGE,
        storable(document),
        type_name=type_name,
        reference=text_read(document.get("reply_to"), 255),
        external_id=id_read(
            document.get("id") or document.get("message_id"), path_join(path, "id")
        ),
        phone=text_read(document.get("from") or document.get("mobile"), 32),
    )


def payment_parse(document: dict, path: str) -> InboundItem:
    """A WhatsApp Payments update: the payment's status, its order-details `reference_id`, the
    gateway's transaction (and refunds) kept in the JSON."""
    payment = document.get("payment")
    if payment is None:
        payment = {}
    payment = object_read(payment, path_join(path, "payment"))
    transaction = payment.get("transaction") or {}
    transaction = object_read(transaction, path_join(path, "payment.transaction"))
    status = document.get("status")
    if status is not None and not isinstance(status, str):
        raise CallbackParseError(f"{path_join(path, 'status')} must be a string.")
    return InboundItem(
        T.PAYMENT,
        storable(document),
        type_name="payment",
        status=text_read(status, 64),
        reference=text_read(payment.get("reference_id"), 255),
        external_id=text_read(transaction.get("id") or document.get("id"), 255),
        phone=text_read(document.get("phone_number") or document.get("mobile"), 32),
    )


def template_parse(source: dict, data: dict, path: str, type_name: str) -> InboundItem:
    """A template-status change (WhatsApp's message_template_status_update, or a flat body)."""
    status = source.get("event") or source.get("status")
    if status is not None and not isinstance(status, str):
        raise CallbackParseError(f"{path_join(path, 'event')} must be a string.")
    name = source.get("message_template_name") or source.get("template_name")
    template_id = source.get("message_template_id") or source.get("template_id")
    return InboundItem(
        T.TEMPLATE_STATUS,
        storable(data),
        type_name=type_name,
        status=text_read(status, 64),
        reference=text_read(name or source.get("name"), 255),
        external_id=text_read(template_id or source.get("id"), 255),
    )


def unknown_parse(document: dict, type_name: str) -> InboundItem:
    status = document.get("status")
    return InboundItem(
        T.UNKNOWN,
        storable(document),
        type_name=type_name,
        status=text_read(status, 64) if isinstance(status, str) else "",
        external_id=text_read(document.get("id") or document.get("message_id"), 255),
        phone=text_read(document.get("phone_number") or document.get("mobile"), 32),
    )


def storable(value):
    """JSON any database stores (PostgreSQL's jsonb refuses NUL and NaN): text cleaned, numbers
    that are not finite kept as text."""
    try:
        return _storable_value(value)
    except RecursionError:
        raise CallbackParseError("The body is nested too deeply.") from None


def _storable_value(value):
    if isinstance(value, dict):
        return {text_clean(str(k)): _storable_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable_value(v) for v in value]
    if isinstance(value, str):
        return text_clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
