"""Item repair, per key: put the item back to its state before the incident's FIRST bad change, only
while it still equals the state after the LAST bad change; anything else is a conflict, reported
with its key and never written.

Each bad change of a key (a user delete of a protected item, a change of a protected attribute) is
checked against the key's chain in the state table (``state.KeyState``): its OldImage must be the
NewImage of the key's previous bad change (or the repaired state). If not, a write that was not a
bad change came in between, and repairing would undo it: the key is in conflict for good. When the
item holds something else than the last bad state (``stale``), it was written again after it: a
later bad change of the same key (A->B->C) continues the chain and repairs to A, never to B.

DynamoDB conditions cannot say "and no other attribute", so the repair first compares the whole item
(strongly consistent GetItem), then writes with a condition on every attribute's value; only an
attribute added in the milliseconds between that read and the write would go unseen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import error_code
from dynamodb_dr.stream_recovery.errors import RecoveryActionError, StreamRecordError
from dynamodb_dr.stream_recovery.records import (
    StreamChange,
    change_fingerprint,
    client_to_wire,
    same_image,
    wire_to_client,
)
from dynamodb_dr.stream_recovery.state import Incident, IncidentStore, KeyState, digest

MAX_EXPRESSION_LENGTH = 4096  # DynamoDB's limit for one expression string


@dataclass(frozen=True)
class RepairResult:
    outcome: str  # repaired | already_repaired | repeated | stale | conflict | would_repair
    detail: str
    keys_json: str = ""
    before: dict[str, Any] | None = None  # what the item is (the last bad state), wire JSON
    after: dict[str, Any] | None = None  # what the repair puts back, wire JSON
    was_listed: bool = False  # the key was listed as a conflict before (a repair takes it off the list)


def _equals_condition(image: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    names, values, parts = {}, {}, []
    for i, (name, value) in enumerate(sorted(image.items())):
        names[f"#a{i}"] = name
        values[f":v{i}"] = value
        parts.append(f"#a{i} = :v{i}")
    return " AND ".join(parts), names, values


def _dumps(image: dict[str, Any] | None) -> str | None:
    return None if image is None else json.dumps(client_to_wire(image), sort_keys=True)


def _loads(text: str | None) -> dict[str, Any] | None:
    return None if text is None else wire_to_client(json.loads(text))


def repair_fingerprint(
    keys: dict[str, Any], last_bad: dict[str, Any] | None, target: dict[str, Any] | None
) -> str:
    """The fingerprint of the stream record the repair (``last_bad`` -> ``target``) will itself cause."""
    return change_fingerprint(keys, last_bad, target)


def _current_item(dynamodb: Any, change: StreamChange) -> dict[str, Any] | None:
    try:
        return dynamodb.get_item(TableName=change.table_name, Key=change.keys, ConsistentRead=True).get(
            "Item"
        )
    except ClientError as exc:
        raise RecoveryActionError(
            f"could not read an item of {change.table_name} before repairing it "
            f"({error_code(exc)}); the record will be retried"
        ) from exc


def _advance(store: IncidentStore, incident: Incident, change: StreamChange) -> tuple[KeyState, str | None]:
    """Add the bad change to its key's chain. Returns the state and, for a change that cannot be part
    of the chain, why (the key is then in conflict)."""
    previous = store.key_state(incident, change.keys)
    keys_json = json.dumps(client_to_wire(change.keys), sort_keys=True)
    pk = store.key_state_pk(incident, change.keys)
    if previous is None:
        state = KeyState(
            pk, keys_json, _dumps(change.old_image), digest(change.new_image), change.sequence_number, "open"
        )
        return store.save_key_state(state, None), None
    if int(change.sequence_number) <= int(previous.last_sequence):
        return previous, None  # delivered again: the chain already has it
    if previous.status == "conflict":
        return previous, "the key is already in conflict in this incident"
    old = digest(change.old_image)
    continues = old == previous.last_new_digest or (
        previous.status == "repaired" and old == digest(_loads(previous.first_old_json))
    )
    if not continues:
        state = KeyState(
            pk,
            keys_json,
            previous.first_old_json,
            previous.last_new_digest,
            change.sequence_number,
            "conflict",
        )
        store.save_key_state(state, previous)
        return (
            state,
            "the item was changed between two bad changes by a write that was not one; it was left as it is",
        )
    state = KeyState(
        pk, keys_json, previous.first_old_json, digest(change.new_image), change.sequence_number, "open"
    )
    return store.save_key_state(state, previous), None


def repair_key(
    dynamodb: Any, store: IncidentStore, incident: Incident, change: StreamChange, *, dry_run: bool = False
) -> RepairResult:
    where = f"{change.event_name} of {change.table_name} (SequenceNumber {change.sequence_number})"
    if change.old_image is None:
        raise StreamRecordError(
            f"{where} has no OldImage to put back; set the table's StreamViewType to NEW_AND_OLD_IMAGES"
        )
    if change.event_name == "MODIFY" and change.new_image is None:
        raise StreamRecordError(
            f"{where} has no NewImage to compare with; set the table's StreamViewType to NEW_AND_OLD_IMAGES"
        )
    known = store.key_state(incident, change.keys)
    was_listed = known is not None and known.status in ("stale", "conflict")
    state, conflict = _advance(store, incident, change)
    keys_json = state.keys_json
    if conflict:
        return RepairResult("conflict", conflict, keys_json, was_listed=was_listed)
    if state.last_sequence != change.sequence_number or state.status == "repaired":
        # Delivered again: an earlier change of the chain, or the last one, already repaired.
        return RepairResult("repeated", "a bad change already handled, delivered again", keys_json)
    target = _loads(state.first_old_json)
    last_bad = change.new_image  # the chain's last bad state: this record's NewImage
    before, after = client_to_wire(last_bad) if last_bad else None, client_to_wire(target) if target else None
    if dry_run:
        return RepairResult("would_repair", "dry run: nothing written", keys_json, before, after)
    if last_bad is None:
        arguments: dict[str, Any] = {
            "ConditionExpression": "attribute_not_exists(#k)",
            "ExpressionAttributeNames": {"#k": sorted(change.keys)[0]},
        }
    else:
        condition, names, values = _equals_condition(last_bad)
        if len(condition) > MAX_EXPRESSION_LENGTH:
            _set_status(store, state, "conflict")
            return RepairResult(
                "conflict",
                f"the item has too many attributes for an exact condition ({len(condition)} characters); "
                "restore it from a PITR restore table instead",
                keys_json,
                was_listed=was_listed,
            )
        arguments = {
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        current = _current_item(dynamodb, change)
        if same_image(current, target):
            _set_status(store, state, "repaired")
            return RepairResult(
                "already_repaired",
                "the item already holds the state before the first bad change",
                keys_json,
                was_listed=was_listed,
            )
        if not same_image(current, last_bad):
            _set_status(store, state, "stale")
            return RepairResult(
                "stale",
                "the item was written again after the bad change; it was left as it is",
                keys_json,
                was_listed=was_listed,
            )
    store.mark_repair(change.table_name, repair_fingerprint(change.keys, last_bad, target))
    operation = "put_item" if target is not None else "delete_item"
    request = {"Item": target} if target is not None else {"Key": change.keys}
    try:
        getattr(dynamodb, operation)(
            TableName=change.table_name, ReturnValuesOnConditionCheckFailure="ALL_OLD", **request, **arguments
        )
    except ClientError as exc:
        code = error_code(exc)
        if code == "ConditionalCheckFailedException":
            now = exc.response.get("Item")  # ReturnValuesOnConditionCheckFailure: the item as it is
            if same_image(now if isinstance(now, dict) else None, target):
                _set_status(store, state, "repaired")
                return RepairResult(
                    "already_repaired",
                    "the item already holds the state before the first bad change",
                    keys_json,
                    was_listed=was_listed,
                )
            _set_status(store, state, "stale")
            return RepairResult(
                "stale",
                "the item was written again after the bad change; it was left as it is",
                keys_json,
                was_listed=was_listed,
            )
        raise RecoveryActionError(
            f"could not repair an item of {change.table_name} ({operation}: {code}); the record will be retried"
        ) from exc
    _set_status(store, state, "repaired")
    return RepairResult(
        "repaired",
        "put back the item as it was before the first bad change",
        keys_json,
        before,
        after,
        was_listed=was_listed,
    )


def _set_status(store: IncidentStore, state: KeyState, status: str) -> None:
    if state.status != status:
        store.save_key_state(
            KeyState(
                state.pk,
                state.keys_json,
                state.first_old_json,
                state.last_new_digest,
                state.last_sequence,
                status,
            ),
            state,
        )
