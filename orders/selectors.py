from collections import defaultdict

from django.db import connection

from common.sql import model_columns, models_fetch

from .models import Order, OrderAddress, OrderItem, OrderReference

# WhatsApp's checkout looks the order up on every request it sends: one plain SQL statement
# finds it by either kind of reference (its own first). The ORM's two queries cost more CPU to
# build than PostgreSQL spends running them.
_ORDER_BY_REFERENCE_SQL = f"""
SELECT {model_columns(Order, alias="o")} FROM {Order._meta.db_table} o WHERE o.id = (
    SELECT order_id FROM (
        SELECT id AS order_id, 0 AS issued FROM {Order._meta.db_table}
        WHERE reference_id = %(reference_id)s
        UNION ALL
        SELECT order_id, 1 AS issued FROM {OrderReference._meta.db_table}
        WHERE reference_id = %(reference_id)s
    ) AS found ORDER BY issued LIMIT 1)
"""  # noqa: S608 - table names are ours; the value is a parameter
_ORDER_LOCK_SQL = (
    f"SELECT {model_columns(Order, alias='o')} FROM {Order._meta.db_table} o WHERE o.id = %s"  # noqa: S608
)
_ORDER_ITEMS_SQL = (
    f"SELECT {model_columns(OrderItem, alias='i')} FROM {OrderItem._meta.db_table} i "  # noqa: S608
    "WHERE i.order_id = %s ORDER BY i.id"
)
_ORDER_ADDRESSES_SQL = (
    f"SELECT {model_columns(OrderAddress, alias='a')} FROM {OrderAddress._meta.db_table} a "  # noqa: S608
    "WHERE a.order_id = %s ORDER BY a.id"
)


def order_references_taken(*, reference_ids) -> tuple[set[str], set[str]]:
    """(those of `reference_ids` that are stored orders' own, those issued as another order's
    checkout reference): what creating orders with them must know, in one query per 5,000
    (the API's create asks for one, the CSV import for thousands)."""
    reference_ids = list(reference_ids)
    stored, issued = set(), set()
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for start in range(0, len(reference_ids), 5000):
            chunk = reference_ids[start : start + 5000]
            # PostgreSQL takes the list as one array parameter; others get one mark a value.
            marks = "SELECT unnest(%s::text[])" if postgresql else ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT reference_id, 0 FROM {Order._meta.db_table} "  # noqa: S608 - ours
                f"WHERE reference_id IN ({marks}) UNION ALL "
                f"SELECT r.reference_id, 1 FROM {OrderReference._meta.db_table} r "
                f"JOIN {Order._meta.db_table} o ON o.id = r.order_id "
                f"WHERE r.reference_id IN ({marks}) AND o.reference_id NOT IN ({marks})",
                [chunk] * 3 if postgresql else chunk * 3,
            )
            for reference_id, kind in cursor.fetchall():
                (issued if kind else stored).add(reference_id)
    return stored, issued


def order_get_by_reference(*, reference_id: str, for_update: bool = False) -> Order | None:
    """The order a checkout reference_id points to: its own, or one issued for a resend.
    `for_update` locks its row (call inside a transaction)."""
    sql = _locking(_ORDER_BY_REFERENCE_SQL) if for_update else _ORDER_BY_REFERENCE_SQL
    return next(iter(models_fetch(Order, sql, {"reference_id": reference_id})), None)


def order_get_locked(*, order_id) -> Order:
    """The order's row, locked for the rest of the transaction, with its items loaded
    (Order.DoesNotExist when it is gone)."""
    order = next(iter(models_fetch(Order, _locking(_ORDER_LOCK_SQL), [order_id])), None)
    if order is None:
        raise Order.DoesNotExist(f"Order {order_id} does not exist.")
    order_items_load(order=order)
    return order


def orders_get_locked_by_references(*, reference_ids) -> dict[str, Order]:
    """The orders these checkout reference_ids point to (as order_get_by_reference: an order's
    own reference before one issued for a resend), each row locked (in id order, as every
    batch locks them) with its items loaded; a reference of no order is left out."""
    reference_ids = list(dict.fromkeys(reference_ids))
    if not reference_ids:
        return {}
    own = _own_references(reference_ids)
    issued = dict(
        OrderReference.objects.filter(reference_id__in=reference_ids).values_list(
            "reference_id", "order_id"
        )
    )
    # Then locked by id alone (an OR of the two lookups reads the whole table).
    orders = Order.objects.filter(pk__in={*own.values(), *issued.values()}).select_for_update()
    by_id = {order.pk: order for order in orders.order_by("pk")}
    items = defaultdict(list)
    for item in OrderItem.objects.filter(order_id__in=list(by_id)).order_by("order_id", "id"):
        items[item.order_id].append(item)
    for order in by_id.values():
        order_related_keep(order, "items", items[order.pk])
    found = {}
    for reference_id in reference_ids:
        order = by_id.get(own.get(reference_id)) or by_id.get(issued.get(reference_id))
        if order is not None:
            found[reference_id] = order
    return found


def _own_references(reference_ids: list[str]) -> dict[str, int]:
    """{reference_id: order id} of the orders whose own reference is one of these, one equality
    a reference (UNION ALL, 200 a statement): given a list (IN, = ANY), PostgreSQL's planner
    takes the admin search's trigram index (order_reference_trgm) for the unique b-tree, and
    each reference then costs milliseconds (its trigrams are shared by most orders)."""
    branch = f"SELECT reference_id, id FROM {Order._meta.db_table} WHERE reference_id = %s"  # noqa: S608
    found = {}
    with connection.cursor() as cursor:
        for start in range(0, len(reference_ids), 200):
            chunk = reference_ids[start : start + 200]
            cursor.execute(" UNION ALL ".join([branch] * len(chunk)), chunk)
            found.update(cursor.fetchall())
    return found


def order_items_load(*, order: Order) -> list[OrderItem]:
    """The order's items, read once and kept on the order (see order_related_keep), so that its
    totals and its order_details reuse them."""
    return order_related_keep(order, "items", models_fetch(OrderItem, _ORDER_ITEMS_SQL, [order.pk]))


def order_addresses_load(*, order: Order) -> list[OrderAddress]:
    """The order's known addresses, read once and kept on the order (see order_related_keep)."""
    return order_related_keep(
        order, "addresses", models_fetch(OrderAddress, _ORDER_ADDRESSES_SQL, [order.pk])
    )


def _locking(sql: str) -> str:
    """`sql` taking a row lock where the database has them (SQLite's writers take turns)."""
    return f"{sql} FOR UPDATE" if connection.features.has_select_for_update else sql


def order_related_keep(order: Order, name: str, rows) -> list:
    """Keep `rows` on the order as prefetch_related(name) keeps them: order.<name>.all()
    answers from them without a query (checkout reads these on every request; plain SQL costs
    less than half the ORM's CPU)."""
    rows = list(rows)
    for row in rows:
        row.order = order
    kept = getattr(order, name).all()
    kept._result_cache, kept._prefetch_done = rows, True
    order._prefetched_objects_cache = {
        **getattr(order, "_prefetched_objects_cache", {}),
        name: kept,
    }
    return rows


def order_reference_latest(*, order: Order) -> OrderReference | None:
    """The reference issued for the order's latest checkout message (None before the first)."""
    return order.references.order_by("-sequence").first()
