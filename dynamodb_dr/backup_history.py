"""The history of a backup bucket, as rows to plot or print: each backup of each table, each restore.

Read only: backup manifests (``native-exports/DATE/manifest.json``) and the restore reports stored
beside them (``native-exports/DATE/restore-reports/*.json``). Used by the notebooks' plots.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.backup_manifest import list_backup_dates, read_manifest
from dynamodb_dr.errors import ManifestError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableBackupRow:
    """One table in one backup."""

    backup_date: str
    backup_status: str
    table: str
    status: str
    items: int | None
    bytes: int | None
    export_seconds: float | None
    """From the export's start to its end (DescribeExport's StartTime / EndTime)."""


@dataclass(frozen=True)
class TableRestoreRow:
    """One table in one restore run, with its throughput over time."""

    backup_date: str
    run_id: str
    started_at: str
    table: str
    target: str
    status: str
    items_written: int
    budget: float | None
    """The table's write budget, items/s."""
    progress: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the write stage started, items written) at each progress line."""

    def rates(self, window: float = 5.0) -> list[tuple[float, float]]:
        """(seconds, items/s over the ``window`` seconds that end there): a trailing window, as the
        write budget is held (no 5-second window above it), and smoother than the raw progress
        lines, which jump when a whole data file is counted at once."""
        out = []
        start = 0
        for i in range(1, len(self.progress)):
            t1, n1 = self.progress[i]
            # The window starts at the latest point at least ``window`` seconds back (or the first).
            while start + 1 < i and self.progress[start + 1][0] <= t1 - window:
                start += 1
            t0, n0 = self.progress[start]
            if t1 > t0:
                out.append((t1, (n1 - n0) / (t1 - t0)))
        return out


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def backup_rows(s3: S3Client, bucket: str, prefix: str, *, days: int | None = None) -> list[TableBackupRow]:
    """Every table of every backup (the newest ``days`` dates when given), oldest first. A manifest
    that cannot be read is logged and left out."""
    dates = list_backup_dates(s3, bucket, prefix)[:days] if days else list_backup_dates(s3, bucket, prefix)
    rows = []
    for backup_date in sorted(dates):
        try:
            manifest = read_manifest(s3, bucket, prefix, backup_date).manifest
        except ManifestError as exc:
            logger.warning("backup manifest left out", extra={"backup_date": backup_date, "error": str(exc)})
            continue
        for name, table in sorted(manifest.tables.items()):
            rows.append(
                TableBackupRow(
                    backup_date=backup_date,
                    backup_status=manifest.status,
                    table=name,
                    status=table.status,
                    items=table.item_count,
                    bytes=table.billed_size_bytes,
                    export_seconds=_seconds(table.start_time, table.end_time),
                )
            )
    return rows


def restore_rows(s3: S3Client, bucket: str, prefix: str, *, days: int | None = None) -> list[TableRestoreRow]:
    """Every table of every restore report stored beside the backups, oldest run first."""
    dates = list_backup_dates(s3, bucket, prefix)
    rows = []
    for backup_date in sorted(dates[:days] if days else dates):
        paginator = s3.get_paginator("list_objects_v2")
        keys = [
            o["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/{backup_date}/restore-reports/")
            for o in page.get("Contents", [])
            if o["Key"].endswith(".json")
        ]
        for key in sorted(keys):
            try:
                report: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except (ClientError, ValueError) as exc:
                logger.warning("restore report left out", extra={"key": key, "error": str(exc)})
                continue
            for name, table in (report.get("tables") or {}).items():
                rows.append(
                    TableRestoreRow(
                        backup_date=backup_date,
                        run_id=str(report.get("run_id")),
                        started_at=str(report.get("started_at")),
                        table=name,
                        target=str(table.get("target_table")),
                        status=str(table.get("status")),
                        items_written=int(table.get("items_written") or 0),
                        budget=table.get("write_rate_budget"),
                        progress=[(float(t), int(n)) for t, n in table.get("progress") or []],
                    )
                )
    return sorted(rows, key=lambda r: (r.started_at, r.table))
