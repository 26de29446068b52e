"""Paid orders and revenue next to the message figures of the delivery and ref reports.

Payments belong to checkout, which sits above messaging: checkout registers the source of the
figures (`report_figures_register`) from CheckoutConfig.ready(). Without one, the reports show
message figures only.

The definition (also shown on the pages, tables.PAID_DEFINITIONS): an order counts as paid in a
group of messages when it has a captured payment and a message of that group carried one of its
references (the order's own or an issued resend reference: the messages that carry one are the
order's messages, `SentMessage.order`). Its revenue is what was captured minus what was refunded.
An order attributed to several groups counts in each, once per group; a total counts it once.

Cost: one query per report page from the captured payments (few) to their orders' messages (the
index on SentMessage.order), narrowed by the page's filters, never a scan of the messages; then
one query for those orders' revenue.
"""

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

PAID_FIGURES = ("paid_orders", "revenue")


@dataclass(frozen=True)
class PaidOrdersSource:
    """`captured_order_ids()`: a query of the ids of orders with a captured payment (used as a
    subquery, not run on its own). `order_revenue(order_ids=...)`: {order id: captured minus
    refunded, in paise} for those orders."""

    captured_order_ids: Callable[[], QuerySet]
    order_revenue: Callable[..., dict[int, int]]


_source: PaidOrdersSource | None = None


def report_figures_register(source: PaidOrdersSource) -> None:
    """Have the reports show paid orders and revenue from `source` (one source; registering
    again replaces it, so a second ready() changes nothing)."""
    global _source
    _source = source


def report_figures_unregister() -> None:
    global _source
    _source = None


def report_figures_enabled() -> bool:
    return _source is not None


@dataclass(frozen=True)
class PaidFigures:
    orders: dict[Hashable, set[int]]  # group key -> ids of its paid orders
    revenue: dict[int, int]  # order id -> paise kept

    def _figures(self, order_ids: set[int]) -> dict:
        return {
            "paid_orders": len(order_ids),
            "revenue": sum(self.revenue.get(pk, 0) for pk in order_ids),
        }

    def of(self, key: Hashable) -> dict:
        """{"paid_orders": n, "revenue": paise} of one group (zero for a group without any)."""
        return self._figures(self.orders.get(key, set()))

    @property
    def totals(self) -> dict:
        """Over every group, each order once."""
        return self._figures(set().union(*self.orders.values()))

    def regroup(self, key: Callable[[Hashable], Hashable]) -> "PaidFigures":
        """The same orders in coarser groups (`key` of the old group's key), each once a group."""
        orders: dict[Hashable, set[int]] = {}
        for group, ids in self.orders.items():
            orders.setdefault(key(group), set()).update(ids)
        return PaidFigures(orders=orders, revenue=self.revenue)


def paid_figures(
    *, messages: QuerySet, fields: Iterable[str], key: Callable[..., Hashable]
) -> PaidFigures | None:
    """Paid orders and revenue per group of `messages` (a SentMessage query with the page's
    filters): each message of an order with a captured payment is read as `fields`, and
    `key(*values)` names its group. None when no source is registered."""
    if _source is None:
        return None
    rows = (
        messages.filter(order_id__in=_source.captured_order_ids())
        .order_by()
        .values_list("order_id", *fields)
        .distinct()
    )
    orders: dict[Hashable, set[int]] = {}
    for order_id, *values in rows:
        orders.setdefault(key(*values), set()).add(order_id)
    every = set().union(*orders.values())
    revenue = _source.order_revenue(order_ids=every) if every else {}
    return PaidFigures(orders=orders, revenue=revenue)
