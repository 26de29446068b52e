"""Benchmark: 10,000 coupon messages through a real Celery worker and Redis to the Kaleyra
sandbox (20 ms latency, sends-per-second limit lifted), against bare requests.Session senders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python bench/messaging_bench.py [--processes 2] [--concurrency 32]

Prints: the admin action's time (10,000 pasted numbers -> batch queued), end-to-end messages per
second (action start to the last row accepted), and, in the same run against the same sandbox,
the rate of bare requests.Session threads (same concurrency, same JSON), with the ratio.
Targets on a 2-core machine: >= 500 msg/s end to end and >= 0.5 of the bare rate.
The worker runs the threads pool (sending is I/O bound); the database URL gets conn_max_age so
worker threads keep their connections. Its rows are deleted at the end.
"""

import argparse
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from proc import process_cpu

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")

SID, API_KEY, NUMBER = "BENCHSID", "bench-api-key", "+910000000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_conn_max_age(url: str) -> str:
    if "conn_max_age" in url:
        return url
    return url + ("&" if "?" in url else "?") + "conn_max_age=600"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    # As docker-compose.yml runs the workers: one process per core, 16 threads each.
    parser.add_argument("--concurrency", type=int, default=32, help="threads in all, per side")
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes sharing the concurrency"
    )
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--port", type=int, default=0, help="sandbox port (default: a free one)")
    args = parser.parse_args()

    db_url, broker = os.environ.get("DATABASE_URL", ""), os.environ.get("CELERY_BROKER_URL", "")
    if not db_url.startswith("postgres") or not broker.startswith("redis"):
        sys.exit("Set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... (see --help).")
    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": with_conn_max_age(db_url),
        "KALEYRA_API_BASE_URL": base_url,
        "KALEYRA_SID": SID,
        "KALEYRA_API_KEY": API_KEY,
        "KALEYRA_WHATSAPP_NUMBER": NUMBER,
        "KALEYRA_SENDS_PER_SECOND": "0",
        "KALEYRA_HTTP_POOL_SIZE": str(args.concurrency * 2),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    python = sys.executable
    sandbox = subprocess.Popen(
        [python, "manage.py", "kaleyra_sandbox", "--port", str(port), "--sid", SID,
         "--api-key", API_KEY, "--number", NUMBER, "--latency-ms", str(args.latency_ms)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(args.concurrency // args.processes),
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "--hostname",
                f"bench{n}@%h",
            ],
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        for n in range(args.processes)
    ]
    try:
        wait_for(base_url)
        wait_for_worker(env, args.processes)
        run(args, base_url, worker_pids=[w.pid for w in workers], sandbox_pid=sandbox.pid)
    finally:
        for process in (*workers, sandbox):
            process.terminate()
        for process in (*workers, sandbox):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(base_url):
    import requests

    deadline = time.monotonic() + 60  # a busy machine starts Django slowly
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base_url}/_sandbox/config", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    sys.exit("The sandbox did not start within 60 s.")


def wait_for_worker(env, count=1):
    from config.celery import app

    for _ in range(60):
        if len(app.control.ping(timeout=0.5)) >= count:
            return
    sys.exit("The workers did not start.")


def run(args, base_url, *, worker_pids, sandbox_pid):
    import requests
    from django.contrib.admin import AdminSite, ModelAdmin
    from django.contrib.auth import get_user_model
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.test import RequestFactory

    from coupons.models import Coupon
    from messaging.admin_actions import SendMessagesPermissionMixin, send_coupon_code
    from messaging.models import SendBatch, SentMessage

    coupon, _ = Coupon.objects.get_or_create(
        code="BENCH10",
        defaults={
            "public_id": "bench_10",
            "description": "Benchmark coupon",
            "discount_type": Coupon.DiscountType.FIXED,
            "amount_off": 1000,
        },
    )
    user, _ = get_user_model().objects.get_or_create(
        username="messaging-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    phones = [f"+9198{n:08d}" for n in range(args.messages)]
    request = RequestFactory().post(
        "/admin/coupons/coupon/",
        {
            "action": "send_coupon_code",
            "_selected_action": [coupon.pk],
            "template_name": "coupon_code",
            "language": "en_US",
            "recipients": "\n".join(phones),
            "_send": "Send",
        },
    )
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    modeladmin = type("CouponAdmin", (SendMessagesPermissionMixin, ModelAdmin), {})(
        Coupon, AdminSite()
    )
    queryset = Coupon.objects.filter(pk=coupon.pk)

    worker_cpu = sum(process_cpu(pid)[1] for pid in worker_pids)
    sandbox_cpu = process_cpu(sandbox_pid)[1]
    started = time.perf_counter()
    response = send_coupon_code(modeladmin, request, queryset)
    action_seconds = time.perf_counter() - started
    batch = SendBatch.objects.latest("pk")
    assert response is not None and response.status_code == 302, "the action did not queue"
    rows = SentMessage.objects.filter(batch=batch)
    total = rows.count()
    assert total == args.messages, f"queued {total} of {args.messages}"
    while rows.filter(status__in=["queued", "sending"]).exists():
        time.sleep(0.05)
    end_to_end = time.perf_counter() - started
    worker_cpu = sum(process_cpu(pid)[1] for pid in worker_pids) - worker_cpu
    sandbox_cpu = process_cpu(sandbox_pid)[1] - sandbox_cpu
    accepted = rows.filter(status="accepted", provider_message_id__isnull=False).count()
    body = rows.first().payload
    report = requests.get(f"{base_url}/_sandbox/messages?bodies=0", timeout=30).json()
    duplicates = len(report["duplicates"])

    bare_cpu = time.process_time()
    bare_seconds = bare_senders(base_url, body, args.messages, args.concurrency)
    bare_cpu = time.process_time() - bare_cpu
    e2e_rate = total / end_to_end
    bare_rate = args.messages / bare_seconds

    SentMessage.objects.filter(batch=batch).delete()
    batch.delete()

    print(f"messages:               {total} ({accepted} accepted, {duplicates} duplicates)")
    print(
        f"worker:                 {args.processes} process(es), threads pool, "
        f"concurrency {args.concurrency} in all"
    )
    print(f"sandbox latency:        {args.latency_ms:.0f} ms, limiter lifted")
    print(f"admin action:           {action_seconds:.3f} s for {total} numbers")
    print(f"end to end:             {end_to_end:.2f} s = {e2e_rate:.0f} msg/s (target >= 500)")
    print(f"bare requests senders:  {bare_seconds:.2f} s = {bare_rate:.0f} msg/s")
    print(f"ratio end-to-end/bare:  {e2e_rate / bare_rate:.2f} (target >= 0.5)")
    print(
        f"CPU during end to end:  worker {worker_cpu:.1f} s "
        f"({1000 * worker_cpu / total:.2f} ms/msg), sandbox {sandbox_cpu:.1f} s; "
        f"bare senders {1000 * bare_cpu / args.messages:.2f} ms/msg; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


def bare_senders(base_url, body, count, concurrency) -> float:
    """`concurrency` threads, one requests.Session each, posting the same JSON."""
    import requests

    url = f"{base_url}/v2/{SID}/whatsapp/{NUMBER}/messages"
    data = json.dumps(body).encode()
    jobs = queue.Queue()
    for _ in range(count):
        jobs.put(None)
    failures = []

    def sender():
        session = requests.Session()
        session.trust_env = False  # as the product's client does (see messaging/client.py)
        headers = {"api-key": API_KEY, "Content-Type": "application/json"}
        while True:
            try:
                jobs.get_nowait()
            except queue.Empty:
                return
            response = session.post(url, data=data, headers=headers, timeout=(5, 15))
            if response.status_code != 202:
                failures.append(response.status_code)

    threads = [threading.Thread(target=sender) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        print(f"bare senders: {len(failures)} failures: {failures[:5]}")
    return elapsed


if __name__ == "__main__":
    main()
