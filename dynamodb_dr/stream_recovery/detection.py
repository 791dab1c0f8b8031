"""Detection policy: which stream records are incidents, which are normal traffic.

Pure functions over one parsed record and its table's policy. Whether a record is part of a burst
depends on other records too: that count lives in the incident state table (see ``state``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dynamodb_dr.stream_recovery.config import TablePolicy
from dynamodb_dr.stream_recovery.errors import StreamRecordError
from dynamodb_dr.stream_recovery.records import StreamChange


class Verdict(StrEnum):
    TTL_DELETE = "ttl_delete"  # DynamoDB's TTL removed an expired item: never an incident
    NORMAL = "normal"  # INSERTs and ordinary updates
    BURST_CANDIDATE = "burst_candidate"  # a REMOVE/MODIFY that counts towards a burst
    INCIDENT = "incident"


class Reason(StrEnum):
    USER_DELETE = "user_delete"
    PROTECTED_ATTRIBUTE = "protected_attribute_changed"
    BURST = "burst"


@dataclass(frozen=True)
class Detection:
    verdict: Verdict
    reason: Reason | None = None
    detail: str = ""


def changed_protected_attributes(change: StreamChange, protected: frozenset[str]) -> list[str]:
    """The protected attributes a MODIFY removed or changed (added ones are not a change of an old value)."""
    old, new = change.old_image or {}, change.new_image or {}
    return sorted(a for a in protected if a in old and (a not in new or old[a] != new[a]))


def classify(change: StreamChange, policy: TablePolicy) -> Detection:
    if change.event_name == "REMOVE" and change.is_ttl_delete:
        return Detection(Verdict.TTL_DELETE)
    if change.event_name == "INSERT":
        return Detection(Verdict.NORMAL)
    if change.event_name == "REMOVE":
        if policy.user_deletes_are_incidents:
            return Detection(Verdict.INCIDENT, Reason.USER_DELETE, "an item was deleted by a user")
        return Detection(Verdict.BURST_CANDIDATE)
    if policy.protected_attributes:
        if change.old_image is None:
            raise StreamRecordError(
                f"a MODIFY of table {change.table_name} has no OldImage, so changes of protected attributes "
                "cannot be seen; set the table's StreamViewType to NEW_AND_OLD_IMAGES"
            )
        changed = changed_protected_attributes(change, policy.protected_attributes)
        if changed:
            return Detection(
                Verdict.INCIDENT, Reason.PROTECTED_ATTRIBUTE, f"changed or removed: {', '.join(changed)}"
            )
    return Detection(Verdict.BURST_CANDIDATE)
