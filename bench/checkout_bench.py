"""Benchmark of POST /checkout/ under gunicorn on loopback, driven by wrk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> python bench/checkout_bench.py

Needs: `wrk` on PATH (Debian: `apt-get install wrk`; the script installs nothing and stops if it
is missing), gunicorn in this virtualenv, and a database it may migrate and fill with bench
orders (DATABASE_URL; default a throwaway SQLite file, which serializes writes). All crypto of
the client side (WhatsApp's) is done before the clock starts: wrk posts pre-encrypted, pre-signed
bodies. In the same run it times the bare server-side crypto per request (RSA-OAEP decryption of
the AES key, AES-GCM decryption of the request and encryption of the answer) as the floor.

apply_coupon: each request switches one of the bench orders (one customer each, --orders of
them, taken in turn) between two coupons, so it writes every time (release one, reserve the
other, order, event): apply_coupon with the demo's coupons, which have no limits (no counter),
apply_coupon_limited with two that have a usage limit and a per-customer limit (the customer's
lock, and both counters changed last, one order at a time from that UPDATE to its commit).

Prints, per scenario: requests/s, p50/p90/p99 latency, non-2xx answers, how many requests
actually wrote (order events per request), and the CPU time gunicorn's processes spent per
request (read from /proc, so it holds even when other work shares the cores; compared with the
crypto floor, and turned into the most the cores could serve).
"""

import argparse
import importlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proc import database_cpu_seconds, server_cpu_seconds, wrk_result

BASE_DIR = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "checkout_wrk.lua"
TARGETS = {  # req/s, p99 ms (issue 5)
    "get_coupons": (600, 100),
    "apply_coupon": (300, 100),
    "apply_coupon_limited": (300, 100),
}
# A coupon with a usage limit (high enough never to run out here) and a per-customer limit: its
# applies take the customer's lock, and change the coupon's counter one order at a time.
LIMITED_COUPONS = ("BENCHCAP1", "BENCHCAP2")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8400)
    # Without these, gunicorn runs as the product ships it: config/gunicorn.py (sync workers,
    # one per core plus one).
    parser.add_argument("--workers", type=int, help="default: config/gunicorn.py's")
    parser.add_argument("--threads", type=int, default=1, help="gthread when above 1")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each scenario")
    parser.add_argument("--orders", type=int, default=200, help="bench orders to spread writes on")
    parser.add_argument(
        "--scenarios",
        default="ping,get_coupons,apply_coupon,apply_coupon_limited,apply_shipping",
        help="comma-separated; ping is the transport alone (signature, decryption, answer); "
        "apply_coupon switches each of the bench orders (one customer each) between two demo "
        "coupons without limits, apply_coupon_limited between two coupons with a usage and a "
        "per-customer limit: every request releases one coupon and reserves the other",
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    options = parser.parse_args()

    wrk = shutil.which("wrk")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if wrk is None:
        sys.exit("wrk is not installed: on Debian/Ubuntu `apt-get install wrk`, then run again.")
    if not gunicorn.exists():
        sys.exit(f"gunicorn is not in this virtualenv ({gunicorn}): pip install -e '.[dev]'.")

    workdir = Path(tempfile.mkdtemp(prefix="checkout-bench-"))
    try:
        run(options, wrk, gunicorn, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(options, wrk, gunicorn, workdir):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = workdir / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    app_secret = secrets.token_hex(16)
    database_url = options.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if database_url.startswith("postgres") and "conn_max_age" not in database_url:
        database_url += ("&" if "?" in database_url else "?") + "conn_max_age=60"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_hex(32),
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        "WHATSAPP_CHECKOUT_PRIVATE_KEY": "",
        "WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE": str(key_path),
        "WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE": "",
        "WHATSAPP_APP_SECRET": app_secret,
        "LOG_LEVEL": "ERROR",
    }
    os.environ.update(environment)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.db import OperationalError

    try:
        references = prepare_database(options.orders)
    except OperationalError as error:
        sys.exit(f"Cannot use the database {database_url}: {error}")
    scenarios = [name.strip() for name in options.scenarios.split(",") if name.strip()]
    bodies = {
        name: write_bodies(workdir, name, references, key.public_key(), app_secret)
        for name in scenarios
    }
    floor = crypto_floor(key, references[0])

    server = subprocess.Popen(
        [
            str(gunicorn),
            "--config=config/gunicorn.py",
            "config.wsgi:application",
            f"--bind=127.0.0.1:{options.port}",
            *([f"--workers={options.workers}"] if options.workers else []),
            *(
                [f"--threads={options.threads}", "--worker-class=gthread"]
                if options.threads > 1
                else []
            ),
            "--log-level=warning",
        ],
        cwd=BASE_DIR,
        env=environment,
    )
    url = f"http://127.0.0.1:{options.port}/checkout/"
    results = {}
    try:
        wait_ready(url, key.public_key(), app_secret, server)
        load_before = os.getloadavg()
        for name in scenarios:
            wrk_run(wrk, url, bodies[name], options, options.warmup)  # warm-up, not counted
            events_before, cpu_before = order_events(), server_cpu_seconds(server.pid)
            database_before = database_cpu_seconds()
            results[name] = wrk_run(wrk, url, bodies[name], options, options.duration)
            results[name]["writes"] = order_events() - events_before
            results[name]["cpu_s"] = server_cpu_seconds(server.pid) - cpu_before
            results[name]["db_cpu_s"] = database_cpu_seconds(since=database_before)
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(options, database_url, floor, results, load_before, load_after)


def prepare_database(count):
    """Migrated schema, the demo data, and `count` copies of the demo order (bench customers)."""
    from django.core.management import call_command

    from checkout.models import ShippingRule
    from config.demo import DEMO_REFERENCE_ID, demo_load
    from coupons.models import Coupon
    from orders.models import Order, OrderAddress, OrderItem

    call_command("migrate", verbosity=0)
    demo_load()
    ShippingRule.objects.get_or_create(
        pincode_prefix="400050", defaults={"name": "Bench: Bandra West", "cost": 30000}
    )
    for code in LIMITED_COUPONS:
        Coupon.objects.get_or_create(
            code=code,
            defaults={
                "public_id": code.lower(),
                "description": "Bench: limited",
                "discount_type": Coupon.DiscountType.FIXED,
                "amount_off": 2500,
                "usage_limit": 1_000_000,
                "per_customer_limit": 1,
            },
        )
    demo = Order.objects.get(reference_id=DEMO_REFERENCE_ID)
    item = demo.items.get()
    address = demo.addresses.get()
    references = []
    for number in range(1, count + 1):
        reference_id = f"BENCH-{number:04d}"
        references.append(reference_id)
        if Order.objects.filter(reference_id=reference_id).exists():
            continue
        order = Order.objects.get(pk=demo.pk)
        order.pk = None
        order.reference_id = reference_id
        order.customer_phone = f"+9190001{number:05d}"
        order.selected_address = None
        order.coupon_code, order.coupon_discount = "", 0
        order.save()
        OrderItem.objects.create(
            **{
                f.name: getattr(item, f.name)
                for f in item._meta.fields
                if f.name not in ("id", "order")
            },
            order=order,
        )
        OrderAddress.objects.create(
            **{
                f.name: getattr(address, f.name)
                for f in address._meta.fields
                if f.name not in ("id", "order")
            },
            order=order,
        )
    return references


def exchange(sub_action, reference_id, phone, **given):
    return {
        "version": "1.0",
        "action": "data_exchange",
        "sub_action": sub_action,
        "data": {
            "order_details": {"reference_id": reference_id},
            "input": {"user_id": phone, **given},
        },
    }


def payloads(name, references):
    """Requests that change the order every time for the writing scenarios: two coupons (or two
    addresses) alternate on each order."""
    from config.demo import DEMO_ADDRESS
    from orders.models import Order

    phones = dict(
        Order.objects.filter(reference_id__in=references).values_list(
            "reference_id", "customer_phone"
        )
    )
    if name == "ping":
        yield from ({"version": "3.0", "action": "ping"} for _ in references)
        return
    rounds = {
        "get_coupons": [{}],
        "apply_coupon": [{"coupon": {"code": "TRYNEW20"}}, {"coupon": {"code": "TRYNEW30"}}],
        "apply_coupon_limited": [{"coupon": {"code": code}} for code in LIMITED_COUPONS],
        "apply_shipping": [
            {"selected_address": DEMO_ADDRESS},
            {"selected_address": {**DEMO_ADDRESS, "in_pin_code": "400050"}},
        ],
    }[name]
    for given in rounds:
        for reference_id in references:
            sub_action = name.removesuffix("_limited")
            yield exchange(sub_action, reference_id, str(phones[reference_id]).lstrip("+"), **given)


def write_bodies(workdir, name, references, public_key, app_secret):
    from checkout.crypto import request_encrypt, signature_compute

    path = workdir / f"{name}.bodies"
    with path.open("w") as file:
        for payload in payloads(name, references):
            envelope, _, _ = request_encrypt(payload, public_key)
            body = json.dumps(envelope)
            file.write(f"{signature_compute(body.encode(), app_secret)}\t{body}\n")
    return path


def crypto_floor(key, reference_id, rounds=2000):
    """Server-side crypto alone, one core: RSA-OAEP decrypt + AES-GCM decrypt + AES-GCM encrypt
    of an order_details-sized answer."""
    from checkout.crypto import request_decrypt, request_encrypt, response_encrypt
    from orders.models import Order
    from orders.serializers import order_details_build

    answer = {
        "data": {"order_details": order_details_build(Order.objects.get(reference_id=reference_id))}
    }
    envelopes = [
        request_encrypt(exchange("apply_coupon", reference_id, "919000100001"), key.public_key())[0]
        for _ in range(rounds)
    ]
    started = time.perf_counter()
    for envelope in envelopes:
        decrypted = request_decrypt(envelope, key)
        response_encrypt(answer, aes_key=decrypted.aes_key, iv=decrypted.iv)
    return (time.perf_counter() - started) / rounds * 1000


def wait_ready(url, public_key, app_secret, server, timeout=60):
    import requests

    from checkout.crypto import request_encrypt, signature_compute

    envelope, _, _ = request_encrypt({"version": "3.0", "action": "ping"}, public_key)
    body = json.dumps(envelope).encode()
    headers = {"X-Hub-Signature-256": signature_compute(body, app_secret)}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode} (is port {url} free?)")
        try:
            if requests.post(url, data=body, headers=headers, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {url} within {timeout}s")


def wrk_run(wrk, url, bodies, options, duration):
    return wrk_result(
        wrk=wrk,
        url=url,
        script=LUA,
        script_args=[str(bodies), str(secrets.randbelow(1_000_000))],
        connections=options.connections,
        duration=duration,
    )


def order_events():
    from orders.models import OrderEvent

    return OrderEvent.objects.count()


def report(options, database_url, floor, results, load_before, load_after):
    from django.db import connection

    options_text = database_url.split("?")[-1] if "?" in database_url else "no options"
    print("\nCheckout endpoint benchmark")
    print(
        f"  machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"load average {load_before[0]:.2f} before / {load_after[0]:.2f} after "
        "(other work on the machine included)"
    )
    workers = options.workers or importlib.import_module("config.gunicorn").workers
    print(
        f"  server: gunicorn {workers} workers x {options.threads} threads "
        f"({'gthread' if options.threads > 1 else 'sync'}), DEBUG off, "
        f"database {connection.vendor} ({options_text})"
    )
    print(
        f"  load: wrk (1 thread), {options.connections} connections, {options.duration}s per "
        f"scenario after {options.warmup}s warm-up, pre-encrypted pre-signed bodies"
    )
    print(
        f"\n  floor: server-side crypto alone {floor:.3f} ms/request on one core "
        f"(= {1000 / floor:,.0f} req/s per core)"
    )
    print(
        f"\n  {'scenario':<16}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
        f"{'non-2xx':>9}{'errors':>8}{'writes/req':>11}{'CPU ms/req':>11}{'DB CPU':>8}  target"
    )
    cores = os.cpu_count()
    for name, r in results.items():
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
        writes = r["writes"] / r["requests"] if r["requests"] else 0
        cpu = r["cpu_s"] * 1000 / r["requests"] if r["requests"] else 0
        db_cpu = r["db_cpu_s"] * 1000 / r["requests"] if r["requests"] else 0
        target = ""
        if name in TARGETS:
            rps, p99 = TARGETS[name]
            met = r["rps"] >= rps and r["p99_us"] / 1000 < p99
            target = f"{'met' if met else 'MISSED'} (>{rps} req/s, p99 <{p99} ms)"
        print(
            f"  {name:<16}{r['rps']:>9,.0f}{r['p50_us'] / 1000:>9.1f}{r['p90_us'] / 1000:>9.1f}"
            f"{r['p99_us'] / 1000:>9.1f}{r['non2xx']:>9}{errors:>8}{writes:>11.2f}{cpu:>11.2f}"
            f"{db_cpu:>8.2f}  {target}"
        )
        if cpu:
            print(
                f"  {'':<16}server CPU/request = {cpu / floor:.1f} x the crypto floor; with "
                f"PostgreSQL's, {cores} cores could serve at most "
                f"{cores * 1000 / (cpu + db_cpu):,.0f} req/s (wrk's CPU not counted)"
            )


if __name__ == "__main__":
    main()
