"""The orders' outgoing webhook events: `order.created` and `order.status_changed`.

order.created is emitted by `orders.services.order_save` for a new order (the one path of the
admin, the API and the CSV intake); its data is completed when the transaction commits, since
the items and addresses are saved after the order itself. order.status_changed comes from the
order status hook (registered in OrdersConfig.ready()). Ordering key: "order:<id>"."""

from common.outbound.services import (
    outbound_event_emit,
    outbound_event_types_subscribed,
    outbound_events_emit,
)

from .models import Order
from .money import order_totals

ORDER_CREATED = "order.created"
ORDER_STATUS_CHANGED = "order.status_changed"


def order_ordering_key(order_id) -> str:
    return f"order:{order_id}"


def order_event_data(*, order: Order) -> dict:
    """The order as the webhooks show it: amounts in minor units with their offset, as
    WhatsApp's order_details."""
    items = list(order.items.all())
    totals = order_totals(order, items=items)

    def money(value: int) -> dict:
        return {"value": value, "offset": order.offset}

    return {
        "reference_id": order.reference_id,
        "status": order.status,
        "type": order.type,
        "currency": order.currency,
        "customer": {"name": order.customer_name, "phone": str(order.customer_phone)},
        "payment": {
            "method": order.payment_method,
            "configuration_name": order.payment_configuration,
        },
        "items": [
            {
                "name": item.name,
                "retailer_id": item.retailer_id,
                "quantity": item.quantity,
                "amount": money(item.amount),
                "sale_amount": money(item.sale_amount) if item.sale_amount else None,
            }
            for item in items
        ],
        "subtotal": money(totals.subtotal),
        "shipping": money(totals.shipping),
        "tax": money(totals.tax),
        "discount": money(totals.discount),
        "coupon": {"code": order.coupon_code, "discount": money(order.coupon_discount)}
        if order.coupon_code
        else None,
        "total_amount": money(totals.total),
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def order_created_emit(*, order: Order) -> None:
    """Called by order_save for a new order, in its transaction."""
    outbound_event_emit(
        type=ORDER_CREATED,
        payload={"order_id": order.pk, "reference_id": order.reference_id},
        ordering_key=order_ordering_key(order.pk),
    )


def order_created_listened() -> bool:
    """Whether some webhook endpoint takes order.created (one query)."""
    return ORDER_CREATED in outbound_event_types_subscribed()


def orders_created_emit(*, orders) -> None:
    """For a path that creates many orders without order_save (a bulk import): call it in the
    import's transaction once the orders' items are saved (prefetch "items"); one query for the
    endpoints and bulk INSERTs, the data final at once."""
    outbound_events_emit(
        type=ORDER_CREATED,
        items=[
            (
                lambda order=order: {"order": order_event_data(order=order)},
                order_ordering_key(order.pk),
            )
            for order in orders
        ],
        complete=True,
    )


def order_status_changed_emit(*, order: Order) -> None:
    """The order status hook: emitted in the transaction of each status change."""
    outbound_event_emit(
        type=ORDER_STATUS_CHANGED,
        payload=lambda: {"status": order.status, "order": order_event_data(order=order)},
        ordering_key=order_ordering_key(order.pk),
    )


def order_created_complete(payload: dict) -> dict:
    """Registered for order.created (OrdersConfig.ready()): the order as committed."""
    order = Order.objects.filter(pk=payload.get("order_id")).first()
    if order is None:  # deleted since: what was recorded
        return {"order": {"reference_id": payload.get("reference_id")}}
    return {"order": order_event_data(order=order)}
