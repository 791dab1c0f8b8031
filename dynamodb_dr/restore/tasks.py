"""What runs inside Spark tasks: validate one data file; write a list of data files.

A task gets a small frozen descriptor (``FileTask`` to validate one file, ``WriteTask`` to write a
list of files of one table), builds its own clients (botocore clients are not picklable) and
returns frozen results (``FileCheck``, one ``FileWrite`` per file). A write task keeps one
``BatchWriter`` (its kept-alive connections) and one ``AdaptiveRateLimiter`` across its files, at its
share of the table's budget (``write_rate``: raised when the table's other tasks finish), and fetches
the next file while it writes the current one. After a file is written in full (and its item count
checked) the task writes the file's resume marker (``resume.write_marker``). Errors are caught and
returned, never raised: a failed file fails its table with the file named, and the driver reports
it; Spark does not retry it blindly.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
from dynamodb_dr.restore.item_rules import ItemRules
from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter
from dynamodb_dr.restore.resume import LIVE_SECONDS, ProgressLocation, write_live, write_marker
from dynamodb_dr.restore.write_rate import BURST_SECONDS, SharedBudget
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS, BatchWriter, RateLimiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileTask:
    """One data file to validate."""

    source: str
    target: str
    bucket: str
    export_arn: str
    data_file: DataFile
    max_workers: int = 4
    rules: ItemRules | None = None
    """What DynamoDB checks on every item of the target (keys, index keys, size): the validation
    stage checks each line against it."""


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
    spool: tuple[str, int] | None = None,
) -> FileWriteResult:
    """Stream one data file into ``writer``'s table, ``max_workers`` batches in flight at a time (one
    thread: ``BatchWriter.pipeline``).

    The file's MD5 is verified before the first write, or, given ``verified_etag`` (the version the
    validation stage checked), that version is read and no other; the item count is checked after
    the last write. ``completed_files`` (keys to skip) and ``on_file_done``
    (called with table, data file key, items) are the seams for resumable restores;
    ``on_progress`` is called with the items written so far at most every ``progress_seconds``.
    ``spool`` is the file already fetched (``spooled``'s path and size: a write task fetches the next
    file while it writes this one).
    """
    if completed_files and data_file.key in completed_files:
        return FileWriteResult(data_file.key, 0, 0, 0, skipped=True)
    malloc.tune_for_streaming()
    with contextlib.ExitStack() as stack:
        if spool is None:
            spool = stack.enter_context(
                spooled(s3, bucket, data_file, export_arn, verified_etag=verified_etag)
            )
        read, written = _write_spooled(
            writer, spool[0], data_file, export_arn, max_workers, on_progress, progress_seconds
        )
    size = spool[1]
    if read != data_file.item_count:
        raise count_mismatch(data_file, export_arn, read)
    if on_file_done is not None:
        on_file_done(table, data_file.key, written)
    return FileWriteResult(data_file.key, read, written, size)


def _write_spooled(
    writer: BatchWriter,
    path: str,
    data_file: DataFile,
    export_arn: str,
    max_workers: int,
    on_progress: Callable[[int], None] | None,
    progress_seconds: float,
) -> tuple[int, int]:
    """The batches of one spooled data file through one pipeline: (items read, items written)."""
    read = 0
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
    return read, written


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
        check = validate_data_file(
            make_client("s3"), task.bucket, task.data_file, task.export_arn, rules=task.rules
        )
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


PREFETCH_MAX_ITEMS = 1_000_000
"""The next data file is fetched ahead only up to this many items (~1 GB of lines, a few hundred MB
spooled): a larger file's GET is a small part of its write time, and two large spools at once would
double the task's disk use."""


class _Spool:
    """One data file being fetched (S3 GET + spool) on the prefetch thread; ``close`` deletes it."""

    def __init__(
        self, pool: ThreadPoolExecutor, s3: Any, bucket: str, export_arn: str, item: FileToWrite
    ) -> None:
        self._stack = contextlib.ExitStack()
        self.future: Future[tuple[str, int]] = pool.submit(
            lambda: self._stack.enter_context(
                spooled(s3, bucket, item.data_file, export_arn, verified_etag=item.verified_etag)
            )
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a fetch that failed is reported by ``future``
            self.future.result()
        self._stack.close()


@dataclass(frozen=True)
class FileToWrite:
    data_file: DataFile
    verified_etag: str | None = None
    """The ETag of the object version the validation stage checked; the write stage reads that
    version only (If-Match) and does not hash it again."""


@dataclass(frozen=True)
class WriteTask:
    """One write task: data files of one table written in order by one writer and one rate limiter."""

    source: str
    target: str
    bucket: str
    export_arn: str
    files: tuple[FileToWrite, ...]
    write_rate: float | None = None
    """The starting ceiling (items/s) of the task's rate limiter: its share of the table's budget
    (``write_rate.task_ceiling``)."""
    budget: float | None = None
    """The table's budget (items/s); with ``tasks`` > 1 and a progress location, the share grows as
    the table's other tasks finish (``write_rate.SharedBudget``)."""
    index: int = 0
    tasks: int = 1
    """This task's number among the table's write tasks, and how many there are."""
    max_workers: int = 4
    deadline_seconds: float = 300.0
    progress: ProgressLocation | None = None
    """Where to record each file as written (None: no markers)."""
    run_id: str = ""
    live_seconds: float = LIVE_SECONDS
    """How often the task records the items written so far in a file (``resume.write_live``)."""


def write_task(
    task: WriteTask, counts: Any = None, rate_limiter: RateLimiter | None = None
) -> tuple[FileWrite, ...]:
    """Write a task's data files, in order, one ``FileWrite`` each. One writer (its kept-alive
    connections) and one rate limiter serve all of them, the next file is fetched while the current
    one is written, and each file is marked written (``resume.write_marker``) once it is written in
    full. A file that fails is reported with its key and the task goes on with the next (its table
    fails). ``counts`` is an accumulator of ``{target: [files, items]}`` (``progress.TABLE_COUNTS``)."""
    limiter = rate_limiter
    if limiter is None and task.write_rate is not None:
        limiter = AdaptiveRateLimiter(task.write_rate, burst_seconds=BURST_SECONDS)
    results: list[FileWrite] = []
    shared: SharedBudget | None = None
    try:
        s3 = make_client("s3")
        dynamodb = make_client(
            "dynamodb", config=client_config(max_pool_connections=max(10, task.max_workers + 2))
        )
        writer = BatchWriter(
            dynamodb, task.target, rate_limiter=limiter, deadline_seconds=task.deadline_seconds
        )
    except Exception as exc:  # every file of the task fails with the reason
        return tuple(_failed(task, f, _error(exc), 0, 0) for f in task.files)
    pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch")
    if (
        task.progress is not None
        and task.budget is not None
        and task.tasks > 1
        and isinstance(limiter, AdaptiveRateLimiter)
    ):
        shared = SharedBudget(
            s3,
            task.progress.bucket,
            task.progress.folder,
            task.run_id,
            index=task.index,
            tasks=task.tasks,
            budget=task.budget,
            set_ceiling=limiter.set_ceiling,
        )
        shared.start()
    spools: dict[int, _Spool] = {}

    def fetch(i: int) -> _Spool:
        if i not in spools:
            spools[i] = _Spool(pool, s3, task.bucket, task.export_arn, task.files[i])
        return spools[i]

    try:
        for i, item in enumerate(task.files):
            spool = fetch(i)
            if i + 1 < len(task.files) and task.files[i + 1].data_file.item_count <= PREFETCH_MAX_ITEMS:
                fetch(i + 1)  # fetched while this one is written
            try:
                result = _write_one(task, item, spool.future, s3, writer, limiter)
            finally:
                spools.pop(i).close()
            results.append(result)
            if counts is not None:
                counts.add({task.target: [1, result.items_written]})
    finally:
        pool.shutdown(wait=True)
        for spool in spools.values():
            spool.close()
        if shared is not None:
            shared.finished(sum(1 for r in results if r.ok))
    return tuple(results)


def _failed(task: WriteTask, item: FileToWrite, error: str, items_written: int, started: float) -> FileWrite:
    return FileWrite(
        source=task.source,
        key=item.data_file.key,
        ok=False,
        items_written=items_written,
        failed_items=item.data_file.item_count - items_written,
        seconds=round(time.monotonic() - started, 3) if started else 0.0,
        error=error,
    )


def _write_one(
    task: WriteTask,
    item: FileToWrite,
    spool: Future[tuple[str, int]],
    s3: Any,
    writer: BatchWriter,
    limiter: RateLimiter | None,
) -> FileWrite:
    """One data file of a write task: written, marked, and reported."""
    started = time.monotonic()
    data_file = item.data_file
    file_warnings: list[str] = []
    progress_warned = False
    throttled_before = limiter.stats().throttle_events if isinstance(limiter, AdaptiveRateLimiter) else 0

    def mark_done(table: str, key: str, items: int) -> None:
        if task.progress is None:
            return
        try:
            write_marker(s3, task.progress, key, items, task.run_id)
        except Exception as exc:  # the items are written; only resuming would write this file again
            file_warnings.append(
                f"data file {key} was written but its resume marker could not be stored ({_error(exc)}); "
                "a resumed run would write it again (puts are idempotent)"
            )

    def live(items: int) -> None:
        nonlocal progress_warned
        assert task.progress is not None
        try:
            write_live(s3, task.progress, data_file.key, items, task.run_id)
        except Exception as exc:  # progress only: the restore goes on, the driver's log lags
            if not progress_warned:
                progress_warned = True
                file_warnings.append(f"could not record progress of {data_file.key}: {_error(exc)}")
                logger.warning(
                    "could not record progress", extra={"data_file": data_file.key, "error": _error(exc)}
                )

    ok, error = False, None
    items_read = items_written = compressed = failed_items = 0
    try:
        done = write_data_file(
            s3,
            writer,
            task.bucket,
            data_file,
            task.export_arn,
            table=task.target,
            max_workers=task.max_workers,
            on_file_done=mark_done,
            verified_etag=item.verified_etag,
            on_progress=live if task.progress is not None else None,
            progress_seconds=task.live_seconds,
            spool=spool.result(),
        )
        ok, items_read, items_written, compressed = (
            True,
            done.items_read,
            done.items_written,
            done.compressed_bytes,
        )
    except WriteError as exc:
        items_written = exc.items_written
        error, failed_items = _error(exc), data_file.item_count - items_written
    except Exception as exc:  # reported per file; the table fails, the task goes on with its next file
        error, failed_items = _error(exc), data_file.item_count
    throttle_events, final_rate = 0, None
    if isinstance(limiter, AdaptiveRateLimiter):
        stats = limiter.stats()
        throttle_events, final_rate = stats.throttle_events - throttled_before, round(stats.rate, 1)
    return FileWrite(
        source=task.source,
        key=data_file.key,
        ok=ok,
        items_read=items_read,
        items_written=items_written,
        bytes=compressed,
        failed_items=failed_items,
        throttle_events=throttle_events,
        final_rate=final_rate,
        seconds=round(time.monotonic() - started, 3),
        error=error,
        warnings=tuple(file_warnings),
    )
