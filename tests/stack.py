"""Real processes for integration tests: a Celery worker that shares the test database.

The test process commits (transactional_db / live_server) and publishes to the configured
broker; the worker, started here with the same settings module, consumes and writes back.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def current_database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery -A config worker` in a subprocess; its output is kept for failure messages."""

    def __init__(self, *, concurrency=8, pool="threads", broker_url=None, **variables):
        self.argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": current_database_url(),
            "CELERY_BROKER_URL": broker_url or settings.CELERY_BROKER_URL,
            **{name: str(value) for name, value in variables.items()},
        }
        self.process = None
        self.output = []
        self._ready = threading.Event()

    def start(self, *, wait=60.0):
        self._ready.clear()
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if not self._ready.wait(wait):
            self.stop()
            raise RuntimeError("The Celery worker did not start:\n" + self.log())
        return self

    def _read(self, process):
        for line in process.stdout:
            self.output.append(line)
            if " ready." in line:
                self._ready.set()

    def log(self, last=60):
        return "".join(self.output[-last:])

    def kill(self):
        """SIGKILL, as a crash or an OOM kill would."""
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(predicate, *, timeout=60.0, interval=0.25, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
