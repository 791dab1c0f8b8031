"""The restore, one function per stage: check → validate → prepare → write → finalize.

``check_restore`` runs on the driver alone, before any Spark starts: it resolves the backup manifest
(a date, or ``latest``), selects the tables, reads each export's manifests, checks every target
(exists, ACTIVE, same key schema, or missing and to be created) and builds one writer transport (so
a botocore change fails here, not inside every task). A wrong date or table raises; a target that
cannot take the restore fails its table. ``execute_restore`` then runs the stages on a
``StageRunner`` (Spark, or threads for small restores):

1. ``validate_stage``: every data file of every table still in the running is streamed and checked
   (MD5, gzip, item count). A table with any bad file fails and nothing is written to it.
2. ``--dry_run`` stops here (``dry_run_stage``) and reports what would be written.
3. ``prepare_stage``: per table, resume an interrupted attempt of the same restore or start fresh;
   create missing targets, back up and clear targets (``--clear_existing_data``, once per restore);
   the table's write budget and its split among the tasks.
4. ``write_stage``: per table, the data files not yet written in as many lists as tasks write it at
   once, balanced by item count; each task writes its files' items, type-exact, at its share of the
   budget (raised as the table's other tasks finish), fetching the next file while it writes one,
   and records each file as written; the driver logs progress every few seconds.
   (before it, ``import_stage``: a missing target ImportTable can take is created and filled by
   ImportTable from the export's data files, see ``import_path``; it is not written.)
5. ``finalize_stage``: the backup's settings (TTL, PITR and its period, tags ...) re-applied to
   created tables (``table_settings``); a fully restored table's progress is marked
   finished (the next identical run is a fresh restore); ``--verify``: each restored table compared
   with its export item by item (``verify_stage``, a difference fails the table); the report is
   stored. ``--verify_only`` runs ``verify_stage`` alone, after the driver's checks.

``RestoreRun`` owns the run's state: the report, and per table its selection, export, target and
result. Stages read it and move tables out of the running by failing their result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr import table_settings
from dynamodb_dr.backup_manifest import BackupManifest
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.restore import extras, import_path, inflate, resume, targets, verify, write_rate
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
from dynamodb_dr.restore.progress import ProgressLog, TableTotals
from dynamodb_dr.restore.report import (
    FAILED,
    SUCCEEDED,
    VALIDATED,
    VERIFIED,
    RestoreReport,
    TableResult,
    store_report,
)
from dynamodb_dr.restore.runner import SparkRunner, StageRunner
from dynamodb_dr.restore.tasks import (
    FileCheck,
    FileTask,
    FileToWrite,
    FileWrite,
    WriteTask,
    validate_task,
    write_task,
)
from dynamodb_dr.restore.writer import check_transport

logger = logging.getLogger(__name__)


@dataclass
class _Table:
    """One table's restore: what was chosen and checked, and its result (the report's entry)."""

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
    choice: import_path.PathChoice | None = None
    """A missing target: filled by ImportTable or by writes (``import_path.choose``)."""
    create_definition: dict[str, Any] | None = None
    """The definition a missing target is created with here (a KMS key of another region left out)."""
    sse_note: str | None = None
    """Why the backup's KMS key is not used for the created table, if it is not."""

    @property
    def source(self) -> str:
        return self.selection.source

    @property
    def live(self) -> bool:
        """Still to be worked on: not failed, and not already restored (by ImportTable)."""
        return not self.result.failed and self.result.status != SUCCEEDED


@dataclass
class RestoreRun:
    """The state of one restore run; the stages below are its only writers."""

    args: RestoreArgs
    manifest: BackupManifest
    report: RestoreReport
    tables: list[_Table]
    s3: Any
    dynamodb: Any

    @property
    def bucket(self) -> str:
        """Where the export data files are read: the bucket the backup is read from
        (``--BACKUP_BUCKET``), which may be a replica or a copy of the one the manifest names. The
        export keys in the manifests are resolved relative to it."""
        return self.args.backup_bucket

    def live_tables(self) -> list[_Table]:
        return [t for t in self.tables if t.live]

    def stamp_failed(self) -> None:
        """A table's ``seconds`` ends when it failed, not when the whole run ended."""
        now = time.monotonic()
        for table in self.tables:
            if table.result.failed and not table.result.seconds:
                table.result.seconds = round(now - table.started, 3)


# --- entry points ------------------------------------------------------------------------------


def run_restore(
    args: RestoreArgs,
    *,
    s3: Any,
    dynamodb: Any,
    spark: Any = None,
    runner: StageRunner | None = None,
    progress_seconds: float = 5.0,
) -> RestoreReport:
    """Restore a backup as ``args`` say. Raises a DynamoDBDRError when nothing can start (no such
    backup, unknown table); per-table problems are in the report."""
    if runner is None:
        runner = SparkRunner(spark)
    run = check_restore(args, s3=s3, dynamodb=dynamodb)
    return execute_restore(run, runner, progress_seconds=progress_seconds)


def execute_restore(run: RestoreRun, runner: StageRunner, *, progress_seconds: float = 5.0) -> RestoreReport:
    """The stages after the driver's checks, on ``runner``."""
    if not run.live_tables():
        return finalize_stage(run)
    if run.args.verify_only:
        verify_stage(run, runner, verify_only=True)
        return finalize_stage(run)
    if not validate_stage(run, runner):
        return finalize_stage(run)
    if run.args.dry_run:
        dry_run_stage(run)
        return finalize_stage(run)
    import_stage(run, poll_seconds=progress_seconds)
    if not run.live_tables():  # every table imported (or failed): still verified with --verify
        return finalize_stage(run, runner)
    slots = runner.task_slots()
    prepare_stage(run, slots)
    write_stage(run, runner, progress_seconds=progress_seconds)
    remove_extras_stage(run, runner, slots)
    return finalize_stage(run, runner)


# --- 0. check (driver only, before Spark) --------------------------------------------------------


def check_restore(args: RestoreArgs, *, s3: Any, dynamodb: Any) -> RestoreRun:
    """The backup, the tables, their exports and targets, checked on the driver before anything
    starts. Raises a DynamoDBDRError for a backup or table that does not exist; a table whose export
    or target is not fit fails in the run's report."""
    report = RestoreReport(
        backup_date=None, requested_date=args.backup_date, environment=args.environment, dry_run=args.dry_run
    )
    stored = resolve_backup(s3, args, warnings=report.warnings)
    manifest = stored.manifest
    report.backup_date = manifest.backup_date
    if args.environment and manifest.environment != args.environment:
        report.warnings.append(
            f"the backup was taken in environment {manifest.environment!r}, this restore runs as "
            f"{args.environment!r}"
        )
    if manifest.s3_bucket != args.backup_bucket:
        report.warnings.append(
            f"reading the backup from s3://{args.backup_bucket}, a copy of s3://{manifest.s3_bucket} (where it "
            "was written): every export key is read from the copy"
        )
    selections = select_tables(manifest.tables, args, manifest.backup_date)
    # The writer checked here, from the same client parts every task uses: a botocore outside the
    # tested range, or one that moved what the writer relies on, fails the job now, before any stage.
    check_transport(dynamodb)
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
        report.tables[table.source] = table.result
    run = RestoreRun(args, manifest, report, tables, s3, dynamodb)
    for table in tables:
        try:
            table.definition = check_backup(table.selection)
            table.export = read_export(s3, run.bucket, table.selection.backup.export_manifest_key or "")
            table.result.export_arn = table.export.summary.export_arn
            table.result.files = len(table.export.files)
            table.result.items_in_export = table.export.summary.item_count
            table.target = check_target(
                dynamodb, table.selection, table.definition, create_missing=args.create_missing_tables
            )
            table.choice = import_path.choose(
                args.import_mode,
                s3,
                run.bucket,
                table.export,
                table.selection.backup.export_manifest_key or "",
                table.definition,
                target_exists=table.target.exists,
                target=table.selection.target,
            )
            table.result.restore_path = table.choice.path
            table.result.restore_path_reason = table.choice.reason
            if not table.target.exists:
                table.create_definition, table.sse_note = table_settings.create_time_definition(
                    table.definition, dynamodb.meta.region_name
                )
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
            table.export = None
    run.stamp_failed()
    return run


# --- 1. validate -----------------------------------------------------------------------------------


def _file_tasks(tables: list[_Table], bucket: str, args: RestoreArgs) -> list[FileTask]:
    """Validation: every data file of every table, each line against its target's rules."""
    return [
        FileTask(
            source=t.selection.source,
            target=t.selection.target,
            bucket=bucket,
            export_arn=t.export.summary.export_arn,
            data_file=f,
            max_workers=args.max_workers,
            rules=t.target.rules if t.target is not None else None,
        )
        for t in tables
        if t.export is not None
        for f in t.export.files
    ]


def validate_stage(run: RestoreRun, runner: StageRunner) -> bool:
    """Every data file of every live table checked; a table with a bad file fails. False when the
    stage itself failed (nothing was written)."""
    live = run.live_tables()
    try:
        checks: list[FileCheck] = runner.run(
            _file_tasks(live, run.bucket, run.args), validate_task, "validate"
        )
    except Exception as exc:  # Spark itself failed (lost executor, worker crash): nothing was written
        for table in live:
            table.result.fail(
                f"the Spark validation stage failed, nothing was written: {type(exc).__name__}: {exc}"
            )
        return False
    by_source = {t.source: t for t in run.tables}
    for check in checks:
        table = by_source[check.source]
        table.result.items_read += check.items
        table.result.bytes += check.bytes
        if not check.ok:
            table.result.fail(check.error or f"data file {check.key} failed validation")
        elif check.etag:
            table.verified[check.key] = check.etag
    run.stamp_failed()
    logger.info(
        "validation finished",
        extra={
            "files": len(checks),
            "inflate": sorted({c.inflate for c in checks}),
            "tables_ok": [t.source for t in run.live_tables()],
            "tables_failed": [t.source for t in run.tables if t.result.failed],
        },
    )
    return True


# --- 2. dry run ----------------------------------------------------------------------------------


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


def dry_run_stage(run: RestoreRun) -> None:
    """What a real run would do to each table, from the checks and the resume store (read only)."""
    for table in run.live_tables():
        assert table.target is not None and table.export is not None
        result = table.result
        result.status = VALIDATED
        result.would_create = not table.target.exists
        result.would_remove_extras = run.args.clear_existing_data and not result.would_create
        done: frozenset[str] = frozenset()
        if not result.would_create:
            location = _location(run.args, run.manifest.backup_date, table)
            try:
                progress = resume.inspect(run.s3, location, table.export.files, resume=run.args.resume)
            except ClientError as exc:
                run.report.warnings.append(f"could not read the restore progress of {table.source}: {exc}")
            else:
                done = progress.done
        result.would_skip_files = len(done)
        result.would_write = result.items_read - sum(
            f.item_count for f in table.export.files if f.key in done
        )


# --- 2b. import (the fast path for a missing target) ---------------------------------------------


def import_stage(run: RestoreRun, *, poll_seconds: float = 10.0) -> None:
    """Each live table whose path is ``import``: ImportTable from its export's data files into the
    recorded definition, waited for, counted, its settings re-applied. The table is then SUCCEEDED
    (and not written) or FAILED with the import's failure and what it left behind."""
    for table in run.live_tables():
        if table.choice is None or table.choice.path != import_path.IMPORT:
            continue
        assert table.export is not None and table.definition is not None
        result, target = table.result, table.selection.target
        try:
            outcome = import_path.run_import(
                run.dynamodb,
                bucket=run.bucket,
                choice=table.choice,
                export=table.export,
                target=target,
                definition=table.create_definition or table.definition,
                token=import_path.client_token(run.report.run_id, target, table.export.summary.export_arn),
                poll_seconds=poll_seconds,
            )
        except (DynamoDBDRError, ClientError) as exc:
            result.fail(str(exc))
            continue
        result.import_arn = outcome.import_arn
        result.created = outcome.table_left
        if outcome.failure:
            result.items_written = outcome.imported if outcome.table_left else 0
            result.fail(
                outcome.failure
                + (
                    f". The import left table {target} behind: delete it, then run the restore again (with "
                    "--import_mode write to write the items instead)"
                    if outcome.table_left
                    else f"; no table {target} was left behind. Run the restore again, or with --import_mode write"
                )
            )
            continue
        result.items_written = outcome.imported
        reapply_settings(run, table, created_by="ImportTable")
        if outcome.imported != result.items_in_export or outcome.errors:
            result.fail(
                f"import {outcome.import_arn} into {target} COMPLETED with {outcome.imported} of the export's "
                f"{result.items_in_export} items imported and {outcome.errors} errors (log group "
                f"{outcome.log_group}); run the restore again with --import_mode write: {target} exists now, so "
                "every item of the backup is written into it"
            )
            continue
        result.status = SUCCEEDED
        logger.info(
            "table restored by ImportTable",
            extra={"table": table.source, "target_table": target, "import_arn": outcome.import_arn},
        )
    run.stamp_failed()


def reapply_settings(run: RestoreRun, table: _Table, *, created_by: str) -> None:
    """The backup's settings on a table this restore created (``apply_backed_up_settings``)."""
    assert table.definition is not None
    apply_backed_up_settings(
        run,
        table.selection.target,
        table.definition,
        table.result,
        created_by=created_by,
        source_table_arn=table.selection.backup.table_arn,
        sse_note=table.sse_note,
    )


def apply_backed_up_settings(
    run: RestoreRun,
    target: str,
    definition: dict[str, Any],
    result: TableResult,
    *,
    created_by: str,
    source_table_arn: str | None,
    sse_note: str | None,
) -> None:
    """The backup's settings on ``target``, which this restore created (a daily backup's restore or
    a time-travel one), each reported; a failure is a warning with the command that fixes it, not a
    failed table."""
    try:
        outcomes = table_settings.reapply(
            run.dynamodb,
            target,
            definition,
            created_by=created_by,
            source_table_arn=source_table_arn,
            sse_not_applied=sse_note,
        )
    except ClientError as exc:  # the table could not even be described: say so, keep the restore
        result.settings = {"all": f"failed: {exc}"}
        run.report.warnings.append(
            f"{target} is restored but the backup's settings (TTL, PITR period, tags ...) were not re-applied: "
            f"{exc}; run the restore's settings step again by hand (docs/deploy.md lists them)"
        )
        return
    result.settings = {o.setting: o.text() for o in outcomes}
    for outcome in outcomes:
        if outcome.status == table_settings.FAILED:
            run.report.warnings.append(
                f"{target} is restored but its {outcome.setting} from the backup is not: {outcome.detail}; "
                f"apply it with: {outcome.command}"
            )


# --- 3. prepare ----------------------------------------------------------------------------------


def table_budget(args: RestoreArgs, dynamodb: Any, table: _Table, *, exists: bool = True) -> float:
    """The table's write budget in items/s (``write_rate``). A target that does not exist yet (the
    Restore Lambda's estimate, before it is created) has no capacity to take a percentage of."""
    if args.write_rate_percent is not None and not exists:
        args = dataclasses.replace(args, write_rate_percent=None)
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


def prepare_stage(run: RestoreRun, slots: int) -> None:
    """Per table: resume or start fresh; create, or back up and clear, the target (once per
    restore); the write budget. A table that cannot be prepared fails and is not written."""
    for table in run.live_tables():
        try:
            _prepare(table, run, slots)
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(str(exc))
    run.stamp_failed()


def _prepare(table: _Table, run: RestoreRun, slots: int) -> None:
    assert table.target is not None and table.definition is not None and table.export is not None
    args, s3, dynamodb = run.args, run.s3, run.dynamodb
    result, target = table.result, table.selection.target
    location = _location(args, run.manifest.backup_date, table)
    # The budget of an existing target first: a capacity problem fails the table before anything changes.
    budget = table_budget(args, dynamodb, table) if table.target.exists else None
    progress = resume.begin(
        s3,
        location,
        table.export.files,
        resume=args.resume,
        run_id=run.report.run_id,
        target_exists=table.target.exists,
    )
    table.progress = progress
    state = progress.state
    result.resumed = progress.resumed
    if not table.target.exists:
        targets.create_target(dynamodb, target, table.create_definition or table.definition)
        state["created"] = True
        resume.save_state(s3, location, state)
    elif args.clear_existing_data and not state.get("backup_arn"):
        # The safety backup, once per restore, before the first write. Nothing is deleted now: the
        # extras go only after every item of the backup is written (``remove_extras_stage``).
        details = targets.backup_target(dynamodb, target)
        state.update(backup_arn=details["BackupArn"], backup_status=details.get("BackupStatus"))
        resume.save_state(s3, location, state)
    result.created = bool(state.get("created"))
    if state.get("backup_arn"):
        result.backup_arn, result.backup_status = state["backup_arn"], state.get("backup_status")

    table.to_write = tuple(f for f in table.export.files if f.key not in progress.done)
    result.files_skipped = len(table.export.files) - len(table.to_write)
    result.items_skipped = sum(f.item_count for f in table.export.files if f.key in progress.done)

    if budget is None:
        budget = table_budget(args, dynamodb, table)
    result.write_rate_budget = round(budget, 3)
    result.write_tasks = write_rate.concurrent_writers(len(table.to_write), slots, budget)
    table.write_rate = write_rate.task_ceiling(budget / max(result.write_tasks, 1))
    logger.info(
        "resuming restore" if progress.resumed else "restore of table starting",
        extra={
            "table": table.source,
            "target_table": target,
            "restore_progress": f"s3://{location.bucket}/{location.folder}",
            "files_skipped": result.files_skipped,
            "items_skipped": result.items_skipped,
            "files_to_write": len(table.to_write),
            "write_rate_budget": result.write_rate_budget,
            "write_tasks": result.write_tasks,
            "write_rate_per_task": round(table.write_rate, 3),
            "hold_window_seconds": write_rate.HOLD_WINDOW_SECONDS,
        },
    )


# --- 4. write ------------------------------------------------------------------------------------


def _write_tasks(
    tables: list[_Table],
    bucket: str,
    args: RestoreArgs,
    run_id: str,
    live_seconds: float = resume.LIVE_SECONDS,
) -> list[WriteTask]:
    """Writing: per table, its files still to write in ``write_tasks`` lists balanced by item count
    (``write_rate.balance``), one task each, with the task's share of the budget, the budget itself
    (a finished task's share flows to the others) and the progress location."""
    tasks: list[WriteTask] = []
    for t in tables:
        if t.export is None or not t.to_write:
            continue
        groups = write_rate.balance(t.to_write, max(t.result.write_tasks, 1), lambda f: f.item_count)
        for index, files in enumerate(groups):
            tasks.append(
                WriteTask(
                    source=t.selection.source,
                    target=t.selection.target,
                    bucket=bucket,
                    export_arn=t.export.summary.export_arn,
                    files=tuple(FileToWrite(f, t.verified.get(f.key)) for f in files),
                    write_rate=t.write_rate,
                    budget=t.result.write_rate_budget,
                    index=index,
                    tasks=len(groups),
                    max_workers=args.max_workers,
                    progress=t.progress.location if t.progress is not None else None,
                    run_id=run_id,
                    live_seconds=live_seconds,
                )
            )
    return tasks


def write_stage(run: RestoreRun, runner: StageRunner, *, progress_seconds: float = 5.0) -> None:
    """Every file still to write, written by the runner's tasks (a balanced list of files each) while
    the driver logs progress."""
    live = run.live_tables()
    # Tasks record the items written within a file every 2 progress intervals, so the log moves
    # within long files too (``resume.LiveProgress``).
    tasks = _write_tasks(live, run.bucket, run.args, run.report.run_id, live_seconds=2 * progress_seconds)
    counts = runner.counter()
    totals = [
        TableTotals(
            source=t.source,
            target=t.selection.target,
            files_total=t.result.files,
            items_total=t.result.items_in_export,
            files_skipped=t.result.files_skipped,
            items_skipped=t.result.items_skipped,
            live=(
                resume.LiveProgress(run.s3, t.progress.location, list(t.to_write), run.report.run_id)
                if t.progress is not None
                else None
            ),
        )
        for t in live
    ]
    try:
        with ProgressLog(counts, totals, progress_seconds) as progress:
            per_task: list[tuple[FileWrite, ...]] = runner.run(
                tasks, functools.partial(write_task, counts=counts), "write"
            )
    except Exception as exc:  # Spark itself failed: some items may be written, none is reported as such
        for table in live:
            table.result.fail(
                f"the Spark write stage failed ({type(exc).__name__}: {str(exc)[:500]}); the table may be "
                "partly restored. Run the restore again: it resumes, skipping the data files already written."
            )
            table.result.items_not_written = table.result.items_in_export - table.result.items_skipped
        return
    finally:
        for table in live:  # the tasks' "finished" notes (write_rate.SharedBudget) are no longer needed
            if table.progress is not None:
                location = table.progress.location
                with contextlib.suppress(ClientError):
                    write_rate.clear_finished_tasks(
                        run.s3, location.bucket, location.folder, run.report.run_id
                    )
    by_source = {t.source: t for t in run.tables}
    for source, points in progress.series.items():
        by_source[source].result.progress = points
    for write in (w for writes in per_task for w in writes):
        result = by_source[write.source].result
        result.items_written += write.items_written
        result.items_not_written += write.failed_items
        result.throttle_events += write.throttle_events
        if write.ok:
            result.files_written += 1
        else:
            result.fail(write.error or f"data file {write.key} was not written")
        run.report.warnings.extend(write.warnings)


# --- 5. remove extras (--clear_existing_data) ----------------------------------------------------


def _fully_written(table: _Table) -> bool:
    result = table.result
    return result.items_written + result.items_skipped == result.items_in_export


def remove_extras_stage(run: RestoreRun, runner: StageRunner, slots: int) -> None:
    """``--clear_existing_data``: for each table whose every write succeeded, delete the items whose
    keys are not in the backup (``extras``). A table with any failed write keeps them, and says so."""
    if not run.args.clear_existing_data:
        return
    for table in run.live_tables():
        if table.result.created or not _fully_written(table):
            continue  # a created table has no extras; a partly written one keeps them (finalize says so)
        assert table.export is not None and table.target is not None and table.progress is not None
        names = table.target.key_names
        segments = max(slots, min(1000, table.result.items_in_export // 200_000 + 1))
        budget = table.result.write_rate_budget
        settings = extras.DeleteSettings(
            table=table.selection.target,
            write_rate=write_rate.task_ceiling(budget / min(slots, segments)) if budget else None,
        )
        keys_tasks = [
            extras.BackupKeysTask(
                run.bucket, table.export.summary.export_arn, f, names, table.verified.get(f.key)
            )
            for f in table.export.files
        ]
        scan_tasks = [extras.ScanTask(table.selection.target, names, i, segments) for i in range(segments)]
        try:
            deleted: list[extras.ExtrasDeleted] = runner.subtract(
                (keys_tasks, extras.backup_keys),
                (scan_tasks, extras.target_keys),
                functools.partial(extras.delete_extras, settings),
                f"remove-extras-{table.source}",
            )
        except Exception as exc:  # the stage itself failed: extras may be partly removed
            table.result.fail(
                f"every item of the backup was written to {table.selection.target}, but removing the items "
                f"whose keys are not in the backup failed ({type(exc).__name__}: {str(exc)[:500]}); run the "
                "restore again to remove them"
            )
            continue
        table.result.extras_removed = sum(d.deleted for d in deleted)
        errors = [d for d in deleted if d.error]
        if errors:
            left = sum(d.not_deleted for d in errors)
            table.result.fail(
                f"every item of the backup was written to {table.selection.target}, but {left} items whose "
                f"keys are not in the backup could not be deleted ({errors[0].error}); run the restore "
                "again to remove them"
            )
        logger.info(
            "removed items not in the backup",
            extra={
                "table": table.source,
                "target_table": table.selection.target,
                "extras_removed": table.result.extras_removed,
                "scan_segments": segments,
            },
        )


# --- 6. verify (--verify, --verify_only) ---------------------------------------------------------


def _since(run: RestoreRun, table: _Table, verify_only: bool) -> float | None:
    """Live writes are those at or after this moment: the restore's start, or for a verify-only run
    the backup's export time (what changed since the backup was taken)."""
    moment = export_time(table) if verify_only else run.report.started_at
    if not moment:
        return None
    parsed = datetime.fromisoformat(moment)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def export_time(table: _Table) -> str | None:
    """The point in time the table's backup holds: the manifest's record, else the export's own."""
    if table.selection.backup.export_time:
        return table.selection.backup.export_time
    return table.export.summary.export_time if table.export is not None else None


def _compare_with_backup(
    run: RestoreRun, runner: StageRunner, table: _Table, verify_only: bool
) -> verify.Verification:
    """``table``'s target compared with its export (``verify.verify_table``)."""
    assert table.export is not None and table.target is not None
    result = table.result
    return verify.verify_table(
        runner,
        bucket=run.bucket,
        export_arn=table.export.summary.export_arn,
        files=table.export.files,
        verified=table.verified,
        target=table.selection.target,
        key_names=table.target.key_names,
        items_in_export=result.items_in_export,
        since=_since(run, table, verify_only),
        timestamp_attribute=run.args.verify_timestamp_attribute,
        extras_allowed=(
            not verify_only
            and table.target.exists
            and not result.created
            and not run.args.clear_existing_data
        ),
    )


def verify_stage(run: RestoreRun, runner: StageRunner, *, verify_only: bool = False) -> None:
    """Each fully restored table (every live table for ``--verify_only``) compared with its export,
    item by item (``verify``); a table that differs fails with counts and sample keys."""
    # Not ``live_tables``: a restored table (written, or filled by ImportTable) is SUCCEEDED by now.
    for table in run.tables:
        if table.result.failed or table.export is None or table.target is None:
            continue
        if not verify_only and table.result.status != SUCCEEDED:
            continue
        if verify_only and not table.target.exists:
            table.result.fail(f"--verify_only: target table {table.selection.target} does not exist")
            continue
        verify.record(
            table.result,
            functools.partial(_compare_with_backup, run, runner, table, verify_only),
            target=table.selection.target,
            verify_only=verify_only,
        )
    run.stamp_failed()


# --- 7. finalize ---------------------------------------------------------------------------------


def describe_state(result: TableResult, clear_existing_data: bool) -> str:
    """What the target holds because of this restore, in words an operator acts on."""
    written = result.items_written + result.items_skipped
    total = result.items_in_export
    if result.status == SUCCEEDED:
        removed = (
            f", {result.extras_removed} items not in the backup removed" if result.extras_removed else ""
        )
        return ("created and restored" if result.created else "restored") + removed
    if result.status == VALIDATED:
        return "untouched (dry run)"
    if result.status == VERIFIED or (result.verification is not None and not result.items_written):
        return "untouched (verify only)"
    created = "created by this restore, " if result.created else ""
    if written == 0:
        return f"{created}empty" if result.created else "untouched"
    extras_kept = (
        "; items not in the backup not removed" if clear_existing_data and not result.created else ""
    )
    if written < total:
        return f"{created}partly written ({written} of {total} items){extras_kept}"
    return f"{created}every backup item written{extras_kept}"


def _state_of_failed(run: RestoreRun, table: _Table) -> None:
    result = table.result
    result.target_state = describe_state(result, run.args.clear_existing_data)
    if not result.failed:
        return
    sentence = f"target {table.selection.target} is {result.target_state}"
    if result.backup_arn:
        result.restore_backup_command = (
            f"aws dynamodb restore-table-from-backup --backup-arn {result.backup_arn} "
            f"--target-table-name {table.selection.target}-before-restore"
        )
        sentence += (
            f"; its safety backup from before the restore is {result.backup_arn}, restore it with: "
            f"{result.restore_backup_command}"
        )
    result.errors.append(sentence)


def finalize_stage(run: RestoreRun, runner: StageRunner | None = None) -> RestoreReport:
    """The backed-up settings on the tables this restore created; every table's status settled; the progress of a
    complete table marked finished; ``--verify``: each restored table compared with the backup (on
    ``runner``); the report stored beside the manifest."""
    for table in run.tables:
        if table.result.status in (SUCCEEDED, VALIDATED, VERIFIED, FAILED):
            continue
        if table.export is None or table.progress is None:
            continue
        _settle(run, table)
    if runner is not None and run.args.verify:
        verify_stage(run, runner)
    now = time.monotonic()
    for table in run.tables:
        if not table.result.seconds:
            table.result.seconds = round(now - table.started, 3)
        if table.result.status not in (SUCCEEDED, VALIDATED, VERIFIED, FAILED):
            table.result.fail("the restore stopped before this table finished")
        _state_of_failed(run, table)
    report, args = run.report, run.args
    report.finish()
    try:
        store_report(run.s3, args.backup_bucket, args.exports_prefix, report)
    except Exception as exc:  # the report still goes to stdout; say it was not stored
        report.warnings.append(f"could not store the report in s3://{args.backup_bucket}/: {exc}")
    for name, result in report.tables.items():
        log = logger.error if result.failed else logger.info
        log("table restore finished", extra={"table": name, "result": asdict(result)})
    return report


def _settle(run: RestoreRun, table: _Table) -> None:
    """A written table: its backed-up settings re-applied if created, SUCCEEDED only if every item of
    the export is there."""
    result = table.result
    try:
        if result.created:
            reapply_settings(run, table, created_by="CreateTable")
        restored = result.items_written + result.items_skipped
        if restored != result.items_in_export:
            result.fail(
                f"wrote {restored} of the export's {result.items_in_export} items to "
                f"{table.selection.target}; run the restore again (it resumes where this run stopped)"
            )
            return
        result.status = SUCCEEDED
    except (DynamoDBDRError, ClientError) as exc:
        result.fail(str(exc))
        return
    assert table.progress is not None
    try:
        resume.finish(run.s3, table.progress)
    except ClientError as exc:
        location = table.progress.location
        run.report.warnings.append(
            f"{table.selection.target} is fully restored but its restore progress at "
            f"s3://{location.bucket}/{location.folder} could not be marked finished ({exc}); the next "
            f"restore of this backup into {table.selection.target} would resume and skip the files "
            "written now: run it with --resume false, or delete that folder"
        )
