"""The outgoing webhook `order.payment_changed`: emitted by the payment services, in the
transaction that records a payment update, when the order's derived payment status
(selectors.order_payment_status: unpaid, pending, paid, failed, refunded, partially refunded)
is not what it was before. Ordering key "order:<id>", as the order's other events."""

from common.outbound.services import outbound_event_emit, outbound_event_types_subscribed
from orders.outbound_events import order_event_data, order_ordering_key

from .selectors import order_payment_status

ORDER_PAYMENT_CHANGED = "order.payment_changed"


def order_payment_status_before(*, order) -> str | None:
    """The order's payment status before a change, when some endpoint takes the event (else
    None: nothing is computed and nothing emitted)."""
    if order is None or ORDER_PAYMENT_CHANGED not in outbound_event_types_subscribed():
        return None
    return order_payment_status(order=order)


def order_payment_changed_emit(*, order, before: str | None) -> None:
    if before is None:
        return
    after = order_payment_status(order=order)
    if after == before:
        return
    outbound_event_emit(
        type=ORDER_PAYMENT_CHANGED,
        payload=lambda: {
            "payment_status": after,
            "previous_payment_status": before,
            "order": order_event_data(order=order),
        },
        ordering_key=order_ordering_key(order.pk),
    )
