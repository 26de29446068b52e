"""Orders from bodies shaped like WhatsApp's `order_details`: the one way the REST API and the
CSV import create and change orders.

Everything is checked before anything is written, and what is written is written in one
transaction: a refused body stores nothing. Creating is safe to retry: the same reference_id
with the same body gives the stored order back (created=False); a different body is refused
with code "conflict" naming the fields that differ.
"""

from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from common.sql import models_copy_insert

from ..choices import EventKind, OrderStatus
from ..errors import OrderConflictError, OrderError, OrderInputError
from ..models import Order, OrderAddress, OrderEvent, OrderItem
from ..money import order_totals
from ..outbound_events import order_created_listened, orders_created_emit
from ..selectors import order_references_taken, order_related_keep
from ..services import order_event_record, order_save
from .parse import (
    address_from_canonical,
    canonical_expiry_problems,
    item_from_canonical,
    order_from_canonical,
    payload_parse,
)
from .payload import canonical_differences, order_canonical

BATCH_SIZE = 1000


def _refuse(details: list, *, message: str | None = None) -> OrderInputError:
    return OrderInputError(message, details=details)


def _conflict(reference_id: str, paths: list[str]) -> OrderConflictError:
    return OrderConflictError(
        f"Order {reference_id} exists with a different body: {', '.join(paths)}.",
        details=[
            {"field": path, "code": "differs", "message": "Differs from the stored order."}
            for path in paths
        ],
    )


def _stored_compare(canonical: dict, order: Order) -> list[str]:
    return canonical_differences(canonical, order_canonical(order))


def order_create_from_payload(*, data: dict, source: str, actor=None) -> tuple[Order, bool]:
    """The order `data` describes, created (True), or the stored one for a retry of the same
    body (False). Raises OrderInputError (code "invalid", details per field) or, for a
    reference_id taken by a different body, OrderConflictError (code "conflict")."""
    results = orders_create_checked(payloads=[data], source=source, actor=actor, single=True)
    return results[0]


def order_payloads_check(*, payloads: list, now: datetime | None = None) -> list[list[dict]]:
    """Every body's problems ([] when it would be created or is a retry of a stored order),
    without writing anything: repeated reference_ids in `payloads`, a reference_id taken by
    another order's checkout reference, a stored order with a different body included."""
    return _prepare(payloads, now=now)[1]


def order_payloads_checked(*, payloads: list, now: datetime | None = None) -> tuple[list, list]:
    """(canonical forms, problems per body): order_payloads_check with the canonical forms, which
    orders_create_checked(canonicals=) takes back later (what the body says cannot change)."""
    canonicals, problems, _ = _prepare(payloads, now=now)
    return canonicals, problems


def _prepare(payloads: list, *, now=None):
    """(canonical forms, problems per body, stored orders by reference_id)."""
    now = now or datetime.now(UTC)
    parsed = [payload_parse(data, now=now, check_expiry=True) for data in payloads]
    canonicals = [canonical for canonical, _ in parsed]
    problems = [list(found) for _, found in parsed]
    return _stored_check(canonicals, problems)


def _stored_check(canonicals: list, problems: list):
    """_prepare's checks against each other and the database: repeated reference_ids, ones
    issued to another order, stored orders (a retry, or a different body)."""
    references = [c.get("reference_id") for c, p in zip(canonicals, problems, strict=True)]
    wanted = {ref for ref in references if ref}
    stored = {}
    issued = set()
    if wanted:
        stored_ids, issued = order_references_taken(reference_ids=wanted)
        if stored_ids:  # retries: compared with the stored orders below
            stored = {
                order.reference_id: order
                for order in Order.objects.filter(reference_id__in=stored_ids).prefetch_related(
                    "items", "addresses"
                )
            }
    first_index = {}
    for index, reference_id in enumerate(references):
        if not reference_id:
            continue
        if reference_id in first_index:
            problems[index].append(
                {
                    "field": "reference_id",
                    "code": "duplicate",
                    "message": f"{reference_id} is also the reference_id of body "
                    f"{first_index[reference_id] + 1}.",
                }
            )
            continue
        first_index[reference_id] = index
        if reference_id in issued:
            problems[index].append(
                {
                    "field": "reference_id",
                    "code": "reference_taken",
                    "message": f"{reference_id} is the checkout reference of another order's "
                    "resent message.",
                }
            )
        elif reference_id in stored and not problems[index]:
            paths = _stored_compare(canonicals[index], stored[reference_id])
            problems[index].extend(_conflict(reference_id, paths).details if paths else [])
    return canonicals, problems, stored


def orders_create_checked(
    *,
    payloads: list | None = None,
    source: str,
    actor=None,
    single: bool = False,
    canonicals: list | None = None,
) -> list[tuple[Order, bool]]:
    """Check every body, then create all the new orders in one transaction (bulk inserts), or
    none: [(order, created)] in the order of `payloads`. A body identical to a stored order gives
    that order (created False). Any problem raises OrderInputError whose details carry each
    problem's body `index` (0-based) beside field, code and message (OrderConflictError when
    `single` and the only problem is a stored order's different body).

    `canonicals` instead of `payloads`: the canonical forms order_payloads_checked gave for
    bodies found without problems then; only what can have changed since is checked again (the
    expiration still ahead, the reference_ids against the database and each other)."""
    if canonicals is None:
        canonicals, problems, stored = _prepare(payloads)
    else:
        now = datetime.now(UTC)
        problems = [canonical_expiry_problems(c, now=now) for c in canonicals]
        canonicals, problems, stored = _stored_check(canonicals, problems)
    _raise_problems(problems, single=single)
    new = [canonical for canonical in canonicals if canonical["reference_id"] not in stored]
    try:
        with transaction.atomic():
            created = _orders_insert(new, source=source, actor=actor)
    except IntegrityError:
        if not single:
            raise
        # A concurrent request created the same reference_id first: a retry after all.
        order = Order.objects.get(reference_id=canonicals[0]["reference_id"])
        paths = _stored_compare(canonicals[0], order)
        if paths:
            raise _conflict(order.reference_id, paths) from None
        return [(order, False)]
    by_reference = {order.reference_id: order for order in created}
    return [
        (by_reference[c["reference_id"]], True)
        if c["reference_id"] in by_reference
        else (stored[c["reference_id"]], False)
        for c in canonicals
    ]


def _raise_problems(problems: list[list[dict]], *, single: bool) -> None:
    if not any(problems):
        return
    if single:
        details = problems[0]
        if details and all(d["code"] == "differs" for d in details):
            paths = [d["field"] for d in details]
            raise OrderConflictError(
                f"An order with this reference_id exists with a different body: "
                f"{', '.join(paths)}.",
                details=details,
            )
        raise _refuse(details)
    count = sum(1 for found in problems if found)
    raise _refuse(
        [{"index": index, **problem} for index, found in enumerate(problems) for problem in found],
        message=f"{count} of {len(problems)} orders are not valid: see details.",
    )


def _orders_insert(canonicals: list[dict], *, source: str, actor) -> list[Order]:
    orders = [order_from_canonical(canonical) for canonical in canonicals]
    models_copy_insert(Order, orders, batch_size=BATCH_SIZE)
    items, addresses, events = [], [], []
    for order, canonical in zip(orders, canonicals, strict=True):
        items += [item_from_canonical(item, order=order) for item in canonical["items"]]
        addresses += [
            address_from_canonical(address, order=order) for address in canonical["addresses"]
        ]
        events.append(
            OrderEvent(
                order=order,
                kind=EventKind.CREATED,
                field="status",
                before=None,
                after=order.status,
                source=source,
                actor=actor,
            )
        )
    models_copy_insert(OrderItem, items, batch_size=BATCH_SIZE)
    models_copy_insert(OrderAddress, addresses, batch_size=BATCH_SIZE)
    models_copy_insert(OrderEvent, events, batch_size=BATCH_SIZE)
    # Kept on each order as prefetch_related keeps them: the API's answer (one order) and the
    # webhooks' order.created data need no query to read them. An import of thousands nobody
    # listens to does without (keeping them costs more than inserting them).
    if len(orders) == 1 or order_created_listened():
        _related_keep(orders, items, addresses)
    # Not through order_save: the shop's webhooks hear of these orders here, in this transaction.
    orders_created_emit(orders=orders)
    return orders


def _related_keep(orders: list, items: list, addresses: list) -> None:
    by_order: dict = {order.pk: ([], []) for order in orders}
    for item in items:
        by_order[item.order.pk][0].append(item)
    for address in addresses:
        by_order[address.order.pk][1].append(address)
    for order in orders:
        order_related_keep(order, "items", by_order[order.pk][0])
        order_related_keep(order, "addresses", by_order[order.pk][1])
        order_related_keep(order, "references", [])


def order_update_from_payload(
    *, order: Order, data: dict, source: str, actor=None, partial: bool = False
) -> Order:
    """Change a pending order to what `data` describes (all of it; with `partial`, only the
    top-level keys sent replace the stored ones). The reference_id cannot change. Items and
    addresses sent replace the stored ones; each tracked change is recorded in its history."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            raise OrderError(
                f"Order {locked.reference_id} is {locked.status}: only a pending order can be "
                "changed.",
                code="not_pending",
            )
        current = order_canonical(locked)
        if not isinstance(data, dict):
            raise _refuse(
                [{"field": "body", "code": "invalid_type", "message": "Send a JSON object here."}]
            )
        sent = data.get("reference_id", locked.reference_id)
        if sent != locked.reference_id:
            raise _refuse(
                [
                    {
                        "field": "reference_id",
                        "code": "read_only",
                        "message": "The reference_id of an order cannot change.",
                    }
                ]
            )
        body = {**current, **data} if partial else {**data, "reference_id": locked.reference_id}
        changes_expiry = body.get("expiration") != current.get("expiration")
        canonical, problems = payload_parse(body, check_expiry=changes_expiry)
        if problems:
            raise _refuse(problems)
        if not canonical_differences(canonical, current):
            return locked
        _order_replace(locked, canonical, current, source=source, actor=actor)
    return locked


def _order_replace(order: Order, canonical: dict, current: dict, *, source, actor) -> None:
    before_subtotal = order_totals(order).subtotal
    if canonical["addresses"] != current["addresses"]:
        order.addresses.all().delete()
        OrderAddress.objects.bulk_create(
            [address_from_canonical(a, order=order) for a in canonical["addresses"]]
        )
        order.selected_address = None
    if canonical["items"] != current["items"]:
        order.items.all().delete()
        items = OrderItem.objects.bulk_create(
            [item_from_canonical(item, order=order) for item in canonical["items"]]
        )
        after_subtotal = order_totals(order, items=items).subtotal
        if after_subtotal != before_subtotal:
            order_event_record(
                order=order,
                kind=EventKind.AMOUNTS,
                field="subtotal",
                before=before_subtotal,
                after=after_subtotal,
                source=source,
                actor=actor,
            )
    order_from_canonical(canonical, instance=order)
    order_save(order=order, source=source, actor=actor)
