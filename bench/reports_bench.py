"""Delivery and ref reports on 1,000,000 messages in PostgreSQL: from the rollups vs raw.

Creates a throwaway database (default `reports_bench`; never `test`), migrates it, loads the rows
with one INSERT ... SELECT over generate_series (spread over the last 30 days, realistic status mix,
~600-byte payloads, 50 campaigns in ref, 8 segments in ref1, 20,000 customers in ref2; the
messages' trigger writes their deltas as it would for any write), folds the deltas into the
rollups (`rollups_sweep`, timed), VACUUM ANALYZEs (what autovacuum does in production) and
prints, for each report, the time of the full view through Django's test client (it reads the
rollups) next to the time of the bare raw aggregation over the messages in the same run (the
selectors' `*_raw` functions: what the reports ran before the rollups), their ratio, and the
machine's `openssl speed rsa2048` signs/s. It checks the rollups equal the raw aggregation, and
times 400 chunk UPDATEs of 25 messages (the sending code's shape) with and without the trigger.
Drops the database afterwards unless --keep.

    DJANGO_DEBUG=true python bench/reports_bench.py [--rows 1000000] [--runs 3] [--keep]
        [--url postgres://postgres@127.0.0.1:5432/bench_rollups]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proc import openssl_signs_per_second  # noqa: E402

BATCHES_SQL = """
INSERT INTO messaging_sendbatch (
    name, kind, created_at, template_name, language, refused, requested)
SELECT 'Bench batch ' || b, 'order_status', now() - interval '30 days', 'order_update', 'en_US',
       '[]'::jsonb, 5000
FROM generate_series(1, 200) AS b
"""
LOAD_SQL = """
WITH g AS (
    SELECT i,
           now() - random() * interval '30 days' AS created_at,
           random() AS r,
           (ARRAY['order_details', 'order_status', 'coupon_code'])[1 + i %% 3] AS kind,
           (ARRAY['checkout_v1', 'checkout_v2', 'order_update', 'order_shipped',
                  'coupon_offer', 'coupon_winback'])[1 + i %% 6] AS template_name
    FROM generate_series(1, %(rows)s) AS i
), s AS (
    SELECT g.*,
           CASE WHEN r < 0.010 THEN 'queued' WHEN r < 0.015 THEN 'sending'
                WHEN r < 0.020 THEN 'unknown' WHEN r < 0.050 THEN 'accepted'
                WHEN r < 0.150 THEN 'sent' WHEN r < 0.500 THEN 'delivered'
                WHEN r < 0.850 THEN 'read' WHEN r < 0.930 THEN 'failed'
                WHEN r < 0.950 THEN 'not_sent' ELSE 'read' END AS status
    FROM g
)
INSERT INTO messaging_sentmessage (
    batch_id, kind, recipient, template_name, language, payload, ref, ref1, ref2, wa_source,
    status, provider_message_id, error_code, error_message, error_title, error_details,
    delivery_anomaly, attempts, created_at, updated_at, accepted_at, sent_at, delivered_at,
    read_at, failed_at)
SELECT
    CASE WHEN i %% 10 < 7 THEN 1 + i %% 200 END,
    kind,
    '+9198' || lpad((i %% 100000000)::text, 8, '0'),
    template_name,
    'en_US',
    jsonb_build_object(
        'messaging_object', jsonb_build_object(
            'messaging_product', 'whatsapp', 'recipient_type', 'individual',
            'to', '+9198' || lpad((i %% 100000000)::text, 8, '0'), 'type', 'template',
            'template', jsonb_build_object(
                'name', template_name,
                'language', jsonb_build_object('policy', 'deterministic', 'code', 'en_US'),
                'components', jsonb_build_array(jsonb_build_object(
                    'type', 'body', 'parameters', jsonb_build_array(
                        jsonb_build_object('type', 'text', 'text', 'Nidhi Tripathi'),
                        jsonb_build_object('type', 'text', 'text', 'ORD-' || i),
                        jsonb_build_object('type', 'text', 'text',
                            'Your order has been shipped and will reach you soon.')))))),
        'extra_info', jsonb_build_object('ref', 'campaign-' || i %% 50,
                                         'ref1', 'segment-' || i %% 8,
                                         'ref2', 'customer-' || i %% 20000,
                                         'wa_source', 'api')),
    'campaign-' || i %% 50,
    'segment-' || i %% 8,
    'customer-' || i %% 20000,
    'api',
    status,
    CASE WHEN status NOT IN ('queued', 'sending', 'unknown') THEN 'kal-bench-' || i END,
    CASE WHEN status = 'failed' THEN (ARRAY['131026', '131049', '131047', '130472'])[1 + i %% 4]
         ELSE '' END,
    '',
    CASE WHEN status = 'failed' THEN (ARRAY['Message undeliverable',
        'Not delivered to maintain healthy ecosystem engagement', 'Re-engagement message',
        'User''s number is part of an experiment'])[1 + i %% 4] ELSE '' END,
    '',
    false,
    1,
    created_at,
    created_at,
    CASE WHEN status NOT IN ('queued', 'sending', 'unknown') THEN created_at + interval '2 s' END,
    CASE WHEN status IN ('sent', 'delivered', 'read') THEN created_at + interval '3 s' END,
    CASE WHEN status IN ('delivered', 'read') THEN created_at + interval '10 s' END,
    CASE WHEN status = 'read' THEN created_at + interval '5 min' END,
    CASE WHEN status IN ('failed', 'not_sent') THEN created_at + interval '4 s' END
FROM s
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reports_bench"
        ),
    )
    args = parser.parse_args()
    name = urlparse(args.url).path.lstrip("/")
    if name in ("", "test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to use database '{name}': give a throwaway name.")

    import psycopg

    admin_url = args.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args):
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from messaging.reports import selectors
    from messaging.reports.forms import RefReportFilterForm, ReportFilterForm
    from messaging.rollups.fold import rollups_fold

    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Bulk load: drop the plain indexes, insert, build them again (as a restore does).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messaging_sentmessage'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(BATCHES_SQL)
        cursor.execute(LOAD_SQL, {"rows": args.rows})
        for _, definition in indexes:
            cursor.execute(definition)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_sentmessage")
    vacuumed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(created_at), max(created_at) FROM messaging_sentmessage"
        )
        count, first, last = cursor.fetchone()
    print(
        f"Loaded {count:,} messages ({first:%Y-%m-%d} .. {last:%Y-%m-%d}) in {loaded:.1f} s; "
        f"VACUUM ANALYZE {vacuumed:.1f} s"
    )

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_messagedelta")
        deltas = cursor.fetchone()[0]
    folded = rollups_fold()
    fold_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        sizes = {}
        for table in ("dayrollup", "refrollup", "failurerollup", "batchstatuscount"):
            cursor.execute(f"SELECT count(*) FROM messaging_{table}")  # noqa: S608
            sizes[table] = cursor.fetchone()[0]
    print(
        f"Trigger wrote {deltas:,} delta rows during the load; folded {folded:,} in "
        f"{fold_seconds:.1f} s; rollup rows: "
        + ", ".join(f"{table} {n:,}" for table, n in sizes.items())
    )

    user = get_user_model().objects.create_user("bench", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client = Client()
    client.force_login(user)

    today = last.date()
    week = {"date_from": (today - timedelta(days=6)).isoformat(), "date_to": today.isoformat()}
    month = {"date_from": (first.date()).isoformat(), "date_to": today.isoformat()}
    csv = {"format": "csv"}
    cases = [
        ("delivery, 7 days", "/admin/reports/delivery/", week),
        ("delivery, 30 days", "/admin/reports/delivery/", month),
        ("delivery CSV, 7 days", "/admin/reports/delivery/", {**week, **csv}),
        ("delivery CSV, 30 days", "/admin/reports/delivery/", {**month, **csv}),
        (
            "delivery, 30 days, one kind",
            "/admin/reports/delivery/",
            {**month, "kind": "coupon_code"},
        ),
        ("delivery, 30 days, one batch", "/admin/reports/delivery/", {**month, "batch": 7}),
        ("refs by ref, 7 days", "/admin/reports/refs/", {**week, "group_by": "ref"}),
        ("refs by ref, 30 days", "/admin/reports/refs/", {**month, "group_by": "ref"}),
        ("refs by ref CSV, 7 days", "/admin/reports/refs/", {**week, "group_by": "ref", **csv}),
        ("refs by ref CSV, 30 days", "/admin/reports/refs/", {**month, "group_by": "ref", **csv}),
        ("refs by ref1 CSV, 30 days", "/admin/reports/refs/", {**month, "group_by": "ref1", **csv}),
        ("refs by ref2 (20k groups), 30 d", "/admin/reports/refs/", {**month, "group_by": "ref2"}),
        (
            "refs by ref, 30 d, one kind (raw)",
            "/admin/reports/refs/",
            {**month, "group_by": "ref", "kind": "coupon_code"},
        ),
    ]
    signs = openssl_signs_per_second()
    print(f"openssl speed rsa2048: {signs or 0:,.0f} signs/s")
    print(f"Load average (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} CPUs")
    print(f"\n{'report':36} {'view ms':>9} {'raw ms':>9} {'raw/view':>9}  target")
    for label, url, params in cases:
        client.get(url, params)  # warm-up
        response = client.get(url, params)
        assert response.status_code == 200, (label, response.status_code)
        form = (RefReportFilterForm if "refs" in url else ReportFilterForm)(params)
        assert form.is_valid(), form.errors
        filters, group_by = form.cleaned_data["filters"], form.cleaned_data.get("group_by")
        if group_by:
            assert [
                tuple(r.values())
                for r in selectors.ref_report(filters=filters, group_by=group_by).rows
            ] == selectors.ref_groups_raw(filters=filters, group_by=group_by)[
                : selectors.REF_PAGE_SIZE
            ], label

            def raw(filters=filters, group_by=group_by):
                selectors.ref_groups_raw(filters=filters, group_by=group_by)
        else:
            assert selectors.delivery_rows(filters=filters) == selectors.delivery_rows_raw(
                filters=filters
            ), label

            def raw(filters=filters):
                selectors.delivery_rows_raw(filters=filters)
                selectors.failure_reasons_raw(filters=filters)

        view = _best(lambda url=url, params=params: client.get(url, params), args.runs)
        bare = _best(raw, args.runs)
        met = "ok" if view < 0.3 and bare / view >= 10 else "MISSED (<300 ms, >=10x)"
        print(f"{label:36} {view * 1000:9.0f} {bare * 1000:9.0f} {bare / view:9.1f}  {met}")
    _write_cost(connection, args.runs)
    print(f"\nopenssl speed rsa2048: {openssl_signs_per_second() or 0:,.0f} signs/s (after)")
    print(f"Load average (1, 5, 15 min): {os.getloadavg()}")


def _write_cost(connection, runs):
    """400 UPDATEs of 25 messages each (a sending chunk's acceptance), with the trigger and
    without it, each in a transaction rolled back."""
    from django.db import transaction

    def chunks(disable):
        with transaction.atomic():
            with connection.cursor() as cursor:
                if disable:
                    cursor.execute("ALTER TABLE messaging_sentmessage DISABLE TRIGGER USER")
                cursor.execute("SELECT min(id) FROM messaging_sentmessage")
                low = cursor.fetchone()[0]
                started = time.perf_counter()
                for n in range(400):
                    cursor.execute(
                        "UPDATE messaging_sentmessage SET status = 'delivered', "
                        "delivered_at = now() WHERE id >= %s AND id < %s",
                        [low + 25 * n, low + 25 * (n + 1)],
                    )
                spent = time.perf_counter() - started
            transaction.set_rollback(True)
        return spent

    with_trigger = statistics.median(chunks(False) for _ in range(runs))
    without = statistics.median(chunks(True) for _ in range(runs))
    print(
        f"\n400 UPDATEs of 25 messages: {with_trigger * 1000:.0f} ms with the rollup trigger, "
        f"{without * 1000:.0f} ms without ({with_trigger / 400 * 1000:.2f} vs "
        f"{without / 400 * 1000:.2f} ms per chunk)"
    )


def _best(work, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _execute(connection, sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.fetchall()


if __name__ == "__main__":
    main()
