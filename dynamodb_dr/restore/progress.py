"""Progress of a running restore: a JSON log line per table every few seconds, a table at the end.

Spark tasks add ``{target: [files, items]}`` to one accumulator when they finish a data file, which
the driver merges as tasks complete; a Python accumulator moves one data file at a time, and a data
file can hold a whole partition (~10 GB). So tasks also record the items written so far in the file
they are writing, in the table's progress folder in S3 (``resume.LiveProgress``), and the driver reads
those too. A background thread logs, per table: files and items done of the total (files skipped
because an earlier attempt wrote them count as done), the rate of this run (items/s), and the ETA at
that rate. In Glue these lines go to the job's continuous log like every other driver log line.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from dynamodb_dr.restore.report import RestoreReport

logger = logging.getLogger(__name__)

Counts = dict[str, list[int]]
"""``{target table: [files, items]}``"""


class TableCountsParam:
    """Adds ``{target: [files, items]}`` dictionaries: the ``AccumulatorParam`` of
    ``sc.accumulator({}, TABLE_COUNTS)`` (Spark only calls ``zero`` and ``addInPlace``)."""

    def zero(self, value: Counts) -> Counts:
        return {}

    def addInPlace(self, value1: Counts, value2: Counts) -> Counts:
        for target, (files, items) in value2.items():
            mine = value1.setdefault(target, [0, 0])
            mine[0] += files
            mine[1] += items
        return value1


TABLE_COUNTS = TableCountsParam()


@dataclass(frozen=True)
class TableTotals:
    source: str
    target: str
    files_total: int
    items_total: int
    files_skipped: int = 0
    """Written by an earlier attempt of the same restore: counted as done from the start."""
    items_skipped: int = 0
    live: Any = None
    """``resume.LiveProgress`` of this table (``poll() -> (files, items)``), or None: accumulator only."""


def progress_fields(totals: TableTotals, files: int, items: int, elapsed: float) -> dict[str, Any]:
    """One table's progress line: done/total, this run's rate and the ETA at that rate."""
    rate = items / elapsed if elapsed > 0 else 0.0
    items_done = totals.items_skipped + items
    remaining = max(totals.items_total - items_done, 0)
    if remaining == 0:
        eta: float | None = 0.0
    else:
        eta = round(remaining / rate, 1) if rate > 0 else None
    return {
        "table": totals.source,
        "target_table": totals.target,
        "files_done": totals.files_skipped + files,
        "files_total": totals.files_total,
        "files_skipped": totals.files_skipped,
        "items_done": items_done,
        "items_total": totals.items_total,
        "items_written": items,
        "items_per_second": round(rate, 1),
        "eta_seconds": eta,
        "elapsed_seconds": round(elapsed, 1),
    }


class ProgressLog:
    """Logs every table's progress every ``interval`` seconds while the write stage runs, and once
    more when it ends."""

    MAX_POINTS = 2000
    """Points kept per table for the report's ``progress`` series (thinned by half when full)."""

    def __init__(self, counts: Any, tables: list[TableTotals], interval: float) -> None:
        self.counts, self.tables, self.interval = counts, tables, interval
        self.series: dict[str, list[list[float]]] = {t.source: [] for t in tables}
        """Per source table: [seconds since the write stage started, items written by this run]."""
        self._stop = threading.Event()
        self._live_failed = False
        self._thread = threading.Thread(target=self._run, name="restore-progress", daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> ProgressLog:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.log()

    def log(self) -> None:
        elapsed = time.monotonic() - self._started
        counts: Counts = self.counts.value
        for table in self.tables:
            files, items = counts.get(table.target, (0, 0))
            if table.live is not None:
                # The store runs ahead of the accumulator (markers are written before a task ends);
                # if it cannot be read, the accumulator alone still gives whole files.
                try:
                    live_files, live_items = table.live.poll()
                except Exception as exc:
                    if not self._live_failed:
                        self._live_failed = True
                        logger.warning(
                            "could not read the progress of files being written; progress moves "
                            "one data file at a time",
                            extra={"table": table.source, "error": str(exc)},
                        )
                else:
                    files, items = max(files, live_files), max(items, live_items)
            logger.info("restore progress", extra=progress_fields(table, files, items, elapsed))
            points = self.series[table.source]
            points.append([round(elapsed, 2), items])
            if len(points) > self.MAX_POINTS:
                del points[1:-1:2]

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.log()


def format_summary(report: RestoreReport) -> str:
    """The human-readable end of a restore (stderr): one row per table."""
    header = ("table", "target", "status", "items", "skipped", "files", "seconds", "items/s")
    rows = [header]
    for name, r in report.tables.items():
        done_items = r.items_written + r.items_skipped
        rate = r.items_written / r.seconds if r.seconds else 0.0
        files_done = r.files_written + r.files_skipped
        rows.append(
            (
                name,
                r.target_table,
                r.status,
                f"{done_items}/{r.items_in_export}"
                if r.would_write is None
                else f"{r.would_write} (dry run)",
                f"{r.items_skipped}",
                f"{files_done}/{r.files}",
                f"{r.seconds:.1f}",
                f"{rate:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    title = (
        f"restore of backup {report.backup_date or report.requested_date}: statusCode {report.status_code}"
    )
    # What each failed table holds now, and how to put back what was there before the restore.
    for name, r in report.tables.items():
        if r.failed:
            lines.append(f"{name}: target {r.target_table} is {r.target_state}")
            if r.restore_backup_command:
                lines.append(f"  safety backup {r.backup_arn}; restore it with: {r.restore_backup_command}")
    lines += verify_lines(report)
    return "\n".join([title, *lines])


def verify_lines(report: RestoreReport) -> list[str]:
    """``--verify``: per verified table its counts, sample keys of each difference and read cost."""
    lines = []
    for name, r in report.tables.items():
        v = r.verification
        if v is None:
            continue
        if v.error:
            lines.append(f"verify {name} -> {v.target_table}: could not finish: {v.error}")
            continue
        lines.append(
            f"verify {name} -> {v.target_table}: {'OK' if v.ok else 'FAILED'}; {v.same} same, {v.missing} missing, "
            f"{v.extra} extra, {v.different} different, {v.written_after_start} written after the start, "
            f"{v.extra_kept} extra kept"
            + (f" ({v.extra_deleted} extra deleted in the chain)" if v.extra_deleted else "")
            + f"; {v.read_capacity_units:g} RCU over {v.scan_segments} scan segments"
        )
        for what, keys in (
            ("missing", v.missing_keys),
            ("extra", v.extra_keys),
            ("different", v.different_keys),
            ("written after the start", v.written_after_start_keys),
        ):
            if keys:
                lines.append(f"  {what}: {'; '.join(keys)}")
    return lines
