"""bin/run's decisions that are worth testing, run with the virtualenv's python.

python bin/_run.py sandbox-port PORT ENV_FILE
    (Before ENV_FILE exists, only checks that PORT is a port: the first run writes it.)
    A SANDBOX_PORT given on a later run: .env names the sandbox port of the first run (in
    KALEYRA_API_BASE_URL). A different port is honoured: .env is updated and the sandbox
    runs on it. It is refused, with the reason, when it cannot be honoured (not a port,
    KALEYRA_API_BASE_URL exported with another port, .env pointing at a real Kaleyra).
python bin/_run.py ports-free NAME=PORT...
    Refuses, naming the variable, a port that something already listens on (another
    bin/run, say): the admin address printed later would be the other program's.
python bin/_run.py wait-ready URL PID...
    Waits until the web server answers URL (any HTTP answer), or one of the processes
    stopped, or WAIT_SECONDS passed. Exit status 0 only when it answered.
"""

import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

SANDBOX_SID = "SANDBOXSID"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
WAIT_SECONDS = 120.0


class Refused(Exception):
    """What bin/run prints before stopping: what was wrong and what to do."""


def env_value(text: str, name: str) -> str:
    """The last `NAME=value` line of a .env text ('' when absent), as bin/run's env_value."""
    values = re.findall(rf"^{re.escape(name)}=(.*)$", text, re.M)
    return values[-1].strip() if values else ""


def sandbox_port_reconcile(*, port: str, env_text: str, environ) -> tuple[str, str]:
    """(the .env text to write, the line to print) for a SANDBOX_PORT given on this run.

    Raises Refused when the port cannot be honoured."""
    port = port_check(port)
    sid = environ.get("KALEYRA_SID") or env_value(env_text, "KALEYRA_SID")
    if sid != SANDBOX_SID:
        return env_text, (
            f"==> SANDBOX_PORT={port} is not used: KALEYRA_SID is a real Kaleyra account "
            "(not SANDBOXSID), so no local sandbox is started."
        )
    exported = environ.get("KALEYRA_API_BASE_URL")
    if exported:
        if _port(exported) != port:
            raise Refused(
                f"SANDBOX_PORT={port}, but KALEYRA_API_BASE_URL={exported} is set in the "
                "environment: the product would send elsewhere than the sandbox. Unset one of "
                "them or make them agree."
            )
        return env_text, ""
    url = env_value(env_text, "KALEYRA_API_BASE_URL")
    if urlsplit(url).hostname not in LOCAL_HOSTS:
        raise Refused(
            f"SANDBOX_PORT={port}, but KALEYRA_API_BASE_URL in .env is {url or 'empty'}, not "
            "the local sandbox (http://127.0.0.1:PORT). Fix KALEYRA_API_BASE_URL in .env, or "
            "run without SANDBOX_PORT."
        )
    if _port(url) == port:
        return env_text, ""
    new_url = f"http://127.0.0.1:{port}"
    new_text = re.sub(
        r"^KALEYRA_API_BASE_URL=.*$", f"KALEYRA_API_BASE_URL={new_url}", env_text, flags=re.M
    )
    return new_text, (
        f"==> SANDBOX_PORT={port}: the Kaleyra sandbox moves from {url} to {new_url} "
        "(KALEYRA_API_BASE_URL updated in .env; later runs keep it)."
    )


def port_check(port: str) -> str:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise Refused(f"SANDBOX_PORT={port} is not a port number (1-65535).")
    return str(int(port))


def _port(url: str) -> str:
    try:
        port = urlsplit(url).port
    except ValueError:
        return ""
    return str(port) if port else ""


def ports_check_free(ports: dict) -> None:
    """Raises Refused naming the first of {variable: port} that is taken on 127.0.0.1."""
    for name, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                probe.bind(("127.0.0.1", int(port)))
            except OSError:
                raise Refused(
                    f"{name}={port}: something already listens on 127.0.0.1:{port} (another "
                    f"bin/run?). Stop it, or choose another port: {name}=... bin/run"
                ) from None


def server_wait_ready(*, url: str, pids, timeout: float = WAIT_SECONDS, pause: float = 0.2):
    """None once `url` answers (any HTTP status); else why not (a process stopped, time out)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                return None
        except urllib.error.HTTPError:
            return None  # it answered, if not with 200
        except (OSError, ValueError):
            pass
        stopped = [pid for pid in pids if not _alive(pid)]
        if stopped:
            return f"process {', '.join(map(str, stopped))} stopped before {url} answered"
        if time.monotonic() > deadline:
            return f"{url} did not answer within {timeout:.0f} s"
        time.sleep(pause)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a child that exited but was not reaped yet
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in {"Z", "X"}


def main(argv) -> int:
    command, *args = argv
    if command == "sandbox-port":
        port, env_file = args
        path = Path(env_file)
        text = path.read_text() if path.exists() else None
        try:
            if text is None:  # the first run: .env is written with this port
                port_check(port)
                return 0
            new_text, line = sandbox_port_reconcile(port=port, env_text=text, environ=os.environ)
        except Refused as exc:
            print(f"bin/run: {exc}", file=sys.stderr)
            return 1
        if new_text != text:
            path.write_text(new_text)
        if line:
            print(line)
        return 0
    if command == "ports-free":
        try:
            ports_check_free(dict(arg.split("=", 1) for arg in args))
        except Refused as exc:
            print(f"bin/run: {exc}", file=sys.stderr)
            return 1
        return 0
    if command == "wait-ready":
        url, *pids = args
        problem = server_wait_ready(url=url, pids=[int(pid) for pid in pids])
        if problem:
            print(f"bin/run: the product did not start: {problem}.", file=sys.stderr)
            return 1
        return 0
    print(f"bin/run: unknown step {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
