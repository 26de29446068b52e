"""The checkout endpoint's business side: one decrypted request in, one answer out.

Raises a DomainError for refusals (CheckoutError, or the coupon engine's CouponError as it is:
answered 427, the customer reads its message in `error_msg`) and CheckoutRequestInvalid
(answered 400) for requests we do not understand; checkout/views.py turns them into
answers. Our records are the truth: amounts are recomputed, never taken from the request.
"""

import logging
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coupons.errors import CouponError
from coupons.services import coupon_list_eligible, order_apply_coupon, order_remove_coupon
from orders.models import ADDRESS_FIELDS, EventSource, Order, OrderAddress, OrderStatus, OrderType
from orders.money import order_totals
from orders.selectors import order_addresses_load, order_get_by_reference, order_items_load
from orders.serializers import order_details_build
from orders.services import order_save
from orders.validators import validate_reference_id

from .errors import CheckoutError, CheckoutRequestInvalid
from .payments.selectors import order_payment_holding
from .selectors import shipping_rule_for_pincode

logger = logging.getLogger(__name__)

ADDRESS_LABELS = {
    "name": "name",
    "phone_number": "phone number",
    "address": "address",
    "city": "city",
    "state": "state",
    "in_pin_code": "PIN code",
    "house_number": "house number",
    "tower_number": "tower number",
    "building_name": "building name",
    "landmark_area": "landmark or area",
    "floor_number": "floor number",
}
MAX_COUPON_CODE_LENGTH = 64


@dataclass(frozen=True)
class Exchange:
    """A data_exchange request, checked for shape."""

    reference_id: str
    phone: str | None  # E.164, None when user_id is not a phone number
    input: dict


def checkout_answer(*, payload) -> dict:
    """The answer (before encryption) to one decrypted request."""
    if not isinstance(payload, dict):
        raise CheckoutRequestInvalid("The request is not a JSON object.")
    answer = {}
    for echoed in ("version", "sub_action"):
        if echoed in payload:
            answer[echoed] = payload[echoed]
    data = payload.get("data")
    action = payload.get("action")
    if isinstance(data, dict) and ("error" in data or "error_key" in data):
        logger.warning(
            "WhatsApp checkout error notification: %s (error=%r, error_key=%r, action=%r, "
            "sub_action=%r)",
            data.get("error_message"),
            data.get("error"),
            data.get("error_key"),
            action,
            payload.get("sub_action"),
        )
        answer["data"] = {"acknowledged": True}
    elif action == "ping":
        answer["data"] = {"status": "active"}
    elif action == "data_exchange":
        sub_action = payload.get("sub_action")
        handler = SUB_ACTIONS.get(sub_action) if isinstance(sub_action, str) else None
        if handler is None:
            raise CheckoutRequestInvalid(
                f"Unknown sub_action {sub_action!r}: expected one of {', '.join(SUB_ACTIONS)}."
            )
        answer["data"] = handler(exchange=_exchange_parse(data))
    else:
        raise CheckoutRequestInvalid(f"Unknown action {action!r}: expected data_exchange or ping.")
    return answer


def _exchange_parse(data) -> Exchange:
    if not isinstance(data, dict):
        raise CheckoutRequestInvalid("data is missing or not an object.")
    details = data.get("order_details")
    if not isinstance(details, dict) or not isinstance(details.get("reference_id"), str):
        raise CheckoutRequestInvalid("data.order_details.reference_id is missing.")
    given = data.get("input")
    if not isinstance(given, dict) or "user_id" not in given:
        raise CheckoutRequestInvalid("data.input.user_id is missing.")
    return Exchange(
        reference_id=details["reference_id"],
        phone=_phone_e164(given["user_id"]),
        input=given,
    )


def _phone_e164(user_id) -> str | None:
    if isinstance(user_id, bool) or not isinstance(user_id, (str, int)):
        return None
    text = str(user_id).strip()
    try:
        number = phonenumbers.parse(text if text.startswith("+") else f"+{text}", None)
    except phonenumbers.NumberParseException:
        return None
    # No validity check: only an exact match with the order's (valid) number is accepted, and
    # WhatsApp may know newer number ranges than the phonenumbers data.
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _order_for_customer(exchange: Exchange, *, for_update: bool) -> Order:
    """The order the request is about, refused unless its customer may still change it."""
    reference_id = exchange.reference_id
    try:
        validate_reference_id(reference_id)
    except ValidationError:
        raise CheckoutError("We could not find this order.", code="order_not_found") from None
    order = order_get_by_reference(reference_id=reference_id, for_update=for_update)
    if order is None:
        raise CheckoutError(f"We could not find order #{reference_id}.", code="order_not_found")
    if exchange.phone is None or exchange.phone != order.customer_phone.as_e164:
        raise CheckoutError(
            f"Order #{reference_id} was not sent to this WhatsApp number.", code="not_customer"
        )
    if order.status in (OrderStatus.COMPLETED, OrderStatus.CANCELED):
        raise CheckoutError(
            f"Order #{reference_id} is {order.status} and can no longer be changed.",
            code="order_closed",
        )
    if order.status != OrderStatus.PENDING:
        raise CheckoutError(
            f"Order #{reference_id} is already being processed and can no longer be changed.",
            code="order_closed",
        )
    if order.expires_at is not None and order.expires_at <= timezone.now():
        raise CheckoutError(f"Order #{reference_id} has expired.", code="order_expired")
    if for_update and order_payment_holding(order=order) is not None:
        # for_update: the caller is about to change the coupon or shipping, hence the total.
        raise CheckoutError(
            f"Order #{reference_id} is already paid or its payment is being processed, so its "
            "coupon and delivery address can no longer be changed.",
            code="payment_in_progress",
        )
    return order


def _order_details(order: Order, exchange: Exchange) -> dict:
    """The answer's order_details, built after the change is committed: the coupon row the engine
    locks (every checkout applying that coupon waits for it) is held no longer than needed."""
    order_addresses_load(order=order)
    return {
        "order_details": order_details_build(
            order, reference_id=exchange.reference_id, include_payment=False
        )
    }


def _storable(text: str) -> bool:
    """No control characters (PostgreSQL refuses NUL) and no lone surrogates (not UTF-8)."""
    return not any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF for char in text)


def _text(value, *, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CheckoutError(f"The {what} must be text.", code="invalid_text")
    text = str(value).strip()
    if not _storable(text):
        raise CheckoutError(
            f"The {what} contains characters that are not text.", code="invalid_text"
        )
    return text


# --- sub_actions -----------------------------------------------------------------------------


def _get_coupons(*, exchange: Exchange) -> dict:
    order = _order_for_customer(exchange, for_update=False)
    order_items_load(order=order)  # its value decides which coupons apply
    coupons = coupon_list_eligible(order=order, phone=exchange.phone)
    return {
        "coupons": [
            {"code": coupon.code, "id": coupon.id, "description": coupon.description}
            for coupon in coupons
        ]
    }


def _coupon_code(exchange: Exchange) -> str:
    coupon = exchange.input.get("coupon")
    code = coupon.get("code") if isinstance(coupon, dict) else None
    if not isinstance(code, str):
        raise CheckoutRequestInvalid("data.input.coupon.code is missing.")
    if len(code) > MAX_COUPON_CODE_LENGTH or not _storable(code):
        # Cannot be one of our codes (and must not reach the database as it is).
        raise CouponError(code="not_found")
    return code


def _apply_coupon(*, exchange: Exchange) -> dict:
    code = _coupon_code(exchange)
    with transaction.atomic():
        # Read once, locked (the order row before any coupon row: the engine's lock order).
        order = _order_for_customer(exchange, for_update=True)
        order = order_apply_coupon(
            order=order,
            code=code,
            phone=exchange.phone,
            source=EventSource.CHECKOUT,
            order_locked=True,
        )
    return _order_details(order, exchange)


def _remove_coupon(*, exchange: Exchange) -> dict:
    with transaction.atomic():
        order = _order_for_customer(exchange, for_update=True)
        order = order_remove_coupon(order=order, source=EventSource.CHECKOUT, order_locked=True)
    return _order_details(order, exchange)


def _apply_shipping(*, exchange: Exchange) -> dict:
    selected = exchange.input.get("selected_address")
    if not isinstance(selected, dict):
        raise CheckoutRequestInvalid("data.input.selected_address is missing.")
    with transaction.atomic():
        order = _order_for_customer(exchange, for_update=True)
        order = order_apply_shipping(order=order, address=selected, source=EventSource.CHECKOUT)
    return _order_details(order, exchange)


SUB_ACTIONS = {
    "get_coupons": _get_coupons,
    "apply_coupon": _apply_coupon,
    "remove_coupon": _remove_coupon,
    "apply_shipping": _apply_shipping,
}


# --- shipping ---------------------------------------------------------------------------------


def shipping_address_clean(*, order: Order, address: dict) -> OrderAddress:
    """An unsaved OrderAddress from WhatsApp's address object, checked against the same limits
    as addresses entered in the admin; CheckoutError naming every field that is wrong."""
    values = {
        field: _text(address.get(field), what=f"address's {ADDRESS_LABELS[field]}")
        for field in ADDRESS_FIELDS
    }
    candidate = OrderAddress(order=order, **values)
    try:
        candidate.full_clean(exclude=["order"])
    except ValidationError as error:
        problems = "; ".join(
            f"{ADDRESS_LABELS.get(field, field)}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
        raise CheckoutError(
            f"Please check the address. {problems}", code="address_invalid"
        ) from None
    return candidate


def order_apply_shipping(*, order: Order, address: dict, source: str, actor=None) -> Order:
    """Ship to `address`: priced by the shipping rules, saved as the order's selected address
    (and one of its known addresses, reusing an identical one). Call with the order row locked,
    inside a transaction. Applying the same address again changes nothing."""
    if order.type != OrderType.PHYSICAL:
        raise CheckoutError(
            f"Order #{order.reference_id} is delivered digitally and needs no address.",
            code="no_shipping",
        )
    candidate = shipping_address_clean(order=order, address=address)
    rule = shipping_rule_for_pincode(pincode=candidate.in_pin_code)
    if rule is None:
        raise CheckoutError(
            f"Sorry, we do not deliver to PIN code {candidate.in_pin_code}.",
            code="pincode_not_served",
        )
    cost = rule.cost_for(subtotal=order_totals(order).subtotal)
    wanted = candidate.as_shipping_info()
    known = next((a for a in order.addresses.all() if a.as_shipping_info() == wanted), None)
    if known is not None and order.selected_address_id == known.pk and order.shipping == cost:
        return order
    if known is None:
        candidate.save()
        known = candidate
    order.selected_address = known
    order.shipping = cost
    return order_save(order=order, source=source, actor=actor)
