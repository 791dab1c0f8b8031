"""What every benchmark measures and how it prints: items, CPU-seconds, wall-seconds.

CPU is counted with ``getrusage`` (user + system) for this process and its waited-for children, and
from ``/proc/<pid>/stat`` for a separate process such as the local endpoint's server, so a client's
CPU is never mixed with the server's.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    self_cpu: float
    children_cpu: float


def snapshot() -> CpuSnapshot:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSnapshot(time.monotonic(), own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another (running) process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" that ends the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Result:
    """One measured path. ``cpu_seconds`` is the CPU counted for the path (see ``cpu_counted``)."""

    name: str
    items: int
    wall_seconds: float
    cpu_seconds: float
    cpu_counted: str
    extra: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def items_per_cpu_second(self) -> float:
        return self.items / self.cpu_seconds if self.cpu_seconds > 0 else float("nan")

    @property
    def items_per_second(self) -> float:
        return self.items / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    @property
    def cpu_seconds_per_million(self) -> float:
        return self.cpu_seconds / self.items * 1e6 if self.items else float("nan")


def since(
    start: CpuSnapshot, name: str, items: int, *, children: bool = False, **extra: float | int | str
) -> Result:
    end = snapshot()
    cpu = (end.children_cpu - start.children_cpu) if children else (end.self_cpu - start.self_cpu)
    return Result(
        name=name,
        items=items,
        wall_seconds=end.wall - start.wall,
        cpu_seconds=cpu,
        cpu_counted="child processes" if children else "this process",
        extra=dict(extra),
    )


def table(results: list[Result], *, reference: Result | None = None) -> str:
    """A Markdown table; with ``reference``, each row's items/s per core as a ratio to it."""
    head = "| path | items | items/s (wall) | items/s per core | CPU-s per 1M items | CPU counted |"
    sep = "|---|---:|---:|---:|---:|---|"
    if reference is not None:
        reference_name = reference.name.replace("|", "\\|")
        head += f" vs {reference_name} |"
        sep += "---:|"
    rows = [head, sep]
    for r in results:
        name = r.name.replace("|", "\\|")
        row = (
            f"| {name} | {r.items:,} | {r.items_per_second:,.0f} | {r.items_per_cpu_second:,.0f} | "
            f"{r.cpu_seconds_per_million:,.1f} | {r.cpu_counted} |"
        )
        if reference is not None:
            row += f" {r.items_per_cpu_second / reference.items_per_cpu_second:.2f}x |"
        rows.append(row)
    return "\n".join(rows)
