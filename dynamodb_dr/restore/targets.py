"""Prepare restore targets on the driver: create a missing table, back up and clear an existing one,
turn PITR on after the restore."""

from __future__ import annotations

import logging
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from dynamodb_dr.errors import TargetTableError, WriteError
from dynamodb_dr.tables import create_table_request

logger = logging.getLogger(__name__)

SCAN_SEGMENTS = 4
DELETE_BATCH = 25


def _message(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', exc)}"


def create_target(dynamodb: Any, table_name: str, definition: dict[str, Any], *, wait_seconds: int = 600) -> None:
    """Create ``table_name`` from the backup's recorded definition and wait until it is ACTIVE."""
    try:
        dynamodb.create_table(**create_table_request(table_name, definition))
    except ClientError as exc:
        raise TargetTableError(
            f"could not create target table {table_name} from the backup's definition ({_message(exc)}); "
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


def enable_pitr(dynamodb: Any, table_name: str) -> None:
    try:
        dynamodb.update_continuous_backups(
            TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    except ClientError as exc:
        raise TargetTableError(
            f"restored table {table_name} but could not turn point-in-time recovery on ({_message(exc)}); "
            f"turn it on with: aws dynamodb update-continuous-backups --table-name {table_name} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
        ) from exc


def backup_name(table_name: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", table_name)[: 255 - len(stamp) - 13]
    return f"{base}-pre-restore-{stamp}"


def backup_target(dynamodb: Any, table_name: str) -> dict[str, Any]:
    """An on-demand backup of the target before it is cleared.

    Accepted once DynamoDB reports it CREATING or AVAILABLE: an on-demand backup holds the table as
    it was when CreateBackup was accepted, so deleting items afterwards does not change it."""
    try:
        details = dynamodb.create_backup(TableName=table_name, BackupName=backup_name(table_name))["BackupDetails"]
    except ClientError as exc:
        raise TargetTableError(
            f"could not back up target table {table_name} before clearing it ({_message(exc)}); nothing was "
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


def _delete_keys(dynamodb: Any, table_name: str, keys: list[dict[str, Any]], deadline: float) -> int:
    requests = [{"DeleteRequest": {"Key": k}} for k in keys]
    attempt = 0
    while requests:
        response = dynamodb.batch_write_item(RequestItems={table_name: requests})
        requests = response.get("UnprocessedItems", {}).get(table_name, [])
        if requests:
            delay = random.uniform(0, min(5.0, 0.05 * 2**attempt))
            if time.monotonic() + delay >= deadline:
                raise WriteError(
                    f"{len(requests)} items of table {table_name} could not be deleted before the deadline; "
                    "the table is only partly cleared. Run the restore again.",
                    failed_items=len(requests),
                )
            time.sleep(delay)
            attempt += 1
    return len(keys)


def _clear_segment(
    dynamodb: Any, table_name: str, key_names: tuple[str, ...], segment: int, total: int, deadline: float
) -> int:
    names = {f"#k{i}": name for i, name in enumerate(key_names)}
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "Segment": segment,
        "TotalSegments": total,
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
        "ConsistentRead": True,
    }
    deleted = 0
    while True:
        page = dynamodb.scan(**kwargs)
        keys = page.get("Items", [])
        for start in range(0, len(keys), DELETE_BATCH):
            deleted += _delete_keys(dynamodb, table_name, keys[start : start + DELETE_BATCH], deadline)
        if "LastEvaluatedKey" not in page:
            return deleted
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def clear_table(
    dynamodb: Any, table_name: str, key_names: tuple[str, ...], *, segments: int = SCAN_SEGMENTS, deadline_seconds: float = 3600
) -> int:
    """Delete every item (parallel Scan of the key attributes, batched deletes). Returns the count."""
    deadline = time.monotonic() + deadline_seconds
    try:
        with ThreadPoolExecutor(max_workers=segments) as pool:
            futures = [
                pool.submit(_clear_segment, dynamodb, table_name, key_names, s, segments, deadline)
                for s in range(segments)
            ]
            deleted = sum(f.result() for f in futures)
    except ClientError as exc:
        raise WriteError(
            f"clearing target table {table_name} failed ({_message(exc)}); it may be partly cleared (its backup "
            "was taken first). Run the restore again."
        ) from exc
    logger.info("cleared target table", extra={"table": table_name, "deleted_items": deleted})
    return deleted
