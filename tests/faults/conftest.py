"""The faults suite's stack: the Kaleyra sandbox posting its callbacks to a live server, real
Celery workers on the test database, and one summary line per scenario in the terminal report."""

import subprocess
import time

import pytest
import redis

from messaging.sandbox import KaleyraSandbox, SandboxConfig
from tests.stack import Worker

SID = "FAULTSSID"
API_KEY = "faults-api-key"
NUMBER = "+919999900000"
CALLBACK_AUTH = "kaleyra:faults-callback-secret"
CONCURRENCY = 8
# The TCP ports this suite may use for its own servers (the sandbox, a Redis to restart).
PORTS = range(8500, 8600)

SUMMARIES = []


def pytest_terminal_summary(terminalreporter):
    if SUMMARIES:
        terminalreporter.section("faults survived")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


def summary_report(*, scenario: str, **counts) -> str:
    """Keep one scenario's line for the terminal report (shown without -s) and return it."""
    line = f"scenario={scenario} " + " ".join(f"{name}={value}" for name, value in counts.items())
    SUMMARIES.append(line)
    return line


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    for port in PORTS:
        if port_free(port):
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture
def sandbox(transactional_db, live_server, settings):
    """The sandbox on a port of ours, its status callbacks going to the live server."""
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CALLBACK_AUTH
    # As in production: the live server stores each callback and wakes a worker to apply it.
    settings.CALLBACKS_APPLY = "queued"
    settings.KALEYRA_SID = SID
    settings.KALEYRA_API_KEY = API_KEY
    settings.KALEYRA_WHATSAPP_NUMBER = NUMBER
    config = SandboxConfig(
        sid=SID,
        api_key=API_KEY,
        number=NUMBER,
        latency_ms=2,
        timeout_ms=1500,
        callback_url=f"{live_server.url}/kaleyra/callbacks/",
        callback_auth=CALLBACK_AUTH,
        callback_delay_ms=5,
        # "sent" settles a message whose answer was lost; delivered and read would only
        # triple the live server's load (it shares this process's one core with the sandbox).
        callback_statuses=["sent"],
    )
    server = KaleyraSandbox(config).start(port=free_port(), callback_threads=16)
    settings.KALEYRA_API_BASE_URL = server.base_url
    yield server
    server.stop()


@pytest.fixture
def workers(sandbox):
    """Start Celery workers (threads pool) pointed at the sandbox, with short timeouts and
    fast backoff; every one started is stopped at the end."""
    started = []

    def start(**variables) -> Worker:
        env = {
            "KALEYRA_API_BASE_URL": sandbox.base_url,
            "KALEYRA_SID": SID,
            "KALEYRA_API_KEY": API_KEY,
            "KALEYRA_WHATSAPP_NUMBER": NUMBER,
            "KALEYRA_SENDS_PER_SECOND": 0,
            "KALEYRA_CONNECT_TIMEOUT": 1,
            "KALEYRA_READ_TIMEOUT": 0.5,
            "KALEYRA_RETRY_BACKOFF_SECONDS": 0.2,
            "KALEYRA_RETRY_BACKOFF_MAX_SECONDS": 1,
            "KALEYRA_MAX_ATTEMPTS": 8,
            "KALEYRA_SENDING_STALE_AFTER": 6,
            "KALEYRA_PAUSE_SECONDS": 2,
            "LOG_LEVEL": "WARNING",
            **variables,
        }
        worker = Worker(concurrency=CONCURRENCY, **env)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def own_redis():
    """A redis-server of our own (no persistence, like a crashed cache), restartable."""
    port = free_port()

    class OwnRedis:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen(
                [
                    "/usr/bin/redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
            )
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self):
            if self.process and self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=10)

    server = OwnRedis().start()
    yield server
    server.stop()
