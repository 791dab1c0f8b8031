"""The restore, orchestrated on Spark: read → validate every data file → prepare targets → write.

1. Driver: resolve the backup manifest, select tables, read each export's manifests, check every
   target (exists, ACTIVE, same key schema, or missing and to be created).
2. Spark stage 1: every data file of the selected tables is streamed and checked (MD5, gzip, item
   count). A table with any bad file fails and nothing is written to it; the others go on.
3. ``--dry_run`` stops here and reports what would be written.
4. Driver: create missing targets, back up and clear targets (``--clear_existing_data``).
5. Spark stage 2: one task per data file writes its items, type-exact, ``max_workers`` batches in
   flight; the driver logs progress every few seconds.
6. Driver: PITR on for created tables; per-table results in the report.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.export_reader import Export, read_export
from dynamodb_dr.restore import targets
from dynamodb_dr.restore.args import RestoreArgs
from dynamodb_dr.restore.plan import (
    TableSelection,
    TargetState,
    check_backup,
    check_target,
    resolve_backup,
    select_tables,
)
from dynamodb_dr.restore.report import FAILED, SUCCEEDED, VALIDATED, RestoreReport, TableResult, store_report
from dynamodb_dr.restore.tasks import FileTask, validate_task, write_task

logger = logging.getLogger(__name__)


@dataclass
class _Table:
    selection: TableSelection
    result: TableResult
    definition: dict[str, Any] | None = None
    export: Export | None = None
    target: TargetState | None = None
    started: float = 0.0


def _stamp_failed(tables: list[_Table]) -> None:
    """A table's ``seconds`` ends when it failed, not when the whole run ended."""
    now = time.monotonic()
    for table in tables:
        if table.result.failed and not table.result.seconds:
            table.result.seconds = round(now - table.started, 3)


def _file_tasks(tables: list[_Table], bucket: str, args: RestoreArgs) -> list[FileTask]:
    return [
        FileTask(
            source=t.selection.source,
            target=t.selection.target,
            bucket=bucket,
            export_arn=t.export.summary.export_arn,
            data_file=f,
            max_workers=args.max_workers,
        )
        for t in tables
        if t.export is not None
        for f in t.export.files
    ]


def _run_stage(spark: Any, tasks: list[FileTask], func: Any, description: str) -> list[dict[str, Any]]:
    if not tasks:
        return []
    sc = spark.sparkContext
    sc.setJobGroup(f"restore-{description}", f"restore: {description} {len(tasks)} data files")
    return sc.parallelize(tasks, numSlices=len(tasks)).map(func).collect()


class _Progress:
    """Logs files done/total, items written and the rate every ``interval`` seconds."""

    def __init__(self, files_done: Any, items_done: Any, total_files: int, interval: float) -> None:
        self.files_done, self.items_done, self.total_files = files_done, items_done, total_files
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="restore-progress", daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> _Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.log()

    def log(self) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        items = self.items_done.value
        logger.info(
            "restore progress",
            extra={
                "files_done": self.files_done.value,
                "files_total": self.total_files,
                "items_written": items,
                "items_per_second": round(items / elapsed, 1),
                "elapsed_seconds": round(elapsed, 1),
            },
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.log()


def run_restore(
    args: RestoreArgs, *, spark: Any, s3: Any, dynamodb: Any, progress_seconds: float = 5.0
) -> RestoreReport:
    """Restore a backup as ``args`` say. Raises a DynamoDBDRError when nothing can start (no such
    backup, unknown table); per-table problems are in the report."""
    report = RestoreReport(
        backup_date=None, requested_date=args.backup_date, environment=args.environment, dry_run=args.dry_run
    )
    stored = resolve_backup(s3, args)
    manifest = stored.manifest
    report.backup_date = manifest.backup_date
    if args.environment and manifest.environment != args.environment:
        report.warnings.append(
            f"the backup was taken in environment {manifest.environment!r}, this restore runs as {args.environment!r}"
        )
    selections = select_tables(manifest.tables, args, manifest.backup_date)
    logger.info(
        "restore starting",
        extra={
            "backup_date": manifest.backup_date,
            "tables": {s.source: s.target for s in selections},
            "dry_run": args.dry_run,
            "clear_existing_data": args.clear_existing_data,
            "create_missing_tables": args.create_missing_tables,
        },
    )
    tables = [_Table(s, TableResult(s.source, s.target), started=time.monotonic()) for s in selections]
    for table in tables:
        report.tables[table.selection.source] = table.result

    # 1. Exports and targets, checked before anything is written.
    for table in tables:
        try:
            table.definition = check_backup(table.selection)
            table.export = read_export(s3, manifest.s3_bucket, table.selection.backup.export_manifest_key or "")
            table.result.export_arn = table.export.summary.export_arn
            table.result.files = len(table.export.files)
            table.result.items_in_export = table.export.summary.item_count
            table.target = check_target(
                dynamodb, table.selection, table.definition, create_missing=args.create_missing_tables
            )
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
            table.export = None

    _stamp_failed(tables)

    # 2. Validation stage: every data file of every table still in the running.
    live = [t for t in tables if not t.result.failed]
    try:
        checks = _run_stage(spark, _file_tasks(live, manifest.s3_bucket, args), validate_task, "validate")
    except Exception as exc:  # Spark itself failed (lost executor, worker crash): nothing was written
        for table in live:
            table.result.fail(f"the Spark validation stage failed, nothing was written: {type(exc).__name__}: {exc}")
        return _finish(report, tables, s3, args)
    by_source = {t.selection.source: t for t in tables}
    for check in checks:
        result = by_source[check["source"]].result
        result.items_read += check["items"]
        result.bytes += check["bytes"]
        if not check["ok"]:
            result.fail(check["error"])
    live = [t for t in live if not t.result.failed]
    _stamp_failed(tables)
    logger.info(
        "validation finished",
        extra={"files": len(checks), "tables_ok": [t.selection.source for t in live],
               "tables_failed": [t.selection.source for t in tables if t.result.failed]},
    )

    # 3. Dry run: report what would be written.
    if args.dry_run:
        for table in live:
            table.result.status = VALIDATED
            table.result.would_write = table.result.items_read
            table.result.would_create = table.target is not None and not table.target.exists
            table.result.would_clear = args.clear_existing_data and not table.result.would_create
        return _finish(report, tables, s3, args)

    # 4. Targets: create missing ones; back up, then clear, existing ones when asked.
    for table in live:
        target = table.selection.target
        try:
            assert table.target is not None and table.definition is not None
            if not table.target.exists:
                targets.create_target(dynamodb, target, table.definition)
                table.result.created = True
            elif args.clear_existing_data:
                details = targets.backup_target(dynamodb, target)
                table.result.backup_arn = details["BackupArn"]
                table.result.backup_status = details.get("BackupStatus")
                table.result.cleared_items = targets.clear_table(dynamodb, target, table.target.key_names)
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
    live = [t for t in live if not t.result.failed]
    _stamp_failed(tables)

    # 5. Write stage.
    tasks = _file_tasks(live, manifest.s3_bucket, args)
    sc = spark.sparkContext
    files_done, items_done = sc.accumulator(0), sc.accumulator(0)
    try:
        with _Progress(files_done, items_done, len(tasks), progress_seconds):
            writes = _run_stage(
                spark, tasks, functools.partial(write_task, files_done=files_done, items_done=items_done), "write"
            )
    except Exception as exc:  # Spark itself failed: some items may be written, none is reported as such
        for table in live:
            table.result.fail(
                f"the Spark write stage failed ({type(exc).__name__}: {str(exc)[:500]}); the table may be partly "
                "restored. Run the restore again (puts are idempotent)."
            )
            table.result.items_not_written = table.result.items_in_export
        return _finish(report, tables, s3, args)
    for write in writes:
        result = by_source[write["source"]].result
        result.items_written += write["items_written"]
        result.items_not_written += write["failed_items"]
        if not write["ok"]:
            result.fail(write["error"])

    # 6. PITR on for tables this run created.
    for table in live:
        if table.result.failed:
            continue
        try:
            if table.result.created:
                targets.enable_pitr(dynamodb, table.selection.target)
            if table.result.items_written != table.result.items_in_export:
                table.result.fail(
                    f"wrote {table.result.items_written} of the export's {table.result.items_in_export} items to "
                    f"{table.selection.target}; run the restore again"
                )
            else:
                table.result.status = SUCCEEDED
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
    return _finish(report, tables, s3, args)


def _finish(report: RestoreReport, tables: list[_Table], s3: Any, args: RestoreArgs) -> RestoreReport:
    bucket = args.backup_bucket
    now = time.monotonic()
    for table in tables:
        if not table.result.seconds:
            table.result.seconds = round(now - table.started, 3)
        if table.result.status not in (SUCCEEDED, VALIDATED, FAILED):
            table.result.fail("the restore stopped before this table finished")
    report.finish()
    try:
        store_report(s3, bucket, args.exports_prefix, report)
    except Exception as exc:  # the report still goes to stdout; say it was not stored
        report.warnings.append(f"could not store the report in s3://{bucket}/: {exc}")
    for name, result in report.tables.items():
        log = logger.error if result.failed else logger.info
        log("table restore finished", extra={"table": name, "result": asdict(result)})
    return report
