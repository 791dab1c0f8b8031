"""Detection policy: which stream records name a bad change of one item with certainty, which only
count towards a burst, which are normal traffic.

Stream records carry no writer identity (only TTL deletes have ``userIdentity``), so a burst cannot
tell bad writes from good ones: only a user delete of a protected item and a change of a protected
attribute name their item with certainty, and only those may ever be repaired item by item. A burst
is measured against the table's own baseline (see ``state.IncidentStore.count_changes``) and is
answered at table level (PITR / AWS Backup restore, or an alert), never by item repair.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dynamodb_dr.stream_recovery.config import TablePolicy
from dynamodb_dr.stream_recovery.errors import StreamRecordError
from dynamodb_dr.stream_recovery.records import StreamChange


class Verdict(StrEnum):
    TTL_DELETE = "ttl_delete"  # DynamoDB's TTL removed an expired item (here or in another replica)
    NORMAL = "normal"  # INSERTs
    BURST_CANDIDATE = "burst_candidate"  # a REMOVE/MODIFY: counted towards the table's rate only
    ITEM_INCIDENT = "item_incident"  # a bad change of one named item, known with certainty


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


def expired_by_ttl(change: StreamChange, ttl_attribute: str | None) -> bool:
    """A REMOVE of an item whose TTL attribute (epoch seconds) is at or before the record's time.

    In a global table a TTL delete carries ``userIdentity`` only in the region where TTL ran; its
    replicated REMOVE elsewhere looks like a user delete. An item past its expiry is one TTL may
    delete at any moment, so its REMOVE is never treated as a loss."""
    if change.event_name != "REMOVE" or not ttl_attribute or not change.old_image:
        return False
    value: Any = change.old_image.get(ttl_attribute)
    if not isinstance(value, dict) or "N" not in value:
        return False  # TTL ignores items whose attribute is not a number
    try:
        expires = float(value["N"])
    except ValueError:
        return False
    return 0 < expires <= change.approximate_creation_time


def classify(change: StreamChange, policy: TablePolicy, ttl_attribute: str | None = None) -> Detection:
    if change.event_name == "REMOVE" and (change.is_ttl_delete or expired_by_ttl(change, ttl_attribute)):
        return Detection(Verdict.TTL_DELETE)
    if change.event_name == "INSERT":
        return Detection(Verdict.NORMAL)
    if change.event_name == "REMOVE":
        if policy.user_deletes_are_incidents:
            return Detection(Verdict.ITEM_INCIDENT, Reason.USER_DELETE, "an item was deleted by a user")
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
                Verdict.ITEM_INCIDENT, Reason.PROTECTED_ATTRIBUTE, f"changed or removed: {', '.join(changed)}"
            )
    return Detection(Verdict.BURST_CANDIDATE)


def burst_threshold(policy: TablePolicy, baseline: float) -> int:
    """Records of one window that make a burst: ``burst_factor`` times the baseline, at least the floor."""
    return max(policy.burst_threshold, int(policy.burst_factor * baseline + 0.999999))
