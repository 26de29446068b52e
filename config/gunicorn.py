"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Sync workers, one per core (WEB_CONCURRENCY overrides). WhatsApp's checkout calls are CPU work
(RSA, then a few short queries): on a 2-core machine, bench/checkout_bench.py measured the
most requests per second and the shortest p99 with two sync workers. Threads or more processes
fought over the cores, and each request cost more CPU. Put a buffering proxy such as nginx in
front (as for any sync worker), so slow clients do not hold a worker.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_class = "sync"
# The admin's largest pages (CSV exports of big code pools, reports) may take a while.
timeout = 120
backlog = 2048
