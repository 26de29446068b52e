"""Checks at the moment of sending: what was true when a message was queued may not be when a
worker takes it (a paused account, a long queue, retries with backoff).

Just before its Kaleyra call, a message is failed, without the call, when:

- order details (checkout button): its order is no longer pending (paid, processing, shipped,
  completed or canceled meanwhile): `order_not_pending`; or the expiry it carries (or the order's
  own, if moved earlier since) is now less than 300 seconds ahead, which WhatsApp refuses and
  which would show the customer a button about to stop working: `order_expiring`.
  The expiry is NOT recomputed: it is the shop's promise (prices, stock, and the coupon it holds
  are released at that time; the checkout endpoint refuses the order after it), and the stored
  JSON is what was previewed and is what Kaleyra gets. An order whose expiry the operator moved
  later is sent a new checkout message (a fresh reference, the new expiry) from the admin.
- coupon code: its coupon was deactivated or expired meanwhile (`coupon_inactive`,
  `coupon_expired`), or the code it carries is longer than the copy-code button takes
  (`coupon_code_too_long`, for messages queued before that rule): coupons.rules decides.

The chunk's order and coupon state is read with its claim (one query per chunk, see
messaging.services.sending._messages_claim); each message is checked against the clock just
before its call. A message whose order or coupon is gone (deleted: the link is empty) is sent as
queued: nothing is left to check it against.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from coupons.models import copy_code_too_long
from coupons.rules import coupon_send_refusal
from orders.choices import OrderStatus

from ..models import MessageKind, MessageStatus, SentMessage
from ..payloads import MIN_EXPIRATION
from ..status_moves import messages_status_move

# Read with the claim, in this order (SendState's fields after the message's kind).
STATE_FIELDS = (
    "kind",
    "order__reference_id",
    "order__status",
    "order__expires_at",
    "coupon__code",
    "coupon__is_active",
    "coupon__valid_until",
)
# The kinds checked; the others (order status) go out as queued.
CHECKED_KINDS = frozenset({MessageKind.ORDER_DETAILS, MessageKind.COUPON_CODE})
NOT_SENT = "Not sent (checked just before sending)."


@dataclass(frozen=True, slots=True)
class SendState:
    """A claimed message's kind and its order's or coupon's state (None: no link)."""

    kind: str
    order_reference: str | None = None
    order_status: str | None = None
    order_expires_at: datetime | None = None
    coupon_code: str | None = None
    coupon_active: bool | None = None
    coupon_valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendRefusal:
    code: str
    message: str


def message_send_refusal(*, state: SendState, payload: dict, now=None) -> SendRefusal | None:
    """Why this claimed message must not go out now, or None (see the module's docstring)."""
    if state.kind == MessageKind.ORDER_DETAILS and state.order_reference is not None:
        return _order_details_refusal(state, payload, now or timezone.now())
    if state.kind == MessageKind.COUPON_CODE:
        return _coupon_code_refusal(state, payload, now or timezone.now())
    return None


def message_refuse(*, pk: int, refusal: SendRefusal) -> None:
    """A claimed message failed just before its call (no request went out), with the reason
    for the operator."""
    messages_status_move(
        messages=SentMessage.objects.filter(pk=pk, status=MessageStatus.SENDING),
        status=MessageStatus.FAILED,
        error_code=refusal.code,
        error_message=refusal.message[:2000],
        failed_at=timezone.now(),
    )


def _order_details_refusal(state: SendState, payload: dict, now) -> SendRefusal | None:
    reference = state.order_reference
    if state.order_status != OrderStatus.PENDING:
        label = OrderStatus(state.order_status).label.lower()
        return SendRefusal(
            "order_not_pending",
            f"Order {reference} is {label} now: a checkout button goes only to pending "
            f"orders. {NOT_SENT}",
        )
    carried = _payload_expiration(payload)
    expiries = [when for when in (carried, state.order_expires_at) if when is not None]
    if expiries and min(expiries) < now + MIN_EXPIRATION:
        expiry = min(expiries)
        seconds = int(MIN_EXPIRATION.total_seconds())
        if state.order_expires_at is None:
            fix = "Send it a new checkout message: the order no longer expires."
        elif state.order_expires_at >= now + MIN_EXPIRATION:
            fix = "Send it a new checkout message: the order now expires later."
        else:
            fix = "Give the order a later expiry, then send it a new checkout message."
        return SendRefusal(
            "order_expiring",
            f"Order {reference}'s checkout expires at "
            f"{timezone.localtime(expiry):%Y-%m-%d %H:%M:%S %Z}, less than {seconds} seconds "
            f"after sending (WhatsApp needs at least {seconds}). {NOT_SENT} {fix}",
        )
    return None


def _coupon_code_refusal(state: SendState, payload: dict, now) -> SendRefusal | None:
    sent_code = _payload_copy_code(payload)
    if state.coupon_code is None:  # no coupon linked: only the code itself can be checked
        problem = copy_code_too_long(sent_code) if sent_code else None
        return (
            SendRefusal("coupon_code_too_long", f"The code {problem} {NOT_SENT}")
            if problem
            else None
        )
    refusal = coupon_send_refusal(
        code=state.coupon_code,
        is_active=state.coupon_active,
        valid_until=state.coupon_valid_until,
        now=now,
        sent_code=sent_code,
    )
    return None if refusal is None else SendRefusal(refusal.code, f"{refusal.message} {NOT_SENT}")


def _components(payload: dict) -> list:
    try:
        return payload["messaging_object"]["template"]["components"] or []
    except (KeyError, TypeError):
        return []


def _payload_expiration(payload: dict) -> datetime | None:
    """The order_details expiry the message carries (unix seconds, as WhatsApp reads it)."""
    for component in _components(payload):
        if component.get("sub_type") != "order_details":
            continue
        try:
            details = component["parameters"][0]["action"]["order_details"]
            stamp = details["order"]["expiration"]["timestamp"]
            return datetime.fromtimestamp(int(stamp), tz=UTC)
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return None


def _payload_copy_code(payload: dict) -> str | None:
    for component in _components(payload):
        if str(component.get("sub_type", "")).upper() != "COPY_CODE":
            continue
        try:
            return str(component["parameters"][0]["coupon_code"])
        except (KeyError, IndexError, TypeError):
            return None
    return None
