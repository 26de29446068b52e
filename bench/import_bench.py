"""Order CSV import benchmark: 10,000 orders of 3 items (30,000 rows) checked and imported
through the service, then once more through the admin's pages (Django's test client); target
under 10 s each. Baseline in the same run: creating orders one at a time through the intake
(order_create_from_payload, the API's service), per order.

    .venv/bin/python bench/import_bench.py   # DATABASE_URL defaults to .../bench_import

PostgreSQL only. The database is the bench's own (default bench_import): created when missing,
migrated and emptied (flush) before each part; nothing else is touched. Prints `openssl speed
rsa2048` signs/s for the machine's speed.
"""

import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_import")
os.environ.setdefault("ORDER_IMPORT_MAX_ROWS", "100000")
os.environ.setdefault("ORDER_IMPORT_MAX_BYTES", str(64 * 1024 * 1024))

import django  # noqa: E402
from proc import database_cpu_seconds  # noqa: E402


def database_ensure(url: str) -> None:
    """Create the bench's database when it does not exist yet (the other benches make theirs)."""
    from urllib.parse import urlparse

    if not url.startswith("postgres"):
        return  # main() refuses other databases
    name = urlparse(url).path.lstrip("/")
    if name in ("", "test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to use database '{name}': give a throwaway name.")
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


database_ensure(os.environ["DATABASE_URL"])
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "10000"))
ITEMS = 3
BASELINE_ORDERS = 300
TARGET_SECONDS = 10.0


def csv_text(count: int, *, prefix: str = "bench") -> str:
    """`count` orders of ITEMS items in the import's layout (the sample's columns)."""
    sample = (BASE_DIR / "orders" / "csv_import" / "sample.csv").read_text()
    header, first, second = list(csv.reader(io.StringIO(sample)))[:3]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    ref = header.index("reference_id")
    phone = header.index("customer_phone")
    name = header.index("item_name")
    for n in range(count):
        row = list(first)
        row[ref], row[phone] = f"{prefix}-{n}", f"+9198{n:08d}"
        writer.writerow(row)
        for i in range(1, ITEMS):
            row = list(second)
            row[ref], row[name] = f"{prefix}-{n}", f"Snake Plant {i}"
            writer.writerow(row)
    return out.getvalue()


def timed(label, func):
    """Run func: print its wall time and the CPU seconds of this process and of the local
    PostgreSQL server's processes (all of its databases: on a shared machine, others' work too)."""
    database_before = database_cpu_seconds()
    cpu_before = time.process_time()
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    database = database_cpu_seconds(database_before)
    print(
        f"{label:<58} {seconds:7.3f} s  (cpu: python {cpu:.2f} s, postgres server {database:.2f} s)"
    )
    return result, seconds


def openssl_signs() -> str:
    try:
        result = subprocess.run(
            ["openssl", "speed", "-seconds", "3", "rsa2048"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        return f"unavailable ({error})"
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)", result.stdout, re.M)
    return f"{float(match.group(1)):,.1f} signs/s" if match else "unparsed"


def fresh():
    call_command("flush", interactive=False, verbosity=0)


def bench():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host and the pages' context

    from orders.csv_import import order_import_confirm, order_import_preview, orders_csv_check
    from orders.intake import order_create_from_payload
    from orders.models import Order, OrderItem

    text, _ = timed(
        f"generate a CSV of {ORDERS:,} orders x {ITEMS} items", lambda: csv_text(ORDERS)
    )
    print(f"  {len(text.encode()) / 2**20:.1f} MiB, {ORDERS * ITEMS:,} rows")
    user_model = get_user_model()

    fresh()
    user = user_model.objects.create_superuser("bench", "bench@example.com", "pw")
    preview, check_s = timed(
        "service: check (preview, nothing stored)", lambda: orders_csv_check(text=text)
    )
    assert not preview.errors and len(preview.new) == ORDERS, preview.errors[:3]
    (_, order_import), keep_s = timed(
        "service: preview + keep the file (order_import_preview)",
        lambda: order_import_preview(text=text, file_name="bench.csv", user=user),
    )
    _, confirm_s = timed(
        "service: confirm (check again + create all, one transaction)",
        lambda: order_import_confirm(order_import_id=order_import.pk, user=user),
    )
    assert Order.objects.count() == ORDERS and OrderItem.objects.count() == ORDERS * ITEMS
    service_s = keep_s + confirm_s
    print(f"  service import, upload to stored: {service_s:.3f} s")

    fresh()
    user = user_model.objects.create_superuser("bench", "bench@example.com", "pw")
    client = Client()
    client.force_login(user)
    upload = io.BytesIO(text.encode())
    upload.name = "bench.csv"
    response, upload_s = timed(
        "admin: upload -> preview page",
        lambda: client.post("/admin/orders/order/import/", {"file": upload}),
    )
    assert response.status_code == 200 and response.context["order_import"], response.content[:500]
    confirm_url = f"/admin/orders/order/import/{response.context['order_import'].pk}/confirm/"
    response, admin_confirm_s = timed("admin: confirm", lambda: client.post(confirm_url))
    assert response.status_code == 302 and Order.objects.count() == ORDERS
    admin_s = upload_s + admin_confirm_s
    print(f"  admin import, upload to stored: {admin_s:.3f} s")

    fresh()
    payloads = orders_csv_parse_payloads(csv_text(BASELINE_ORDERS, prefix="one"))

    def one_by_one():
        for payload in payloads:
            order_create_from_payload(data=payload, source="api")

    _, single_s = timed(f"baseline: {BASELINE_ORDERS} orders one at a time (intake)", one_by_one)
    per_order = single_s / BASELINE_ORDERS
    print()
    print(
        f"one at a time: {per_order * 1000:.2f} ms per order ({per_order * ORDERS:.1f} s for "
        f"{ORDERS:,}); CSV import: {confirm_s / ORDERS * 1000:.3f} ms per order at confirm"
    )
    for label, seconds in (
        ("check (preview)", check_s),
        ("service import", service_s),
        ("admin import", admin_s),
    ):
        verdict = "OK" if seconds < TARGET_SECONDS else "MISSED"
        print(
            f"target {label} of {ORDERS:,} orders < {TARGET_SECONDS:.0f} s: {verdict} "
            f"({seconds:.3f} s)"
        )
    fresh()


def orders_csv_parse_payloads(text):
    from orders.csv_import.parse import orders_csv_parse

    return [order.payload for order in orders_csv_parse(text=text, max_rows=10**6).orders]


def main():
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only: set DATABASE_URL=postgres://.../bench_import")
    call_command("migrate", verbosity=0)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"database: postgresql ({settings.DATABASES['default']['NAME']}); load average {load} "
        f"on {os.cpu_count()} CPUs; openssl speed rsa2048: {openssl_signs()}"
    )
    bench()


if __name__ == "__main__":
    main()
