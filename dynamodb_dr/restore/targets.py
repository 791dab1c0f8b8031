"""Prepare restore targets on the driver: create a missing table, back up and clear an existing one.
(What a created table gets back after the restore, PITR included, is ``table_settings.reapply``.)"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, WaiterError

from dynamodb_dr.aws_errors import describe
from dynamodb_dr.errors import TargetTableError, WriteError
from dynamodb_dr.tables import create_table_request

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


logger = logging.getLogger(__name__)

SCAN_SEGMENTS = 4
DELETE_BATCH = 25


def create_target(
    dynamodb: DynamoDBClient, table_name: str, definition: dict[str, Any], *, wait_seconds: int = 600
) -> None:
    """Create ``table_name`` from the backup's recorded definition and wait until it is ACTIVE."""
    try:
        dynamodb.create_table(**create_table_request(table_name, definition))
    except ClientError as exc:
        raise TargetTableError(
            f"could not create target table {table_name} from the backup's definition ({describe(exc)}); "
            "create it yourself with the backup's key schema and run again without --create_missing_tables"
        ) from exc
    delay = 2 if wait_seconds >= 60 else 1
    try:
        dynamodb.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, wait_seconds // delay)}
        )
    except WaiterError as exc:
        raise TargetTableError(
            f"target table {table_name} was created but did not become ACTIVE within {wait_seconds}s; "
            "run the restore again once it is ACTIVE"
        ) from exc
    logger.info("created target table", extra={"table": table_name})


def backup_name(table_name: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", table_name)[: 255 - len(stamp) - 13]
    return f"{base}-pre-restore-{stamp}"


def backup_target(dynamodb: DynamoDBClient, table_name: str) -> Mapping[str, Any]:
    """An on-demand backup of the target before it is cleared.

    Accepted once DynamoDB reports it CREATING or AVAILABLE: an on-demand backup holds the table as
    it was when CreateBackup was accepted, so deleting items afterwards does not change it."""
    try:
        details = dynamodb.create_backup(TableName=table_name, BackupName=backup_name(table_name))[
            "BackupDetails"
        ]
    except ClientError as exc:
        raise TargetTableError(
            f"could not back up target table {table_name} before clearing it ({describe(exc)}); nothing was "
            "cleared or written. Fix the cause (permissions dynamodb:CreateBackup, backup quota) and run again, "
            "or run without --clear_existing_data"
        ) from exc
    status = details.get("BackupStatus")
    if status not in ("CREATING", "AVAILABLE"):
        raise TargetTableError(
            f"the backup of target table {table_name} is {status}, not CREATING/AVAILABLE; nothing was cleared "
            "or written. Check it with aws dynamodb describe-backup and run again"
        )
    logger.info(
        "backed up target before clearing",
        extra={"table": table_name, "backup_arn": details["BackupArn"], "backup_status": status},
    )
    return details


def delete_keys(
    dynamodb: DynamoDBClient, table_name: str, keys: list[dict[str, Any]], deadline: float
) -> int:
    """Delete up to 25 items by key, re-sending ``UnprocessedItems`` with backoff until ``deadline``."""
    requests: list[Any] = [{"DeleteRequest": {"Key": k}} for k in keys]
    attempt = 0
    while requests:
        response = dynamodb.batch_write_item(RequestItems={table_name: requests})
        requests = response.get("UnprocessedItems", {}).get(table_name, [])
        if requests:
            delay = random.uniform(0, min(5.0, 0.05 * 2**attempt))
            if time.monotonic() + delay >= deadline:
                raise WriteError(
                    f"{len(requests)} items of table {table_name} could not be deleted before the deadline; "
                    "they are still in the table. Run the restore again.",
                    failed_items=len(requests),
                )
            time.sleep(delay)
            attempt += 1
    return len(keys)


def _scan_keys(
    dynamodb: DynamoDBClient,
    table_name: str,
    key_names: tuple[str, ...],
    segment: int,
    total: int,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to about ``limit`` keys of one Scan segment; True when the segment was read to its end.

    The key attributes are asked for with ``AttributesToGet`` (legacy but supported; keys are
    top-level attributes) rather than ``ProjectionExpression``: moto's projection code converts
    every attribute through boto3's Decimal context and fails on legal numbers such as 1E-130. The
    keys are taken from each returned item either way, so an endpoint returning more is harmless.
    """
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "Segment": segment,
        "TotalSegments": total,
        "AttributesToGet": list(key_names),
        "ConsistentRead": True,
        "Limit": max(1, min(limit, 10_000)),
    }
    keys: list[dict[str, Any]] = []
    while True:
        page = dynamodb.scan(**kwargs)
        keys.extend({name: item[name] for name in key_names} for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return keys, True
        if len(keys) >= limit:
            return keys, False
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def clear_table(
    dynamodb: DynamoDBClient,
    table_name: str,
    key_names: tuple[str, ...],
    *,
    segments: int = SCAN_SEGMENTS,
    keys_per_round: int = 200_000,
    deadline_seconds: float = 3600,
) -> int:
    """Delete every item; returns the count.

    In rounds: a parallel Scan (Segment/TotalSegments, key attributes only) collects up to
    ``keys_per_round`` keys, then batched DeleteRequests remove them in parallel. Scans and deletes
    never overlap (a delete under a running scan is legal on DynamoDB, but some emulators fail it),
    and memory stays bounded by ``keys_per_round`` whatever the table size. A round starts a fresh
    scan, so items deleted by the previous round are simply not seen again.
    """
    deadline = time.monotonic() + deadline_seconds
    deleted = 0
    try:
        with ThreadPoolExecutor(max_workers=segments) as pool:
            while True:
                scans = list(
                    pool.map(
                        lambda s: _scan_keys(
                            dynamodb, table_name, key_names, s, segments, keys_per_round // segments
                        ),
                        range(segments),
                    )
                )
                keys = [k for segment_keys, _ in scans for k in segment_keys]
                chunks = [keys[i : i + DELETE_BATCH] for i in range(0, len(keys), DELETE_BATCH)]
                deleted += sum(pool.map(lambda c: delete_keys(dynamodb, table_name, c, deadline), chunks))
                if all(finished for _, finished in scans):
                    break
                if time.monotonic() >= deadline:
                    raise WriteError(
                        f"clearing target table {table_name} did not finish within {deadline_seconds:.0f}s "
                        f"({deleted} items deleted); it is partly cleared. Run the restore again."
                    )
    except ClientError as exc:
        raise WriteError(
            f"clearing target table {table_name} failed ({describe(exc)}); it may be partly cleared (its backup "
            "was taken first). Run the restore again."
        ) from exc
    logger.info("cleared target table", extra={"table": table_name, "deleted_items": deleted})
    return deleted
