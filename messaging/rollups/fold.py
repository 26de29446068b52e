"""Folding MessageDelta rows into the rollups, and rebuilding rollups from the raw messages.

PostgreSQL folds in one statement (DELETE ... RETURNING feeding four INSERT ... ON CONFLICT
DO UPDATE), under a transaction-level advisory lock so two folds never interleave; SQLite
(development) reads the deleted rows back and upserts them from Python. Either way a delta
leaves the delta table and enters the rollups in one transaction, so readers (which add the
deltas still there, in the same statement) never count it twice or miss it.
"""

# ruff: noqa: S608 - only our table and column names and constant SQL are formatted into
# these statements; every value is a parameter.

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from messaging.models import MessageStatus

from .figures import FIGURES, delta_figures, delta_figures_sql
from .sql import DELTA_COLUMNS, raw_deltas_insert_sql

logger = logging.getLogger(__name__)

FOLD_CHUNK = 50_000  # deltas per statement
FOLD_LOCK = 0x6D736772  # pg_advisory_xact_lock key of the fold ("msgr")
_FIGS = ", ".join(FIGURES)
_ADD = ", ".join(f"{name} = {{t}}.{name} + EXCLUDED.{name}" for name in FIGURES)
_SUMS = ", ".join(f"SUM({name})" for name in FIGURES)
_FAILED = MessageStatus.FAILED.value


def rollup_zone() -> str:
    """The time zone the rollups' days are in; the current SHOP_TIME_ZONE when none is stored
    yet (an empty database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT time_zone FROM messaging_rollupstate WHERE id = 1")
        row = cursor.fetchone()
        if row:
            return row[0]
        cursor.execute(
            "INSERT INTO messaging_rollupstate (id, time_zone) VALUES (1, %s) "
            "ON CONFLICT (id) DO NOTHING",
            [settings.TIME_ZONE],
        )
    return settings.TIME_ZONE


def rollups_usable() -> bool:
    """Whether the rollups' days are the shop's current days (else readers use the messages)."""
    zone = rollup_zone()
    if zone != settings.TIME_ZONE:
        logger.warning(
            "Report rollups are in %s, SHOP_TIME_ZONE is %s: the reports read the messages "
            "until `manage.py rollups_sweep --rebuild`.",
            zone,
            settings.TIME_ZONE,
        )
        return False
    return True


def rollups_fold(*, limit: int = FOLD_CHUNK) -> int:
    """Fold every delta there is now into the rollups; returns how many delta rows it folded."""
    folded = 0
    while True:
        with transaction.atomic():
            zone = rollup_zone()
            if connection.vendor == "postgresql":
                done = _fold_postgresql(zone=zone, limit=limit)
            else:
                done = _fold_python(zone=zone, limit=limit)
        folded += done
        if done < limit:
            return folded


def _fold_postgresql(*, zone: str, limit: int) -> int:
    figures = ", ".join(
        f"{sql} AS {name}" for sql, name in zip(delta_figures_sql("d"), FIGURES, strict=True)
    )
    sql = f"""
WITH d AS (
    DELETE FROM messaging_messagedelta
    WHERE id IN (SELECT id FROM messaging_messagedelta ORDER BY id LIMIT %(limit)s)
    RETURNING *
), f AS (
    SELECT (to_timestamp(d.bucket) AT TIME ZONE %(zone)s)::date AS day, d.kind,
           d.template_name, COALESCE(d.batch_id, 0) AS batch_id, d.ref, d.ref1, d.ref2,
           d.status, d.error_code, d.error_title, {figures}
    FROM d
), days AS (
    INSERT INTO messaging_dayrollup (day, kind, template_name, batch_id, {_FIGS})
    SELECT day, kind, template_name, batch_id, {_SUMS} FROM f GROUP BY 1, 2, 3, 4
    ON CONFLICT (day, kind, template_name, batch_id)
    DO UPDATE SET {_ADD.format(t="messaging_dayrollup")}
), refs AS (
    INSERT INTO messaging_refrollup (field, value, day, {_FIGS})
    SELECT r.field, r.value, f.day, {_SUMS}
    FROM f CROSS JOIN LATERAL (VALUES ('ref', f.ref), ('ref1', f.ref1), ('ref2', f.ref2))
         AS r (field, value)
    GROUP BY 1, 2, 3
    ON CONFLICT (field, value, day) DO UPDATE SET {_ADD.format(t="messaging_refrollup")}
), ref_totals AS (
    INSERT INTO messaging_reftotal (field, value, {_FIGS})
    SELECT r.field, r.value, {_SUMS}
    FROM f CROSS JOIN LATERAL (VALUES ('ref', f.ref), ('ref1', f.ref1), ('ref2', f.ref2))
         AS r (field, value)
    GROUP BY 1, 2
    ON CONFLICT (field, value) DO UPDATE SET {_ADD.format(t="messaging_reftotal")}
), batches AS (
    INSERT INTO messaging_batchstatuscount (batch_id, status, count)
    SELECT batch_id, status, SUM(total) FROM f WHERE batch_id <> 0 GROUP BY 1, 2
    ON CONFLICT (batch_id, status)
    DO UPDATE SET count = messaging_batchstatuscount.count + EXCLUDED.count
), failures AS (
    INSERT INTO messaging_failurerollup
        (day, kind, template_name, batch_id, error_code, error_title, failed)
    SELECT day, kind, template_name, batch_id, error_code, error_title, SUM(failed)
    FROM f WHERE status = '{_FAILED}' GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, kind, template_name, batch_id, error_code, error_title)
    DO UPDATE SET failed = messaging_failurerollup.failed + EXCLUDED.failed
)
SELECT COUNT(*) FROM d
"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
        cursor.execute(sql, {"limit": limit, "zone": zone})
        return cursor.fetchone()[0]


def _fold_python(*, zone: str, limit: int) -> int:
    tz = ZoneInfo(zone)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM messaging_messagedelta WHERE id IN "
            "(SELECT id FROM messaging_messagedelta ORDER BY id LIMIT %s) "
            f"RETURNING {', '.join(DELTA_COLUMNS)}, n",
            [limit],
        )
        rows = cursor.fetchall()
    days, refs, totals = defaultdict(_zeros), defaultdict(_zeros), defaultdict(_zeros)
    batches, failures = defaultdict(int), defaultdict(int)
    day_of = {}
    for row in rows:
        values = dict(zip((*DELTA_COLUMNS, "n"), row, strict=True))
        bucket = values["bucket"]
        if bucket not in day_of:
            day_of[bucket] = datetime.fromtimestamp(bucket, tz).date()
        day, batch = day_of[bucket], values["batch_id"] or 0
        figures = delta_figures(
            status=values["status"],
            accepted=values["accepted"],
            sent=values["sent"],
            delivered=values["delivered"],
            read=values["read"],
            n=values["n"],
        )
        _add(days[(day, values["kind"], values["template_name"], batch)], figures)
        for field in ("ref", "ref1", "ref2"):
            _add(refs[(field, values[field], day)], figures)
            _add(totals[(field, values[field])], figures)
        if batch:
            batches[(batch, values["status"])] += values["n"]
        if values["status"] == _FAILED:
            key = (day, values["kind"], values["template_name"], batch)
            failures[(*key, values["error_code"], values["error_title"])] += values["n"]
    place = ", ".join(["%s"] * len(FIGURES))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO messaging_dayrollup (day, kind, template_name, batch_id, {_FIGS}) "
            f"VALUES (%s, %s, %s, %s, {place}) ON CONFLICT (day, kind, template_name, batch_id) "
            f"DO UPDATE SET {_ADD.format(t='messaging_dayrollup')}",
            [(*key, *figures) for key, figures in days.items()],
        )
        cursor.executemany(
            f"INSERT INTO messaging_refrollup (field, value, day, {_FIGS}) "
            f"VALUES (%s, %s, %s, {place}) ON CONFLICT (field, value, day) "
            f"DO UPDATE SET {_ADD.format(t='messaging_refrollup')}",
            [(*key, *figures) for key, figures in refs.items()],
        )
        cursor.executemany(
            f"INSERT INTO messaging_reftotal (field, value, {_FIGS}) "
            f"VALUES (%s, %s, {place}) ON CONFLICT (field, value) "
            f"DO UPDATE SET {_ADD.format(t='messaging_reftotal')}",
            [(*key, *figures) for key, figures in totals.items()],
        )
        cursor.executemany(
            "INSERT INTO messaging_batchstatuscount (batch_id, status, count) VALUES (%s, %s, %s) "
            "ON CONFLICT (batch_id, status) "
            "DO UPDATE SET count = messaging_batchstatuscount.count + EXCLUDED.count",
            [(*key, n) for key, n in batches.items()],
        )
        cursor.executemany(
            "INSERT INTO messaging_failurerollup "
            "(day, kind, template_name, batch_id, error_code, error_title, failed) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (day, kind, template_name, batch_id, error_code, error_title) "
            "DO UPDATE SET failed = messaging_failurerollup.failed + EXCLUDED.failed",
            [(*key, n) for key, n in failures.items()],
        )
    return len(rows)


def _zeros():
    return [0] * len(FIGURES)


def _add(target: list, figures: list) -> None:
    for index, value in enumerate(figures):
        target[index] += value


def _lock_messages() -> None:
    """Hold message writes until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE messaging_sentmessage IN SHARE MODE")


def day_bounds(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """From the start of `first` to the start of the day after `last`, in `zone`."""
    tz = ZoneInfo(zone)
    return (
        datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC),
    )


def rollups_rebuild() -> int:
    """Every rollup again from the raw messages, in SHOP_TIME_ZONE (after it changed, or to
    start over). Message writes wait meanwhile (one pass over the messages, on PostgreSQL about
    as long as the 30-day report's raw aggregation per million messages). Returns the number
    of delta rows folded."""
    with transaction.atomic():
        _lock_messages()
        with connection.cursor() as cursor:
            for table in (
                "dayrollup",
                "refrollup",
                "reftotal",
                "batchstatuscount",
                "failurerollup",
            ):
                cursor.execute(f"DELETE FROM messaging_{table}")
            cursor.execute("DELETE FROM messaging_messagedelta")
            cursor.execute(
                "INSERT INTO messaging_rollupstate (id, time_zone) VALUES (1, %s) "
                "ON CONFLICT (id) DO UPDATE SET time_zone = EXCLUDED.time_zone",
                [settings.TIME_ZONE],
            )
            cursor.execute(raw_deltas_insert_sql(connection.vendor), [])
        return rollups_fold()


def rollups_repair(*, first: date, last: date) -> None:
    """The rollups of the days `first`..`last` (and the counts of the batches with messages on
    those days) again from the raw messages, in one transaction while message writes wait."""
    with transaction.atomic():
        _lock_messages()
        rollups_fold()
        zone = rollup_zone()
        start, end = day_bounds(first, last, zone)
        with connection.cursor() as cursor:
            for table in ("dayrollup", "refrollup", "failurerollup"):
                cursor.execute(
                    f"DELETE FROM messaging_{table} WHERE day >= %s AND day <= %s",
                    [first, last],
                )
            cursor.execute(
                raw_deltas_insert_sql(
                    connection.vendor, "m.created_at >= %s AND m.created_at < %s"
                ),
                [start, end],
            )
        rollups_fold()
        # The fold added those days' messages to the ref totals again: sum them afresh.
        ref_totals_recount()
        # The fold added those days' messages to their batches' counts again: count the
        # batches afresh.
        with connection.cursor() as cursor:
            batches = (
                "SELECT DISTINCT batch_id FROM messaging_sentmessage "
                "WHERE created_at >= %s AND created_at < %s AND batch_id IS NOT NULL"
            )
            cursor.execute(
                f"DELETE FROM messaging_batchstatuscount WHERE batch_id IN ({batches})",
                [start, end],
            )
            cursor.execute(
                "INSERT INTO messaging_batchstatuscount (batch_id, status, count) "
                "SELECT batch_id, status, COUNT(*) FROM messaging_sentmessage "
                f"WHERE batch_id IN ({batches}) GROUP BY batch_id, status",
                [start, end],
            )


def ref_totals_recount() -> None:
    """RefTotal again as the sum of the RefRollup rows (after a repair rewrote days)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM messaging_reftotal")
        cursor.execute(
            f"INSERT INTO messaging_reftotal (field, value, {_FIGS}) "
            f"SELECT field, value, {_SUMS} FROM messaging_refrollup GROUP BY field, value"
        )
