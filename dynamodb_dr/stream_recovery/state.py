"""Incident state in a small DynamoDB table (partition key ``pk`` S, TTL attribute ``expires_at``).

Items, by ``pk``:

``INCIDENT#{table}#{bucket}``
    ``bucket`` = floor(ApproximateCreationDateTime / incident window). The first triggering record of a
    bucket creates it with a conditional PutItem (``attribute_not_exists(pk)``): that write is the
    "one incident, one restore" guard, whatever Lambda redelivers or runs in parallel. When the
    previous bucket already has an incident, the new bucket's item only points at it
    (``continues``), so a burst that crosses a bucket boundary stays one incident.
``BURST#{table}#{bucket}``
    A string set of ``{epoch millis}#{SequenceNumber}``, one per REMOVE/MODIFY: adding the same
    record twice changes nothing, so redeliveries are not counted twice. Stops growing at the
    table's burst threshold.
``REPAIR#{table}#{fingerprint}``
    Written before each item repair: the stream record that the repair itself causes is recognised by
    it and is not taken for a new incident.
``FOLLOWUP#restored-table-settings``
    Incidents whose restored table still needs its TTL, stream, PITR and tags.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.stream_recovery.errors import IncidentStateError

STATE_TTL_SECONDS = 7 * 24 * 3600
FOLLOWUP_PK = "FOLLOWUP#restored-table-settings"


@dataclass(frozen=True)
class Incident:
    pk: str
    incident_id: str
    table_name: str
    reason: str
    detail: str
    first_record_time: float
    created_at: str
    action: str
    action_status: str  # pending | started | failed | done | none
    target_table: str | None = None
    restore_time: float | None = None
    restore_job_id: str | None = None
    error: str | None = None
    announced: bool = False
    settings_status: str | None = None  # pending | done (PITR restores only)


def bucket_of(epoch_seconds: float, window_seconds: int) -> int:
    return int(epoch_seconds // window_seconds)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float | int) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _to_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return _n(value)
    if value is None:
        return {"NULL": True}
    return _s(str(value))


def _from_attr(value: dict[str, Any]) -> Any:
    ((tag, inner),) = value.items()
    if tag == "N":
        return float(inner)
    if tag == "NULL":
        return None
    return inner


def _incident_from_item(item: dict[str, Any]) -> Incident:
    plain = {k: _from_attr(v) for k, v in item.items()}
    fields = set(Incident.__dataclass_fields__)
    try:
        return Incident(**{k: v for k, v in plain.items() if k in fields})
    except TypeError as exc:
        raise IncidentStateError(f"incident item {plain.get('pk')!r} is incomplete ({exc})") from exc


class IncidentStore:
    """Reads and writes incident state. Every write that must happen once is conditional."""

    def __init__(self, dynamodb: Any, table_name: str, window_seconds: int) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.window_seconds = window_seconds
        # One store serves one invocation: incidents it has seen are remembered (and refreshed by
        # every write it makes), so the records of a mass delete do not re-read them one by one.
        self._incidents: dict[str, Incident] = {}  # incident pk -> latest known state
        self._bucket_incident: dict[str, str] = {}  # bucket item pk -> incident pk
        self.actions_settled: set[str] = set()  # incidents whose restore this invocation already handled

    def _remember(self, incident: Incident, *bucket_pks: str) -> Incident:
        self._incidents[incident.pk] = incident
        for pk in (incident.pk, *bucket_pks):
            self._bucket_incident[pk] = incident.pk
        return incident

    # -- low level -------------------------------------------------------------------------------
    def _get(self, pk: str) -> dict[str, Any] | None:
        try:
            response = self.dynamodb.get_item(
                TableName=self.table_name, Key={"pk": _s(pk)}, ConsistentRead=True
            )
        except ClientError as exc:
            raise self._error(exc, f"read {pk}") from exc
        return response.get("Item")

    def _put_new(self, item: dict[str, Any]) -> bool:
        """PutItem only if no item has this pk; False when one already exists."""
        try:
            self.dynamodb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise self._error(exc, f"write {item['pk']['S']}") from exc
        return True

    def _error(self, exc: ClientError, what: str) -> IncidentStateError:
        code = exc.response["Error"]["Code"]
        if code == "ResourceNotFoundException":
            return IncidentStateError(
                f"the incident state table {self.table_name!r} does not exist; create it (partition key 'pk', "
                "type S) or fix INCIDENT_STATE_TABLE"
            )
        return IncidentStateError(f"could not {what} in incident state table {self.table_name!r}: {code}")

    def _expires(self) -> dict[str, str]:
        return _n(int(time.time()) + STATE_TTL_SECONDS)

    # -- incidents -------------------------------------------------------------------------------
    def incident_pk(self, table: str, bucket: int) -> str:
        return f"INCIDENT#{table}#{bucket}"

    def _resolve(self, item: dict[str, Any]) -> Incident:
        if "continues" in item:
            root = self._get(item["continues"]["S"])
            if root is None:
                raise IncidentStateError(f"incident item {item['pk']['S']} points at a missing incident")
            return _incident_from_item(root)
        return _incident_from_item(item)

    def claim_or_join(
        self, table: str, bucket: int, new_incident: Callable[[str, str], dict[str, Any]]
    ) -> tuple[Incident, bool]:
        """The incident of ``table`` for ``bucket``; created (``True``) when there is none.

        ``new_incident(pk, incident_id)`` returns the fields of a new incident (it runs only when this
        bucket and the previous one have none). Of several concurrent callers exactly one creates it.
        """
        pk = self.incident_pk(table, bucket)
        if pk in self._bucket_incident:
            return self._incidents[self._bucket_incident[pk]], False
        for _ in range(3):
            existing = self._get(pk)
            if existing:
                return self._remember(self._resolve(existing), pk), False
            previous_pk = self.incident_pk(table, bucket - 1)
            previous = self._get(previous_pk)
            if previous:
                root = self._remember(self._resolve(previous), previous_pk)
                link = {
                    "pk": _s(pk),
                    "continues": _s(root.pk),
                    "incident_id": _s(root.incident_id),
                    "expires_at": self._expires(),
                }
                if self._put_new(link):
                    return self._remember(root, pk), False
                continue
            start = datetime.fromtimestamp(bucket * self.window_seconds, UTC)
            incident_id = f"{table}@{start:%Y%m%dT%H%M%SZ}"
            fields = {
                "pk": pk,
                "incident_id": incident_id,
                "table_name": table,
                **new_incident(pk, incident_id),
            }
            item = {k: _to_attr(v) for k, v in fields.items() if v is not None}
            item["expires_at"] = self._expires()
            item["records_seen"] = _n(0)
            if self._put_new(item):
                return self._remember(_incident_from_item(item)), True
        raise IncidentStateError(
            f"incident item {pk} kept changing while being claimed; the record will be retried"
        )

    def update_incident(self, incident: Incident, **fields: Any) -> Incident:
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": _to_attr(v) for i, v in enumerate(fields.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(incident.pk)},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            raise self._error(exc, f"update {incident.pk}") from exc
        return self._remember(_incident_from_item(response["Attributes"]))

    def claim_action(self, incident: Incident, lease_seconds: int, claimed_by: str) -> Incident | None:
        """Take the right to start the incident's restore: exactly one caller gets the incident back
        (status ``starting``), others get ``None``. ``claimed_by`` is the claiming record's
        SequenceNumber: when that record comes again (its invocation failed or timed out), it takes
        the claim back at once; anyone else may take it once the lease has run out."""
        now = time.time()
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(incident.pk)},
                UpdateExpression="SET action_status = :starting, action_lease_until = :lease, action_claimed_by = :by",
                ConditionExpression="action_status IN (:pending, :failed) OR (action_status = :starting AND "
                "(action_lease_until < :now OR action_claimed_by = :by))",
                ExpressionAttributeValues={
                    ":starting": _s("starting"),
                    ":pending": _s("pending"),
                    ":failed": _s("failed"),
                    ":lease": _n(now + lease_seconds),
                    ":now": _n(now),
                    ":by": _s(claimed_by),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise self._error(exc, f"claim the action of {incident.pk}") from exc
        return self._remember(_incident_from_item(response["Attributes"]))

    def claim_announcement(self, incident: Incident) -> Incident | None:
        """Mark the incident announced; the one caller that flips the flag gets the incident back
        (and must announce it, or call ``update_incident(announced=False)`` when it could not)."""
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(incident.pk)},
                UpdateExpression="SET announced = :t",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(announced) OR announced = :f)",
                ExpressionAttributeValues={":t": {"BOOL": True}, ":f": {"BOOL": False}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise self._error(exc, f"claim the announcement of {incident.pk}") from exc
        return self._remember(_incident_from_item(response["Attributes"]))

    def count(self, incident: Incident, *counters: str) -> None:
        """Add one to counters of the incident (``records_seen``, ``items_repaired``, ``repairs_skipped``,
        ``repairs_repeated``). Counters are informative: a redelivered record is counted again."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(incident.pk)},
                UpdateExpression="ADD " + ", ".join(f"#c{i} :one" for i in range(len(counters))),
                ExpressionAttributeNames={f"#c{i}": c for i, c in enumerate(counters)},
                ExpressionAttributeValues={":one": _n(1)},
            )
        except ClientError as exc:
            raise self._error(exc, f"count {', '.join(counters)} of {incident.pk}") from exc

    # -- bursts ----------------------------------------------------------------------------------
    def count_burst(
        self, table: str, epoch_seconds: float, sequence_number: str, threshold: int
    ) -> tuple[int, float]:
        """Record one REMOVE/MODIFY and return (records within the incident window up to it, earliest
        of their times). At least ``threshold`` means a burst."""
        bucket = bucket_of(epoch_seconds, self.window_seconds)
        member = f"{round(epoch_seconds * 1000):015d}#{sequence_number}"
        pk = f"BURST#{table}#{bucket}"
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(pk)},
                UpdateExpression="ADD #r :m SET expires_at = :e",
                ConditionExpression="attribute_not_exists(#r) OR size(#r) < :t",
                ExpressionAttributeNames={"#r": "records"},
                ExpressionAttributeValues={
                    ":m": {"SS": [member]},
                    ":e": self._expires(),
                    ":t": _n(threshold),
                },
                ReturnValues="ALL_NEW",
            )
            members = set(response["Attributes"]["records"]["SS"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise self._error(exc, f"count {pk}") from exc
            members = set((self._get(pk) or {}).get("records", {}).get("SS", []))  # saturated: a burst
        if len(members) < threshold:
            previous = self._get(f"BURST#{table}#{bucket - 1}") or {}
            earliest_ms = round((epoch_seconds - self.window_seconds) * 1000)
            members |= {
                m for m in previous.get("records", {}).get("SS", []) if int(m.split("#", 1)[0]) > earliest_ms
            }
        first = min(int(m.split("#", 1)[0]) for m in members) / 1000 if members else epoch_seconds
        return len(members), first

    # -- repair markers --------------------------------------------------------------------------
    def mark_repair(self, table: str, fingerprint: str) -> None:
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={"pk": _s(f"REPAIR#{table}#{fingerprint}"), "expires_at": self._expires()},
            )
        except ClientError as exc:
            raise self._error(exc, "record a repair") from exc

    def is_own_repair(self, table: str, fingerprint: str) -> bool:
        return self._get(f"REPAIR#{table}#{fingerprint}") is not None

    # -- follow-ups ------------------------------------------------------------------------------
    def _followup(self, operation: str, incident_pk: str) -> None:
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(FOLLOWUP_PK)},
                UpdateExpression=f"{operation} pending :p",
                ExpressionAttributeValues={":p": {"SS": [incident_pk]}},
            )
        except ClientError as exc:
            raise self._error(exc, "update follow-ups") from exc

    def add_followup(self, incident: Incident) -> None:
        self._followup("ADD", incident.pk)

    def remove_followup(self, incident: Incident) -> None:
        self._followup("DELETE", incident.pk)

    def pending_followups(self) -> list[Incident]:
        item = self._get(FOLLOWUP_PK) or {}
        out = []
        for pk in sorted(item.get("pending", {}).get("SS", [])):
            stored = self._get(pk)
            if stored:
                out.append(_incident_from_item(stored))
        return out


def create_state_table(dynamodb: Any, table_name: str) -> None:
    """Create the incident state table (on-demand, TTL on ``expires_at``) and wait until it is ACTIVE.
    Terraform creates it in AWS; the demo and the tests use this."""
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
