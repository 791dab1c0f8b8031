"""The restore's result: per table what was read, written, created, backed up; stored beside the
backup manifest at ``{prefix}/{date}/restore-reports/{UTC timestamp}-{short id}.json``."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dynamodb_dr.restore.verify import Verification

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dynamodb_dr.restore.args import RestoreArgs


SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
VALIDATED = "VALIDATED"
"""Dry run: everything checked, nothing written."""
VERIFIED = "VERIFIED"
"""``--verify_only``: the target equals the backup; nothing written."""
PENDING = "PENDING"


@dataclass
class TableResult:
    source_table: str
    target_table: str
    status: str = PENDING
    export_arn: str | None = None
    files: int = 0
    bytes: int = 0
    """Compressed bytes of the export's data files."""
    items_in_export: int = 0
    items_read: int = 0
    items_written: int = 0
    items_not_written: int = 0
    files_written: int = 0
    files_skipped: int = 0
    """Data files an earlier, interrupted attempt of this restore had written in full: not written again."""
    items_skipped: int = 0
    resumed: bool = False
    """This run resumed an interrupted restore of the table (see ``resume``)."""
    write_rate_budget: float | None = None
    """Items/s for the whole table (``--max_write_rate`` / ``--write_rate_percent``; else the table quota)."""
    write_tasks: int = 0
    """Spark tasks that write the table at once, each with ``write_rate_budget / write_tasks`` items/s."""
    throttle_events: int = 0
    would_write: int | None = None
    would_skip_files: int | None = None
    """Dry run: files a resumed run would skip."""
    seconds: float = 0.0
    created: bool = False
    would_create: bool = False
    would_remove_extras: bool = False
    """Dry run with --clear_existing_data: the target would be backed up, written, then the items
    whose keys are not in the backup removed."""
    extras_removed: int | None = None
    """--clear_existing_data: items whose keys are not in the backup, deleted after every write."""
    backup_arn: str | None = None
    """The safety backup of the target, taken before anything was written (--clear_existing_data)."""
    backup_status: str | None = None
    target_state: str = "untouched"
    """What the target holds now because of this restore: untouched, created, partly written (n of m
    items), written, extras not removed, restored (see ``describe_state``)."""
    progress: list[list[float]] = field(default_factory=list)
    """[seconds since the write stage started, items written by this run] at every progress log
    line: the throughput against ``write_rate_budget`` over time (the notebooks plot it)."""
    time_travel: dict[str, Any] | None = None
    """A restore to a point in time, a rewind or an undo (``restore.timetravel``): the effective point
    and its distance from the one asked, the exports used, puts, deletes, conflicts, unchanged items,
    reads and write units."""
    restore_path: str | None = None
    """How the target is filled: ``import`` (ImportTable, a table the restore creates) or ``write``."""
    restore_path_reason: str | None = None
    import_arn: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    """A table this restore created: per recorded setting (TTL, PITR, tags, SSE ...) what was done:
    applied, applied at creation, not applicable: why, failed: why; fix: command."""
    restore_backup_command: str | None = None
    """A failed table with a safety backup: the command that restores that backup (into a new table)."""
    errors: list[str] = field(default_factory=list)
    verification: Verification | None = None
    """``--verify`` / ``--verify_only``: the target compared with the backup (``restore.verify``)."""

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def fail(self, message: str) -> None:
        self.status = FAILED
        if message not in self.errors:
            self.errors.append(message)


@dataclass
class RestoreReport:
    backup_date: str | None
    requested_date: str
    environment: str | None
    dry_run: bool
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished_at: str | None = None
    tables: dict[str, TableResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report_key: str | None = None
    bad_input: bool = False
    """The restore did not start: bad arguments, or a backup date / table that does not exist."""

    @property
    def status_code(self) -> int:
        if self.bad_input:
            return 400
        results = list(self.tables.values())
        if self.errors or not results or all(r.failed for r in results):
            return 500
        if any(r.failed for r in results):
            return 207
        return 200

    @property
    def ok(self) -> bool:
        return self.status_code == 200

    def finish(self) -> None:
        self.finished_at = datetime.now(UTC).isoformat(timespec="seconds")

    def to_dict(self) -> dict[str, Any]:
        return {
            "statusCode": self.status_code,
            "run_id": self.run_id,
            "backup_date": self.backup_date,
            "requested_date": self.requested_date,
            "environment": self.environment,
            "dry_run": self.dry_run,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "report_key": self.report_key,
            "errors": self.errors,
            "warnings": self.warnings,
            "totals": {
                "tables": len(self.tables),
                "failed_tables": sum(1 for r in self.tables.values() if r.failed),
                "items_read": sum(r.items_read for r in self.tables.values()),
                "items_written": sum(r.items_written for r in self.tables.values()),
                "items_not_written": sum(r.items_not_written for r in self.tables.values()),
                "items_skipped": sum(r.items_skipped for r in self.tables.values()),
                "files_skipped": sum(r.files_skipped for r in self.tables.values()),
            },
            "tables": {name: asdict(r) for name, r in self.tables.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def not_started(args: RestoreArgs | None, error: str, *, bad_input: bool) -> RestoreReport:
    """The report of a restore that did not start: 400 for bad input, else 500."""
    report = RestoreReport(
        backup_date=None,
        requested_date=args.backup_date if args else "",
        environment=args.environment if args else None,
        dry_run=args.dry_run if args else False,
        bad_input=bad_input,
    )
    report.errors.append(error)
    report.finish()
    return report


def report_key(prefix: str, backup_date: str, report: RestoreReport) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}/{backup_date}/restore-reports/{stamp}-{report.run_id}.json"


def store_report(s3: S3Client, bucket: str, prefix: str, report: RestoreReport) -> str:
    """Write the report beside the backup's manifest; returns its key."""
    assert report.backup_date is not None
    key = report_key(prefix, report.backup_date, report)
    report.report_key = key
    s3.put_object(
        Bucket=bucket, Key=key, Body=report.to_json().encode("utf-8"), ContentType="application/json"
    )
    return key
