"""Run a command and say where the machine's CPU went while it ran.

Usage: python cpu_during.py OUT NAME=PID[,PID...]... -- COMMAND [ARG...]

Runs COMMAND (its stdout and stderr pass through, its exit status is this one's) and appends
one line to OUT: for each NAME, the CPU time (user + system) its processes and all their
descendants used while COMMAND ran, as a percentage of one core; ``load`` for COMMAND itself
(the load generator); ``machine`` for every process on the machine (``/proc/stat``, 100% per
core busy), so what the named groups do not account for is the rest of the machine's work.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _ticks(pid: int) -> int:
    """user + system of ``pid`` and of its reaped children, in clock ticks (0 if gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(v) for v in fields[11:15])


def _group_ticks(roots: list[int]) -> int:
    tree = _children()
    seen: set[int] = set()
    todo = list(roots)
    total = 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _ticks(pid)
        todo.extend(tree.get(pid, ()))
    return total


def _machine() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def main(argv: list[str]) -> int:
    out, rest = argv[0], argv[1:]
    split = rest.index("--")
    groups = {
        name: [int(p) for p in pids.split(",") if p]
        for name, pids in (spec.split("=", 1) for spec in rest[:split])
    }
    command = rest[split + 1 :]
    before = {name: _group_ticks(pids) for name, pids in groups.items()}
    busy0, _ = _machine()
    load0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    status = subprocess.call(command)
    wall = time.monotonic() - start
    load1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, _ = _machine()
    after = {name: _group_ticks(pids) for name, pids in groups.items()}
    parts = [f"{name} {(after[name] - before[name]) / HZ / wall * 100:.0f}%" for name in groups]
    used = (load1.ru_utime - load0.ru_utime) + (load1.ru_stime - load0.ru_stime)
    parts.append(f"load {used / wall * 100:.0f}%")
    parts.append(f"machine {(busy1 - busy0) / HZ / wall * 100:.0f}% of {os.cpu_count()} cores")
    with open(out, "a", encoding="utf-8") as f:
        f.write(", ".join(parts) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
