"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Sync workers, one per core plus one (WEB_CONCURRENCY overrides). WhatsApp's checkout calls
are CPU work (RSA, then a few short queries); the extra worker keeps the cores busy while
another waits for PostgreSQL (a commit's flush, a row lock). On a 2-core machine,
bench/checkout_bench.py measured at 32 connections: three sync workers held apply_coupon's p99
at 69-80 ms where two gave 78-105 ms, at the same requests per second on get_coupons; four, or
threads, fought over the cores and cost more CPU per request. Put a buffering proxy such as
nginx in front (as for any sync worker), so slow clients do not hold a worker.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
worker_class = "sync"
# The admin's largest pages (CSV exports of big code pools, reports) may take a while.
timeout = 120
backlog = 2048
