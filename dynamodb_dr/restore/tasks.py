"""What runs inside Spark tasks: validate one data file, write one data file.

A task gets a small ``FileTask`` descriptor, builds its own clients (botocore clients are not
picklable) and its own ``AdaptiveRateLimiter`` with its share of the table's write budget
(``write_rate``, items/s), and returns a frozen ``FileCheck`` / ``FileWrite``. After a file is written in full (and its item
count checked) the task writes the file's resume marker (``resume.write_marker``). Errors are caught and returned, never raised: a failed file
fails its table, and the driver reports it; Spark does not retry it blindly.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.errors import DynamoDBDRError, WriteError
from dynamodb_dr.restore import inflate, malloc
from dynamodb_dr.restore.export_reader import (
    DataFile,
    count_mismatch,
    iter_batches,
    spooled,
    validate_data_file,
)
from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter
from dynamodb_dr.restore.resume import LIVE_SECONDS, ProgressLocation, write_live, write_marker
from dynamodb_dr.restore.write_rate import BURST_SECONDS
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS, BatchWriter, RateLimiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileTask:
    source: str
    target: str
    bucket: str
    export_arn: str
    data_file: DataFile
    max_workers: int = 4
    deadline_seconds: float = 300.0
    write_rate: float | None = None
    """The ceiling (items/s) of this task's rate limiter, from its share of the table's write budget
    (``write_rate.task_ceiling``)."""
    progress: ProgressLocation | None = None
    """Where to record the file as written (None: no marker, e.g. validation)."""
    run_id: str = ""
    verified_etag: str | None = None
    """The ETag of the object version the validation stage checked; the write stage reads that
    version only (If-Match) and does not hash it again."""
    live_seconds: float = LIVE_SECONDS
    """How often the task records the items written so far in the file (``resume.write_live``)."""


@dataclass(frozen=True)
class FileWriteResult:
    key: str
    items_read: int
    items_written: int
    compressed_bytes: int
    skipped: bool = False


def write_data_file(
    s3: Any,
    writer: BatchWriter,
    bucket: str,
    data_file: DataFile,
    export_arn: str,
    *,
    table: str,
    max_workers: int = 4,
    completed_files: frozenset[str] | set[str] | None = None,
    on_file_done: Callable[[str, str, int], None] | None = None,
    verified_etag: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress_seconds: float = LIVE_SECONDS,
) -> FileWriteResult:
    """Stream one data file into ``writer``'s table, ``max_workers`` batches in flight at a time (one
    thread: ``BatchWriter.pipeline``).

    The file's MD5 is verified before the first write, or, given ``verified_etag`` (the version the
    validation stage checked), that version is read and no other; the item count is checked after
    the last write. ``completed_files`` (keys to skip) and ``on_file_done``
    (called with table, data file key, items) are the seams for resumable restores;
    ``on_progress`` is called with the items written so far at most every ``progress_seconds``.
    """
    if completed_files and data_file.key in completed_files:
        return FileWriteResult(data_file.key, 0, 0, 0, skipped=True)
    malloc.tune_for_streaming()
    read = 0
    with spooled(s3, bucket, data_file, export_arn, verified_etag=verified_etag) as (path, size):
        pipeline = writer.pipeline(data_file.key, max_in_flight=max_workers)
        next_progress = time.monotonic() + progress_seconds
        try:
            for batch in iter_batches(path, data_file, export_arn, MAX_BATCH_ITEMS):
                read += len(batch)
                pipeline.submit(batch)
                if pipeline.failed:
                    break  # a batch failed for good: stop reading; finish() reports it
                if on_progress is not None and time.monotonic() >= next_progress:
                    on_progress(pipeline.written)
                    next_progress = time.monotonic() + progress_seconds
        except Exception:
            # The file cannot be read on: let the batches in flight land (or fail), then report this.
            with contextlib.suppress(WriteError):
                pipeline.finish()
            raise
        except BaseException:  # interrupted: answers still outstanding are abandoned
            pipeline.close()
            raise
        # Waits for every batch in flight: nothing is left half-sent.
        written = pipeline.finish()
    if read != data_file.item_count:
        raise count_mismatch(data_file, export_arn, read)
    if on_file_done is not None:
        on_file_done(table, data_file.key, written)
    return FileWriteResult(data_file.key, read, written, size)


# --- Spark task functions -----------------------------------------------------------------------


@dataclass(frozen=True)
class FileCheck:
    """What the validation stage found in one data file."""

    source: str
    key: str
    ok: bool
    items: int = 0
    bytes: int = 0
    etag: str | None = None
    """The ETag of the version checked (the write stage reads that version only)."""
    inflate: str = ""
    error: str | None = None


@dataclass(frozen=True)
class FileWrite:
    """What the write stage did with one data file."""

    source: str
    key: str
    ok: bool
    items_read: int = 0
    items_written: int = 0
    bytes: int = 0
    failed_items: int = 0
    """Items of the file not written: those of failed batches and those never read."""
    throttle_events: int = 0
    final_rate: float | None = None
    seconds: float = 0.0
    error: str | None = None
    warnings: tuple[str, ...] = ()


def _error(exc: BaseException) -> str:
    if isinstance(exc, DynamoDBDRError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def validate_task(task: FileTask) -> FileCheck:
    try:
        check = validate_data_file(make_client("s3"), task.bucket, task.data_file, task.export_arn)
    except Exception as exc:  # reported per file; the table fails, others go on
        return FileCheck(task.source, task.data_file.key, False, inflate=inflate.ENGINE, error=_error(exc))
    return FileCheck(
        task.source,
        task.data_file.key,
        True,
        items=check.items,
        bytes=check.compressed_bytes,
        etag=check.etag,
        inflate=inflate.ENGINE,
    )


def write_task(task: FileTask, counts: Any = None, rate_limiter: RateLimiter | None = None) -> FileWrite:
    """Write one data file. ``counts`` is an accumulator of ``{target: [files, items]}``
    (``progress.TABLE_COUNTS``) that the driver's progress log reads."""
    started = time.monotonic()
    warnings: list[str] = []
    progress_warned = False
    ok, error = False, None
    items_read = items_written = compressed = failed_items = 0
    limiter = rate_limiter
    if limiter is None and task.write_rate is not None:
        limiter = AdaptiveRateLimiter(task.write_rate, burst_seconds=BURST_SECONDS)
    try:
        s3 = make_client("s3")
        dynamodb = make_client(
            "dynamodb", config=client_config(max_pool_connections=max(10, task.max_workers + 2))
        )
        writer = BatchWriter(
            dynamodb, task.target, rate_limiter=limiter, deadline_seconds=task.deadline_seconds
        )

        def mark_done(table: str, key: str, items: int) -> None:
            if task.progress is None:
                return
            try:
                write_marker(s3, task.progress, key, items, task.run_id)
            except Exception as exc:  # the items are written; only resuming would write this file again
                warnings.append(
                    f"data file {key} was written but its resume marker could not be stored ({_error(exc)}); "
                    "a resumed run would write it again (puts are idempotent)"
                )

        def live(items: int) -> None:
            nonlocal progress_warned
            assert task.progress is not None
            try:
                write_live(s3, task.progress, task.data_file.key, items, task.run_id)
            except Exception as exc:  # progress only: the restore goes on, the driver's log lags
                if not progress_warned:
                    progress_warned = True
                    warnings.append(f"could not record progress of {task.data_file.key}: {_error(exc)}")
                    logger.warning(
                        "could not record progress",
                        extra={"data_file": task.data_file.key, "error": _error(exc)},
                    )

        done = write_data_file(
            s3,
            writer,
            task.bucket,
            task.data_file,
            task.export_arn,
            table=task.target,
            max_workers=task.max_workers,
            on_file_done=mark_done,
            verified_etag=task.verified_etag,
            on_progress=live if task.progress is not None else None,
            progress_seconds=task.live_seconds,
        )
        ok, items_read, items_written, compressed = (
            True,
            done.items_read,
            done.items_written,
            done.compressed_bytes,
        )
    except WriteError as exc:
        items_written = exc.items_written
        error, failed_items = _error(exc), task.data_file.item_count - items_written
    except Exception as exc:  # reported per file; the table fails, others go on
        error, failed_items = _error(exc), task.data_file.item_count
    throttle_events, final_rate = 0, None
    if isinstance(limiter, AdaptiveRateLimiter):
        stats = limiter.stats()
        throttle_events, final_rate = stats.throttle_events, round(stats.rate, 1)
    if counts is not None:
        counts.add({task.target: [1, items_written]})
    return FileWrite(
        source=task.source,
        key=task.data_file.key,
        ok=ok,
        items_read=items_read,
        items_written=items_written,
        bytes=compressed,
        failed_items=failed_items,
        throttle_events=throttle_events,
        final_rate=final_rate,
        seconds=round(time.monotonic() - started, 3),
        error=error,
        warnings=tuple(warnings),
    )
