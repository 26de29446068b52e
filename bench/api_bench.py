"""Benchmark: orders of 3 items created through POST /api/v1/orders/ (gunicorn as
config/gunicorn.py runs it, PostgreSQL), against the create service called directly in one
process in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_api \\
        .venv/bin/python bench/api_bench.py [--connections 16] [--duration 15]

Creates a throwaway database (never `test`; dropped afterwards unless --keep), migrates it, makes
an API key (write scope) with the product's own service, writes one body per order (the
reference's sample with three items and a fresh reference_id) and has wrk (`apt-get install wrk`)
post them at --connections connections, each body once. Then it counts the orders stored (every
201 must have left one, with its three items) and prints orders/s, p50/p99, the CPU of gunicorn
and PostgreSQL per order, the rate of `order_create_from_payload` called directly (one process,
no HTTP), and `openssl speed rsa2048` signs/s for the machine.
Targets (issue 15): >= 200 orders/s, p99 < 150 ms on a 2-core machine.
"""

import argparse
import copy
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from callbacks_bench import checkout_key
from proc import database_cpu_seconds, openssl_signs_per_second, server_cpu_seconds, wrk_result

BASE_DIR = Path(__file__).resolve().parent.parent
# Posts one JSON body a line with an Authorization header: the callbacks bench's script serves.
LUA = Path(__file__).resolve().parent / "callbacks_wrk.lua"
URL_PATH = "/api/v1/orders/"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load")
    parser.add_argument("--orders", type=int, default=20_000, help="bodies written for wrk")
    parser.add_argument("--direct", type=int, default=2_000, help="orders made directly")
    parser.add_argument("--port", type=int, default=8415)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    name = urlparse(url).path.lstrip("/")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://.../NAME (a throwaway database name).")
    if name in ("", "test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to use database '{name}': give a throwaway name.")
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: on Debian/Ubuntu `apt-get install wrk`, then run again.")
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="api-bench-"))
    try:
        run(options, url, wrk, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not options.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def body(reference_id: str) -> dict:
    """The reference's sample order (the API's documented example) with three items."""
    from orders.api_schema import SAMPLE_BODY

    order = copy.deepcopy(SAMPLE_BODY)
    order["reference_id"] = reference_id
    first = order["items"][0]
    order["items"] = [
        first,
        {**copy.deepcopy(first), "name": "Snake Plant", "quantity": 2, "retailer_id": "SP-2"},
        {**copy.deepcopy(first), "name": "Jade Pot", "quantity": 3},
    ]
    return order


def run(options, url, wrk, workdir):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_hex(32),
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "memory://"),
        "WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE": str(checkout_key(workdir)),
        "API_THROTTLE_RATE": "1000000/min",  # the bench measures the work, not the limit
        "LOG_LEVEL": "ERROR",
    }
    os.environ.update(environment)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    from common.api.keys import api_key_create

    call_command("migrate", verbosity=0)
    _, key = api_key_create(name="bench", scopes=["write"])
    auth = f"Api-Key {key}"
    bodies = workdir / "bodies.txt"
    bodies.write_text(
        "".join(
            json.dumps(body(f"API-{n:07d}"), separators=(",", ":")) + "\n"
            for n in range(options.orders)
        )
    )
    direct = direct_rate(options.direct)

    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config=config/gunicorn.py",
            "config.wsgi:application",
            f"--bind=127.0.0.1:{options.port}",
            "--log-level=warning",
        ],
        cwd=BASE_DIR,
        env=environment,
    )
    target = f"http://127.0.0.1:{options.port}{URL_PATH}"
    try:
        wait_ready(target, auth, server)
        cpu_before = server_cpu_seconds(server.pid)
        database_before = database_cpu_seconds()
        result = wrk_result(
            wrk=wrk,
            url=target,
            script=LUA,
            script_args=[str(bodies), auth],
            connections=options.connections,
            duration=options.duration,
        )
        cpu = server_cpu_seconds(server.pid) - cpu_before
        database = database_cpu_seconds(since=database_before)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(options, result, cpu, database, direct)


def direct_rate(count: int) -> float:
    """Orders/s of order_create_from_payload called in this process (no HTTP, no auth)."""
    from orders.choices import EventSource
    from orders.intake import order_create_from_payload

    bodies = [body(f"DIRECT-{n:07d}") for n in range(count)]
    started = time.perf_counter()
    for data in bodies:
        order_create_from_payload(data=data, source=EventSource.API)
    return count / (time.perf_counter() - started)


def wait_ready(url, auth, server, timeout=60):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode} (is the port free?)")
        try:
            # An empty list is a body the endpoint reads and refuses (400): it answers.
            answer = requests.post(url, json=[], headers={"Authorization": auth}, timeout=2)
            if answer.status_code == 400:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {url} within {timeout}s")


def report(options, result, cpu, database, direct):
    from orders.models import Order, OrderItem

    stored = Order.objects.filter(reference_id__startswith="API-").count()
    items = OrderItem.objects.filter(order__reference_id__startswith="API-").count()
    created = result["requests"] - result["non2xx"]
    rate = result["rps"]
    print(
        f"POST {URL_PATH} (3-item orders), {options.connections} connections, gunicorn as "
        f"config/gunicorn.py, PostgreSQL"
    )
    print(
        f"  requests: {result['requests']:,} in {result['duration_us'] / 1e6:.1f} s, "
        f"non-2xx {result['non2xx']}, errors connect={result['connect']} "
        f"read={result['read']} timeout={result['timeout']}"
    )
    print(
        f"  orders/s: {rate:.0f}   p50: {result['p50_us'] / 1000:.1f} ms   "
        f"p90: {result['p90_us'] / 1000:.1f} ms   p99: {result['p99_us'] / 1000:.1f} ms"
    )
    print(
        f"  stored: {stored:,} orders with {items:,} items (2xx answers: {created:,}; repeats "
        f"of a body once the file ran out answer 200 with the stored order)"
    )
    print(
        f"  CPU per order: gunicorn {1000 * cpu / max(1, result['requests']):.2f} ms, "
        f"PostgreSQL {1000 * database / max(1, result['requests']):.2f} ms"
    )
    print(
        f"baseline, same run: order_create_from_payload called directly in one process: "
        f"{direct:.0f} orders/s"
    )
    signs = openssl_signs_per_second()
    print(
        f"machine: openssl speed rsa2048: {signs:.0f} signs/s"
        if signs
        else "machine: openssl not found"
    )
    ok = rate >= 200 and result["p99_us"] < 150_000 and items == 3 * stored
    print(
        f"targets (>= 200 orders/s, p99 < 150 ms, every order whole): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
