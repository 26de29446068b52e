"""Figures read from the rollups plus the deltas not folded yet, each in one statement (one
snapshot: a fold committing meanwhile moves deltas into rollups atomically, so nothing is
counted twice or missed). The callers check `fold.rollups_usable()` first."""

# ruff: noqa: S608 - only our table and column names and constant SQL are formatted into
# these statements; every value is a parameter.

from datetime import date, timedelta

from django.db import connection
from django.db.models import BigIntegerField
from django.db.models.expressions import RawSQL

from messaging.models import MessageStatus

from .figures import FIGURES, delta_figures_sql
from .fold import day_bounds

S = MessageStatus
_FIGS = ", ".join(FIGURES)
_SUMS = ", ".join(f"SUM({name})" for name in FIGURES)


def _date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def day_param(day: date):
    return day if connection.vendor == "postgresql" else day.isoformat()


def _delta_day_sql(first: date, last: date, zone: str) -> tuple[str, list, list]:
    """A CASE naming the shop day of a delta's bucket (the day boundaries are worked out here,
    so the database never converts a time zone), its parameters, and the bucket range's."""
    cast = "::date" if connection.vendor == "postgresql" else ""
    whens, params = [], []
    day = first
    while day <= last:
        _, end = day_bounds(day, day, zone)
        whens.append(f"WHEN d.bucket < %s THEN %s{cast}")
        params += [int(end.timestamp()), day_param(day)]
        day += timedelta(days=1)
    start, end = day_bounds(first, last, zone)
    return f"CASE {' '.join(whens)} END", params, [int(start.timestamp()), int(end.timestamp())]


def _filters(*, kind: str, template_name: str, batch_id: int | None, alias: str = ""):
    prefix = f"{alias}." if alias else ""
    sql, params = [], []
    if kind:
        sql.append(f"{prefix}kind = %s")
        params.append(kind)
    if template_name:
        sql.append(f"{prefix}template_name = %s")
        params.append(template_name)
    if batch_id is not None:
        sql.append(f"{prefix}batch_id = %s")
        params.append(batch_id)
    return "".join(f" AND {condition}" for condition in sql), params


def fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def day_rows(
    *, first: date, last: date, zone: str, kind="", template_name="", batch_id=None
) -> list[dict]:
    """The delivery report's rows: {day, kind, template_name, <figures>} ordered by day, kind,
    template (as the raw aggregation orders them)."""
    case, case_params, bucket_range = _delta_day_sql(first, last, zone)
    where, where_params = _filters(kind=kind, template_name=template_name, batch_id=batch_id)
    delta_where, delta_params = _filters(
        kind=kind, template_name=template_name, batch_id=batch_id, alias="d"
    )
    sql = f"""
SELECT day, kind, template_name, {_SUMS} FROM (
    SELECT day, kind, template_name, {_FIGS} FROM messaging_dayrollup
    WHERE day >= %s AND day <= %s{where}
    UNION ALL
    SELECT {case} AS day, d.kind, d.template_name, {", ".join(delta_figures_sql("d"))}
    FROM messaging_messagedelta d WHERE d.bucket >= %s AND d.bucket < %s{delta_where}
) u GROUP BY day, kind, template_name HAVING SUM(total) <> 0
ORDER BY day, kind, template_name"""
    params = [day_param(first), day_param(last), *where_params]
    params += [*case_params, *bucket_range, *delta_params]
    return [
        {
            "day": _date(day),
            "kind": kind_,
            "template_name": template,
            **{name: int(value) for name, value in zip(FIGURES, figures, strict=True)},
        }
        for day, kind_, template, *figures in fetch(sql, params)
    ]


def failure_rows(
    *, first: date, last: date, zone: str, kind="", template_name="", batch_id=None, limit: int
) -> list[dict]:
    """The most frequent (error_code, error_title) among failed messages, most frequent first."""
    where, where_params = _filters(kind=kind, template_name=template_name, batch_id=batch_id)
    delta_where, delta_params = _filters(
        kind=kind, template_name=template_name, batch_id=batch_id, alias="d"
    )
    start, end = day_bounds(first, last, zone)
    sql = f"""
SELECT error_code, error_title, SUM(failed) FROM (
    SELECT error_code, error_title, failed FROM messaging_failurerollup
    WHERE day >= %s AND day <= %s{where}
    UNION ALL
    SELECT d.error_code, d.error_title, d.n FROM messaging_messagedelta d
    WHERE d.status = '{S.FAILED}' AND d.bucket >= %s AND d.bucket < %s{delta_where}
) u GROUP BY error_code, error_title HAVING SUM(failed) <> 0
ORDER BY 3 DESC, error_code, error_title LIMIT %s"""
    params = [day_param(first), day_param(last), *where_params]
    params += [int(start.timestamp()), int(end.timestamp()), *delta_params, limit]
    return [
        {"error_code": code, "error_title": title, "count": int(count)}
        for code, title, count in fetch(sql, params)
    ]


def ref_page(
    *, first: date, last: date, zone: str, field: str, limit: int, offset: int
) -> tuple[list[tuple], int, list[int]]:
    """One page of (value, <figures>) per value of `field` (ref, ref1 or ref2), biggest first,
    then by value (as the raw aggregation orders them), with how many values there are and
    the figures summed over all of them: the database sums and pages, so a page of a field
    with 20,000 values reads back `limit` rows.

    The days of the range come from RefRollup, or, when the range covers most of the days
    there are, from RefTotal minus the RefRollup rows of the days outside it (whichever reads
    fewer days: a 30-day report over a month of messages reads one row per value); plus,
    either way, the deltas of the range not folded yet."""
    if field not in ("ref", "ref1", "ref2"):
        raise ValueError(f"field must be ref, ref1 or ref2, not {field!r}")
    start, end = day_bounds(first, last, zone)
    deltas = f"""
    SELECT d.{field} AS value, {", ".join(delta_figures_sql("d"))}
    FROM messaging_messagedelta d WHERE d.bucket >= %s AND d.bucket < %s"""
    delta_params = [int(start.timestamp()), int(end.timestamp())]
    # BIGINT sums: PostgreSQL's SUM of a bigint is a numeric; no sum comes near 2**63.
    sums = ", ".join(f"CAST(SUM({name}) AS BIGINT) AS {name}" for name in FIGURES)
    if _outside_days(first, last) < (last - first).days + 1:
        # The totals, each plus its value's adjustments (the days outside the range taken
        # away, the deltas added: few rows, summed on their own), joined by value; then the
        # values that only the adjustments have.
        negated = ", ".join(f"-{name} AS {name}" for name in FIGURES)
        added = ", ".join(f"t.{name} + COALESCE(a.{name}, 0) AS {name}" for name in FIGURES)
        with_a = ", ".join(f"a.{name}" for name in FIGURES)
        groups = f"""
    WITH a AS (
        SELECT value, {sums} FROM (
            SELECT value, {negated} FROM messaging_refrollup WHERE field = %s AND day < %s
            UNION ALL
            SELECT value, {negated} FROM messaging_refrollup WHERE field = %s AND day > %s
            UNION ALL{deltas}
        ) u GROUP BY value
    )
    SELECT t.value, {added}
    FROM messaging_reftotal t LEFT JOIN a ON a.value = t.value WHERE t.field = %s
    UNION ALL
    SELECT a.value, {with_a} FROM a WHERE NOT EXISTS (
        SELECT 1 FROM messaging_reftotal t WHERE t.field = %s AND t.value = a.value)"""
        params = [field, day_param(first), field, day_param(last), *delta_params, field, field]
    else:
        groups = f"""
    SELECT value, {sums} FROM (
        SELECT value, {_FIGS} FROM messaging_refrollup
        WHERE field = %s AND day >= %s AND day <= %s
        UNION ALL{deltas}
    ) u GROUP BY value"""
        params = [field, day_param(first), day_param(last), *delta_params]
    overall = ", ".join(f"CAST(SUM({name}) OVER () AS BIGINT)" for name in FIGURES)
    sql = f"""
SELECT value, {_FIGS}, COUNT(*) OVER (), {overall} FROM ({groups}
) g WHERE total <> 0 ORDER BY total DESC, value LIMIT %s OFFSET %s"""
    rows = fetch(sql, [*params, limit, offset])
    if not rows:
        if offset:  # past the last page: how many there are
            _, groups, totals = ref_page(
                first=first, last=last, zone=zone, field=field, limit=1, offset=0
            )
            return [], groups, totals
        return [], 0, [0] * len(FIGURES)
    width = 1 + len(FIGURES)
    return [row[:width] for row in rows], rows[0][width], list(rows[0][width + 1 :])


def _outside_days(first: date, last: date) -> int:
    """How many days with rollups there are before `first` and after `last` (the days of
    DayRollup, which has a row for every day RefRollup has)."""
    rows = fetch("SELECT MIN(day), MAX(day) FROM messaging_dayrollup", [])
    low, high = rows[0]
    if low is None:
        return 0
    low, high = _date(low), _date(high)
    before = max(0, (min(high, first - timedelta(days=1)) - low).days + 1)
    after = max(0, (high - max(low, last + timedelta(days=1))).days + 1)
    return before + after


def batch_status_counts(*, batch_ids) -> dict[int, dict[str, int]]:
    """{batch id: {status: messages}} for these batches (statuses without any left out)."""
    ids = list(batch_ids)
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    sql = f"""
SELECT batch_id, status, SUM(c) FROM (
    SELECT batch_id, status, count AS c FROM messaging_batchstatuscount WHERE batch_id IN ({marks})
    UNION ALL
    SELECT batch_id, status, n FROM messaging_messagedelta WHERE batch_id IN ({marks})
) u GROUP BY batch_id, status HAVING SUM(c) <> 0"""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for batch_id, status, n in fetch(sql, [*ids, *ids]):
        counts[batch_id][status] = int(n)
    return counts


def batch_count_expression(statuses=None) -> RawSQL:
    """A SendBatch annotation: its messages (with one of `statuses`, or all), from the counts
    and the deltas not folded yet, in the list's own statement."""
    condition, params = "", []
    if statuses:
        condition = f" AND {{t}}.status IN ({', '.join(['%s'] * len(statuses))})"
        params = [str(status) for status in statuses]
    sql = (
        "(SELECT COALESCE(SUM(c.count), 0) FROM messaging_batchstatuscount c "
        f"WHERE c.batch_id = messaging_sendbatch.id{condition.format(t='c')})"
        " + (SELECT COALESCE(SUM(d.n), 0) FROM messaging_messagedelta d "
        f"WHERE d.batch_id = messaging_sendbatch.id{condition.format(t='d')})"
    )
    return RawSQL(sql, [*params, *params], output_field=BigIntegerField())  # noqa: S611
