"""Incident state in a small DynamoDB table (partition key ``pk`` S, TTL attribute ``expires_at``).

Items, by ``pk``:

``OPEN#{table}``
    The table's open incident: the one serialization point. Every triggering record of the table,
    from any shard and with any lag, joins the incident it names while that incident is open (its
    last triggering record is at most one incident window before the record, and it started at most
    ``INCIDENT_MAX_SECONDS`` before it). Otherwise a conditional PutItem replaces it with a new
    incident; of several concurrent callers exactly one wins, the others join the winner. The item
    carries the incident's fields, so the incident item can always be (re)created from it.
``INCIDENT#{table}#{incident_id}``
    The incident: reason, first and last record time, action and its progress, counters, the keys in
    conflict. Its expiry is refreshed by every batch that touches it.
``KEY#{incident pk}#{digest of the item's key}``
    Item repair, per key: the image before the incident's FIRST bad change of the item, a digest of
    the image after its LAST bad change, the last record's SequenceNumber and the key's status.
``RATE#{table}#{bucket}``
    REMOVE/MODIFY records of the table in one incident window (``bucket`` = floor(record time /
    window)); the median of the previous ``BASELINE_WINDOWS`` windows is the table's baseline.
``REPAIR#{table}#{fingerprint}``
    Written before each item repair: the stream record that the repair itself causes is recognised
    by it and is not taken for a new bad change.
``FOLLOWUP#incidents``
    Incidents the scheduled follow-up still has to finish (restore start and completion, settings of
    the restored table, AWS Backup jobs, the final announcement).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import error_code, is_missing_table
from dynamodb_dr.stream_recovery.errors import IncidentStateError
from dynamodb_dr.stream_recovery.records import change_fingerprint

STATE_TTL_SECONDS = 7 * 24 * 3600
INCIDENT_MAX_SECONDS = 6 * 3600  # an incident older than this is closed: a new one starts
BASELINE_WINDOWS = 10
MAX_CONFLICT_KEYS = 100  # keys in conflict listed in the incident item (all are counted and logged)
FOLLOWUP_PK = "FOLLOWUP#incidents"


@dataclass(frozen=True)
class Incident:
    pk: str
    incident_id: str
    table_name: str
    reason: str
    detail: str
    first_record_time: float
    created_at: str
    action: str  # the table's action (what answers this incident)
    action_status: str  # none | waiting | pending | starting | started | done | failed | refused | dry_run
    last_record_time: float | None = None
    target_table: str | None = None
    restore_time: float | None = None
    restore_job_id: str | None = None
    error: str | None = None
    note: str | None = None
    settings_status: str | None = None  # pending | done | failed (restores only)
    closed: bool = False
    final: bool = False  # a failed action that cannot succeed by trying again
    dry_run: bool = False
    followup_attempts: float = 0
    reasons: frozenset[str] = frozenset()
    announced: frozenset[str] = frozenset()
    conflict_keys: frozenset[str] = frozenset()
    counters: dict[str, float] = field(default_factory=dict)


COUNTER_NAMES = (
    "records_seen",
    "items_repaired",
    "repairs_repeated",
    "conflicts",
    "would_repair",
    "repairs_refused",
    "records_before_restore_point",
)


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
    if isinstance(value, frozenset | set | list):
        return {"SS": sorted(value)}
    return _s(str(value))


def _from_attr(value: dict[str, Any]) -> Any:
    ((tag, inner),) = value.items()
    if tag == "N":
        return float(inner)
    if tag == "NULL":
        return None
    if tag == "SS":
        return frozenset(inner)
    return inner


def _incident_from_item(item: dict[str, Any]) -> Incident:
    plain = {k: _from_attr(v) for k, v in item.items()}
    fields = set(Incident.__dataclass_fields__)
    counters = {k: plain[k] for k in COUNTER_NAMES if k in plain}
    try:
        return Incident(
            **{k: v for k, v in plain.items() if k in fields and k != "counters"}, counters=counters
        )
    except TypeError as exc:
        raise IncidentStateError(f"incident item {plain.get('pk')!r} is incomplete ({exc})") from exc


def key_digest(keys: dict[str, Any]) -> str:
    return change_fingerprint(keys, None, None)


@dataclass(frozen=True)
class KeyState:
    """Item repair of one key within one incident."""

    pk: str
    keys_json: str  # the key, wire JSON (for reports)
    first_old_json: str | None  # the image before the first bad change, wire JSON; None: no item
    last_new_digest: str  # digest of the image after the last bad change ("absent": no item)
    last_sequence: str
    status: str  # open | repaired | stale (written again; a later bad change may continue) | conflict


@dataclass
class OpenIncident:
    incident_pk: str
    first_record_time: float
    last_record_time: float
    fields_json: str


class IncidentStore:
    """Reads and writes incident state. Every write that must happen once is conditional."""

    def __init__(self, dynamodb: Any, table_name: str, window_seconds: int) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.window_seconds = window_seconds
        # One store serves one invocation: what it has read is remembered (and refreshed by its writes).
        self._open: dict[str, OpenIncident] = {}
        self._incidents: dict[str, Incident] = {}
        self._keys: dict[str, KeyState | None] = {}
        self._baselines: dict[tuple[str, int], float] = {}
        self.actions_settled: set[str] = set()

    # -- low level -------------------------------------------------------------------------------
    def _get(self, pk: str) -> dict[str, Any] | None:
        try:
            response = self.dynamodb.get_item(
                TableName=self.table_name, Key={"pk": _s(pk)}, ConsistentRead=True
            )
        except ClientError as exc:
            raise self._error(exc, f"read {pk}") from exc
        return response.get("Item")

    def _put(self, item: dict[str, Any], condition: str | None = None, values: dict | None = None) -> bool:
        """PutItem; False when ``condition`` fails."""
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self.dynamodb.put_item(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise self._error(exc, f"write {item['pk']['S']}") from exc
        return True

    def _update(self, pk: str, what: str, **kwargs: Any) -> dict[str, Any] | None:
        """UpdateItem; the new item (``ReturnValues`` ALL_NEW), or None when the condition fails."""
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name, Key={"pk": _s(pk)}, ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise self._error(exc, f"{what} {pk}") from exc
        return response["Attributes"]

    def _error(self, exc: ClientError, what: str) -> IncidentStateError:
        code = error_code(exc)
        if is_missing_table(exc):
            return IncidentStateError(
                f"the incident state table {self.table_name!r} does not exist; create it (partition key 'pk', "
                "type S) or fix INCIDENT_STATE_TABLE"
            )
        return IncidentStateError(f"could not {what} in incident state table {self.table_name!r}: {code}")

    @staticmethod
    def _expires() -> dict[str, str]:
        return _n(int(time.time()) + STATE_TTL_SECONDS)

    def _remember(self, incident: Incident) -> Incident:
        self._incidents[incident.pk] = incident
        return incident

    # -- the open incident of a table --------------------------------------------------------------
    def _read_open(self, table: str) -> OpenIncident | None:
        item = self._get(f"OPEN#{table}")
        if not item:
            return None
        return OpenIncident(
            incident_pk=item["incident_pk"]["S"],
            first_record_time=float(item["first_record_time"]["N"]),
            last_record_time=float(item["last_record_time"]["N"]),
            fields_json=item["incident"]["S"],
        )

    def _joins(self, current: OpenIncident, record_time: float) -> bool:
        return (
            record_time <= current.last_record_time + self.window_seconds
            and record_time - current.first_record_time <= INCIDENT_MAX_SECONDS
        )

    def load(self, pk: str) -> Incident | None:
        if pk in self._incidents:
            return self._incidents[pk]
        item = self._get(pk)
        return self._remember(_incident_from_item(item)) if item else None

    def _incident_of(self, current: OpenIncident) -> Incident:
        incident = self.load(current.incident_pk)
        if incident is None:  # its creator died between the two writes: create it from the pointer
            self._put_incident(json.loads(current.fields_json))
            incident = self.load(current.incident_pk)
            assert incident is not None
        return incident

    def _put_incident(self, fields: dict[str, Any]) -> None:
        item = {k: _to_attr(v) for k, v in fields.items() if v is not None and v != frozenset()}
        item["expires_at"] = self._expires()
        self._put(item, "attribute_not_exists(pk)")

    def claim_or_join(
        self,
        table: str,
        record_time: float,
        sequence_number: str,
        new_incident: Callable[[str], dict[str, Any]],
    ) -> tuple[Incident, bool]:
        """The table's open incident for a triggering record of ``record_time``; a new one (``True``)
        when the table has none open. ``new_incident(incident_id)`` gives a new incident's fields."""
        for _ in range(4):
            current = self._open.get(table) or self._read_open(table)
            if current is not None:
                self._open[table] = current
                if self._joins(current, record_time):
                    current.first_record_time = min(current.first_record_time, record_time)
                    current.last_record_time = max(current.last_record_time, record_time)
                    return self._incident_of(current), False
            start = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(record_time))
            incident_id = f"{table}@{start}-{sequence_number[-8:]}"
            pk = f"INCIDENT#{table}#{incident_id}"
            fields = {
                "pk": pk,
                "incident_id": incident_id,
                "table_name": table,
                "first_record_time": record_time,
                "last_record_time": record_time,
                **new_incident(incident_id),
            }
            fields_json = json.dumps(
                {k: sorted(v) if isinstance(v, frozenset) else v for k, v in fields.items()}
            )
            pointer = {
                "pk": _s(f"OPEN#{table}"),
                "incident_pk": _s(pk),
                "first_record_time": _n(record_time),
                "last_record_time": _n(record_time),
                "incident": _s(fields_json),
                "expires_at": self._expires(),
            }
            if current is None:
                won = self._put(pointer, "attribute_not_exists(pk)")
            else:
                won = self._put(
                    pointer,
                    "attribute_not_exists(pk) OR (incident_pk = :old AND "
                    "(last_record_time < :gap OR first_record_time < :cap))",
                    {
                        ":old": _s(current.incident_pk),
                        ":gap": _n(record_time - self.window_seconds),
                        ":cap": _n(record_time - INCIDENT_MAX_SECONDS),
                    },
                )
            self._open.pop(table, None)
            if not won:
                continue
            self._put_incident(json.loads(fields_json))
            self._open[table] = OpenIncident(pk, record_time, record_time, fields_json)
            self.add_followup(pk)
            incident = self.load(pk)
            assert incident is not None
            return incident, True
        raise IncidentStateError(
            f"the open incident of {table} kept changing while being claimed; the record will be retried"
        )

    def flush(self, incident: Incident, counters: dict[str, int], first: float, last: float) -> Incident:
        """After a batch: add its counters, move the incident's first/last record time (on the incident
        and on the table's open-incident item) and refresh the expiry of both."""
        adds = {k: v for k, v in counters.items() if v}
        names = {f"#c{i}": k for i, k in enumerate(adds)}
        values: dict[str, Any] = {f":c{i}": _n(v) for i, v in enumerate(adds.values())}
        values[":e"] = self._expires()
        expression = "SET expires_at = :e" + (
            " ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(adds))) if adds else ""
        )
        item = self._update(
            incident.pk,
            "count",
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        if item is not None:
            incident = self._remember(_incident_from_item(item))
        for attribute, value, op in (("last_record_time", last, "<"), ("first_record_time", first, ">")):
            for pk, extra in ((incident.pk, ""), (f"OPEN#{incident.table_name}", " AND incident_pk = :pk")):
                updated = self._update(
                    pk,
                    f"move {attribute} of",
                    UpdateExpression=f"SET {attribute} = :t, expires_at = :e",
                    ConditionExpression=f"{attribute} {op} :t{extra}",
                    ExpressionAttributeValues={
                        ":t": _n(value),
                        ":e": self._expires(),
                        **({":pk": _s(incident.pk)} if extra else {}),
                    },
                )
                if updated is not None and pk == incident.pk:
                    incident = self._remember(_incident_from_item(updated))
        return incident

    def update_incident(
        self, incident: Incident, *, condition_status: str | None = None, **fields: Any
    ) -> Incident | None:
        """SET fields of the incident (``None`` removes one); None when ``condition_status`` is given and
        the incident's action_status is no longer that."""
        sets = {k: v for k, v in fields.items() if v is not None}
        removes = [k for k, v in fields.items() if v is None]
        names = {f"#f{i}": k for i, k in enumerate([*sets, *removes])}
        values = {f":v{i}": _to_attr(v) for i, v in enumerate(sets.values())}
        expression = ""
        if sets:
            expression += "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets)))
        if removes:
            expression += " REMOVE " + ", ".join(f"#f{len(sets) + i}" for i in range(len(removes)))
        condition = "attribute_exists(pk)"
        if condition_status is not None:
            condition += " AND action_status = :expected"
            values[":expected"] = _s(condition_status)
        item = self._update(
            incident.pk,
            "update",
            UpdateExpression=expression.strip(),
            ExpressionAttributeNames=names,
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
        if item is None:
            if condition_status is None:
                raise IncidentStateError(f"incident {incident.pk} does not exist")
            self._incidents.pop(incident.pk, None)
            return None
        return self._remember(_incident_from_item(item))

    def claim_action(self, incident: Incident, lease_seconds: int, claimed_by: str) -> Incident | None:
        """Take the right to start the incident's restore: exactly one caller gets the incident back
        (status ``starting``), others get ``None``. ``claimed_by`` names the claimer: when it comes again
        it takes the claim back at once; anyone else may take it once the lease has run out."""
        now = time.time()
        item = self._update(
            incident.pk,
            "claim the action of",
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
        )
        return self._remember(_incident_from_item(item)) if item is not None else None

    def claim_announcement(self, incident: Incident, what: str) -> Incident | None:
        """Mark ``what`` (e.g. a reason, or ``end``) announced; the one caller that adds it gets the
        incident back (and must announce, or call ``release_announcement``)."""
        item = self._update(
            incident.pk,
            "claim the announcement of",
            UpdateExpression="ADD announced :w",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(announced) OR NOT contains(announced, :v))",
            ExpressionAttributeValues={":w": {"SS": [what]}, ":v": _s(what)},
        )
        return self._remember(_incident_from_item(item)) if item is not None else None

    def release_announcement(self, incident: Incident, what: str) -> None:
        self._update(
            incident.pk,
            "release the announcement of",
            UpdateExpression="DELETE announced :w",
            ExpressionAttributeValues={":w": {"SS": [what]}},
        )

    def add_reason(self, incident: Incident, reason: str) -> Incident:
        if reason in incident.reasons:
            return incident
        item = self._update(
            incident.pk,
            "add a reason to",
            UpdateExpression="ADD reasons :r",
            ExpressionAttributeValues={":r": {"SS": [reason]}},
        )
        assert item is not None
        return self._remember(_incident_from_item(item))

    def note_conflict(self, incident: Incident, keys_json: str, in_conflict: bool) -> None:
        if in_conflict:
            self._update(
                incident.pk,
                "list a conflict of",
                UpdateExpression="ADD conflict_keys :k",
                ConditionExpression="attribute_not_exists(conflict_keys) OR size(conflict_keys) < :max",
                ExpressionAttributeValues={":k": {"SS": [keys_json]}, ":max": _n(MAX_CONFLICT_KEYS)},
            )
        else:
            self._update(
                incident.pk,
                "unlist a conflict of",
                UpdateExpression="DELETE conflict_keys :k",
                ExpressionAttributeValues={":k": {"SS": [keys_json]}},
            )

    # -- rates and baselines -----------------------------------------------------------------------
    def count_changes(self, table: str, bucket: int, count: int) -> int:
        """Add ``count`` REMOVE/MODIFY records to the table's window ``bucket``; returns its total.
        A redelivered record is counted again (see docs: a burst may be detected early, never a repair)."""
        item = self._update(
            f"RATE#{table}#{bucket}",
            "count",
            UpdateExpression="ADD records :n SET expires_at = :e",
            ExpressionAttributeValues={":n": _n(count), ":e": self._expires()},
        )
        assert item is not None
        return int(item["records"]["N"])

    def baseline(self, table: str, bucket: int) -> float:
        """The median number of REMOVE/MODIFY records in the table's previous ``BASELINE_WINDOWS``
        windows (a window without any counts 0)."""
        cached = self._baselines.get((table, bucket))
        if cached is not None:
            return cached
        keys = [{"pk": _s(f"RATE#{table}#{b}")} for b in range(bucket - BASELINE_WINDOWS, bucket)]
        counts: list[int] = []
        request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(5):
            try:
                response = self.dynamodb.batch_get_item(RequestItems=request)
            except ClientError as exc:
                raise self._error(exc, f"read the baseline of {table}") from exc
            counts += [int(i["records"]["N"]) for i in response["Responses"].get(self.table_name, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise IncidentStateError(f"the baseline of {table} could not be read (keys left unprocessed)")
        counts += [0] * (BASELINE_WINDOWS - len(counts))
        value = float(statistics.median(counts))
        self._baselines[(table, bucket)] = value
        return value

    def seed_rate(self, table: str, bucket: int, count: int) -> None:
        """Set a window's count (tests and the demo give a table its history with it)."""
        self._put({"pk": _s(f"RATE#{table}#{bucket}"), "records": _n(count), "expires_at": self._expires()})

    # -- item repair per key -----------------------------------------------------------------------
    def key_state(self, incident: Incident, keys: dict[str, Any]) -> KeyState | None:
        pk = f"KEY#{incident.pk}#{key_digest(keys)}"
        if pk not in self._keys:
            item = self._get(pk)
            self._keys[pk] = (
                KeyState(
                    pk=pk,
                    keys_json=item["keys"]["S"],
                    first_old_json=item["first_old"]["S"] if "first_old" in item else None,
                    last_new_digest=item["last_new_digest"]["S"],
                    last_sequence=item["last_sequence"]["S"],
                    status=item["status"]["S"],
                )
                if item
                else None
            )
        return self._keys[pk]

    def key_state_pk(self, incident: Incident, keys: dict[str, Any]) -> str:
        return f"KEY#{incident.pk}#{key_digest(keys)}"

    def save_key_state(self, state: KeyState, previous: KeyState | None) -> KeyState:
        """Write the key's state, on condition that it is still ``previous`` (one writer per key)."""
        item = {
            "pk": _s(state.pk),
            "keys": _s(state.keys_json),
            "last_new_digest": _s(state.last_new_digest),
            "last_sequence": _s(state.last_sequence),
            "status": _s(state.status),
            "expires_at": self._expires(),
        }
        if state.first_old_json is not None:
            item["first_old"] = _s(state.first_old_json)
        if previous is None:
            ok = self._put(item, "attribute_not_exists(pk)")
        else:
            ok = self._put_key_conditional(item, previous)
        if not ok:
            self._keys.pop(state.pk, None)
            raise IncidentStateError(
                f"the repair state of key {state.keys_json} changed while it was written; the record will be retried"
            )
        self._keys[state.pk] = state
        return state

    def _put_key_conditional(self, item: dict[str, Any], previous: KeyState) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="last_sequence = :s AND #st = :st",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":s": _s(previous.last_sequence), ":st": _s(previous.status)},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise self._error(exc, f"write {item['pk']['S']}") from exc
        return True

    # -- repair markers --------------------------------------------------------------------------
    def mark_repair(self, table: str, fingerprint: str) -> None:
        self._put({"pk": _s(f"REPAIR#{table}#{fingerprint}"), "expires_at": self._expires()})

    def is_own_repair(self, table: str, fingerprint: str) -> bool:
        return self._get(f"REPAIR#{table}#{fingerprint}") is not None

    # -- follow-ups ------------------------------------------------------------------------------
    def add_followup(self, incident_pk: str) -> None:
        self._update(
            FOLLOWUP_PK,
            "add a follow-up to",
            UpdateExpression="ADD pending :p",
            ExpressionAttributeValues={":p": {"SS": [incident_pk]}},
        )

    def remove_followup(self, incident_pk: str) -> None:
        self._update(
            FOLLOWUP_PK,
            "remove a follow-up from",
            UpdateExpression="DELETE pending :p",
            ExpressionAttributeValues={":p": {"SS": [incident_pk]}},
        )

    def pending_followups(self) -> list[Incident]:
        item = self._get(FOLLOWUP_PK) or {}
        out = []
        for pk in sorted(item.get("pending", {}).get("SS", [])):
            incident = self.load(pk)
            if incident is None:
                self.remove_followup(pk)  # expired or removed by hand: nothing left to finish
            else:
                out.append(incident)
        return out

    def forget(self, incident: Incident) -> Incident:
        """Drop what this invocation remembers of the incident and read it again."""
        self._incidents.pop(incident.pk, None)
        fresh = self.load(incident.pk)
        return fresh if fresh is not None else incident


def digest(image: dict[str, Any] | None) -> str:
    """A digest of an image (botocore shape); ``absent`` for no item."""
    return "absent" if image is None else change_fingerprint({}, image, None)


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
