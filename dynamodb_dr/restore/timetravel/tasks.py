"""What runs inside Spark tasks (or threads) for a restore to a point in time: check a data file,
read its item states, write a partition of merged states, scan a segment of the target.

Only small frozen descriptors travel to the tasks; each builds its own clients. A state is
``(canonical key, (position, WriteTimestampMicros, item line or None, key JSON))``: the position
is the export's place in the chain (0 the full export, then the windows in order), so the newest
state of a key is the largest ``(position, micros)`` (``newest``); an item line is what the writer
sends (``{"Item":{...}}``, the exported bytes), None a delete.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import describe
from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.errors import DynamoDBDRError, ExportDataError, WriteError
from dynamodb_dr.restore import malloc
from dynamodb_dr.restore.export_reader import DataFile, iter_batches, spooled, validate_data_file
from dynamodb_dr.restore.item_rules import ItemRules, item_size, key_values, line_problem
from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter
from dynamodb_dr.restore.targets import DELETE_BATCH, delete_keys
from dynamodb_dr.restore.timetravel.records import canonical_key, iter_changes, to_client
from dynamodb_dr.restore.write_rate import BURST_SECONDS
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS, BatchWriter

State = tuple[int, int, bytes | None, bytes]
"""(position in the chain, WriteTimestampMicros, item line or None for a delete, key JSON)."""


@dataclass(frozen=True)
class SourceFile:
    """One data file of one export of the chain."""

    bucket: str
    export_arn: str
    data_file: DataFile
    position: int
    """0 for the full export, 1.. for the windows in chain order."""
    incremental: bool
    key_names: tuple[str, ...]
    rules: ItemRules | None = None
    verified_etag: str | None = None
    keep: frozenset[str] | None = None
    """Only these canonical keys (a rewind of a NEW_IMAGE chain reads the chain for them only)."""


@dataclass(frozen=True)
class SourceCheck:
    key: str
    ok: bool
    items: int = 0
    bytes: int = 0
    etag: str | None = None
    error: str | None = None


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def shared_client(service: str) -> Any:
    """One client per service per process (botocore clients are thread-safe to use; making one costs
    ~0.4 s of CPU, more than reading a small window's data file), for the tasks of this module."""
    with _clients_lock:
        if service not in _clients:
            _clients[service] = make_client(service, config=client_config(max_pool_connections=32))
        return _clients[service]


def _error(exc: BaseException) -> str:
    if isinstance(exc, DynamoDBDRError):
        return str(exc)
    if isinstance(exc, ClientError):
        return describe(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def check_source(source: SourceFile) -> SourceCheck:
    """MD5, gzip, every line's shape (and, with rules, what DynamoDB would refuse), item count."""
    s3 = shared_client("s3")
    try:
        if not source.incremental:
            check = validate_data_file(
                s3, source.bucket, source.data_file, source.export_arn, rules=source.rules
            )
            return SourceCheck(source.data_file.key, True, check.items, check.compressed_bytes, check.etag)
        malloc.tune_for_streaming()
        items = 0
        with spooled(s3, source.bucket, source.data_file, source.export_arn) as (path, size):
            for number, change in enumerate(
                iter_changes(path, source.data_file, source.export_arn, source.key_names), start=1
            ):
                items += 1
                if source.rules is not None and change.new_image is not None:
                    problem = line_problem(b'{"Item":' + change.new_image + b"}", source.rules)
                    if problem:
                        raise ExportDataError(
                            f"data file {source.data_file.key} of export {source.export_arn}: line {number}'s "
                            f"NewImage {problem}. DynamoDB would refuse it, so nothing is written to this table"
                        )
        # No ETag kept: the merge reads the file again with its MD5 checked again.
        return SourceCheck(source.data_file.key, True, items, size)
    except Exception as exc:  # reported per file: the table fails before anything is written
        return SourceCheck(source.data_file.key, False, error=_error(exc))


def _key_json(key: dict[str, Any]) -> bytes:
    return json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def read_states(source: SourceFile) -> Iterator[tuple[str, State]]:
    """Every item state of one data file (the version the check read)."""
    malloc.tune_for_streaming()
    s3 = shared_client("s3")
    names = source.key_names
    with spooled(
        s3, source.bucket, source.data_file, source.export_arn, verified_etag=source.verified_etag
    ) as (path, _):
        if source.incremental:
            for change in iter_changes(path, source.data_file, source.export_arn, names):
                ckey = canonical_key(json.loads(change.keys), names)
                if source.keep is not None and ckey not in source.keep:
                    continue
                line = None if change.new_image is None else b'{"Item":' + change.new_image + b"}"
                yield ckey, (source.position, change.micros, line, change.keys)
            return
        for batch in iter_batches(path, source.data_file, source.export_arn, size=1000):
            for line in batch:
                key = key_values(line, names)
                ckey = canonical_key(key, names)
                if source.keep is not None and ckey not in source.keep:
                    continue
                yield ckey, (source.position, 0, line, _key_json(key))


def newest(a: State, b: State) -> State:
    """The later of two states of one key: later in the chain, then later written."""
    return a if (a[0], a[1]) >= (b[0], b[1]) else b


@dataclass(frozen=True)
class ApplySettings:
    table: str
    write_rate: float | None
    """Items/s for this partition's puts and deletes (its share of the table's budget)."""
    dry_run: bool = False
    max_workers: int = 4
    deadline_seconds: float = 300.0


@dataclass(frozen=True)
class Applied:
    """What one partition of merged states did (or, in a dry run, would do)."""

    puts: int = 0
    deletes: int = 0
    write_units: int = 0
    not_written: int = 0
    error: str | None = None


def _units(line: bytes) -> int:
    """Write units of one put: ceil(size / 1 KB), by DynamoDB's size rule for large lines."""
    if len(line) <= 1024:
        return 1
    return max(1, -(-item_size(json.loads(line)["Item"]) // 1024))


PROGRESS_EVERY = 1000
"""Items between two additions to the progress counter."""


def apply_states(settings: ApplySettings, states: Iterable[tuple[str, State]], counts: Any = None) -> Applied:
    """Put the newest state of each key, delete the keys whose newest state is a delete, within the
    partition's share of the write budget; nothing is dropped: what is not written is counted.
    ``counts`` (the runner's progress counter) gets ``{table: [0, items]}`` every ``PROGRESS_EVERY``
    items handed to the writer (live on threads; on Spark when the partition ends)."""
    reported = [0]
    result = _apply_states(settings, states, counts, reported)
    if counts is not None:
        counts.add({settings.table: [1, result.puts + result.deletes - reported[0]]})
    return result


def _apply_states(
    settings: ApplySettings, states: Iterable[tuple[str, State]], counts: Any, reported: list[int]
) -> Applied:
    puts = deletes = units = 0
    pending_puts: list[bytes] = []
    pending_deletes: list[dict[str, Any]] = []
    limiter = (
        AdaptiveRateLimiter(settings.write_rate, burst_seconds=BURST_SECONDS)
        if settings.write_rate is not None and not settings.dry_run
        else None
    )
    dynamodb = (
        None
        if settings.dry_run
        else make_client(
            "dynamodb", config=client_config(max_pool_connections=max(10, settings.max_workers + 2))
        )
    )
    writer = (
        BatchWriter(
            dynamodb, settings.table, rate_limiter=limiter, deadline_seconds=settings.deadline_seconds
        )
        if dynamodb is not None
        else None
    )
    pipeline = writer.pipeline(f"merged states of {settings.table}", settings.max_workers) if writer else None
    deadline = time.monotonic() + settings.deadline_seconds * 12
    iterator = iter(states)
    try:
        for _, (_, _, line, key) in iterator:
            if counts is not None and puts + deletes - reported[0] >= PROGRESS_EVERY:
                counts.add({settings.table: [0, puts + deletes - reported[0]]})
                reported[0] = puts + deletes
            if line is not None:
                puts += 1
                units += _units(line)
                if pipeline is not None:
                    pending_puts.append(line)
                    if len(pending_puts) == MAX_BATCH_ITEMS:
                        pipeline.submit(pending_puts)
                        pending_puts = []
            else:
                deletes += 1
                units += 1
                if dynamodb is not None:
                    pending_deletes.append({k: to_client(v) for k, v in json.loads(key).items()})
                    if len(pending_deletes) == DELETE_BATCH:
                        if limiter is not None:
                            limiter.acquire(len(pending_deletes))
                        delete_keys(dynamodb, settings.table, pending_deletes, deadline)
                        pending_deletes = []
        if pipeline is not None:
            if pending_puts:
                pipeline.submit(pending_puts)
            written = pipeline.finish()
            if written != puts:
                return Applied(
                    puts, deletes, units, puts - written, f"{puts - written} puts were not written"
                )
        if pending_deletes and dynamodb is not None:
            if limiter is not None:
                limiter.acquire(len(pending_deletes))
            delete_keys(dynamodb, settings.table, pending_deletes, deadline)
    except Exception as exc:  # counted and reported: the table fails, a second run applies the rest
        left = sum(1 for _ in iterator) + len(pending_deletes)
        # A batch the writer gave up on says how many of its items were not written; otherwise the
        # puts not yet handed to it are the ones left.
        left += exc.failed_items if isinstance(exc, WriteError) and exc.failed_items else len(pending_puts)
        if pipeline is not None:
            pipeline.close()
        return Applied(puts, deletes, units, left, _error(exc))
    return Applied(puts, deletes, units)


@dataclass(frozen=True)
class TargetScan:
    """Scan one segment of the target for its keys (``--clear_existing_data``)."""

    table: str
    key_names: tuple[str, ...]
    segment: int
    total_segments: int


def target_keys(task: TargetScan) -> Iterator[tuple[str, str]]:
    """(canonical key, the key as JSON with binaries in base64: ``extras.delete_extras``'s form)."""
    import base64

    dynamodb = shared_client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": task.table,
        "Segment": task.segment,
        "TotalSegments": task.total_segments,
        "AttributesToGet": list(task.key_names),
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            key = {name: item[name] for name in task.key_names}
            text = {
                n: {k: base64.b64encode(v).decode("ascii") if k == "B" else v for k, v in value.items()}
                for n, value in key.items()
            }
            yield canonical_key(key, task.key_names), json.dumps(text, separators=(",", ":"))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
