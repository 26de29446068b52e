"""Benchmark: Kaleyra delivery and payment callbacks posted to gunicorn on PostgreSQL, against
the end-to-end send rate of bench/messaging_bench.py measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/callbacks_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python bench/callbacks_bench.py [--messages 10000] [--orders 5000]

Creates a throwaway database (never `test`; dropped afterwards unless --keep), migrates it, makes
--orders orders (copies of the demo order) and --messages accepted messages, and writes one
callback body per event: for each message its sent, delivered and read statuses (Kaleyra's v2
format) and for each order a pending then a captured payment update (the reference digest's
shape, the order's own total), shuffled. wrk (`apt-get install wrk`) posts them at
--connections connections to gunicorn as config/gunicorn.py runs it (HTTP Basic, as Kaleyra's
callback profile does), each body once while they last. Then it counts rows: every 2xx answer
must have left a stored receipt (none lost), and reports events/s, p50/p99 and the CPU of
gunicorn and PostgreSQL per event. In the same run, bench/messaging_bench.py (10,000 messages
through a worker to the sandbox) gives the send rate the callbacks must keep up with:
a shop's callbacks come at about 3 per message sent (sent, delivered, read).
Targets (issue 14): events/s >= 3 x the send rate, p99 < 100 ms, none lost.

A Celery worker applies the stored receipts (CALLBACKS_APPLY=queued). By default (--worker
after) it is booted but takes no task until the load ends: the endpoint's rate, which the target
is about, is measured with the machine to itself, as the send rate is, and the worker's rate
separately (a deployment whose worker has cores of its own). With --worker during it applies
while the load runs, on the same cores as gunicorn, PostgreSQL and wrk (a one-box deployment:
every callback is then taken and applied on the two cores, so the figure is lower). Both report
how long applying every receipt took.
"""

import argparse
import base64
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from proc import (
    database_cpu_seconds,
    machine_speed,
    process_cpu,
    server_cpu_seconds,
    wrk_result,
)

BASE_DIR = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "callbacks_wrk.lua"
USER, PASSWORD = "kaleyra", secrets.token_urlsafe(16)
# The readiness probes' body: a valid status for a message that does not exist (stored once as an
# unmatched event, repeats counted). Probing with a body the endpoint refuses (it used to post
# `[]`) logged a "Bad Request" warning per probe, which read like refusals during the load.
PROBE = json.dumps({"id": "bench-probe", "status": "sent"}).encode()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load (at most)")
    parser.add_argument("--port", type=int, default=8410)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--skip-send-bench", action="store_true")
    parser.add_argument(
        "--apply",
        choices=["queued", "inline"],
        default="queued",
        help="CALLBACKS_APPLY: queued (a Celery worker applies the receipts; the default) or "
        "inline (each request applies its own)",
    )
    parser.add_argument(
        "--worker",
        choices=["during", "after"],
        default="after",
        help="after (the default): the worker starts taking tasks when the load ends, so the "
        "endpoint is measured alone and the worker's rate separately (as with the worker on "
        "cores of its own); during: the worker applies while the callbacks come in, on the "
        "same cores (a one-box deployment)",
    )
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    name = urlparse(url).path.lstrip("/")
    if not url.startswith("postgres") or not broker.startswith("redis"):
        sys.exit("Set DATABASE_URL=postgres://.../NAME and CELERY_BROKER_URL=redis://... .")
    if name in ("", "test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to use database '{name}': give a throwaway name.")
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: on Debian/Ubuntu `apt-get install wrk`, then run again.")

    print(f"before: {machine_speed() or 'openssl speed: not available'}", flush=True)
    send_rate = None if options.skip_send_bench else messaging_bench_rate(url, broker)
    if send_rate:
        quiet_wait(url)  # the send bench's checkpoint and clean-up done before the load

    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="callbacks-bench-"))
    try:
        run(options, url, broker, wrk, workdir, send_rate)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not options.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def messaging_bench_rate(url, broker) -> float:
    """The end-to-end send rate of bench/messaging_bench.py, on a database of its own."""
    import psycopg

    name = urlparse(url).path.lstrip("/") + "_send"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        result = subprocess.run(
            [sys.executable, str(BASE_DIR / "bench" / "messaging_bench.py")],
            env={**os.environ, "DATABASE_URL": url.rsplit("/", 1)[0] + "/" + name},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    match = re.search(r"end to end:\s+[\d.]+ s = (\d+) msg/s", result.stdout)
    if match is None:
        sys.exit(f"messaging_bench.py printed no send rate:\n{result.stdout[-2000:]}")
    return float(match[1])


def quiet_wait(url, timeout=90) -> None:
    """A CHECKPOINT, then wait until the CPUs are idle (90% over a second) again."""
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu_times()
        time.sleep(1)
        after = _cpu_times()
        busy, idle = (a - b for a, b in zip(after, before, strict=True))
        if idle / max(busy + idle, 1) >= 0.9:
            return


def _cpu_times() -> tuple[int, int]:
    """(busy, idle) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, idle


def run(options, url, broker, wrk, workdir, send_rate):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_hex(32),
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "KALEYRA_CALLBACK_BASIC_AUTH": f"{USER}:{PASSWORD}",
        "WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE": str(checkout_key(workdir)),
        "LOG_LEVEL": "ERROR",
        "CALLBACKS_APPLY": options.apply,
    }
    os.environ.update(environment)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    bodies = workdir / "bodies.txt"
    started = time.monotonic()
    events = prepare(options, bodies)
    print(f"prepared {events:,} callback bodies in {time.monotonic() - started:.1f} s")

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
    target = f"http://127.0.0.1:{options.port}/kaleyra/callbacks/"
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    worker = None
    try:
        wait_ready(target, auth, server)
        worker = worker_start(environment)
        if options.worker == "after":  # booted, but takes no task until the load ended
            worker_consume(False)
        from messaging.models import CallbackReceipt

        receipts_before = CallbackReceipt.objects.count()  # the readiness probes'
        cpu_before = server_cpu_seconds(server.pid)
        worker_before = process_cpu(worker.pid)[1]
        database_before = database_cpu_seconds()
        load_before = os.getloadavg()
        started = time.monotonic()
        result = wrk_result(
            wrk=wrk,
            url=target,
            script=LUA,
            script_args=[str(bodies), auth],
            connections=options.connections,
            duration=min(options.duration, max(1, int(events / 800))),
        )
        cpu = server_cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()
        if options.worker == "after":  # timed from when the worker takes tasks again
            worker_before = process_cpu(worker.pid)[1]
            started = time.monotonic()
            worker_consume(True)
        drained = applied_wait(started)
        worker_cpu = process_cpu(worker.pid)[1] - worker_before
        database = database_cpu_seconds(since=database_before)
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
        for process in (server, worker):
            if process is not None:
                process.wait(timeout=30)
    speed = machine_speed()
    report(
        options,
        result,
        {"gunicorn": cpu, "worker": worker_cpu, "database": database, "drained": drained},
        load_before,
        load_after,
        send_rate,
        speed,
        receipts_before,
    )


def worker_start(environment):
    """One worker process applies the receipts (solo pool: the work is CPU and database bound),
    booted (and its start-up sweep run) before its CPU is read."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--loglevel", "ERROR", "--without-mingle", "--without-gossip", "--without-heartbeat",
         "--hostname", WORKER_NAME],
        cwd=BASE_DIR, env=environment,
    )  # fmt: skip
    worker_wait()
    return worker


WORKER_NAME = f"callbacks-bench-{os.getpid()}@{socket.gethostname()}"


def worker_consume(on: bool) -> None:
    """Have the worker stop (or start again) taking tasks from its queue (Celery's remote
    control: the wake-ups sent meanwhile wait in Redis)."""
    from config.celery import app

    control = app.control.add_consumer if on else app.control.cancel_consumer
    if not control("celery", destination=[WORKER_NAME], reply=True, timeout=10):
        sys.exit("The Celery worker did not answer.")


def worker_wait(timeout=60):
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            time.sleep(2)  # the start-up sweep (messages_sweep_task) it queues for itself
            return
    sys.exit("The Celery worker did not start.")


def applied_wait(started, timeout=300) -> float | None:
    """Seconds from the start of the load until every receipt's events are stored and applied
    (None if that takes longer than `timeout`)."""
    from messaging.models import CallbackEvent, CallbackReceipt

    while time.monotonic() - started < timeout:
        waiting = CallbackReceipt.objects.filter(parsed_at__isnull=True).exists()
        if not waiting and not CallbackEvent.objects.filter(processed_at__isnull=True).exists():
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def checkout_key(workdir) -> Path:
    """The web server refuses to start without the checkout endpoint's key: a throwaway one,
    made by the product's own `checkout_keygen`."""
    path = workdir / "key.pem"
    subprocess.run(
        [sys.executable, "manage.py", "checkout_keygen", "--out", str(path)],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "ERROR"},
        capture_output=True,
        check=True,
    )
    return path


def prepare(options, path: Path) -> int:
    """The schema, the orders, the accepted messages and one body per event (shuffled)."""
    from django.core.management import call_command
    from django.utils import timezone

    from config.demo import DEMO_REFERENCE_ID, demo_load
    from messaging.models import MessageKind, MessageStatus, SendBatch, SentMessage
    from orders.models import Order, OrderItem
    from orders.money import order_totals

    call_command("migrate", verbosity=0)
    demo_load()
    demo = Order.objects.get(reference_id=DEMO_REFERENCE_ID)
    item = demo.items.get()
    item_fields = [f.name for f in item._meta.fields if f.name not in ("id", "order")]
    orders = []
    for number in range(1, options.orders + 1):
        order = Order.objects.get(pk=demo.pk)
        order.pk, order.reference_id = None, f"CB-{number:06d}"
        order.customer_phone = f"+9190002{number:05d}"
        order.selected_address, order.coupon_code, order.coupon_discount = None, "", 0
        orders.append(order)
    Order.objects.bulk_create(orders, batch_size=1000)
    orders = list(Order.objects.filter(reference_id__startswith="CB-"))
    OrderItem.objects.bulk_create(
        [OrderItem(order=o, **{n: getattr(item, n) for n in item_fields}) for o in orders],
        batch_size=1000,
    )
    total = order_totals(demo, items=[item]).total
    batch = SendBatch.objects.create(name="Callbacks bench", kind=MessageKind.ORDER_STATUS)
    now = timezone.now()
    SentMessage.objects.bulk_create(
        [
            SentMessage(
                batch=batch,
                kind=MessageKind.ORDER_STATUS,
                recipient=f"+9190003{number:05d}",
                template_name="order_status",
                payload={},
                ref=f"cb-{number}",
                ref1="order_status",
                ref2=batch.name,
                status=MessageStatus.ACCEPTED,
                provider_message_id=f"cb-msg-{number}",
                accepted_at=now,
            )
            for number in range(1, options.messages + 1)
        ],
        batch_size=2000,
    )
    stamp = int(time.time()) - 3600
    lines = []
    for number in range(1, options.messages + 1):
        for step, status in enumerate(("sent", "delivered", "read")):
            lines.append(delivery_body(number, status, stamp + step, batch.name))
    for order in orders:
        for step, status in enumerate(("pending", "captured")):
            lines.append(payment_body(order.reference_id, status, total, stamp + step))
    random.Random(7).shuffle(lines)
    path.write_text("\n".join(json.dumps(line, separators=(",", ":")) for line in lines) + "\n")
    return len(lines)


def delivery_body(number, status, timestamp, batch_name) -> dict:
    """Kaleyra's v2 status callback (meta_object holds WhatsApp's change object)."""
    return {
        "meta_object": {
            "field": "messages",
            "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "910000000000"},
                "statuses": [
                    {
                        "id": f"wamid.cb{number}",
                        "status": status,
                        "timestamp": str(timestamp),
                        "recipient_id": f"9190003{number:05d}",
                    }
                ],
            },
        },
        "extra_info": {
            "message_id": f"cb-msg-{number}",
            "ref": f"cb-{number}",
            "ref1": "order_status",
            "ref2": batch_name,
        },
    }


def payment_body(reference_id, status, total, timestamp) -> dict:
    """Kaleyra's payment update, in the shape of ../shared/reference/README.md's sample."""
    amount = {"offset": 100, "value": total}
    return {
        "id": f"wamid.pay-{reference_id}-{status}",
        "type": "payment",
        "status": status,
        "phone_number": "919000090000",
        "payment": {
            "reference_id": reference_id,
            "amount": amount,
            "currency": "INR",
            "receipt": "",
            "transaction": {
                "id": f"order_{reference_id}",
                "type": "razorpay",
                "status": "success" if status == "captured" else "pending",
                "amount": amount,
                "currency": "INR",
                "created_timestamp": timestamp,
                "updated_timestamp": timestamp + (5 if status == "captured" else 0),
                "refunds": None,
            },
        },
    }


def wait_ready(url, auth, server, timeout=60):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode} (is the port free?)")
        try:
            answer = requests.post(url, data=PROBE, headers={"Authorization": auth}, timeout=2)
            if answer.status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.3)
    else:
        sys.exit(f"gunicorn did not answer {url} within {timeout}s")
    # Every worker booted and warm before the CPU is read: a few probes at once, twice.
    with ThreadPoolExecutor(8) as pool:
        for _ in range(2):
            list(pool.map(lambda _: _probe(url, auth), range(8)))


def _probe(url, auth):
    import requests

    requests.post(url, data=PROBE, headers={"Authorization": auth}, timeout=30)


def report(options, result, cpu, load_before, load_after, send_rate, speed, receipts_before):
    from messaging.models import CallbackEvent, CallbackReceipt, InboundEvent

    answered = result["requests"] - result["non2xx"]
    receipts = CallbackReceipt.objects.count() - receipts_before
    statuses = CallbackEvent.objects.exclude(top_message_id="bench-probe").count()
    applied = CallbackEvent.objects.filter(message__isnull=False).count()
    payments = InboundEvent.objects.filter(event_type="payment").count()
    requests = max(result["requests"], 1)
    print()
    print("Kaleyra callbacks benchmark")
    print(
        f"  machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} before / "
        f"{load_after[0]:.2f} after; {speed or 'openssl speed: not available'}"
    )
    print(
        f"  load: wrk, {options.connections} connections, {result['duration_us'] / 1e6:.1f} s, "
        "each body once (3 statuses per message, pending + captured per order, shuffled); "
        + (
            "a worker applying on the same cores"
            if options.worker == "during"
            else "no worker until the load ended"
        )
    )
    print(
        f"  events/s:        {result['rps']:,.0f}   (requests {result['requests']:,}, "
        f"non-2xx {result['non2xx']}, socket errors "
        f"{result['connect'] + result['read'] + result['write'] + result['timeout']})"
    )
    print(
        f"  latency:         p50 {result['p50_us'] / 1000:.1f} ms, p90 "
        f"{result['p90_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms "
        f"(target < 100 ms)"
    )
    drained = cpu["drained"]
    print(
        f"  applied:         all {receipts:,} receipts' events stored and applied "
        + (
            f"{drained:.1f} s after the "
            + (
                "load started"
                if options.worker == "during"
                else "worker began taking tasks (once the load ended)"
            )
            + f" = {receipts / drained:,.0f} events/s (CALLBACKS_APPLY={options.apply})"
            if drained
            else "NOT within 300 s"
        )
    )
    print(
        f"  CPU per event:   gunicorn {cpu['gunicorn'] / requests * 1000:.2f} ms, worker "
        f"{cpu['worker'] / requests * 1000:.2f} ms, PostgreSQL "
        f"{cpu['database'] / requests * 1000:.2f} ms (database: until applied)"
    )
    print(
        f"  rows after:      {receipts:,} receipts for {answered:,} 2xx answers "
        f"(lost: {max(answered - receipts, 0)}), {statuses:,} status events "
        f"({applied:,} applied to their messages), {payments:,} payment events"
    )
    if send_rate:
        ratio = result["rps"] / send_rate
        print(
            f"  send rate (messaging_bench.py, same run): {send_rate:,.0f} msg/s; callbacks "
            f"{ratio:.1f} x that "
            + (
                "(target >= 3)"
                if options.worker == "after"
                else "(the worker sharing the cores; the target is measured with --worker after)"
            )
            + (f"; applied {receipts / drained / send_rate:.1f} x" if drained else "")
        )


if __name__ == "__main__":
    main()
