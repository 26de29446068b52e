"""CPU time of processes, read from /proc (Linux): what each one spent, whatever else shares
the cores. Used by the benches to report CPU per request or per message."""

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu(pid) -> tuple[str, float]:
    """(name, user + system CPU seconds so far) of a process; OSError once it has ended."""
    name, rest = Path(f"/proc/{pid}/stat").read_text().split(" (", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
