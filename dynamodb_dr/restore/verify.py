"""``--verify``: prove a restored table holds the backup, item by item and type by type.

After a restore (``--verify true``), or on its own against an existing table (``--verify_only
true``), each table's export is read again (every data file, its MD5 checked as it streams) into
(canonical key -> item digest) pairs, and the target is read by a parallel segmented Scan
(strongly consistent, ``ReturnConsumedCapacity`` on every page) into the same pairs. The two meet
in a full outer join by key (``StageRunner.join``: Spark's ``fullOuterJoin`` on the Glue job, a
dict in the Restore Lambda), so neither side's keys sit on the driver; each partition counts what it
holds and keeps a few sample keys. Per table the report gets:

- ``missing``: in the backup, not in the table;
- ``extra``: in the table, not in the backup;
- ``different``: same key, other content (``item_digest``: exact types, numbers as DynamoDB
  normalizes them, sets unordered, binary as bytes);
- the read cost: the RCUs the Scans consumed, and the items scanned.

**Live writes.** A table that takes writes while it is verified differs from the backup for reasons
that are no fault of the restore. With ``--verify_timestamp_attribute updated_at`` (an attribute the
application sets on every write: epoch seconds or milliseconds as ``N``, or ISO 8601 as ``S``), an
extra or different item whose timestamp is at or after the reference time is reported apart
(``written_after_start``), not as a failure. The reference time is when the restore started; for a
verify-only run, the backup's export time (what changed since the backup was taken). What cannot be
told, and the report says so: an item deleted after the restore started is counted ``missing`` (a
delete leaves no timestamp); without the attribute every difference counts as a failure.

A table with any missing, extra or different item (not written after the start) fails, with counts
and samples in the report. Extras do not fail a restore into an existing table that kept its other
items (no ``--clear_existing_data``): they are reported as ``extra_kept``.

**A point in time** (``--restore_time``, ``restore.timetravel.verify_point``): the left side is the
chain (the full export and the windows up to the point), each key's states folded into its newest
(``StageRunner.join``'s ``reduce``) as ``(position, micros, digest or None)``. A key whose newest
state is a delete must be absent: absent, it is not counted at all; present, it is an extra that a
restore into an existing table does not keep (the restore deletes it), counted in ``extra_deleted``.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dynamodb_dr.clients import make_client
from dynamodb_dr.item_digest import canonical_key, item_digest, readable_key
from dynamodb_dr.restore import malloc
from dynamodb_dr.restore.export_reader import DataFile, iter_batches, spooled

logger = logging.getLogger(__name__)

SAMPLES = 5
"""Sample keys kept per kind of difference and table."""
CAPACITY_KEY = "\x00capacity"
"""Key prefix of the one pair each Scan segment adds for what it consumed (never a real key: a
canonical key is JSON and starts with ``[``)."""
MILLISECONDS_ABOVE = 100_000_000_000
"""An epoch timestamp above this (the year 5138 in seconds) is in milliseconds."""
DELETED = "-"
"""The left value of a key whose state at the point is a delete (never a digest: 40 hex digits)."""


@dataclass(frozen=True)
class BackupDigestsTask:
    """Read one data file of the backup into (canonical key, digest) pairs."""

    bucket: str
    export_arn: str
    data_file: DataFile
    key_names: tuple[str, ...]
    verified_etag: str | None = None


@dataclass(frozen=True)
class ScanDigestsTask:
    """Scan one segment of the target into (canonical key, (digest, timestamp)) pairs."""

    table: str
    key_names: tuple[str, ...]
    segment: int
    total_segments: int
    timestamp_attribute: str | None = None


@dataclass
class Verification:
    """What ``--verify`` found in one table (the report's ``verification``)."""

    target_table: str
    ok: bool = False
    backup_items: int = 0
    scanned_items: int = 0
    same: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    extra_kept: int = 0
    """Extras a restore into an existing table kept (no ``--clear_existing_data``): not a failure."""
    extra_deleted: int = 0
    """A point in time: extras whose key the chain deletes by the point (counted in ``extra``, never
    kept: the restore deletes them)."""
    written_after_start: int = 0
    """Extra or different items whose timestamp attribute is at or after ``since``: live writes."""
    missing_keys: list[str] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)
    different_keys: list[str] = field(default_factory=list)
    written_after_start_keys: list[str] = field(default_factory=list)
    read_capacity_units: float = 0.0
    """RCUs the Scans consumed (``ReturnConsumedCapacity``)."""
    scan_segments: int = 0
    seconds: float = 0.0
    finished_at: str | None = None
    """UTC, when the comparison ended: the drill's "verified" moment."""
    timestamp_attribute: str | None = None
    since: str | None = None
    """The reference time live writes are told apart from (UTC ISO 8601)."""
    cannot_tell: list[str] = field(default_factory=list)
    """What this verification cannot tell apart, in words."""
    error: str | None = None
    against: str = "the backup"
    """What the target was compared with, in words (``the state at 2026-01-15T10:15:00Z``)."""

    def problems(self) -> str:
        """One sentence for a failed verification: counts and sample keys."""
        if self.error:
            return f"verify of {self.target_table} could not finish: {self.error}"
        parts = []
        for what, count, keys in (
            ("missing", self.missing, self.missing_keys),
            ("extra", self.extra, self.extra_keys),
            ("different", self.different, self.different_keys),
        ):
            if count:
                parts.append(f"{count} {what} (e.g. {'; '.join(keys)})")
        return f"verify of {self.target_table} against {self.against} found " + ", ".join(parts)


@dataclass
class _Counts:
    """One partition's share of the comparison."""

    backup_items: int = 0
    scanned_items: int = 0
    same: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    after: int = 0
    deleted: int = 0
    """Extras whose state at the point is a delete (also in ``extra``)."""
    missing_keys: list[str] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)
    different_keys: list[str] = field(default_factory=list)
    after_keys: list[str] = field(default_factory=list)
    deleted_keys: list[str] = field(default_factory=list)
    capacity: float = 0.0


# --- the two sides -------------------------------------------------------------------------------


def backup_digests(task: BackupDigestsTask) -> Iterator[tuple[str, str]]:
    """(canonical key, item digest) of every item of one data file (MD5 checked as it is read)."""
    malloc.tune_for_streaming()
    s3 = make_client("s3")
    with spooled(s3, task.bucket, task.data_file, task.export_arn, verified_etag=task.verified_etag) as (
        path,
        _,
    ):
        for batch in iter_batches(path, task.data_file, task.export_arn, size=1000):
            for line in batch:
                item = json.loads(line)["Item"]
                yield canonical_key(item, task.key_names), item_digest(item)


def timestamp_seconds(value: Any) -> float | None:
    """Epoch seconds of a timestamp attribute (``N`` seconds or milliseconds, ``S`` ISO 8601), or
    None when the item has no such attribute or it is not a timestamp."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind == "N":
        try:
            number = float(Decimal(inner))
        except (InvalidOperation, ValueError):
            return None
        return number / 1000 if number > MILLISECONDS_ABOVE else number
    if kind == "S":
        try:
            moment = datetime.fromisoformat(inner)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return None


def target_digests(task: ScanDigestsTask) -> Iterator[tuple[str, Any]]:
    """(canonical key, (digest, timestamp seconds or None)) of every item of one Scan segment, then
    one (``CAPACITY_KEY`` + segment, (items, RCUs)) pair for what the segment read."""
    dynamodb = make_client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": task.table,
        "Segment": task.segment,
        "TotalSegments": task.total_segments,
        "ConsistentRead": True,
        "ReturnConsumedCapacity": "TOTAL",
    }
    capacity = 0.0
    items = 0
    while True:
        page = dynamodb.scan(**kwargs)
        capacity += float((page.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
        for item in page.get("Items", []):
            items += 1
            stamp = (
                timestamp_seconds(item.get(task.timestamp_attribute)) if task.timestamp_attribute else None
            )
            yield canonical_key(item, task.key_names), (item_digest(item), stamp)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    yield f"{CAPACITY_KEY}{task.segment}", (items, capacity)


def left_digest(value: Any) -> str | None:
    """The left value of a joined row as a digest: a backup's digest as it is; a chain's newest state
    ``(position, micros, digest or None)`` as its digest, or ``DELETED``."""
    if isinstance(value, tuple | list):
        return DELETED if value[2] is None else str(value[2])
    return value


def compare_partition(since: float | None, rows: Iterable[tuple[str, Any, Any]]) -> _Counts:
    """Count one partition of the joined pairs: (key, left value or None, (digest, timestamp) or
    None), the left value a backup's digest or a chain's newest state (``left_digest``). Live writes (a timestamp at or after ``since``) are counted
    apart; a key deleted at the point and absent from the target is not counted at all."""
    counts = _Counts()

    def sample(keys: list[str], key: str) -> None:
        keys.append(key)
        if len(keys) > 20 * SAMPLES:  # the smallest keys are the samples, whatever the order seen
            keys.sort()
            del keys[SAMPLES:]

    for key, ours, theirs in rows:
        if key.startswith(CAPACITY_KEY):
            items, units = theirs
            counts.scanned_items += items
            counts.capacity += units
            continue
        ours = left_digest(ours)
        if ours == DELETED and theirs is None:
            continue  # deleted by the point, absent: as it should be
        if ours is not None and ours != DELETED:
            counts.backup_items += 1
        if theirs is None:
            counts.missing += 1
            sample(counts.missing_keys, key)
            continue
        digest, stamp = theirs
        if ours == digest:
            counts.same += 1
        elif since is not None and stamp is not None and stamp >= since:
            counts.after += 1
            sample(counts.after_keys, key)
        elif ours is None or ours == DELETED:
            counts.extra += 1
            sample(counts.extra_keys, key)
            if ours == DELETED:
                counts.deleted += 1
                sample(counts.deleted_keys, key)
        else:
            counts.different += 1
            sample(counts.different_keys, key)
    for keys in (
        counts.missing_keys,
        counts.extra_keys,
        counts.different_keys,
        counts.after_keys,
        counts.deleted_keys,
    ):
        keys.sort()
        keys[:] = [readable_key(k) for k in keys[:SAMPLES]]
    return counts


# --- one table -----------------------------------------------------------------------------------


def segments_for(items: int, slots: int) -> int:
    """Scan segments: at least one per task slot, one per 200,000 items, at most 1,000."""
    return max(slots, min(1000, items // 200_000 + 1))


def verify_table(
    runner: Any,
    *,
    bucket: str,
    export_arn: str,
    files: Iterable[DataFile],
    verified: dict[str, str],
    target: str,
    key_names: tuple[str, ...],
    items_in_export: int,
    since: float | None,
    timestamp_attribute: str | None,
    extras_allowed: bool,
) -> Verification:
    """Compare ``target`` with the export, on ``runner``; the result says whether it matches."""
    left = [BackupDigestsTask(bucket, export_arn, f, key_names, verified.get(f.key)) for f in files]
    return compare_table(
        runner,
        left=(left, backup_digests),
        target=target,
        key_names=key_names,
        items_hint=items_in_export,
        since=since,
        timestamp_attribute=timestamp_attribute,
        extras_allowed=extras_allowed,
    )


def compare_table(
    runner: Any,
    *,
    left: tuple[Sequence[Any], Callable[[Any], Iterable[tuple[str, Any]]]],
    target: str,
    key_names: tuple[str, ...],
    items_hint: int,
    since: float | None,
    timestamp_attribute: str | None,
    extras_allowed: bool,
    reduce: Callable[[Any, Any], Any] | None = None,
    against: str = "the backup",
) -> Verification:
    """Compare ``target`` (a segmented Scan) with ``left``'s (canonical key, digest) pairs, or with
    its (canonical key, state) pairs folded by ``reduce`` (a chain of exports: ``left_digest``), on
    ``runner``. ``items_hint`` (about the items expected) sizes the Scan."""
    started = time.monotonic()
    segments = segments_for(items_hint, runner.task_slots())
    result = Verification(
        target_table=target,
        scan_segments=segments,
        timestamp_attribute=timestamp_attribute,
        since=datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds") if since is not None else None,
        against=against,
    )
    right = [ScanDigestsTask(target, key_names, i, segments, timestamp_attribute) for i in range(segments)]
    partitions: list[_Counts] = runner.join(
        left,
        (right, target_digests),
        functools.partial(compare_partition, since if timestamp_attribute else None),
        f"verify-{target}",
        reduce=reduce,
    )
    deleted_keys: list[str] = []
    for part in partitions:
        result.backup_items += part.backup_items
        result.scanned_items += part.scanned_items
        result.same += part.same
        result.missing += part.missing
        result.extra += part.extra
        result.extra_deleted += part.deleted
        result.different += part.different
        result.written_after_start += part.after
        result.read_capacity_units += part.capacity
        for mine, theirs in (
            (result.missing_keys, part.missing_keys),
            (result.extra_keys, part.extra_keys),
            (result.different_keys, part.different_keys),
            (result.written_after_start_keys, part.after_keys),
            (deleted_keys, part.deleted_keys),
        ):
            mine.extend(theirs)
    for keys in (
        result.missing_keys,
        result.extra_keys,
        result.different_keys,
        result.written_after_start_keys,
        deleted_keys,
    ):
        keys.sort()
        del keys[SAMPLES:]
    if extras_allowed:  # the keys the restore deletes are not the target's own: never kept
        result.extra_kept, result.extra = result.extra - result.extra_deleted, result.extra_deleted
        result.extra_keys = deleted_keys
    result.read_capacity_units = round(result.read_capacity_units, 3)
    result.ok = not (result.missing or result.extra or result.different)
    result.cannot_tell = cannot_tell(timestamp_attribute)
    result.seconds = round(time.monotonic() - started, 3)
    result.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    logger.info(
        "verify finished",
        extra={
            "target_table": target,
            "against": against,
            "ok": result.ok,
            "missing": result.missing,
            "extra": result.extra,
            "different": result.different,
            "written_after_start": result.written_after_start,
            "read_capacity_units": result.read_capacity_units,
            "scan_segments": segments,
        },
    )
    return result


def record(
    result: Any,
    compare: Callable[[], Verification],
    *,
    target: str,
    verify_only: bool,
    against: str = "the backup",
) -> None:
    """Run ``compare`` and put its verification on ``result`` (a ``TableResult``): a difference fails
    the table with counts and sample keys, a match of a ``--verify_only`` run is VERIFIED. A
    comparison that itself failed (Spark, a Scan error, a bad data file) leaves the table unverified."""
    from dynamodb_dr.restore.report import VERIFIED

    try:
        checked = compare()
    except Exception as exc:
        checked = Verification(
            target_table=target, against=against, error=f"{type(exc).__name__}: {str(exc)[:500]}"
        )
    result.verification = checked
    if not checked.ok:
        result.fail(checked.problems())
    elif verify_only:
        result.status = VERIFIED


def cannot_tell(timestamp_attribute: str | None) -> list[str]:
    """What a verification cannot tell apart, said plainly in the report."""
    deleted = (
        "an item deleted after the restore started cannot be told from one the restore did not write: "
        "both count as missing (a delete leaves no timestamp)"
    )
    if timestamp_attribute:
        return [
            deleted,
            f"an extra or different item whose {timestamp_attribute} is missing, unreadable or older than the "
            "start counts as a failure, even if a live write made it",
        ]
    return [
        deleted,
        "no --verify_timestamp_attribute: items written to the table after the restore started cannot be told "
        "from restore errors; every extra or different item counts as a failure",
    ]
