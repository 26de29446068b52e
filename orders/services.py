"""Order business logic: status moves, tracked changes and checkout references.

Every change of status, coupon, shipping address or shipping cost writes an OrderEvent.
"""

from django.db import IntegrityError, transaction

from common.sql import model_insert, model_update

from .errors import OrderError
from .models import (
    FINAL_STATUSES,
    Order,
    OrderEvent,
    OrderReference,
    OrderStatus,
)
from .outbound_events import order_created_emit
from .selectors import order_reference_latest
from .validators import REFERENCE_ID_MAX_LENGTH

S = OrderStatus
ALLOWED_MOVES = {
    S.PENDING: {S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED, S.CANCELED},
    S.PROCESSING: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED, S.CANCELED},
    # Several partial shipments in a row are normal.
    S.PARTIALLY_SHIPPED: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED, S.CANCELED},
    S.SHIPPED: {S.COMPLETED, S.CANCELED},
    S.COMPLETED: set(),
    S.CANCELED: set(),
}


# Called after every status change, inside its transaction and with the order row locked, as
# hook(order=order): the apps above orders settle what depends on the status there (coupons
# registers coupon_redemptions_sync_with_order in CouponsConfig.ready()). Orders imports none
# of them.
_STATUS_CHANGED_HOOKS: list = []


def order_status_hook_register(*, hook) -> None:
    """Have `hook(order=order)` called after each status change (once, however often it is
    registered). An error it raises rolls the status change back."""
    if hook not in _STATUS_CHANGED_HOOKS:
        _STATUS_CHANGED_HOOKS.append(hook)


def _status_changed(order: Order) -> None:
    for hook in _STATUS_CHANGED_HOOKS:
        hook(order=order)


def order_status_check_move(*, current: str, new: str) -> None:
    """Raise OrderError(code='illegal_status_move') naming both states when `new` is not
    reachable from `current`."""
    if new not in S.values:
        raise OrderError(f"'{new}' is not an order status.", code="unknown_status")
    if new not in ALLOWED_MOVES[S(current)]:
        reason = " (it is final)" if current in FINAL_STATUSES else ""
        raise OrderError(
            f"An order cannot move from '{current}' to '{new}'{reason}.",
            code="illegal_status_move",
        )


def order_event_record(
    *, order: Order, kind: str, before, after, source: str, actor=None, field="", note=""
) -> OrderEvent:
    event = OrderEvent(
        order=order,
        kind=kind,
        field=field,
        before=before,
        after=after,
        source=source,
        actor=actor,
        note=note[:255],
    )
    model_insert(event)  # every change of every order writes one: the cheaper INSERT
    return event


def order_status_change(
    *, order: Order, status: str, source: str, actor=None, note: str = "", locked: bool = False
) -> Order:
    """Move the order to `status` (checked against the allowed moves) and record it.
    `locked=True`: the caller holds the order's row lock in its transaction and `order` is the
    row as it read it then (a batch of payments): the row is not read again."""
    if locked:
        _status_move(order, status=status, source=source, actor=actor, note=note)
        return order
    with transaction.atomic():
        locked_order = Order.objects.select_for_update().get(pk=order.pk)
        _status_move(locked_order, status=status, source=source, actor=actor, note=note)
    order.status = locked_order.status
    return locked_order


def _status_move(order: Order, *, status: str, source: str, actor, note: str) -> None:
    """The move of a locked order: checked, written, the hooks told, recorded."""
    order_status_check_move(current=order.status, new=status)
    before, order.status = order.status, status
    model_update(order, fields=("status", "updated_at"))  # updated_at: now (auto_now)
    _status_changed(order)
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.STATUS,
        field="status",
        before=before,
        after=status,
        source=source,
        actor=actor,
        note=note,
    )


# Fields whose edits are tracked, with the event kind they are filed under.
TRACKED_FIELDS = {
    "status": OrderEvent.Kind.STATUS,
    "shipping": OrderEvent.Kind.SHIPPING_COST,
    "selected_address_id": OrderEvent.Kind.SHIPPING_ADDRESS,
    "tax": OrderEvent.Kind.AMOUNTS,
    "discount": OrderEvent.Kind.AMOUNTS,
}


def order_save(*, order: Order, source: str, actor=None) -> Order:
    """Save an edited order (admin form, command) and record each tracked change.

    A status change is checked against the allowed moves before anything is written.
    """
    with transaction.atomic():
        if order.pk is None:
            order.full_clean()
            order.save()
            order_event_record(
                order=order,
                kind=OrderEvent.Kind.CREATED,
                before=None,
                after=order.status,
                field="status",
                source=source,
                actor=actor,
            )
            # Every new order passes here (admin, API, CSV intake): the outgoing webhook
            # order.created, its data completed when this transaction commits.
            order_created_emit(order=order)
            return order
        stored = Order.objects.select_for_update().get(pk=order.pk)
        changes = {
            field: (getattr(stored, field), getattr(order, field))
            for field in TRACKED_FIELDS
            if getattr(stored, field) != getattr(order, field)
        }
        if "status" in changes:
            order_status_check_move(current=stored.status, new=order.status)
        # The coupon snapshot belongs to the coupons app: keep what is stored, not what this
        # instance held when it was loaded (a coupon may have been applied since).
        order.coupon_code, order.coupon_discount = stored.coupon_code, stored.coupon_discount
        order.save()
        if "status" in changes:
            _status_changed(order)
        for field, (before, after) in changes.items():
            if field == "selected_address_id":
                before = _address_label(stored.selected_address)
                after = _address_label(order.selected_address)
            order_event_record(
                order=order,
                kind=TRACKED_FIELDS[field],
                field=field.removesuffix("_id"),
                before=before,
                after=after,
                source=source,
                actor=actor,
            )
    return order


def _address_label(address):
    return str(address) if address else None


def order_reference_issue(*, order: Order) -> str:
    """The reference_id for the next checkout message of this order: its own the first time,
    then `<reference>-2`, `-3` ... (WhatsApp wants a unique reference per checkout message)."""
    for _ in range(5):
        last = order_reference_latest(order=order)
        sequence = 1 if last is None else last.sequence + 1
        reference_id = order.reference_id if sequence == 1 else f"{order.reference_id}-{sequence}"
        if sequence > 1 and Order.objects.filter(reference_id=reference_id).exists():
            raise OrderError(
                f"Order {order.reference_id} cannot be resent: the next reference "
                f"({reference_id}) belongs to another order.",
                code="reference_taken",
            )
        if len(reference_id) > REFERENCE_ID_MAX_LENGTH:
            raise OrderError(
                f"Order {order.reference_id} cannot be resent: its reference with the "
                f"resend number ({reference_id}) would be longer than 35 characters.",
                code="reference_too_long",
            )
        try:
            with transaction.atomic():
                OrderReference.objects.create(
                    order=order, reference_id=reference_id, sequence=sequence
                )
            return reference_id
        except IntegrityError:
            continue  # a concurrent resend took this number; take the next
    raise OrderError(f"Could not issue a new reference for {order.reference_id}.")
