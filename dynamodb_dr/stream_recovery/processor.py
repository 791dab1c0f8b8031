"""The stream recovery logic: one DynamoDB Streams batch in, a partial batch response out; or, for a
scheduled event (no ``Records``), the follow-up of open incidents.

A batch: parse and classify every record, count the REMOVE/MODIFY records of each table and window
against the table's baseline (bursts), then per record (Powertools' BatchProcessor): join or open the
table's incident and, for a bad change of one named item on an ``item_repair`` table, repair that key.
After the records: store each incident's counters and times, start a restore whose time has come,
announce what is new. A record that cannot be handled is reported in ``batchItemFailures``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery import followup, pitr
from dynamodb_dr.stream_recovery.config import ENV_NAMES, Action, StreamRecoverySettings, TablePolicy
from dynamodb_dr.stream_recovery.detection import Detection, Reason, Verdict, burst_threshold, classify
from dynamodb_dr.stream_recovery.records import StreamChange, change_fingerprint, parse_record
from dynamodb_dr.stream_recovery.repair import RepairResult, repair_key
from dynamodb_dr.stream_recovery.state import Incident, IncidentStore, bucket_of
from dynamodb_dr.stream_recovery.tables import TableFactsCache, repair_refusal

SERVICE = "dynamodb-dr-stream-recovery"
METRICS_NAMESPACE = "DynamoDBDR"
RECORD_FAILURES_METRIC = "StreamRecordFailures"  # the alarm's metric: per-record failures never raise Errors
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
DRY_RUN_REPORT_LIMIT = 50  # repairs listed in one dry-run announcement (all are logged)


@dataclass(frozen=True)
class Clients:
    dynamodb: Any
    sns: Any | None = None
    backup: Any | None = None
    autoscaling: Any | None = None
    """Application Auto Scaling, to give a recovery table its source's auto scaling."""

    @classmethod
    def build(cls, settings: StreamRecoverySettings) -> Clients:
        actions = {p.action for p in settings.tables.values()}
        uses_backup = Action.AWS_BACKUP_RESTORE in actions
        restores = bool(actions & {Action.AWS_BACKUP_RESTORE, Action.PITR_RESTORE})
        return cls(
            dynamodb=make_client("dynamodb"),
            sns=make_client("sns") if settings.sns_topic_arn else None,
            backup=make_client("backup") if uses_backup else None,
            autoscaling=make_client("application-autoscaling") if restores else None,
        )


@dataclass
class Runtime:
    settings: StreamRecoverySettings
    clients: Clients
    facts: TableFactsCache | None = None

    def __post_init__(self) -> None:
        if self.facts is None:
            self.facts = TableFactsCache(self.clients.dynamodb)


_RUNTIME_ENV = (*ENV_NAMES, "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


def runtime_from_env(env: Mapping[str, str] | None = None) -> Runtime:
    """Settings and clients, built at the first invocation and reused while the environment is the same."""
    env = os.environ if env is None else env
    return _runtime(tuple((name, env.get(name)) for name in _RUNTIME_ENV))


@lru_cache(maxsize=1)
def _runtime(env_items: tuple[tuple[str, str | None], ...]) -> Runtime:
    settings = StreamRecoverySettings.from_env({k: v for k, v in env_items if v is not None})
    return Runtime(settings=settings, clients=Clients.build(settings))


# -- malformed records ---------------------------------------------------------------------------------
def record_identifier(record: Any, index: int) -> str:
    """The ``itemIdentifier`` that reports ``record``: its SequenceNumber; for a record without one, its
    eventID, else its position. Never empty: an empty or null identifier fails the whole batch."""
    if isinstance(record, dict):
        body = record.get("dynamodb")
        sequence = body.get("SequenceNumber") if isinstance(body, dict) else None
        if isinstance(sequence, str) and sequence:
            return sequence
        event_id = record.get("eventID")
        if isinstance(event_id, str) and event_id:
            return event_id
    return f"malformed-record-{index}"


def split_malformed(records: Any) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(records Powertools can report, failures for the others). Powertools reads a failed record's
    ``dynamodb.SequenceNumber`` to report it, so a record without one would make the whole invocation
    raise; such a record is reported here by itself (see ``record_identifier``) and logged in full."""
    well_formed: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for index, record in enumerate(records if isinstance(records, list) else [records]):
        body = record.get("dynamodb") if isinstance(record, dict) else None
        sequence = body.get("SequenceNumber") if isinstance(body, dict) else None
        if isinstance(sequence, str) and sequence:
            well_formed.append(record)
            continue
        identifier = record_identifier(record, index)
        logger.error(
            "malformed stream record (no dynamodb.SequenceNumber); reported in batchItemFailures by itself",
            extra={"item_identifier": identifier, "record": record},
        )
        failures.append({"itemIdentifier": identifier})
    return well_formed, failures


# -- one batch -----------------------------------------------------------------------------------------
@dataclass
class Planned:
    """A record after the batch-wide pass: parsed, classified, and whether it is part of a burst."""

    change: StreamChange | None = None
    policy: TablePolicy | None = None
    detection: Detection | None = None
    burst: bool = False
    burst_first_time: float | None = None
    burst_detail: str = ""
    error: Exception | None = None


@dataclass
class BatchIncident:
    incident: Incident
    sequence_numbers: list[str] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    reasons: set[str] = field(default_factory=set)
    first: float = float("inf")
    last: float = float("-inf")
    would_repair: list[dict[str, Any]] = field(default_factory=list)

    def add(self, counter: str, n: int = 1) -> None:
        self.counters[counter] = self.counters.get(counter, 0) + n


def plan_key(raw: dict[str, Any]) -> tuple[str, str]:
    """A record's identity within a batch (one mapping reads one stream, but a hand-made replay may mix)."""
    return str(raw.get("eventSourceARN")), raw["dynamodb"]["SequenceNumber"]


def plan_batch(
    records: list[dict[str, Any]], runtime: Runtime, store: IncidentStore
) -> dict[tuple[str, str], Planned]:
    settings = runtime.settings
    assert runtime.facts is not None
    plans: dict[tuple[str, str], Planned] = {}
    counted: dict[tuple[str, int], list[Planned]] = {}
    for raw in records:
        plan = plans[plan_key(raw)] = Planned()
        try:
            plan.change = change = parse_record(raw)
            plan.policy = policy = settings.tables.get(change.table_name)
            if policy is None:
                continue
            ttl_attribute = (
                runtime.facts.get(change.table_name).ttl_attribute if change.event_name == "REMOVE" else None
            )
            plan.detection = classify(change, policy, ttl_attribute)
        except Exception as exc:  # reported for this record alone, by the record handler
            plan.error = exc
            continue
        if plan.detection.verdict in (Verdict.BURST_CANDIDATE, Verdict.ITEM_INCIDENT):
            bucket = bucket_of(change.approximate_creation_time, settings.incident_window_seconds)
            counted.setdefault((change.table_name, bucket), []).append(plan)
    for (table, bucket), members in counted.items():
        policy = settings.tables[table]
        try:
            total = store.count_changes(table, bucket, len(members))
            baseline = store.baseline(table, bucket)
        except Exception as exc:
            for plan in members:
                plan.error = exc
            continue
        threshold = burst_threshold(policy, baseline)
        if total >= threshold:
            detail = (
                f"{total} REMOVE/MODIFY records in one {settings.incident_window_seconds}s window; baseline "
                f"{baseline:g} per window (median of the previous 10), burst at {threshold}"
            )
            for plan in members:
                # The stream cannot say which earlier writes were already bad: the burst is taken to start
                # with the previous window (a restore point at most two windows early, never late).
                plan.burst, plan.burst_first_time, plan.burst_detail = (
                    True,
                    float((bucket - 1) * settings.incident_window_seconds),
                    detail,
                )
    return plans


def new_incident_fields(policy: TablePolicy, reason: str, detail: str, first_time: float) -> dict[str, Any]:
    """Incident fields decided once, when the incident is created (so retries reuse them)."""
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "reason": reason,
        "reasons": frozenset({reason}),
        "detail": detail,
        "created_at": now.isoformat(),
        "action": policy.action.value,
        "action_status": "none",
        "dry_run": policy.dry_run,
    }
    if policy.action in (Action.PITR_RESTORE, Action.AWS_BACKUP_RESTORE):
        fields["target_table"] = pitr.recovery_table_name(policy.table_name, now)
        fields["action_status"] = "dry_run" if policy.dry_run else "pending"
    if policy.action is Action.PITR_RESTORE:
        fields["restore_time"] = pitr.restore_time_of(first_time)
    return fields


def handle_record(
    plan: Planned, runtime: Runtime, store: IncidentStore, incidents: dict[str, BatchIncident]
) -> str:
    """One record; returns its outcome. Raises for a record to retry."""
    if plan.error is not None:
        raise plan.error
    change, policy, detection = plan.change, plan.policy, plan.detection
    assert change is not None
    if policy is None or detection is None:
        return "not_protected"
    if detection.verdict is Verdict.TTL_DELETE:
        return "ttl_delete_ignored"
    if detection.verdict is Verdict.NORMAL or (
        detection.verdict is Verdict.BURST_CANDIDATE and not plan.burst
    ):
        return "normal"
    if (
        detection.verdict is Verdict.ITEM_INCIDENT
        and policy.action is Action.ITEM_REPAIR
        and store.is_own_repair(
            change.table_name, change_fingerprint(change.keys, change.old_image, change.new_image)
        )
    ):
        return "own_repair_ignored"
    if detection.verdict is Verdict.ITEM_INCIDENT:
        reason, detail, first_time = str(detection.reason), detection.detail, change.approximate_creation_time
    else:
        reason, detail = str(Reason.BURST), plan.burst_detail
        first_time = min(
            plan.burst_first_time or change.approximate_creation_time, change.approximate_creation_time
        )
    incident, created = store.claim_or_join(
        change.table_name,
        first_time,
        change.sequence_number,
        lambda _id: new_incident_fields(policy, reason, detail, first_time),
    )
    noted = incidents.setdefault(incident.pk, BatchIncident(incident))
    noted.incident = incident
    noted.sequence_numbers.append(change.sequence_number)
    noted.reasons.add(reason)
    noted.first = min(noted.first, first_time)
    noted.last = max(noted.last, change.approximate_creation_time)
    noted.add("records_seen")
    logger.append_keys(incident_id=incident.incident_id)
    try:
        (logger.info if created else logger.debug)(
            "incident created" if created else "incident record",
            extra={
                "table": change.table_name,
                "reason": reason,
                "detail": detail,
                "sequence_number": change.sequence_number,
            },
        )
        if (
            incident.restore_time is not None
            and incident.action_status in ("started", "done")
            and change.approximate_creation_time <= incident.restore_time
        ):
            noted.add("records_before_restore_point")
            logger.warning(
                "a bad change older than the started restore's point arrived late (lagging shard): the "
                "recovery table may hold it",
                extra={"sequence_number": change.sequence_number, "restore_time": incident.restore_time},
            )
        if detection.verdict is not Verdict.ITEM_INCIDENT or policy.action is not Action.ITEM_REPAIR:
            return "incident_recorded"  # bursts are never repaired item by item
        assert runtime.facts is not None
        refusal = repair_refusal(
            policy, runtime.facts.get(change.table_name), runtime.clients.dynamodb.meta.region_name
        )
        if refusal:
            noted.add("repairs_refused")
            noted.incident = _note(store, noted.incident, refusal)
            logger.warning(
                "item repair refused", extra={"reason": refusal, "sequence_number": change.sequence_number}
            )
            return "repair_refused"
        result = repair_key(runtime.clients.dynamodb, store, incident, change, dry_run=policy.dry_run)
        _count_repair(store, noted, result)
        return f"repair_{result.outcome}"
    finally:
        logger.remove_keys(["incident_id"])


def _note(store: IncidentStore, incident: Incident, note: str) -> Incident:
    if incident.note == note:
        return incident
    return store.update_incident(incident, note=note) or incident


def _count_repair(store: IncidentStore, noted: BatchIncident, result: RepairResult) -> None:
    """Counters of the incident; ``conflicts`` counts the keys listed in conflict right now (a key that a
    later bad change of its chain repairs leaves the list and the count)."""
    counter = {
        "repaired": "items_repaired",
        "already_repaired": "repairs_repeated",
        "repeated": "repairs_repeated",
        "would_repair": "would_repair",
    }.get(result.outcome)
    if counter:
        noted.add(counter)
    if result.outcome in ("stale", "conflict"):
        logger.warning(
            "item not repaired: conflict", extra={"key": result.keys_json, "reason": result.detail}
        )
        if not result.was_listed:
            store.note_conflict(noted.incident, result.keys_json, True)
            noted.add("conflicts")
    elif result.outcome in ("repaired", "already_repaired") and result.was_listed:
        store.note_conflict(noted.incident, result.keys_json, False)
        noted.add("conflicts", -1)
    if result.outcome == "would_repair":
        entry = {"key": result.keys_json, "before": result.before, "after": result.after}
        noted.would_repair.append(entry)
        logger.warning("dry run: item repair not written", extra=entry)


def process_event(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    """A stream batch -> ``{"batchItemFailures": [...]}``; a scheduled event -> the follow-up summary."""
    settings, clients = runtime.settings, runtime.clients
    store = IncidentStore(clients.dynamodb, settings.state_table, settings.incident_window_seconds)
    if "Records" not in event:
        return followup.run_followups(store, runtime, logger)
    records = event["Records"] or []
    if not records:
        return {"batchItemFailures": []}
    well_formed, failures = split_malformed(records)
    plans = plan_batch(well_formed, runtime, store)
    incidents: dict[str, BatchIncident] = {}
    tally: dict[str, int] = {}

    def record_handler(record: DynamoDBRecord) -> str:
        sequence_number = record.raw_event["dynamodb"]["SequenceNumber"]
        try:
            outcome = handle_record(plans[plan_key(record.raw_event)], runtime, store, incidents)
        except Exception:
            logger.exception(
                "stream record not handled; it is reported in batchItemFailures for retry",
                extra={"sequence_number": sequence_number},
            )
            raise
        tally[outcome] = tally.get(outcome, 0) + 1
        return outcome

    if well_formed:
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        response = process_partial_response({"Records": well_formed}, record_handler, processor, context)
        failures += [{"itemIdentifier": str(f["itemIdentifier"])} for f in response["batchItemFailures"]]
    for noted in incidents.values():
        try:
            finish_incident(noted, runtime, store)
        except Exception:
            logger.exception(
                "incident not stored or announced; its records are reported for retry",
                extra={"incident_id": noted.incident.incident_id},
            )
            reported = {f["itemIdentifier"] for f in failures}
            failures += [{"itemIdentifier": s} for s in noted.sequence_numbers if s not in reported]
    metrics.add_metric(name=RECORD_FAILURES_METRIC, unit=MetricUnit.Count, value=len(failures))
    metrics.flush_metrics()
    logger.info(
        "stream batch processed", extra={"records": len(records), "outcomes": tally, "failed": len(failures)}
    )
    return {"batchItemFailures": failures}


def finish_incident(noted: BatchIncident, runtime: Runtime, store: IncidentStore) -> None:
    """After the batch: counters and times stored, a restore started when its time has come, new
    reasons (and a dry run's repairs) announced."""
    incident = store.flush(noted.incident, noted.counters, noted.first, noted.last)
    for reason in sorted(noted.reasons - set(incident.reasons)):
        incident = store.add_reason(incident, reason)
    if incident.action == Action.PITR_RESTORE.value and incident.action_status == "pending":
        wanted = pitr.restore_time_of(incident.first_record_time)
        if incident.restore_time is None or wanted < incident.restore_time:  # a lagging shard moved the start
            incident = store.update_incident(
                incident, condition_status="pending", restore_time=wanted
            ) or store.forget(incident)
    failure: Exception | None = None
    try:
        incident = followup.advance_restore(
            incident, runtime, store, logger, claimed_by=noted.sequence_numbers[0]
        )
    except Exception as exc:  # announced below with its error; the records (and the start) are retried
        failure, incident = exc, store.forget(incident)
    for reason in sorted(incident.reasons):
        followup.announce_once(
            incident, reason, runtime, store, logger, record_count=noted.counters.get("records_seen", 0)
        )
    if noted.would_repair:
        followup.publish(
            incident,
            "dry_run",
            runtime,
            logger,
            would_repair=noted.would_repair[:DRY_RUN_REPORT_LIMIT],
            would_repair_count=len(noted.would_repair),
        )
    if failure is not None:
        raise failure
