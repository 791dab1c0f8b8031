"""``--clear_existing_data`` without an empty moment: write every backup item first, then delete only
the items whose keys are not in the backup.

Clearing the table up front left it empty (or half restored when a write then failed) for as long as
the clear and the restore took: 195 s to clear 14,500 items against 15.6 s to write them. Now the
restore writes every item of the backup (puts are idempotent: an item in the backup is overwritten
with its backed-up state, never removed), and only once every write of the table succeeded does
this stage remove the extras: the keys a parallel Scan of the target finds that no data file of the
backup holds. At no moment is an item that exists in the backup missing from the table because of
the restore; a failed write means nothing is deleted.

On Spark the two key sets meet in a join (``subtractByKey``: the backup's keys, read again from its
data files, against the target's, one Scan segment per task), so no key list ever sits on the
driver; the extras are deleted by the partition that holds them, in batches of 25, within the
table's write budget. Scans finish before any delete starts (the join is a stage boundary).

Keys are compared in the canonical form of ``item_digest.canonical_key`` (the one ``--verify`` and
``dynamodb-dr diff`` use): numbers normalized (``1.50`` and ``1.5`` are one key, as in DynamoDB),
binaries as their bytes. The delete uses the key exactly as the Scan returned it.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import describe
from dynamodb_dr.clients import make_client
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.item_digest import canonical_key
from dynamodb_dr.restore import malloc
from dynamodb_dr.restore.export_reader import DataFile, iter_batches, spooled
from dynamodb_dr.restore.item_rules import key_values
from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter
from dynamodb_dr.restore.targets import DELETE_BATCH, delete_keys
from dynamodb_dr.restore.write_rate import BURST_SECONDS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupKeysTask:
    """Read one data file of the backup for its keys."""

    bucket: str
    export_arn: str
    data_file: DataFile
    key_names: tuple[str, ...]
    verified_etag: str | None = None


@dataclass(frozen=True)
class ScanTask:
    """Scan one segment of the target for its keys."""

    table: str
    key_names: tuple[str, ...]
    segment: int
    total_segments: int


@dataclass(frozen=True)
class DeleteSettings:
    table: str
    write_rate: float | None
    """Items/s for the partition's deletes (its share of the table's write budget)."""
    deadline_seconds: float = 3600.0


@dataclass(frozen=True)
class ExtrasDeleted:
    """What one partition's deletes did."""

    deleted: int
    error: str | None = None
    not_deleted: int = 0


def backup_keys(task: BackupKeysTask) -> Iterator[str]:
    """The canonical keys of every item of one data file (the version the validation checked)."""
    malloc.tune_for_streaming()
    s3 = make_client("s3")
    with spooled(s3, task.bucket, task.data_file, task.export_arn, verified_etag=task.verified_etag) as (
        path,
        _,
    ):
        for batch in iter_batches(path, task.data_file, task.export_arn, size=1000):
            for line in batch:
                yield canonical_key(key_values(line, task.key_names), task.key_names)


def target_keys(task: ScanTask) -> Iterator[tuple[str, str]]:
    """(canonical key, the key as DynamoDB returned it, JSON) of every item of one Scan segment.

    Key attributes only, with ``AttributesToGet`` (see ``targets._scan_keys`` for why not a
    projection), strongly consistent so the items the write stage just put are seen."""
    dynamodb = make_client("dynamodb")
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
            yield canonical_key(key, task.key_names), _key_json(key)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _key_json(key: Mapping[str, Mapping[str, Any]]) -> str:
    out = {}
    for name, value in key.items():
        ((kind, raw),) = value.items()
        out[name] = {kind: base64.b64encode(raw).decode("ascii") if kind == "B" else raw}
    return json.dumps(out, separators=(",", ":"))


def _key_from_json(text: str) -> dict[str, Any]:
    key: dict[str, Any] = json.loads(text)
    for value in key.values():
        if "B" in value:
            value["B"] = base64.b64decode(value["B"])
    return key


def delete_extras(settings: DeleteSettings, keys: Iterable[str]) -> ExtrasDeleted:
    """Delete the items with these keys (JSON, as ``target_keys`` gave them), 25 a call, within the
    partition's share of the write budget; what could not be deleted is counted, never dropped."""
    dynamodb = make_client("dynamodb")
    limiter = (
        AdaptiveRateLimiter(settings.write_rate, burst_seconds=BURST_SECONDS)
        if settings.write_rate is not None
        else None
    )
    deadline = time.monotonic() + settings.deadline_seconds
    deleted = 0
    batch: list[dict[str, Any]] = []
    pending = iter(keys)
    try:
        for text in pending:
            batch.append(_key_from_json(text))
            if len(batch) == DELETE_BATCH:
                if limiter is not None:
                    limiter.acquire(len(batch))
                deleted += delete_keys(dynamodb, settings.table, batch, deadline)
                batch = []
        if batch:
            if limiter is not None:
                limiter.acquire(len(batch))
            deleted += delete_keys(dynamodb, settings.table, batch, deadline)
    except (DynamoDBDRError, ClientError) as exc:
        left = len(batch) + sum(1 for _ in pending)
        message = describe(exc) if isinstance(exc, ClientError) else str(exc)
        return ExtrasDeleted(deleted, error=message, not_deleted=left)
    return ExtrasDeleted(deleted)
