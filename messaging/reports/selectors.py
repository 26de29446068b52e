"""Delivery and ref report figures, read from the rollups (messaging.rollups).

What each figure counts is written out in tables.FIGURE_DEFINITIONS (shown on the pages).
Each figure is one set of field lookups (FIGURE_LOOKUPS) that the SentMessage admin list accepts
in its URL, so a figure and the list it links to are the same query.

The figures come from the rollups plus the deltas not folded yet (exact at once, thousands of
rows rather than every message); the `*_raw` functions aggregate the messages themselves: used
while the rollups' time zone is not SHOP_TIME_ZONE, for a ref report narrowed by kind, template
or batch (the ref rollup keeps only what it groups by), and by `reports_verify` and the bench.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, Value
from django.utils import timezone

from messaging.models import SentMessage
from messaging.rollups import read as rollups
from messaging.rollups.figures import FIGURE_LOOKUPS, FIGURES, figure_counts
from messaging.rollups.fold import rollups_usable

from .paid import PaidFigures, paid_figures

__all__ = ["FIGURE_LOOKUPS", "FIGURES"]  # also exported from here (tables, tests)
REF_FIELDS = ("ref", "ref1", "ref2")
REF_PAGE_SIZE = 100
TOP_FAILURES = 10


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def shop_today() -> date:
    return timezone.localtime(timezone.now(), shop_zone()).date()


@dataclass(frozen=True)
class ReportFilters:
    date_from: date
    date_to: date  # inclusive
    kind: str = ""
    template_name: str = ""
    batch_id: int | None = None

    @classmethod
    def default(cls) -> "ReportFilters":
        today = shop_today()
        return cls(date_from=today - timedelta(days=6), date_to=today)

    def lookups(self) -> dict:
        """The filters as SentMessage field lookups (also valid admin list URL parameters)."""
        lookups = day_range_lookups(self.date_from, self.date_to)
        if self.kind:
            lookups["kind__exact"] = self.kind
        if self.template_name:
            lookups["template_name__exact"] = self.template_name
        if self.batch_id is not None:
            lookups["batch__id__exact"] = self.batch_id
        return lookups

    @property
    def days(self) -> list[date]:
        return [
            self.date_from + timedelta(days=n)
            for n in range((self.date_to - self.date_from).days + 1)
        ]


def day_range_lookups(first: date, last: date) -> dict:
    """Messages created from the start of `first` to the end of `last`, in shop time."""
    zone = shop_zone()
    return {
        "created_at__gte": datetime.combine(first, time.min, tzinfo=zone),
        "created_at__lt": datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
    }


def _messages(filters: ReportFilters):
    return SentMessage.objects.filter(**filters.lookups()).order_by()


def _rolled(filters: ReportFilters) -> dict:
    return {
        "first": filters.date_from,
        "last": filters.date_to,
        "zone": settings.TIME_ZONE,
        "kind": filters.kind,
        "template_name": filters.template_name,
        "batch_id": filters.batch_id,
    }


def delivery_rows(*, filters: ReportFilters) -> list[dict]:
    """One row per creation day, kind and template: {day, kind, template_name, <figures>},
    ordered by day, kind and template."""
    if not rollups_usable():
        return delivery_rows_raw(filters=filters)
    return rollups.day_rows(**_rolled(filters))


def delivery_rows_raw(*, filters: ReportFilters) -> list[dict]:
    """delivery_rows from the messages themselves.

    One aggregation per day of the range (UNION ALL, one round trip): each day is an index range
    on created_at with the day's boundaries worked out here in the shop's time zone, so the
    database never converts a time zone per row (that conversion costs more than all the
    counting)."""
    base = _messages(filters)
    per_day = [
        base.filter(**day_range_lookups(day, day))
        .annotate(day=Value(day, output_field=DateField()))
        .values("day", "kind", "template_name")
        .annotate(**figure_counts())
        for day in filters.days
    ]
    union = per_day[0].union(*per_day[1:], all=True)
    return list(union.order_by("day", "kind", "template_name"))


def delivery_paid(*, filters: ReportFilters) -> PaidFigures | None:
    """Paid orders and revenue by (day, kind, template_name), as delivery_rows groups them
    (paid.py defines them); None when checkout registered no source."""
    zone = shop_zone()
    return paid_figures(
        messages=_messages(filters),
        fields=("created_at", "kind", "template_name"),
        key=lambda created_at, kind, template_name: (
            timezone.localtime(created_at, zone).date(),
            kind,
            template_name,
        ),
    )


def failure_reasons(*, filters: ReportFilters, limit: int = TOP_FAILURES) -> list[dict]:
    """The most frequent (error_code, error_title) among failed messages, most frequent first."""
    if not rollups_usable():
        return failure_reasons_raw(filters=filters, limit=limit)
    return rollups.failure_rows(**_rolled(filters), limit=limit)


def failure_reasons_raw(*, filters: ReportFilters, limit: int = TOP_FAILURES) -> list[dict]:
    return list(
        _messages(filters)
        .filter(**FIGURE_LOOKUPS["failed"])
        .values("error_code", "error_title")
        .annotate(count=Count("created_at"))
        .order_by("-count", "error_code", "error_title")[:limit]
    )


@dataclass(frozen=True)
class RefReport:
    rows: list[dict]
    totals: dict
    groups: int
    page: int
    pages: int


MAX_REF_PAGE = 10**9 // REF_PAGE_SIZE  # far beyond any real number of groups


def ref_report(*, filters: ReportFilters, group_by: str, page: int = 1) -> RefReport:
    """Figures per value of ref, ref1 or ref2, biggest groups first, REF_PAGE_SIZE per page;
    totals cover every group. From the rollups, the database sums and pages; from the
    messages, one aggregation whose groups are summed and paged here."""
    if group_by not in REF_FIELDS:
        raise ValueError(f"group_by must be one of {', '.join(REF_FIELDS)}")
    narrowed = filters.kind or filters.template_name or filters.batch_id is not None
    # Past the last page means the last page; a page number too large for the database's
    # OFFSET (any ?page= can be typed) is past it too.
    page = min(max(page, 1), MAX_REF_PAGE)
    if narrowed or not rollups_usable():
        groups = ref_groups_raw(filters=filters, group_by=group_by)
        count = len(groups)
        page = min(page, max(1, -(-count // REF_PAGE_SIZE)))
        start = (page - 1) * REF_PAGE_SIZE
        rows = groups[start : start + REF_PAGE_SIZE]
        # Column by column (zip): thousands of groups sum in C.
        sums = [sum(column) for column in list(zip(*groups, strict=True))[1:]]
    else:
        rolled = {
            "first": filters.date_from,
            "last": filters.date_to,
            "zone": settings.TIME_ZONE,
            "field": group_by,
            "limit": REF_PAGE_SIZE,
        }
        rows, count, sums = rollups.ref_page(**rolled, offset=(page - 1) * REF_PAGE_SIZE)
        pages = max(1, -(-count // REF_PAGE_SIZE))
        if page > pages:  # past the last page: the last one
            page = pages
            rows, count, sums = rollups.ref_page(**rolled, offset=(page - 1) * REF_PAGE_SIZE)
    columns = [group_by, *FIGURES]
    return RefReport(
        rows=[dict(zip(columns, row, strict=True)) for row in rows],
        totals=dict(zip(FIGURES, sums or [0] * len(FIGURES), strict=True)),
        groups=count,
        page=page,
        pages=max(1, -(-count // REF_PAGE_SIZE)),
    )


def ref_groups_raw(*, filters: ReportFilters, group_by: str) -> list[tuple]:
    """(value, <figures>) per value of `group_by` from the messages, biggest first."""
    query = (
        _messages(filters).values(group_by).annotate(**figure_counts()).order_by("-total", group_by)
    )
    # Plain tuples: thousands of groups cost nothing to sum; only the page becomes dicts.
    with connection.cursor() as cursor:
        cursor.execute(*query.query.sql_with_params())
        return cursor.fetchall()


def ref_paid(*, filters: ReportFilters, group_by: str) -> PaidFigures | None:
    """Paid orders and revenue by value of `group_by` (paid.py defines them), for every group
    (not only a page's: the total covers them all); None when checkout registered no source."""
    if group_by not in REF_FIELDS:
        raise ValueError(f"group_by must be one of {', '.join(REF_FIELDS)}")
    return paid_figures(messages=_messages(filters), fields=(group_by,), key=lambda value: value)


def figures_sum(rows: list[dict]) -> dict:
    return {name: sum(row[name] for row in rows) for name in FIGURES}


def rate(numerator: int, denominator: int) -> float | None:
    return None if not denominator else 100 * numerator / denominator
