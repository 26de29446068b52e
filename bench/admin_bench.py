"""The operator's admin pages on a large shop: 10,000,000 messages and 1,000,000 orders.

Creates a throwaway PostgreSQL database (default `bench_admin`; never `test`), migrates it, loads
the messages with the reports bench's INSERT ... SELECT over generate_series (bench/reports_bench:
30 days, realistic status mix, ~600-byte payloads, 50 campaigns in ref, one recipient per
message) and orders with one item and three history events each (generate_series too; the plain
indexes are dropped during the load and built again afterwards, as a restore does), VACUUM
ANALYZEs, folds the deltas the messages' trigger wrote into the rollups (as the sweep does
within seconds in production), then times each page three times (after one warm-up) through
Django's test client logged in as a staff superuser, printing min/max against its target, the
slowest query's time and its plan's scans. For each report, the bare SQL aggregation over the raw
table (its kind/template/status or ref/status counts over the raw rows of its days) is timed in
the same run. Prints the load time, the disk used and `openssl speed rsa2048` signs/s. Drops the
database afterwards unless --keep. --reuse times the pages again on the database a --keep run
left (migrates it to this code, folds any pending deltas, no load; keeps it).

    DJANGO_DEBUG=true python bench/admin_bench.py [--messages 10000000] [--orders 1000000]
        [--runs 3] [--keep | --reuse] [--url postgres://postgres@127.0.0.1:5432/bench_admin]
"""

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proc import openssl_signs_per_second, process_cpu  # noqa: E402
from reports_bench import BATCHES_SQL, LOAD_SQL  # noqa: E402

ORDERS_SQL = """
INSERT INTO orders_order (
    reference_id, customer_name, customer_phone, currency, "offset", type, status,
    payment_method, payment_configuration, discount, discount_description, tax, tax_description,
    shipping, coupon_code, coupon_discount, header_image_url, created_at, updated_at)
SELECT 'ORD-' || i,
       (ARRAY['Nidhi', 'Arjun', 'Priya', 'Rahul', 'Ananya', 'Vikram', 'Sneha', 'Karan'])
           [1 + i %% 8] || ' ' ||
       (ARRAY['Tripathi', 'Sharma', 'Iyer', 'Reddy', 'Gupta', 'Nair', 'Das'])[1 + i %% 7] ||
       ' ' || i,
       '+9197' || lpad(i::text, 8, '0'),
       'INR', 100, 'physical-goods',
       (ARRAY['pending', 'processing', 'shipped', 'completed', 'canceled',
              'partially_shipped'])[1 + i %% 6],
       'razorpay', 'bench-config', 0, '', 0, '', 5000, '', 0, '',
       now() - (i::float / %(orders)s) * interval '30 days',
       now() - (i::float / %(orders)s) * interval '30 days'
FROM generate_series(1, %(orders)s) AS i
"""
ITEMS_SQL = """
INSERT INTO orders_orderitem (
    order_id, name, retailer_id, quantity, amount, sale_amount, country_of_origin, importer_name,
    importer_address_line1, importer_address_line2, importer_city, importer_zone_code,
    importer_postal_code, importer_country_code)
SELECT id, 'Cotton kurta', 'SKU-' || id %% 500, 1 + id %% 3, 49900, NULL, 'India',
       'Bench Imports', '12 MG Road', '', 'Bengaluru', 'KA', '560001', 'IN'
FROM orders_order
"""
EVENTS_SQL = """
INSERT INTO orders_orderevent (order_id, kind, field, before, after, source, note, created_at)
SELECT o.id, e.kind, e.field, e.before, e.after, e.source, '', o.created_at + e.later
FROM orders_order AS o
CROSS JOIN (VALUES
    ('created', '', NULL::jsonb, NULL::jsonb, 'admin', interval '0 s'),
    ('message', '', NULL, '"order_details"'::jsonb, 'system', interval '5 s'),
    ('status', 'status', '"pending"'::jsonb, '"processing"'::jsonb, 'checkout', interval '1 h')
) AS e(kind, field, before, after, source, later)
"""
BENCH_TABLES = (
    "messaging_sentmessage",
    "messaging_sendbatch",
    "orders_order",
    "orders_orderitem",
    "orders_orderevent",
)
PHONE_SEARCH_MS, PAGE_MS = 100, 300


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the pages on the data a --keep run left: migrate, fold pending deltas, no load",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin"
        ),
    )
    args = parser.parse_args()
    name = urlparse(args.url).path.lstrip("/")
    if name in ("", "test", "postgres", "template0", "template1") or name.startswith("test_"):
        sys.exit(f"Refusing to use database '{name}': give a throwaway name.")

    import psycopg

    admin_url = args.url.rsplit("/", 1)[0] + "/postgres"
    if not args.reuse:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    signs = openssl_signs_per_second()
    print(f"openssl speed rsa2048: {signs or 'n/a'} signs/s", flush=True)
    try:
        run(args)
    finally:
        if not (args.keep or args.reuse):  # a reused database is kept too
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"openssl speed rsa2048 (again, after): {openssl_signs_per_second() or 'n/a'} signs/s")


def run(args):
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    if not args.reuse:
        load(connection, args)
    fold()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"Disk used by the database: {cursor.fetchone()[0]}")
        cursor.execute(
            "SELECT count(*), min(created_at), max(created_at) FROM messaging_sentmessage"
        )
        count, first, last = cursor.fetchone()
        cursor.execute("SELECT count(*), min(id) FROM orders_order")
        orders, first_order = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM orders_orderevent")
        (events,) = cursor.fetchone()
        cursor.execute("SELECT min(id) + 6 FROM messaging_sendbatch")
        (batch,) = cursor.fetchone()
    print(
        f"{count:,} messages ({first:%Y-%m-%d} .. {last:%Y-%m-%d}), {orders:,} orders, "
        f"{events:,} order events"
    )

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)

    # A message's and an order's phone, typed three ways (bench/reports_bench: message i goes to
    # +9198 and i on 8 digits; order i's customer is +9197 and i on 8 digits).
    i = min(1_234_560, count // 2)
    msg_phone = f"98{i:08d}"
    j = min(123_456, orders // 2)
    order_phone = f"97{j:08d}"
    deep = max(1, min(500, count // 100))  # page 500, or the last one of a smaller load
    month = {"date_from": first.date().isoformat(), "date_to": last.date().isoformat()}
    messages_url, batches_url = "/admin/messaging/sentmessage/", "/admin/messaging/sendbatch/"
    orders_url = "/admin/orders/order/"
    phone = PHONE_SEARCH_MS
    pages = [
        ("messages, no filter", messages_url, {}, PAGE_MS),
        ("messages, status=failed", messages_url, {"status__exact": "failed"}, PAGE_MS),
        ("messages, one batch", messages_url, {"batch__id__exact": batch}, PAGE_MS),
        (f"messages, phone {msg_phone}", messages_url, {"q": msg_phone}, phone),
        (
            f"messages, phone +91 {msg_phone[:5]} {msg_phone[5:]}",
            messages_url,
            {"q": f"+91 {msg_phone[:5]} {msg_phone[5:]}"},
            phone,
        ),
        (
            f"messages, phone 0{msg_phone[:5]}-{msg_phone[5:]}",
            messages_url,
            {"q": f"0{msg_phone[:5]}-{msg_phone[5:]}"},
            phone,
        ),
        (f"messages, partial phone {msg_phone[3:]}", messages_url, {"q": msg_phone[3:]}, phone),
        ("messages, ref campaign-7", messages_url, {"q": "campaign-7"}, PAGE_MS),
        (f"messages, page {deep}", messages_url, {"p": deep}, PAGE_MS),
        ("send batches list", batches_url, {}, PAGE_MS),
        ("one send batch page", f"{batches_url}{batch}/change/", {}, PAGE_MS),
        ("orders, no filter", orders_url, {}, PAGE_MS),
        (f"orders, phone {order_phone}", orders_url, {"q": order_phone}, phone),
        (f"orders, partial ref ORD-{j}", orders_url, {"q": f"ORD-{j}"}, PAGE_MS),
        ("orders, status=shipped", orders_url, {"status__exact": "shipped"}, PAGE_MS),
        ("order events list", "/admin/orders/orderevent/", {}, PAGE_MS),
        ("one order's page", f"{orders_url}{first_order + j}/change/", {}, PAGE_MS),
    ]
    reports = [
        ("delivery report, 7 days", "/admin/reports/delivery/", {}),
        ("delivery report, 30 days", "/admin/reports/delivery/", month),
        ("delivery CSV, 7 days", "/admin/reports/delivery/", {"format": "csv"}),
        ("delivery CSV, 30 days", "/admin/reports/delivery/", {**month, "format": "csv"}),
        ("ref report, 7 days", "/admin/reports/refs/", {}),
        ("ref report, 30 days", "/admin/reports/refs/", month),
        ("ref CSV, 7 days", "/admin/reports/refs/", {"format": "csv"}),
        ("ref CSV, 30 days", "/admin/reports/refs/", {**month, "format": "csv"}),
    ]
    print(f"Load average (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} CPUs", flush=True)
    print(
        f"\n{'page':40} {'min ms':>8} {'max ms':>8} {'target':>7}  {'ok':3} {'cpu ms':>7} "
        f"{'queries':>7} {'slowest':>8}  its plan"
    )
    for label, url, params, target in pages:
        times, cpu, queries = _time_page(client, connection, url, params, args.runs)
        slowest = max(queries, key=lambda q: float(q["time"]))
        print(
            f"{label:40} {min(times):8.0f} {max(times):8.0f} {target:7}  "
            f"{'yes' if max(times) < target else 'NO':3} {cpu:7.0f} {len(queries):7} "
            f"{float(slowest['time']) * 1000:8.0f}  {_plan(connection, slowest['sql'])}",
            flush=True,
        )
    print(
        f"\n{'report':40} {'min ms':>8} {'max ms':>8} {'cpu ms':>7} {'raw ms':>8} "
        f"{'raw/page':>8}  ok (10x)"
    )
    for label, url, params in reports:
        times, cpu, _ = _time_page(client, connection, url, params, args.runs)
        raw = _raw_aggregation(connection, label, args.runs)
        ratio = raw / max(times) if raw else 0
        print(
            f"{label:40} {min(times):8.0f} {max(times):8.0f} {cpu:7.0f} {raw:8.0f} {ratio:8.1f}  "
            f"{'yes' if ratio >= 10 else 'NO'}",
            flush=True,
        )
    print(f"\nLoad average (1, 5, 15 min): {os.getloadavg()}")


def load(connection, args):
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Bulk load: drop the plain indexes, insert, build them again (as a restore does).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [list(BENCH_TABLES)],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(BATCHES_SQL)
        cursor.execute(LOAD_SQL, {"rows": args.messages})
        print(f"messages inserted in {time.perf_counter() - started:.0f} s", flush=True)
        cursor.execute(ORDERS_SQL, {"orders": args.orders})
        cursor.execute(ITEMS_SQL, {})
        cursor.execute(EVENTS_SQL, {})
        print(f"orders inserted ({time.perf_counter() - started:.0f} s)", flush=True)
        for _, definition in indexes:
            cursor.execute(definition)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in BENCH_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"Loaded in {loaded:.0f} s (indexes built again included); "
        f"VACUUM ANALYZE {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def fold():
    """Fold the deltas the load's trigger wrote (or any left pending) into the rollups, as the
    sweep does within seconds in production, and ANALYZE the rollups."""
    from django.db import connection

    from messaging.rollups.fold import rollups_fold

    started = time.perf_counter()
    folded = rollups_fold()
    with connection.cursor() as cursor:
        for table in ("dayrollup", "refrollup", "failurerollup", "batchstatuscount"):
            cursor.execute(f"VACUUM ANALYZE messaging_{table}")
        cursor.execute("VACUUM ANALYZE messaging_messagedelta")
    print(f"Folded {folded:,} delta rows in {time.perf_counter() - started:.0f} s", flush=True)


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


def _plan(connection, sql) -> str:
    """The scans of a query's plan; an EXPLAIN (the count estimate's) is named as such."""
    return "(the estimate's EXPLAIN)" if sql.startswith("EXPLAIN") else _scan(connection, sql)


def _time_page(client, connection, url, params, runs):
    """Milliseconds of each of `runs` GETs (after one warm-up), the least CPU milliseconds one
    took (this process's and its PostgreSQL backend's, from /proc: what the page cost, however
    busy the shared machine), and the queries of the last."""
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, params)
    assert response.status_code == 200, (url, params, response.status_code)
    times, cpu = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            backend = process_cpu(connection.connection.info.backend_pid)[1]
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
            backend = process_cpu(connection.connection.info.backend_pid)[1] - backend
            cpu.append((time.process_time() - started_cpu + backend) * 1000)
        assert response.status_code == 200, (url, params, response.status_code)
    return times, min(cpu), captured.captured_queries


# The bare aggregation each report stands for, over the raw messages of its days: the delivery
# report's figures per kind, template and status, the ref report's per ref and status.
RAW_SQL = {
    "delivery": "SELECT kind, template_name, status, count(*), count(batch_id) "
    "FROM messaging_sentmessage WHERE created_at >= now() - %s * interval '1 day' "
    "GROUP BY 1, 2, 3",
    "ref": "SELECT ref, status, count(*), count(delivered_at), count(read_at) "
    "FROM messaging_sentmessage WHERE created_at >= now() - %s * interval '1 day' "
    "GROUP BY 1, 2",
}


def _raw_aggregation(connection, label, runs) -> float:
    """Milliseconds (best of `runs`) of the report's bare aggregation over the raw messages."""
    sql = RAW_SQL[label.split()[0]]
    days = 31 if "30 days" in label else 7
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [days])
            cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


if __name__ == "__main__":
    main()
