"""Item repair: undo one bad change, only if the item is still exactly as that change left it.

- REMOVE -> PutItem(OldImage) if the item does not exist again.
- MODIFY -> PutItem(OldImage) if the item is still exactly the NewImage.
- INSERT -> DeleteItem if the item is still exactly the NewImage.

A later legitimate write makes the repair stand down: it is reported (``skipped``), never forced.
DynamoDB conditions cannot say "and no other attribute", so MODIFY/INSERT repairs first compare the
whole item (strongly consistent GetItem), then write with a condition on every attribute's value; only
an attribute added in the milliseconds between that read and the write would go unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.stream_recovery.errors import RecoveryActionError, StreamRecordError
from dynamodb_dr.stream_recovery.records import StreamChange, change_fingerprint, same_image
from dynamodb_dr.stream_recovery.state import IncidentStore

MAX_EXPRESSION_LENGTH = 4096  # DynamoDB's limit for one expression string


@dataclass(frozen=True)
class RepairResult:
    outcome: str  # repaired | already_repaired | skipped
    detail: str


def _equals_condition(image: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    names, values, parts = {}, {}, []
    for i, (name, value) in enumerate(sorted(image.items())):
        names[f"#a{i}"] = name
        values[f":v{i}"] = value
        parts.append(f"#a{i} = :v{i}")
    return " AND ".join(parts), names, values


def _plan(change: StreamChange) -> tuple[str, dict[str, Any], tuple[Any, Any]]:
    """(operation, request arguments without TableName, (image before, image after) of the repair)."""
    where = f"{change.event_name} of {change.table_name} (SequenceNumber {change.sequence_number})"
    if change.event_name in ("REMOVE", "MODIFY") and change.old_image is None:
        raise StreamRecordError(
            f"{where} has no OldImage to put back; set the table's StreamViewType to NEW_AND_OLD_IMAGES"
        )
    if change.event_name in ("MODIFY", "INSERT") and change.new_image is None:
        raise StreamRecordError(
            f"{where} has no NewImage to compare with; set the table's StreamViewType to NEW_AND_OLD_IMAGES"
        )
    if change.event_name == "REMOVE":
        key_name = sorted(change.keys)[0]
        return (
            "put_item",
            {
                "Item": change.old_image,
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": key_name},
            },
            (None, change.old_image),
        )
    condition, names, values = _equals_condition(change.new_image or {})
    arguments: dict[str, Any] = {
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if change.event_name == "MODIFY":
        return "put_item", {"Item": change.old_image, **arguments}, (change.new_image, change.old_image)
    return "delete_item", {"Key": change.keys, **arguments}, (change.new_image, None)


def _current_item(dynamodb: Any, change: StreamChange) -> dict[str, Any] | None:
    try:
        return dynamodb.get_item(TableName=change.table_name, Key=change.keys, ConsistentRead=True).get(
            "Item"
        )
    except ClientError as exc:
        raise RecoveryActionError(
            f"could not read an item of {change.table_name} before repairing it "
            f"({exc.response['Error']['Code']}); the record will be retried"
        ) from exc


def repair_fingerprint(change: StreamChange) -> str:
    """The fingerprint of the stream record the repair of ``change`` will itself cause."""
    _, _, (before, after) = _plan(change)
    return change_fingerprint(change.keys, before, after)


def repair_item(dynamodb: Any, store: IncidentStore, change: StreamChange) -> RepairResult:
    operation, arguments, (before, after) = _plan(change)
    if len(arguments["ConditionExpression"]) > MAX_EXPRESSION_LENGTH:
        return RepairResult(
            "skipped",
            f"the item has too many attributes for an exact condition ({len(arguments['ConditionExpression'])} "
            "characters); restore it from a PITR restore table instead",
        )
    if before is not None:
        # DynamoDB conditions cannot say "and no other attribute", so first compare the whole item
        # (consistent read); the conditional write then guards the milliseconds until it lands.
        current = _current_item(dynamodb, change)
        if same_image(current, after):
            return RepairResult("already_repaired", "the item already holds the repaired state (redelivery)")
        if not same_image(current, before):
            return RepairResult(
                "skipped", "the item was written again after the incident; it was left as it is"
            )
    store.mark_repair(change.table_name, repair_fingerprint(change))
    try:
        getattr(dynamodb, operation)(
            TableName=change.table_name, ReturnValuesOnConditionCheckFailure="ALL_OLD", **arguments
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            # ReturnValuesOnConditionCheckFailure=ALL_OLD gives the item as it is now, without another
            # read: a redelivered record finds its own repair.
            if same_image(exc.response.get("Item"), after):
                return RepairResult(
                    "already_repaired", "the item already holds the repaired state (redelivery)"
                )
            return RepairResult(
                "skipped", "the item was written again after the incident; it was left as it is"
            )
        raise RecoveryActionError(
            f"could not repair an item of {change.table_name} ({operation}: {code}); the record will be retried"
        ) from exc
    verb = "deleted the unwanted item" if operation == "delete_item" else "put back the item's OldImage"
    return RepairResult("repaired", verb)
