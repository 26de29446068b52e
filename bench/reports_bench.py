"""Delivery and ref reports on 1,000,000 messages in PostgreSQL.

Creates a throwaway database (default `reports_bench`; never `test`), migrates it, loads the rows
with one INSERT ... SELECT over generate_series (spread over the last 30 days, realistic status mix,
~600-byte payloads, 50 campaigns in ref, 8 segments in ref1, 20,000 customers in ref2), VACUUM
ANALYZEs (what autovacuum does in production) and prints, for each report, the time of the full
view through Django's test client next to the time of the bare SQL aggregation it runs (the same
SQL, captured from the view and executed again on its own), plus the plan's scan. Drops the
database afterwards unless --keep.

    DJANGO_DEBUG=true python bench/reports_bench.py [--rows 1000000] [--runs 3] [--keep]
"""

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
    from django.test.utils import CaptureQueriesContext, setup_test_environment

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

    user = get_user_model().objects.create_user("bench", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client = Client()
    client.force_login(user)

    today = last.date()
    month = {"date_from": (first.date()).isoformat(), "date_to": today.isoformat()}
    cases = [
        ("delivery, default (last 7 days)", "/admin/reports/delivery/", {}),
        ("delivery, 30 days (all rows)", "/admin/reports/delivery/", month),
        (
            "delivery, 30 days, one kind",
            "/admin/reports/delivery/",
            {**month, "kind": "coupon_code"},
        ),
        ("delivery, 30 days, one batch", "/admin/reports/delivery/", {**month, "batch": 7}),
        ("delivery CSV, 30 days", "/admin/reports/delivery/", {**month, "format": "csv"}),
        ("refs by ref, default", "/admin/reports/refs/", {}),
        ("refs by ref, 30 days", "/admin/reports/refs/", {**month, "group_by": "ref"}),
        ("refs by ref2 (20k groups), 30 d", "/admin/reports/refs/", {**month, "group_by": "ref2"}),
        (
            "refs by ref1 CSV, 30 days",
            "/admin/reports/refs/",
            {**month, "group_by": "ref1", "format": "csv"},
        ),
    ]
    print(f"Load average (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} CPUs")
    print(f"\n{'report':36} {'view ms':>9} {'SQL ms':>9} {'view/SQL':>9}  plan")
    for label, url, params in cases:
        client.get(url, params)  # warm-up
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params)
        assert response.status_code == 200, (label, response.status_code)
        sqls = [q["sql"] for q in captured.captured_queries if "messaging_sentmessage" in q["sql"]]
        view = _best(lambda url=url, params=params: client.get(url, params), args.runs)
        bare = _best(lambda sqls=sqls: [_execute(connection, sql) for sql in sqls], args.runs)
        plans = {_scan(connection, sql) for sql in sqls}
        print(
            f"{label:36} {view * 1000:9.0f} {bare * 1000:9.0f} {view / bare:9.2f}  "
            f"{'; '.join(sorted(plans))}"
        )
    print(f"\nLoad average (1, 5, 15 min): {os.getloadavg()}")


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


def _scan(connection, sql):
    """The scans of the query's plan (index-only or not), counted."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    scans = Counter(
        match.group(0)
        for line in lines
        if (match := re.search(r"[A-Z][A-Za-z ]*Scan(?: using \S+)?", line))
    )
    return ", ".join(f"{n} x {scan}" if n > 1 else scan for scan, n in sorted(scans.items()))


if __name__ == "__main__":
    main()
