"""The stream recovery incidents, read from its state table (``stream_recovery.state`` documents the
items: ``INCIDENT#{table}#{bucket}``, a ``continues`` link when a burst crosses a window).

Read here with a small function of its own rather than through ``IncidentStore``: the CLI only
reads, and shows every field an item has, so a field added by a newer stream recovery Lambda shows
up instead of breaking the listing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_missing_table
from dynamodb_dr.errors import ConfigError

INCIDENT_PREFIX = "INCIDENT#"
STATE_TABLE_ENV = "INCIDENT_STATE_TABLE"
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    """Decimals as int/float, sets as sorted lists, bytes as text: JSON-ready."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return getattr(value, "value", value)  # boto3's Binary


def read_incidents(dynamodb: Any, state_table: str) -> list[dict[str, Any]]:
    """Every incident in the state table (not the items that only link a later window to one),
    newest first, with all of its fields."""
    incidents = []
    try:
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=state_table,
            FilterExpression="begins_with(pk, :p) AND attribute_not_exists(#c)",
            ExpressionAttributeNames={"#c": "continues"},
            ExpressionAttributeValues={":p": {"S": INCIDENT_PREFIX}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                incidents.append({k: _plain(_deserializer.deserialize(v)) for k, v in item.items()})
    except ClientError as exc:
        if is_missing_table(exc):
            raise ConfigError(
                f"the incident state table {state_table!r} does not exist (check --state-table / "
                f"{STATE_TABLE_ENV}, and the account and region)"
            ) from None
        raise
    incidents.sort(key=lambda i: (str(i.get("created_at") or ""), str(i.get("pk"))), reverse=True)
    return incidents


def find_incident(incidents: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    """The incident whose ``incident_id`` (or state table ``pk``) is ``wanted``."""
    for incident in incidents:
        if wanted in (incident.get("incident_id"), incident.get("pk")):
            return incident
    known = ", ".join(str(i.get("incident_id")) for i in incidents[:5]) or "none"
    raise ConfigError(
        f"no incident {wanted!r} in the state table (newest: {known}); list them with: dynamodb-dr incidents list"
    )
