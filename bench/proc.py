"""CPU time of processes, read from /proc (Linux): what each one spent, whatever else shares
the cores, and wrk's load with its figures. Used by the benches to report CPU per request or per
message."""

import os
import subprocess
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu(pid) -> tuple[str, float]:
    """(name, user + system CPU seconds so far) of a process; OSError once it has ended."""
    name, rest = Path(f"/proc/{pid}/stat").read_text().split(" (", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def server_cpu_seconds(master_pid):
    """CPU time (user + system) of gunicorn's master and workers so far, from /proc: what the
    server itself spent, whatever else runs on the machine."""
    pids = [master_pid]
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    if children.exists():
        pids += children.read_text().split()
    total = 0
    for pid in pids:
        try:
            total += process_cpu(pid)[1]
        except OSError:
            continue  # a worker that was just replaced
    return total


def database_cpu_seconds(since=None):
    """CPU seconds per process of the local PostgreSQL server (empty when it is not local);
    with `since` (an earlier reading), the seconds spent in between: the database's share of
    the requests. A process that ended in between (an autovacuum worker) is left out."""
    seconds = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            name, spent = process_cpu(entry.name)
        except OSError:
            continue
        if name.startswith("postgres"):
            seconds[entry.name] = spent
    if since is None:
        return seconds
    return sum(spent - since.get(pid, 0) for pid, spent in seconds.items())


def wrk_result(*, wrk, url, script, script_args, connections, duration) -> dict:
    """Run wrk (one thread) with a Lua script whose done() prints a `RESULT key=value ...` line;
    its figures as integers, plus `rps`."""
    result = subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout=10s",
            "-s",
            str(script),
            url,
            "--",
            *script_args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(row for row in result.stdout.splitlines() if row.startswith("RESULT "))
    values = {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:])}
    values["rps"] = values["requests"] / (values["duration_us"] / 1e6)
    return values


def openssl_signs_per_second(seconds: int = 3) -> float | None:
    """`openssl speed rsa2048` signs/s: how fast this machine is, printed beside each figure
    (None without openssl)."""
    try:
        result = subprocess.run(  # noqa: S603 - openssl from PATH, fixed arguments
            ["openssl", "speed", "-seconds", str(seconds), "rsa2048"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in result.stdout.splitlines():
        if line.startswith("rsa 2048 bits") or line.startswith("rsa  2048 bits"):
            return float(line.split()[-2])
    return None


def machine_speed() -> str:
    """The line a bench prints beside its figures: `openssl speed rsa2048` signs/s right now,
    so runs on different or busy machines compare. Empty when openssl is missing."""
    signs = openssl_signs_per_second()
    return f"openssl speed rsa2048: {signs:,.0f} signs/s" if signs else ""
