"""`reports_verify`: recompute days from the raw messages and compare them with the rollups
(plus the deltas not folded yet), key by key; repair rewrites those days' rollups."""

# ruff: noqa: S608 - only our table and column names and constant SQL are formatted into
# these statements; every value is a parameter.

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Count

from messaging.models import SentMessage

from .figures import FIGURE_LOOKUPS, FIGURES, delta_figures_sql, figure_counts
from .fold import day_bounds, rollup_zone, rollups_repair
from .read import batch_status_counts, day_param, fetch

_FIGS = ", ".join(FIGURES)
_SUMS = ", ".join(f"SUM({name})" for name in FIGURES)


@dataclass(frozen=True)
class Difference:
    day: date | None  # None: a batch's counts
    what: str  # "day", "ref", "failures", "batch"
    key: tuple
    rollup: dict
    messages: dict

    def __str__(self) -> str:
        names = sorted(set(self.rollup) | set(self.messages))
        changes = ", ".join(
            f"{name} {self.rollup.get(name, 0)} (messages: {self.messages.get(name, 0)})"
            for name in names
            if self.rollup.get(name, 0) != self.messages.get(name, 0)
        )
        where = (
            f"{self.day.isoformat()} {self.what} {self.key}" if self.day else f"batch {self.key[0]}"
        )
        return f"{where}: rollup {changes}"


def _raw_day(day: date, zone: str):
    start, end = day_bounds(day, day, zone)
    messages = SentMessage.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    days = {
        (row.pop("kind"), row.pop("template_name"), row.pop("batch_id") or 0): row
        for row in messages.values("kind", "template_name", "batch_id").annotate(**figure_counts())
    }
    refs = {}
    for field in ("ref", "ref1", "ref2"):
        for row in messages.values(field).annotate(**figure_counts()):
            refs[(field, row.pop(field))] = row
    failures = {
        (r["kind"], r["template_name"], r["batch_id"] or 0, r["error_code"], r["error_title"]): {
            "failed": r["failed"]
        }
        for r in messages.filter(**FIGURE_LOOKUPS["failed"])
        .values("kind", "template_name", "batch_id", "error_code", "error_title")
        .annotate(failed=Count("created_at"))
    }
    return days, refs, failures


def _rolled_day(day: date, zone: str):
    start, end = day_bounds(day, day, zone)
    deltas = "FROM messaging_messagedelta d WHERE d.bucket >= %s AND d.bucket < %s"
    delta_params = [int(start.timestamp()), int(end.timestamp())]
    figures = ", ".join(delta_figures_sql("d"))
    rows = fetch(
        f"SELECT kind, template_name, batch_id, {_SUMS} FROM ("
        f" SELECT kind, template_name, batch_id, {_FIGS} FROM messaging_dayrollup WHERE day = %s"
        f" UNION ALL SELECT d.kind, d.template_name, COALESCE(d.batch_id, 0), {figures} {deltas}"
        ") u GROUP BY kind, template_name, batch_id",
        [day_param(day), *delta_params],
    )
    days = {tuple(row[:3]): dict(zip(FIGURES, map(int, row[3:]), strict=True)) for row in rows}
    refs = {}
    for field in ("ref", "ref1", "ref2"):
        rows = fetch(
            f"SELECT value, {_SUMS} FROM ("
            f" SELECT value, {_FIGS} FROM messaging_refrollup WHERE field = %s AND day = %s"
            f" UNION ALL SELECT d.{field}, {figures} {deltas}"
            ") u GROUP BY value",
            [field, day_param(day), *delta_params],
        )
        for value, *sums in rows:
            refs[(field, value)] = dict(zip(FIGURES, map(int, sums), strict=True))
    rows = fetch(
        "SELECT kind, template_name, batch_id, error_code, error_title, SUM(failed) FROM ("
        " SELECT kind, template_name, batch_id, error_code, error_title, failed"
        " FROM messaging_failurerollup WHERE day = %s UNION ALL"
        " SELECT d.kind, d.template_name, COALESCE(d.batch_id, 0), d.error_code, d.error_title,"
        f" d.n {deltas} AND d.status = 'failed'"
        ") u GROUP BY kind, template_name, batch_id, error_code, error_title",
        [day_param(day), *delta_params],
    )
    failures = {tuple(row[:5]): {"failed": int(row[5])} for row in rows}
    return days, refs, failures


def _compare(day, what, rolled: dict, raw: dict) -> list[Difference]:
    differences = []
    for key in sorted(set(rolled) | set(raw), key=repr):
        mine = {k: v for k, v in rolled.get(key, {}).items() if v}
        theirs = {k: v for k, v in raw.get(key, {}).items() if v}
        if mine != theirs:
            differences.append(Difference(day, what, key, mine, theirs))
    return differences


def _snapshot(outer: bool) -> None:
    """One snapshot for the raw and the rolled-up reads (PostgreSQL, in a transaction of its
    own; SQLite has one anyway)."""
    if connection.vendor == "postgresql" and not outer:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def reports_verify(*, first: date, last: date) -> list[Difference]:
    """Every difference between the rollups (with the deltas not folded yet) and the raw
    messages, for the days first..last (shop days) and the batches with messages on them."""
    differences = []
    outer = connection.in_atomic_block
    with transaction.atomic():
        _snapshot(outer)
        zone = rollup_zone()
        day = first
        while day <= last:
            raw, rolled = _raw_day(day, zone), _rolled_day(day, zone)
            for what, mine, theirs in zip(("day", "ref", "failures"), rolled, raw, strict=True):
                differences += _compare(day, what, mine, theirs)
            day += timedelta(days=1)
        start, end = day_bounds(first, last, zone)
        batch_ids = (
            SentMessage.objects.filter(created_at__gte=start, created_at__lt=end)
            .exclude(batch_id=None)
            .order_by()
            .values_list("batch_id", flat=True)
            .distinct()
        )
        raw_batches: dict = {}
        for batch_id, status, n in (
            SentMessage.objects.filter(batch_id__in=batch_ids)
            .order_by()
            .values_list("batch_id", "status")
            .annotate(n=Count("id"))
        ):
            raw_batches.setdefault((batch_id,), {})[status] = n
        rolled = batch_status_counts(batch_ids=[key[0] for key in raw_batches])
        differences += _compare(
            None, "batch", {(pk,): counts for pk, counts in rolled.items()}, raw_batches
        )
    return differences


def reports_repair(*, first: date, last: date) -> None:
    rollups_repair(first=first, last=last)
