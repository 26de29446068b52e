"""bin/run's decisions (bin/_run.py): the sandbox port of a later run, and printing the admin
address only once the web server answers."""

import http.server
import importlib.util
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bin_run", ROOT / "bin" / "_run.py")
bin_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bin_run)

FIRST_RUN_ENV = (
    "DJANGO_SECRET_KEY=abc\n"
    "KALEYRA_API_BASE_URL=http://127.0.0.1:8025\n"
    "KALEYRA_SID=SANDBOXSID\n"
    "KALEYRA_API_KEY=sandbox-api-key\n"
)


def reconcile(port, env_text=FIRST_RUN_ENV, environ=None):
    return bin_run.sandbox_port_reconcile(port=port, env_text=env_text, environ=environ or {})


def test_a_new_sandbox_port_on_a_later_run_is_honoured_and_written_to_env():
    text, line = reconcile("8030")
    assert text == FIRST_RUN_ENV.replace("127.0.0.1:8025", "127.0.0.1:8030")
    assert line == (
        "==> SANDBOX_PORT=8030: the Kaleyra sandbox moves from http://127.0.0.1:8025 to "
        "http://127.0.0.1:8030 (KALEYRA_API_BASE_URL updated in .env; later runs keep it)."
    )


def test_the_same_sandbox_port_changes_nothing():
    assert reconcile("8025") == (FIRST_RUN_ENV, "")


@pytest.mark.parametrize(
    ("port", "env_text", "environ", "reason"),
    [
        ("80a", FIRST_RUN_ENV, {}, "SANDBOX_PORT=80a is not a port number (1-65535)."),
        ("70000", FIRST_RUN_ENV, {}, "SANDBOX_PORT=70000 is not a port number (1-65535)."),
        (
            "8030",
            FIRST_RUN_ENV,
            {"KALEYRA_API_BASE_URL": "http://127.0.0.1:8025"},
            "SANDBOX_PORT=8030, but KALEYRA_API_BASE_URL=http://127.0.0.1:8025 is set in the "
            "environment",
        ),
        (
            "8030",
            FIRST_RUN_ENV.replace("http://127.0.0.1:8025", "https://api.in.kaleyra.io"),
            {},
            "SANDBOX_PORT=8030, but KALEYRA_API_BASE_URL in .env is https://api.in.kaleyra.io, "
            "not the local sandbox",
        ),
    ],
)
def test_a_sandbox_port_that_cannot_be_honoured_is_refused_with_the_reason(
    port, env_text, environ, reason
):
    with pytest.raises(bin_run.Refused) as refused:
        reconcile(port, env_text, environ)
    assert str(refused.value).startswith(reason)


def test_a_sandbox_port_with_a_real_kaleyra_account_is_said_to_be_unused():
    real = FIRST_RUN_ENV.replace("SANDBOXSID", "HXIN1234")
    text, line = reconcile("8030", real)
    assert text == real
    assert "SANDBOX_PORT=8030 is not used" in line


def run_step(*args):
    command = [sys.executable, str(ROOT / "bin" / "_run.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_step_updates_env_or_leaves_it_untouched_when_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("KALEYRA_API_BASE_URL", raising=False)
    monkeypatch.delenv("KALEYRA_SID", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(FIRST_RUN_ENV)

    refused = run_step("sandbox-port", "nope", str(env_file))
    assert refused.returncode == 1
    assert refused.stderr == "bin/run: SANDBOX_PORT=nope is not a port number (1-65535).\n"
    assert env_file.read_text() == FIRST_RUN_ENV

    moved = run_step("sandbox-port", "8031", str(env_file))
    assert moved.returncode == 0, moved.stderr
    assert "KALEYRA_API_BASE_URL=http://127.0.0.1:8031\n" in env_file.read_text()
    assert "moves from http://127.0.0.1:8025 to http://127.0.0.1:8031" in moved.stdout

    first_run = run_step("sandbox-port", "8032", str(tmp_path / "absent.env"))
    assert (first_run.returncode, first_run.stdout) == (0, "")
    assert not (tmp_path / "absent.env").exists()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_port_something_listens_on_is_refused_by_its_variable():
    taken, free = socket.socket(), free_port()
    with taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bin_run.ports_check_free({"PORT": str(free)})
        with pytest.raises(bin_run.Refused) as refused:
            bin_run.ports_check_free({"PORT": str(free), "SANDBOX_PORT": str(port)})
    assert str(refused.value) == (
        f"SANDBOX_PORT={port}: something already listens on 127.0.0.1:{port} (another "
        "bin/run?). Stop it, or choose another port: SANDBOX_PORT=... bin/run"
    )


def test_ready_only_once_the_server_answers():
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), http.server.BaseHTTPRequestHandler)
    started = {}

    def serve_later():
        time.sleep(0.6)
        started["at"] = time.monotonic()
        server.serve_forever()

    thread = threading.Thread(target=serve_later, daemon=True)
    thread.start()
    try:
        problem = bin_run.server_wait_ready(url=f"http://127.0.0.1:{port}/admin/login/", pids=[])
        ready_at = time.monotonic()
    finally:
        server.shutdown()
        server.server_close()
    assert problem is None  # a 501 from this bare server still answers
    assert ready_at >= started["at"]


def test_not_ready_when_a_process_stopped_first():
    url = f"http://127.0.0.1:{free_port()}/admin/login/"
    stopped = subprocess.Popen([sys.executable, "-c", "pass"])
    stopped.wait()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exited, not reaped
    time.sleep(0.5)
    for pid in (stopped.pid, zombie.pid):
        problem = bin_run.server_wait_ready(url=url, pids=[pid], timeout=10)
        assert problem == f"process {pid} stopped before {url} answered"
    zombie.wait()
    assert bin_run.server_wait_ready(url=url, pids=[], timeout=0.3) == (
        f"{url} did not answer within 0 s"
    )


def test_bin_run_prints_the_address_after_the_server_answers():
    script = (ROOT / "bin" / "run").read_text()
    waits = script.index('bin/_run.py wait-ready "http://127.0.0.1:$PORT/admin/login/"')
    assert waits < script.index('echo "    Admin:  http://127.0.0.1:$PORT/admin/')
    assert waits > script.index(".venv/bin/gunicorn")
    assert 'bin/_run.py sandbox-port "$SANDBOX_PORT_GIVEN" .env' in script
    assert script.index('bin/_run.py ports-free "${ports[@]}"') < script.index(".venv/bin/celery")
