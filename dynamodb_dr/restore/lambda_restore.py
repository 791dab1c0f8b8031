"""The Restore Lambda's restore: small restores in the function itself, large ones handed to Glue.

The same library as the Glue job, in the same order: ``job.check_restore`` on the "driver" (the
backup, the tables, their exports and targets), then ``job.execute_restore`` on a ``ThreadRunner``
instead of Spark (validation, dry run, prepare, write, extras, finalize, report). What this module
adds is knowing the function's limits:

1. **Before anything is read or written**, ``estimate`` turns what ``check_restore`` knows (items and
   bytes per table from each export, the files a resumed restore already wrote, the write budget)
   into seconds with the assumptions in ``Rates``. When ``seconds * safety_factor + reserve`` does
   not fit in ``context.get_remaining_time_in_millis()``, the Glue restore job is started with the
   same arguments (``args.job_arguments``; the backup date as resolved, so ``latest`` cannot move to
   a newer backup in between) and the answer is ``202`` with the job run id and where its report
   will be. The same when the largest data file might not fit in the free temporary storage (each
   file is spooled to disk before it is read).
2. **A restore that runs out of time anyway** (the estimate was wrong: throttling, a slow target)
   stops at a file boundary: before each data file is started the remaining time is read again, and
   no file is started when less than the reserve plus the largest file's time is left. Files in
   flight finish and write their resume markers; the files not started fail their table with a
   message; finalize stores the report. The answer says how to finish: invoke again with the same
   event (it resumes, skipping the files written), or run the Glue job with ``job_command``.

3. **ImportTable** (``import_path``) runs for minutes even for a small table, and the function does
   not sleep through it: with ``import_mode: "import"`` a restore that would import is handed to the
   Glue job; with ``auto`` a restore that fits in the function writes its missing tables itself
   (the report says why), and one that does not fit is handed to the job, which imports them.

One data file at a time (``FILE_SLOTS``), each with ``max_workers`` BatchWriteItem requests in
flight: ``max_workers`` is the requests in flight of the whole function, as the event documents.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from dynamodb_dr import config
from dynamodb_dr.aws_errors import describe
from dynamodb_dr.errors import BackupNotFoundError, ConfigError, DynamoDBDRError
from dynamodb_dr.restore import import_path, resume
from dynamodb_dr.restore.args import RestoreArgs, job_arguments
from dynamodb_dr.restore.job import RestoreRun, check_restore, execute_restore, table_budget
from dynamodb_dr.restore.report import not_started
from dynamodb_dr.restore.runner import ThreadRunner
from dynamodb_dr.restore.tasks import FileWrite, WriteTask

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

FILE_SLOTS = 1
"""Data files validated or written at once (``max_workers`` requests in flight each)."""
HANDED_OFF = 202


@dataclass(frozen=True)
class LambdaSettings:
    """The Restore Lambda's own environment (the backup's location comes with the restore's
    arguments: the event, else ``BACKUP_BUCKET`` / ``ENVIRONMENT`` / ``S3_EXPORTS_PREFIX``)."""

    glue_job_name: str

    @classmethod
    def from_env(cls, env: Any) -> LambdaSettings:
        return cls(
            glue_job_name=config.require(
                env,
                config.RESTORE_GLUE_JOB_NAME,
                "the name of the Glue restore job to hand large restores to",
            )
        )


@dataclass(frozen=True)
class Rates:
    """What the estimate assumes one Restore Lambda does per second. Deliberately modest (1 vCPU,
    DynamoDB answering a BatchWriteItem of 25 in ~25 ms); ``benchmarks/bench_lambda.py`` measures
    the real figures against the local endpoint."""

    read_bytes_per_second: float = 20e6
    """Validation: S3 GET, MD5, gunzip and line checks of the export's (uncompressed) bytes."""
    items_per_second_per_request: float = 1_000.0
    """Items/s one BatchWriteItem request in flight gives (25 items per ~25 ms)."""
    bytes_per_item_unknown: float = 1024.0
    """Bytes per item when the export does not say (a real export may report ``billedSizeBytes: 0``)."""
    seconds_per_file: float = 0.2
    """Per data file and stage: GETs, the resume marker."""
    seconds_per_created_table: float = 30.0
    """``create_missing_tables``: CreateTable until ACTIVE."""
    seconds_per_safety_backup: float = 5.0
    """``clear_existing_data``: CreateBackup of the target."""
    scan_items_per_second: float = 5_000.0
    """``clear_existing_data`` / ``verify``: scanning the target."""
    safety_factor: float = 1.5
    reserve_seconds: float = 15.0
    """Kept for finalize (PITR, resume state, the report) and the answer."""


@dataclass(frozen=True)
class TableEstimate:
    source: str
    items: int
    """Items still to write (a resumed restore's written files left out)."""
    bytes: int
    files: int
    write_rate: float
    """Items/s: the table's write budget, or what ``max_workers`` requests in flight give if less."""
    seconds: float
    largest_file_seconds: float
    largest_file_bytes: int
    """Uncompressed bytes of its largest data file: an upper bound of the spool file on disk."""


@dataclass(frozen=True)
class Estimate:
    tables: tuple[TableEstimate, ...]
    seconds: float
    """The work, before the safety factor and the reserve."""
    needed_seconds: float
    """``seconds * safety_factor + reserve_seconds``: what must be left for the function to restore."""
    largest_file_seconds: float
    largest_file_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "needed_seconds": round(self.needed_seconds, 3),
            "largest_file_seconds": round(self.largest_file_seconds, 3),
            "largest_file_bytes": self.largest_file_bytes,
            "tables": {
                t.source: {
                    "items": t.items,
                    "bytes": t.bytes,
                    "files": t.files,
                    "write_rate": round(t.write_rate, 3),
                    "seconds": round(t.seconds, 3),
                }
                for t in self.tables
            },
        }


def estimate(run: RestoreRun, rates: Rates = Rates()) -> Estimate:
    """The seconds ``run`` needs in this function, from what ``check_restore`` found."""
    args, tables = run.args, []
    for table in run.live_tables():
        assert table.export is not None and table.target is not None
        files, done = table.export.files, frozenset[str]()
        if table.target.exists and not args.dry_run:
            # What a resumed restore skips is not work (read only, as the dry run does).
            progress = resume.inspect(
                run.s3,
                resume.ProgressLocation.for_table(
                    args.backup_bucket,
                    args.exports_prefix,
                    run.manifest.backup_date,
                    table.source,
                    table.selection.target,
                    table.export.summary.export_arn,
                ),
                list(files),
                resume=args.resume,
            )
            done = progress.done
        items_in_export = table.export.summary.item_count
        size = table.export.summary.billed_size_bytes or table.selection.backup.billed_size_bytes
        bytes_per_item = size / items_in_export if size and items_in_export else rates.bytes_per_item_unknown
        items = sum(f.item_count for f in files if f.key not in done)
        rate = min(
            table_budget(run.args, run.dynamodb, table, exists=table.target.exists),
            rates.items_per_second_per_request * args.max_workers,
        )
        seconds = items_in_export * bytes_per_item / rates.read_bytes_per_second
        seconds += len(files) * rates.seconds_per_file
        largest = 0.0
        if args.verify or args.verify_only:  # the export read again, the target scanned
            seconds += items_in_export * bytes_per_item / rates.read_bytes_per_second
            seconds += items_in_export / rates.scan_items_per_second
        if not args.dry_run and not args.verify_only:
            to_write = [f for f in files if f.key not in done]
            seconds += items / rate + len(to_write) * rates.seconds_per_file
            largest = max((f.item_count / rate + rates.seconds_per_file for f in to_write), default=0.0)
            if not table.target.exists:
                seconds += rates.seconds_per_created_table
            elif args.clear_existing_data:
                seconds += rates.seconds_per_safety_backup + items_in_export / rates.scan_items_per_second
        tables.append(
            TableEstimate(
                table.source,
                items,
                round(items_in_export * bytes_per_item),
                len(files),
                rate,
                seconds,
                largest,
                round(max((f.item_count for f in files), default=0) * bytes_per_item),
            )
        )
    total = sum(t.seconds for t in tables)
    return Estimate(
        tuple(tables),
        total,
        total * rates.safety_factor + rates.reserve_seconds,
        max((t.largest_file_seconds for t in tables), default=0.0),
        max((t.largest_file_bytes for t in tables), default=0),
    )


# --- stopping at a file boundary -----------------------------------------------------------------


class DeadlineRunner(ThreadRunner):
    """A ``ThreadRunner`` whose write stage starts no data file once less than ``stop_seconds`` of
    the invocation is left (read from ``remaining_ms`` before each file). A file not started is a
    failed ``FileWrite`` (its table is partly written; its resume state stays IN_PROGRESS); files in
    flight finish and write their markers."""

    def __init__(
        self,
        remaining_ms: Callable[[], int],
        stop_seconds: float,
        *,
        how_to_finish: str,
        slots: int = FILE_SLOTS,
    ) -> None:
        super().__init__(slots)
        self.remaining_ms = remaining_ms
        self.stop_seconds = stop_seconds
        self.how_to_finish = how_to_finish
        self.not_started: list[str] = []
        """Data file keys the write stage did not start for lack of time."""
        self.first_write: float | None = None
        """``time.monotonic()`` when the first data file's write started (its first batch follows
        as soon as the file is read)."""
        self.last_write: float | None = None
        """``time.monotonic()`` when the write stage ended: every batch of every file answered."""

    def run(self, tasks: Sequence[T], func: Callable[[T], R], description: str) -> list[R]:
        if description != "write":
            return super().run(tasks, func, description)
        # One data file a task, so the time left is read before each file starts. The function
        # writes one file at a time (one slot: one write task per table, no shared budget), and the
        # write stage takes the results of any number of tasks.
        single: list[Any] = []
        for task in tasks:
            if isinstance(task, WriteTask):
                single += [replace(task, files=(one,)) for one in task.files]
            else:
                single.append(task)

        def guarded(task: Any) -> Any:
            left = self.remaining_ms() / 1000
            if isinstance(task, WriteTask) and left < self.stop_seconds:
                data_file = task.files[0].data_file
                self.not_started.append(data_file.key)
                return (
                    FileWrite(
                        source=task.source,
                        key=data_file.key,
                        ok=False,
                        failed_items=data_file.item_count,
                        error=(
                            "the Restore Lambda started no more data files: less than "
                            f"{self.stop_seconds:.1f} s of the invocation were left (to write a data file and "
                            f"finish); the data files written are recorded. {self.how_to_finish}"
                        ),
                    ),
                )
            if self.first_write is None:
                self.first_write = time.monotonic()
            return func(task)

        try:
            return super().run(single, guarded, description)
        finally:
            self.last_write = time.monotonic()


# --- the function's restore ----------------------------------------------------------------------


def report_folder(args: RestoreArgs, backup_date: str) -> str:
    return f"s3://{args.backup_bucket}/{args.exports_prefix}/{backup_date}/restore-reports/"


def job_command(job_name: str, arguments: dict[str, str]) -> str:
    return f"aws glue start-job-run --job-name {job_name} --arguments '{json.dumps(arguments)}'"


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "body": body}


def restore_or_hand_off(
    args: RestoreArgs,
    *,
    s3: Any,
    dynamodb: Any,
    glue: Any,
    settings: LambdaSettings,
    remaining_ms: Callable[[], int],
    rates: Rates = Rates(),
    progress_seconds: float = 5.0,
    spool_free_bytes: int | None = None,
) -> dict[str, Any]:
    """Restore in this function when the work fits in the time left, else start the Glue job.
    A data file is spooled to the temporary directory before it is read (``export_reader.spooled``):
    when the largest one may not fit in its free space (``spool_free_bytes``, default: measured) the
    restore is handed off too. Returns ``{"statusCode": 200|207|500|400|202, "body": ...}``: the job's report (and
    ``finished``/``how_to_finish``, ``timings``), or for 202 the job run."""
    started = time.monotonic()
    try:
        run = check_restore(args, s3=s3, dynamodb=dynamodb)
    except (ConfigError, BackupNotFoundError) as exc:
        logger.error("restore not started: bad input", extra={"error": str(exc)})
        return _response(400, not_started(args, str(exc), bad_input=True).to_dict())
    except (DynamoDBDRError, ClientError, BotoCoreError) as exc:
        error = (
            str(exc)
            if isinstance(exc, DynamoDBDRError)
            else describe(exc)
            if isinstance(exc, ClientError)
            else repr(exc)
        )
        logger.error("restore could not start", extra={"error": error})
        return _response(
            500, not_started(args, f"the restore could not start: {error}", bad_input=False).to_dict()
        )

    backup_date = run.manifest.backup_date
    arguments = job_arguments(dataclasses.replace(args, backup_date=backup_date))
    command = job_command(settings.glue_job_name, arguments)
    importing = [t for t in run.live_tables() if t.choice is not None and t.choice.path == import_path.IMPORT]
    if importing and args.import_mode == import_path.IMPORT:
        why = (
            f"ImportTable restores {', '.join(t.selection.target for t in importing)} and runs for minutes; the "
            "Glue job waits for it, this function does not"
        )
        return _hand_off(
            run, settings, arguments, command, estimate(run, rates), remaining_ms() / 1000, glue, why
        )
    for table in importing:  # auto: written here if the restore fits, else the job imports them
        table.choice = import_path.PathChoice(
            import_path.WRITE,
            "the Restore Lambda writes a restore that fits in the function; ImportTable would take minutes",
        )
        table.result.restore_path = table.choice.path
        table.result.restore_path_reason = table.choice.reason
    work = estimate(run, rates)
    left = remaining_ms() / 1000
    logger.info(
        "restore estimated",
        extra={
            "estimate": work.to_dict(),
            "remaining_seconds": round(left, 3),
            "fits": work.needed_seconds <= left,
        },
    )
    free = shutil.disk_usage(tempfile.gettempdir()).free if spool_free_bytes is None else spool_free_bytes
    if work.needed_seconds > left:
        why = (
            f"the restore needs about {work.needed_seconds:.0f} s ({work.seconds:.1f} s of work, with margin) "
            f"and this invocation has {left:.0f} s left"
        )
        return _hand_off(run, settings, arguments, command, work, left, glue, why)
    if work.largest_file_bytes > free:
        why = (
            f"its largest data file may take up to {work.largest_file_bytes:,} bytes on disk and the function's "
            f"temporary storage has {free:,} bytes free (raise the function's ephemeral storage, or use the job)"
        )
        return _hand_off(run, settings, arguments, command, work, left, glue, why)

    # Finishing means resuming: with "resume": false in the event, the same event would start over.
    resuming = job_command(
        settings.glue_job_name, job_arguments(dataclasses.replace(args, backup_date=backup_date, resume=True))
    )
    how_to_finish = (
        "To finish, invoke the Restore Lambda again with the same event"
        + ("" if args.resume else ' without "resume": false')
        + f" (it resumes, skipping the data files written), or run the Glue job: {resuming}"
    )
    runner = DeadlineRunner(
        remaining_ms,
        rates.reserve_seconds + rates.safety_factor * work.largest_file_seconds,
        how_to_finish=how_to_finish,
    )
    report = execute_restore(run, runner, progress_seconds=progress_seconds)
    body = report.to_dict()
    body["estimate"] = work.to_dict()
    body["finished"] = not runner.not_started
    body["timings"] = {
        "seconds_to_first_write": _since(started, runner.first_write),
        "seconds_to_last_write": _since(started, runner.last_write if runner.first_write else None),
        "seconds": _since(started, time.monotonic()),
    }
    if runner.not_started:
        body["files_not_started"] = len(runner.not_started)
        body["how_to_finish"] = how_to_finish
        logger.warning(
            "restore stopped before the time limit",
            extra={"files_not_started": len(runner.not_started), "how_to_finish": how_to_finish},
        )
    return _response(report.status_code, body)


def _since(started: float, moment: float | None) -> float | None:
    return None if moment is None else round(moment - started, 3)


def _hand_off(
    run: RestoreRun,
    settings: LambdaSettings,
    arguments: dict[str, str],
    command: str,
    work: Estimate,
    left: float,
    glue: Any,
    why: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": HANDED_OFF,
        "handed_off_to": "glue",
        "job_name": settings.glue_job_name,
        "arguments": arguments,
        "requested_date": run.args.backup_date,
        "backup_date": run.manifest.backup_date,
        "dry_run": run.args.dry_run,
        "why": why,
        "estimate": work.to_dict(),
        "remaining_seconds": round(left, 3),
        "report_location": report_folder(run.args, run.manifest.backup_date),
    }
    try:
        started = glue.start_job_run(JobName=settings.glue_job_name, Arguments=arguments)
    except ClientError as exc:
        body["errors"] = [
            f"{why}, but the Glue restore job could not be started ({describe(exc)}); start it yourself: {command}"
        ]
        logger.error("hand-off to the Glue job failed", extra={"error": describe(exc), "command": command})
        body["statusCode"] = 500
        return _response(500, body)
    run_id = started["JobRunId"]
    body["job_run_id"] = run_id
    body["follow"] = f"aws glue get-job-run --job-name {settings.glue_job_name} --run-id {run_id}"
    logger.info("restore handed off to the Glue job", extra={"job_run_id": run_id, "why": why})
    return _response(HANDED_OFF, body)
