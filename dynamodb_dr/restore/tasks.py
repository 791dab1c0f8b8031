"""What runs inside Spark tasks: validate one data file, write one data file.

A task gets a small ``FileTask`` descriptor, builds its own clients (botocore clients are not
picklable) and its own ``AdaptiveRateLimiter`` with its share of the table's write budget
(``write_rate``, items/s), and returns a plain dict. After a file is written in full (and its item
count checked) the task writes the file's resume marker (``resume.write_marker``). Errors are caught and returned, never raised: a failed file
fails its table, and the driver reports it; Spark does not retry it blindly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dynamodb_dr.batch_writer import MAX_BATCH_ITEMS, BatchWriter, RateLimiter
from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.errors import DynamoDBDRError, WriteError
from dynamodb_dr.export_reader import DataFile, count_mismatch, iter_items, spooled, validate_data_file
from dynamodb_dr.rate_limit import AdaptiveRateLimiter
from dynamodb_dr.restore.resume import ProgressLocation, write_marker
from dynamodb_dr.restore.write_rate import BURST_SECONDS


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
) -> FileWriteResult:
    """Stream one data file into ``writer``'s table, ``max_workers`` batches in flight at a time.

    MD5 is verified before the first write and the item count after the last (in case the object
    changed since the validation stage). ``completed_files`` (keys to skip) and ``on_file_done``
    (called with table, data file key, items) are the seams for resumable restores.
    """
    if completed_files and data_file.key in completed_files:
        return FileWriteResult(data_file.key, 0, 0, 0, skipped=True)
    read = 0
    written = 0
    errors: list[BaseException] = []
    lock = threading.Lock()
    in_flight = threading.BoundedSemaphore(max_workers * 2)

    def send(batch: list[bytes]) -> None:
        nonlocal written
        try:
            n = writer.write_lines(batch, source=data_file.key)
            with lock:
                written += n
        except BaseException as exc:  # kept and re-raised below: a failed batch is never dropped
            with lock:
                errors.append(exc)
        finally:
            in_flight.release()

    with spooled(s3, bucket, data_file, export_arn) as (path, size):
        # Leaving the executor waits for every submitted batch: nothing is left in flight.
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            batch: list[bytes] = []
            for line in iter_items(path, data_file, export_arn):
                read += 1
                batch.append(line)
                if len(batch) == MAX_BATCH_ITEMS:
                    in_flight.acquire()
                    pool.submit(send, batch)
                    batch = []
                    if errors:
                        break  # a batch failed for good: stop reading, report it below
            else:
                if batch:
                    in_flight.acquire()
                    pool.submit(send, batch)
        if errors:
            first = errors[0]
            if isinstance(first, WriteError):
                first.items_written = written  # type: ignore[attr-defined]
                first.failed_items = sum(getattr(e, "failed_items", 0) for e in errors)
            raise first
    if read != data_file.item_count:
        raise count_mismatch(data_file, export_arn, read)
    if on_file_done is not None:
        on_file_done(table, data_file.key, written)
    return FileWriteResult(data_file.key, read, written, size)


# --- Spark task functions -----------------------------------------------------------------------


def _error(exc: BaseException) -> str:
    if isinstance(exc, DynamoDBDRError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def validate_task(task: FileTask) -> dict[str, Any]:
    result: dict[str, Any] = {"source": task.source, "key": task.data_file.key, "ok": False, "items": 0, "bytes": 0}
    try:
        check = validate_data_file(make_client("s3"), task.bucket, task.data_file, task.export_arn)
        result.update(ok=True, items=check.items, bytes=check.compressed_bytes)
    except Exception as exc:  # reported per file; the table fails, others go on
        result["error"] = _error(exc)
    return result


def write_task(task: FileTask, counts: Any = None, rate_limiter: RateLimiter | None = None) -> dict[str, Any]:
    """Write one data file. ``counts`` is a Spark accumulator of ``{target: [files, items]}``
    (``progress.TABLE_COUNTS``) that the driver's progress log reads."""
    started = time.monotonic()
    result: dict[str, Any] = {
        "source": task.source,
        "key": task.data_file.key,
        "ok": False,
        "items_read": 0,
        "items_written": 0,
        "bytes": 0,
        "failed_items": 0,
        "throttle_events": 0,
    }
    limiter = rate_limiter
    if limiter is None and task.write_rate is not None:
        limiter = AdaptiveRateLimiter(task.write_rate, burst_seconds=BURST_SECONDS)
    try:
        s3 = make_client("s3")
        dynamodb = make_client("dynamodb", config=client_config(max_pool_connections=max(10, task.max_workers + 2)))
        writer = BatchWriter(dynamodb, task.target, rate_limiter=limiter, deadline_seconds=task.deadline_seconds)

        def mark_done(table: str, key: str, items: int) -> None:
            if task.progress is None:
                return
            try:
                write_marker(s3, task.progress, key, items, task.run_id)
            except Exception as exc:  # the items are written; only resuming would write this file again
                result["warning"] = (
                    f"data file {key} was written but its resume marker could not be stored ({_error(exc)}); "
                    "a resumed run would write it again (puts are idempotent)"
                )

        done = write_data_file(
            s3, writer, task.bucket, task.data_file, task.export_arn, table=task.target, max_workers=task.max_workers,
            on_file_done=mark_done,
        )
        result.update(ok=True, items_read=done.items_read, items_written=done.items_written, bytes=done.compressed_bytes)
    except WriteError as exc:
        written = getattr(exc, "items_written", 0)
        # Items of this file not written: those of the failed batches and those never read.
        result.update(error=_error(exc), items_written=written, failed_items=task.data_file.item_count - written)
    except Exception as exc:  # reported per file; the table fails, others go on
        result.update(error=_error(exc), failed_items=task.data_file.item_count)
    result["seconds"] = round(time.monotonic() - started, 3)
    if isinstance(limiter, AdaptiveRateLimiter):
        stats = limiter.stats()
        result.update(throttle_events=stats.throttle_events, final_rate=round(stats.rate, 1))
    if counts is not None:
        counts.add({task.target: [1, result["items_written"]]})
    return result
