"""The restore, orchestrated on Spark: read → validate every data file → prepare targets → write.

1. Driver: resolve the backup manifest, select tables, read each export's manifests, check every
   target (exists, ACTIVE, same key schema, or missing and to be created).
2. Spark stage 1: every data file of the selected tables is streamed and checked (MD5, gzip, item
   count). A table with any bad file fails and nothing is written to it; the others go on.
3. ``--dry_run`` stops here and reports what would be written.
4. Driver: per table, resume an interrupted attempt of the same restore or start fresh
   (``resume``); create missing targets, back up and clear targets (``--clear_existing_data``,
   once per restore, not per attempt); the table's write budget (``write_rate``).
5. Spark stage 2: one task per data file not yet written writes its items, type-exact,
   ``max_workers`` batches in flight, at its share of the table's budget, and records the file as
   written; the driver logs per-table progress every few seconds (``progress``).
6. Driver: PITR on for created tables; a fully restored table's progress is marked finished (the
   next identical run is a fresh restore); per-table results in the report.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.restore import inflate, resume, targets, write_rate
from dynamodb_dr.restore.args import RestoreArgs
from dynamodb_dr.restore.export_reader import DataFile, Export, read_export
from dynamodb_dr.restore.plan import (
    TableSelection,
    TargetState,
    check_backup,
    check_target,
    resolve_backup,
    select_tables,
)
from dynamodb_dr.restore.progress import TABLE_COUNTS, ProgressLog, TableTotals
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
    progress: resume.TableProgress | None = None
    to_write: tuple[DataFile, ...] = ()
    write_rate: float | None = None
    """Items/s for each of this table's tasks."""
    verified: dict[str, str] = field(default_factory=dict)
    """Data file key -> ETag of the version the validation stage checked."""


def _stamp_failed(tables: list[_Table]) -> None:
    """A table's ``seconds`` ends when it failed, not when the whole run ended."""
    now = time.monotonic()
    for table in tables:
        if table.result.failed and not table.result.seconds:
            table.result.seconds = round(now - table.started, 3)


def _task(table: _Table, data_file: DataFile, bucket: str, args: RestoreArgs, **write: Any) -> FileTask:
    assert table.export is not None
    return FileTask(
        source=table.selection.source,
        target=table.selection.target,
        bucket=bucket,
        export_arn=table.export.summary.export_arn,
        data_file=data_file,
        max_workers=args.max_workers,
        **write,
    )


def _file_tasks(tables: list[_Table], bucket: str, args: RestoreArgs) -> list[FileTask]:
    """Validation: every data file of every table."""
    return [_task(t, f, bucket, args) for t in tables if t.export is not None for f in t.export.files]


def _write_tasks(
    tables: list[_Table],
    bucket: str,
    args: RestoreArgs,
    run_id: str,
    live_seconds: float = resume.LIVE_SECONDS,
) -> list[FileTask]:
    """Writing: the files still to write, with each table's rate ceiling and progress location."""
    return [
        _task(
            t,
            f,
            bucket,
            args,
            write_rate=t.write_rate,
            progress=t.progress.location if t.progress is not None else None,
            run_id=run_id,
            verified_etag=t.verified.get(f.key),
            live_seconds=live_seconds,
        )
        for t in tables
        if t.export is not None
        for f in t.to_write
    ]


def _run_stage(spark: Any, tasks: list[FileTask], func: Any, description: str) -> list[dict[str, Any]]:
    if not tasks:
        return []
    sc = spark.sparkContext
    sc.setJobGroup(f"restore-{description}", f"restore: {description} {len(tasks)} data files")
    return sc.parallelize(tasks, numSlices=len(tasks)).map(func).collect()


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
            "inflate": inflate.ENGINE,
        },
    )
    tables = [_Table(s, TableResult(s.source, s.target), started=time.monotonic()) for s in selections]
    for table in tables:
        report.tables[table.selection.source] = table.result

    # 1. Exports and targets, checked before anything is written.
    for table in tables:
        try:
            table.definition = check_backup(table.selection)
            table.export = read_export(
                s3, manifest.s3_bucket, table.selection.backup.export_manifest_key or ""
            )
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
            table.result.fail(
                f"the Spark validation stage failed, nothing was written: {type(exc).__name__}: {exc}"
            )
        return _finish(report, tables, s3, args)
    by_source = {t.selection.source: t for t in tables}
    for check in checks:
        result = by_source[check["source"]].result
        result.items_read += check["items"]
        result.bytes += check["bytes"]
        if not check["ok"]:
            result.fail(check["error"])
        elif check.get("etag"):
            by_source[check["source"]].verified[check["key"]] = check["etag"]
    live = [t for t in live if not t.result.failed]
    _stamp_failed(tables)
    logger.info(
        "validation finished",
        extra={
            "files": len(checks),
            "inflate": sorted({c.get("inflate", "") for c in checks}),
            "tables_ok": [t.selection.source for t in live],
            "tables_failed": [t.selection.source for t in tables if t.result.failed],
        },
    )

    # 3. Dry run: report what would be written (the resume store is only read).
    if args.dry_run:
        for table in live:
            _dry_run(table, args, manifest.backup_date, s3, report)
        return _finish(report, tables, s3, args)

    # 4. Per table: resume or start fresh; create, or back up and clear, the target (once per
    #    restore); the write budget.
    sc = spark.sparkContext
    slots = write_rate.task_slots(sc.defaultParallelism, dict(sc.getConf().getAll()))
    for table in live:
        try:
            _prepare(table, args, manifest.backup_date, s3, dynamodb, report.run_id, slots)
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
    live = [t for t in live if not t.result.failed]
    _stamp_failed(tables)

    # 5. Write stage.
    # Tasks record the items written within a file every 2 progress intervals, so the log moves
    # within long files too (``resume.LiveProgress``).
    tasks = _write_tasks(live, manifest.s3_bucket, args, report.run_id, live_seconds=2 * progress_seconds)
    counts = spark.sparkContext.accumulator({}, TABLE_COUNTS)
    totals = [
        TableTotals(
            source=t.selection.source,
            target=t.selection.target,
            files_total=t.result.files,
            items_total=t.result.items_in_export,
            files_skipped=t.result.files_skipped,
            items_skipped=t.result.items_skipped,
            live=(
                resume.LiveProgress(s3, t.progress.location, list(t.to_write), report.run_id)
                if t.progress is not None
                else None
            ),
        )
        for t in live
    ]
    try:
        with ProgressLog(counts, totals, progress_seconds):
            writes = _run_stage(spark, tasks, functools.partial(write_task, counts=counts), "write")
    except Exception as exc:  # Spark itself failed: some items may be written, none is reported as such
        for table in live:
            table.result.fail(
                f"the Spark write stage failed ({type(exc).__name__}: {str(exc)[:500]}); the table may be partly "
                "restored. Run the restore again: it resumes, skipping the data files already written."
            )
            table.result.items_not_written = table.result.items_in_export - table.result.items_skipped
        return _finish(report, tables, s3, args)
    for write in writes:
        result = by_source[write["source"]].result
        result.items_written += write["items_written"]
        result.items_not_written += write["failed_items"]
        result.throttle_events += write.get("throttle_events", 0)
        if write["ok"]:
            result.files_written += 1
        else:
            result.fail(write["error"])
        for warning in ("warning", "progress_warning"):
            if write.get(warning):
                report.warnings.append(write[warning])

    # 6. PITR on for tables this restore created; a complete table's progress is marked finished.
    for table in live:
        if table.result.failed:
            continue
        try:
            if table.result.created:
                targets.enable_pitr(dynamodb, table.selection.target)
            restored = table.result.items_written + table.result.items_skipped
            if restored != table.result.items_in_export:
                table.result.fail(
                    f"wrote {restored} of the export's {table.result.items_in_export} items to "
                    f"{table.selection.target}; run the restore again (it resumes where this run stopped)"
                )
            else:
                table.result.status = SUCCEEDED
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
            continue
        if table.progress is not None and table.result.status == SUCCEEDED:
            try:
                resume.finish(s3, table.progress)
            except ClientError as exc:
                report.warnings.append(
                    f"{table.selection.target} is fully restored but its restore progress at "
                    f"s3://{table.progress.location.bucket}/{table.progress.location.folder} could not be marked "
                    f"finished ({exc}); the next restore of this backup into {table.selection.target} would resume "
                    "and skip the files written now: run it with --resume false, or delete that folder"
                )
    return _finish(report, tables, s3, args)


def _location(args: RestoreArgs, backup_date: str, table: _Table) -> resume.ProgressLocation:
    assert table.export is not None
    return resume.ProgressLocation.for_table(
        args.backup_bucket,
        args.exports_prefix,
        backup_date,
        table.selection.source,
        table.selection.target,
        table.export.summary.export_arn,
    )


def _dry_run(table: _Table, args: RestoreArgs, backup_date: str, s3: Any, report: RestoreReport) -> None:
    """What a real run would do to the table, from the checks and the resume store (read only)."""
    assert table.target is not None and table.export is not None
    result = table.result
    result.status = VALIDATED
    result.would_create = not table.target.exists
    result.would_clear = args.clear_existing_data and not result.would_create
    done: frozenset[str] = frozenset()
    if not result.would_create:
        try:
            progress = resume.inspect(
                s3, _location(args, backup_date, table), table.export.files, resume=args.resume
            )
        except ClientError as exc:
            report.warnings.append(f"could not read the restore progress of {table.selection.source}: {exc}")
        else:
            if progress.state.get("cleared"):
                result.would_clear = False  # an earlier attempt of this restore cleared it
            if not result.would_clear:  # clearing would delete what the earlier attempt wrote
                done = progress.done
    result.would_skip_files = len(done)
    result.would_write = result.items_read - sum(f.item_count for f in table.export.files if f.key in done)


def _budget(args: RestoreArgs, dynamodb: Any, table: _Table) -> float:
    """The table's write budget in items/s (``write_rate``)."""
    describe = (
        dynamodb.describe_table(TableName=table.selection.target)
        if args.write_rate_percent is not None
        else None
    )
    backup = table.selection.backup
    return write_rate.table_budget(
        args,
        describe,
        write_units_per_item=write_rate.wcu_per_item(backup.billed_size_bytes, backup.item_count),
    )


def _prepare(
    table: _Table, args: RestoreArgs, backup_date: str, s3: Any, dynamodb: Any, run_id: str, slots: int
) -> None:
    """Resume or start the table's restore, prepare its target, set its write budget."""
    assert table.target is not None and table.definition is not None and table.export is not None
    result, target = table.result, table.selection.target
    location = _location(args, backup_date, table)
    # The budget of an existing target first: a capacity problem fails the table before anything changes.
    budget = _budget(args, dynamodb, table) if table.target.exists else None
    progress = resume.begin(
        s3, location, table.export.files, resume=args.resume, run_id=run_id, target_exists=table.target.exists
    )
    table.progress = progress
    state = progress.state
    result.resumed = progress.resumed
    if not table.target.exists:
        targets.create_target(dynamodb, target, table.definition)
        state["created"] = True
        resume.save_state(s3, location, state)
    elif args.clear_existing_data and not state.get("cleared"):
        if progress.done:  # written by an attempt that did not clear: clearing deletes those items
            resume.delete_markers(s3, location)
            progress.done = frozenset()
        if not state.get("backup_arn"):
            details = targets.backup_target(dynamodb, target)
            state.update(backup_arn=details["BackupArn"], backup_status=details.get("BackupStatus"))
            resume.save_state(s3, location, state)
        result.cleared_items = targets.clear_table(dynamodb, target, table.target.key_names)
        state.update(cleared=True, cleared_items=result.cleared_items)
        resume.save_state(s3, location, state)
    result.created = bool(state.get("created"))
    if state.get("backup_arn"):
        result.backup_arn, result.backup_status = state["backup_arn"], state.get("backup_status")
        if result.cleared_items is None and state.get("cleared"):
            result.cleared_items = state.get("cleared_items")

    table.to_write = tuple(f for f in table.export.files if f.key not in progress.done)
    result.files_skipped = len(table.export.files) - len(table.to_write)
    result.items_skipped = sum(f.item_count for f in table.export.files if f.key in progress.done)

    if budget is None:
        budget = _budget(args, dynamodb, table)
    result.write_rate_budget = round(budget, 3)
    result.write_tasks = write_rate.concurrent_writers(len(table.to_write), slots, budget)
    table.write_rate = write_rate.task_ceiling(budget / max(result.write_tasks, 1))
    logger.info(
        "resuming restore" if progress.resumed else "restore of table starting",
        extra={
            "table": table.selection.source,
            "target_table": target,
            "restore_progress": f"s3://{location.bucket}/{location.folder}",
            "files_skipped": result.files_skipped,
            "items_skipped": result.items_skipped,
            "files_to_write": len(table.to_write),
            "write_rate_budget": result.write_rate_budget,
            "write_tasks": result.write_tasks,
            "write_rate_per_task": round(table.write_rate, 3),
            "hold_window_seconds": write_rate.HOLD_WINDOW_SECONDS,
            "cleared_by_earlier_attempt": progress.resumed and bool(state.get("cleared")),
        },
    )


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
