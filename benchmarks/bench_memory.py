"""Peak RSS of a reader going through one data file, for a small and a large file: a streaming
reader's peak must not grow with the file (the issue's goal: within 10% between 10 MB and 1 GB).

Each measurement runs in a fresh child process (so one file's peak cannot hide the other's) that
imports ``--reader`` (``module:function``, a function taking a path and yielding lines), reads every
line and prints its line count and its peak RSS (``VmHWM``). The default reader is the reference streaming
reader of ``bench_read_floor``; phase 2 points it at the restore job's own reader.

    python -m benchmarks.generate_export --file-bytes 10MB --out .bench/exports/one-10MB
    python -m benchmarks.generate_export --file-bytes 1GB --out .bench/exports/one-1GB
    python -m benchmarks.bench_memory --small .bench/exports/one-10MB --large .bench/exports/one-1GB
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_read_floor import data_files

DEFAULT_READER = "benchmarks.bench_read_floor:iter_lines"

# VmHWM (this process's own peak RSS), not getrusage's ru_maxrss: Linux carries the parent's peak
# across fork + exec into ru_maxrss, which would hide the reader's own peak behind the benchmark's.
_CHILD = """
import importlib, json, sys
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
module, _, name = sys.argv[1].partition(":")
reader = getattr(importlib.import_module(module), name)
baseline = hwm_kb()
lines = sum(1 for _ in reader(sys.argv[2]))
print(json.dumps({"lines": lines, "peak_kb": hwm_kb(), "before_read_kb": baseline}))
"""


@dataclass(frozen=True)
class MemoryRun:
    file: Path
    uncompressed_bytes: int
    lines: int
    peak_rss_bytes: int
    before_read_bytes: int


def peak_rss(reader: str, path: Path, uncompressed_bytes: int) -> MemoryRun:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, reader, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return MemoryRun(
        path, uncompressed_bytes, data["lines"], data["peak_kb"] * 1024, data["before_read_kb"] * 1024
    )


def single_file(export_root: Path) -> tuple[Path, int]:
    """The one data file of a ``--file-bytes`` export and its uncompressed size (billedSizeBytes)."""
    files = data_files(export_root)
    if len(files) != 1:
        raise SystemExit(
            f"{export_root} has {len(files)} data files; write one with generate_export --file-bytes"
        )
    summary = json.loads(next(export_root.rglob("manifest-summary.json")).read_text())
    return files[0], int(summary["billedSizeBytes"])


def run(small: Path, large: Path, reader: str = DEFAULT_READER) -> list[MemoryRun]:
    return [peak_rss(reader, *single_file(small)), peak_rss(reader, *single_file(large))]


def report(runs: list[MemoryRun], reader: str = DEFAULT_READER) -> str:
    rows = [
        f"Reader: `{reader}`",
        "",
        "| data file (uncompressed) | lines | peak RSS | peak RSS before reading (imports) |",
        "|---:|---:|---:|---:|",
    ]
    for r in runs:
        rows.append(
            f"| {r.uncompressed_bytes / 1e6:,.0f} MB | {r.lines:,} | {r.peak_rss_bytes / 2**20:,.1f} MiB | "
            f"{r.before_read_bytes / 2**20:,.1f} MiB |"
        )
    if len(runs) == 2:
        growth = runs[1].peak_rss_bytes / runs[0].peak_rss_bytes - 1
        rows += ["", f"Peak RSS, large vs small file: {growth:+.1%} (goal: within ±10%)."]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=Path, required=True, help="export written with --file-bytes 10MB")
    parser.add_argument("--large", type=Path, required=True, help="export written with --file-bytes 1GB")
    parser.add_argument("--reader", default=DEFAULT_READER, help="module:function(path) yielding lines")
    args = parser.parse_args(argv)
    print(report(run(args.small, args.large, args.reader), args.reader))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
