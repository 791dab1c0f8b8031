"""The stream recovery logic: one DynamoDB Streams batch in, a partial batch response out.

Per record: parse -> classify (detection policy) -> for an incident, join or create the incident of
its table and window (state table, conditional writes) -> act once per incident (PITR restore, AWS
Backup restore, announcement) and once per record (item repair). A record that cannot be handled
raises; Powertools' BatchProcessor puts it in ``batchItemFailures`` and the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery import aws_backup, notify, pitr
from dynamodb_dr.stream_recovery.config import ENV_NAMES, Action, StreamRecoverySettings, TablePolicy
from dynamodb_dr.stream_recovery.detection import Detection, Reason, Verdict, classify
from dynamodb_dr.stream_recovery.errors import RecoveryActionError
from dynamodb_dr.stream_recovery.records import StreamChange, change_fingerprint, parse_record
from dynamodb_dr.stream_recovery.repair import repair_item
from dynamodb_dr.stream_recovery.state import Incident, IncidentStore, bucket_of

logger = Logger(service="dynamodb-dr-stream-recovery")
# How long one invocation holds the right to start an incident's restore before another record may
# take it over (the retry of the claiming record itself takes it back at once).
ACTION_LEASE_SECONDS = 300


@dataclass(frozen=True)
class Clients:
    dynamodb: Any
    sns: Any | None = None
    backup: Any | None = None

    @classmethod
    def build(cls, settings: StreamRecoverySettings) -> Clients:
        uses_backup = any(p.action is Action.AWS_BACKUP_RESTORE for p in settings.tables.values())
        return cls(
            dynamodb=make_client("dynamodb"),
            sns=make_client("sns") if settings.sns_topic_arn else None,
            backup=make_client("backup") if uses_backup else None,
        )


@dataclass(frozen=True)
class Runtime:
    settings: StreamRecoverySettings
    clients: Clients


_RUNTIME_ENV = (*ENV_NAMES, "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


def runtime_from_env(env: Mapping[str, str] | None = None) -> Runtime:
    """Settings and clients, built at the first invocation and reused while the environment is the same."""
    env = os.environ if env is None else env
    return _runtime(tuple((name, env.get(name)) for name in _RUNTIME_ENV))


@lru_cache(maxsize=1)
def _runtime(env_items: tuple[tuple[str, str | None], ...]) -> Runtime:
    settings = StreamRecoverySettings.from_env({k: v for k, v in env_items if v is not None})
    return Runtime(settings=settings, clients=Clients.build(settings))


@dataclass(frozen=True)
class RecordOutcome:
    outcome: str
    incident: Incident | None = None
    detail: str = ""
    record_count: int = 0  # records of the incident known when this record was handled
    failure: Exception | None = None  # raised after the incident is noted, so the record is retried


@dataclass
class _BatchIncident:
    incident: Incident
    sequence_numbers: list[str] = field(default_factory=list)
    record_count: int = 0


def process_event(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    """Handle one event source mapping batch; returns ``{"batchItemFailures": [...]}``.

    Incidents are announced after the batch, once each, with the number of their records in it. An
    announcement that fails puts that incident's records of the batch in ``batchItemFailures``."""
    settings, clients = runtime.settings, runtime.clients
    store = IncidentStore(clients.dynamodb, settings.state_table, settings.incident_window_seconds)
    run_followups(store, clients)
    if not event.get("Records"):  # event source mappings never send one; a scheduled follow-up call may
        return {"batchItemFailures": []}
    tally: dict[str, int] = {}
    incidents: dict[str, _BatchIncident] = {}

    def record_handler(record: DynamoDBRecord) -> RecordOutcome:
        sequence_number = (record.raw_event.get("dynamodb") or {}).get("SequenceNumber")
        try:
            outcome = handle_record(record.raw_event, settings, clients, store)
            if outcome.incident is not None:
                noted = incidents.setdefault(outcome.incident.pk, _BatchIncident(outcome.incident))
                noted.incident = outcome.incident
                noted.sequence_numbers.append(str(sequence_number))
                noted.record_count = max(noted.record_count + 1, outcome.record_count)
            if outcome.failure is not None:
                raise outcome.failure
        except Exception:
            logger.exception(
                "stream record not handled; it is reported in batchItemFailures for retry",
                extra={"sequence_number": sequence_number},
            )
            raise
        tally[outcome.outcome] = tally.get(outcome.outcome, 0) + 1
        return outcome

    well_formed, failures = split_malformed(event["Records"])
    response: dict[str, Any] = {"batchItemFailures": []}
    if well_formed:
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        response = dict(
            process_partial_response({"Records": well_formed}, record_handler, processor, context)
        )
    failures += list(response.get("batchItemFailures", []))
    for noted in incidents.values():
        try:
            announce_incident(noted.incident, settings, clients, store, noted.record_count)
        except Exception:
            logger.exception(
                "incident not announced; its records are reported for retry",
                extra={"incident_id": noted.incident.incident_id},
            )
            reported = {f["itemIdentifier"] for f in failures}
            failures += [{"itemIdentifier": s} for s in noted.sequence_numbers if s not in reported]
    logger.info(
        "stream batch processed",
        extra={"records": len(event["Records"]), "outcomes": tally, "failed": len(failures)},
    )
    return {**response, "batchItemFailures": failures}


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


def handle_record(
    raw: dict[str, Any], settings: StreamRecoverySettings, clients: Clients, store: IncidentStore
) -> RecordOutcome:
    change = parse_record(raw)
    policy = settings.tables.get(change.table_name)
    if policy is None:
        return RecordOutcome("not_protected")
    detection = classify(change, policy)
    if detection.verdict is Verdict.TTL_DELETE:
        return RecordOutcome("ttl_delete_ignored")
    if detection.verdict is Verdict.NORMAL:
        return RecordOutcome("normal")
    if policy.action is Action.ITEM_REPAIR and store.is_own_repair(
        change.table_name, change_fingerprint(change.keys, change.old_image, change.new_image)
    ):
        return RecordOutcome("own_repair_ignored")
    first_time, record_count = change.approximate_creation_time, 1
    if detection.verdict is Verdict.BURST_CANDIDATE:
        record_count, first_time = store.count_burst(
            change.table_name,
            change.approximate_creation_time,
            change.sequence_number,
            policy.burst_threshold,
        )
        if record_count < policy.burst_threshold:
            return RecordOutcome("normal")
        detection = Detection(
            Verdict.INCIDENT,
            Reason.BURST,
            f"{record_count} REMOVE/MODIFY records within {settings.incident_window_seconds}s "
            f"(threshold {policy.burst_threshold})",
        )
    now = datetime.now(UTC)

    def new_incident(pk: str, incident_id: str) -> dict[str, Any]:
        return {
            "reason": str(detection.reason),
            "detail": detection.detail,
            "first_record_time": first_time,
            "created_at": now.isoformat(),
            "action": policy.action.value,
            **plan_action(policy, clients, first_time, now),
        }

    bucket = bucket_of(change.approximate_creation_time, settings.incident_window_seconds)
    incident, created = store.claim_or_join(change.table_name, bucket, new_incident)
    logger.append_keys(incident_id=incident.incident_id)
    try:
        log = logger.info if created else logger.debug  # a mass delete must not log every record at INFO
        log(
            "incident created" if created else "incident record",
            extra={
                "table": change.table_name,
                "reason": str(detection.reason),
                "detail": detection.detail,
                "event_name": change.event_name,
                "sequence_number": change.sequence_number,
            },
        )
        return act(incident, change, policy, settings, clients, store, record_count)
    finally:
        logger.remove_keys(["incident_id"])


def plan_action(policy: TablePolicy, clients: Clients, first_time: float, now: datetime) -> dict[str, Any]:
    """Incident fields decided once, when the incident is created (so retries reuse them)."""
    if policy.action is Action.PITR_RESTORE:
        return pitr.plan_pitr_restore(clients.dynamodb, policy.table_name, first_time, now)
    if policy.action is Action.AWS_BACKUP_RESTORE:
        return {"target_table": pitr.recovery_table_name(policy.table_name, now), "action_status": "pending"}
    return {"action_status": "none"}


def act(
    incident: Incident,
    change: StreamChange,
    policy: TablePolicy,
    settings: StreamRecoverySettings,
    clients: Clients,
    store: IncidentStore,
    record_count: int,
) -> RecordOutcome:
    outcome = RecordOutcome("incident_recorded", incident)
    failure: RecoveryActionError | None = None
    if policy.action is Action.ITEM_REPAIR:
        result = repair_item(clients.dynamodb, store, change)
        counter = {"repaired": "items_repaired", "skipped": "repairs_skipped"}.get(
            result.outcome, "repairs_repeated"
        )
        store.count(incident, "records_seen", counter)
        if result.outcome == "skipped":
            logger.warning(
                "item repair skipped",
                extra={
                    "table": change.table_name,
                    "reason": result.detail,
                    "sequence_number": change.sequence_number,
                },
            )
        outcome = RecordOutcome(f"repair_{result.outcome}", incident, result.detail)
    else:
        store.count(incident, "records_seen")
    if (
        policy.action in (Action.PITR_RESTORE, Action.AWS_BACKUP_RESTORE)
        and _should_start(incident)
        and incident.pk not in store.actions_settled
    ):
        # Tried at most once per invocation: started here, failed here (the record is retried), or
        # left to the instance that holds the claim.
        store.actions_settled.add(incident.pk)
        claimed = store.claim_action(incident, ACTION_LEASE_SECONDS, change.sequence_number)
        if claimed is not None:
            incident = claimed
            try:
                incident = start_restore(incident, policy, settings, clients, store)
                outcome = RecordOutcome("restore_started", incident, incident.target_table or "")
            except Exception as exc:  # release the claim: the retry of this record tries again
                failure = (
                    exc
                    if isinstance(exc, RecoveryActionError)
                    else RecoveryActionError(
                        f"starting the {policy.action.value} of incident {incident.incident_id} failed: {exc}"
                    )
                )
                failure.__cause__ = exc if failure is not exc else exc.__cause__
                incident = store.update_incident(incident, action_status="failed", error=str(failure))
            if incident.action_status == "started" and incident.settings_status == "pending":
                incident = finish_restored_table(incident, store, clients)
    # A failed start is recorded in the incident (and announced after the batch); the record is
    # retried, and the retry tries the restore again.
    return replace(outcome, incident=incident, record_count=record_count, failure=failure)


def _should_start(incident: Incident) -> bool:
    if incident.action_status in ("pending", "starting"):
        return True
    # A failed start is tried again when the record is retried, unless it can never work (no PITR window).
    return incident.action_status == "failed" and (
        incident.restore_time is not None or incident.action == "aws_backup_restore"
    )


def start_restore(
    incident: Incident,
    policy: TablePolicy,
    settings: StreamRecoverySettings,
    clients: Clients,
    store: IncidentStore,
) -> Incident:
    target = incident.target_table or ""
    if policy.action is Action.PITR_RESTORE:
        assert incident.restore_time is not None
        pitr.start_pitr_restore(clients.dynamodb, incident.table_name, target, incident.restore_time)
        logger.info(
            "PITR restore started", extra={"target_table": target, "restore_time": incident.restore_time}
        )
        return store.update_incident(incident, action_status="started", settings_status="pending", error=None)
    if clients.backup is None or settings.backup_restore_role_arn is None:
        raise RecoveryActionError("aws_backup_restore needs BACKUP_RESTORE_ROLE_ARN and a backup client")
    table_arn = clients.dynamodb.describe_table(TableName=incident.table_name)["Table"]["TableArn"]
    before = aws_backup.change_time(incident.first_record_time)
    point = aws_backup.newest_recovery_point(clients.backup, table_arn, before, settings.backup_vault_name)
    if point is None:
        raise RecoveryActionError(
            f"no COMPLETED AWS Backup recovery point of {incident.table_name} was created before {before.isoformat()}"
            + (f" in vault {settings.backup_vault_name}" if settings.backup_vault_name else "")
            + "; add a backup plan for the table or use action pitr_restore"
        )
    job_id = aws_backup.start_backup_restore(
        clients.backup,
        recovery_point_arn=point["RecoveryPointArn"],
        role_arn=settings.backup_restore_role_arn,
        target_table=target,
        idempotency_token=incident.incident_id,
    )
    logger.info(
        "AWS Backup restore job started",
        extra={
            "restore_job_id": job_id,
            "target_table": target,
            "recovery_point_arn": point["RecoveryPointArn"],
        },
    )
    return store.update_incident(incident, action_status="started", restore_job_id=job_id, error=None)


def finish_restored_table(incident: Incident, store: IncidentStore, clients: Clients) -> Incident:
    """Give the restored table back TTL, stream, PITR and tags, or leave that pending for later."""
    try:
        done = pitr.apply_unrestored_settings(
            clients.dynamodb, incident.table_name, incident.target_table or ""
        )
    except RecoveryActionError:
        logger.exception(
            "restored table settings not applied yet", extra={"target_table": incident.target_table}
        )
        done = False
    if done:
        store.remove_followup(incident)
        logger.info(
            "restored table has TTL, stream, PITR and tags of the source",
            extra={"target_table": incident.target_table},
        )
        return store.update_incident(incident, settings_status="done")
    store.add_followup(incident)
    return incident


def run_followups(store: IncidentStore, clients: Clients) -> None:
    """Finish restored tables that were not ACTIVE at an earlier invocation. Never fails the batch."""
    try:
        for incident in store.pending_followups():
            logger.append_keys(incident_id=incident.incident_id)
            try:
                finish_restored_table(incident, store, clients)
            finally:
                logger.remove_keys(["incident_id"])
    except Exception:
        logger.exception("follow-ups of restored tables failed; they stay pending for the next invocation")


def announce_incident(
    incident: Incident,
    settings: StreamRecoverySettings,
    clients: Clients,
    store: IncidentStore,
    record_count: int,
) -> None:
    """Announce the incident unless someone already did (conditional flag in the state table)."""
    claimed = store.claim_announcement(incident)
    if claimed is None:
        return
    body = notify.announcement(claimed, record_count)
    try:
        if settings.sns_topic_arn and clients.sns is not None:
            message_id = notify.announce(clients.sns, settings.sns_topic_arn, claimed, record_count)
            logger.warning(
                "incident announced",
                extra={
                    "incident_id": claimed.incident_id,
                    "announcement": body,
                    "sns_message_id": message_id,
                },
            )
        else:
            logger.warning(
                "incident (no SNS_TOPIC_ARN configured)",
                extra={"incident_id": claimed.incident_id, "announcement": body},
            )
    except Exception:
        store.update_incident(claimed, announced=False)
        raise
