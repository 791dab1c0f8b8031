"""Finishing what incidents started, whether or not more records arrive.

The scheduled follow-up (an EventBridge rule invokes the Lambda with a scheduled event, no
``Records``) walks the incidents listed in the state table: it starts a PITR restore once
LatestRestorableDateTime has reached its restore time, follows the restored table (or the AWS Backup
restore job, with DescribeRestoreJob) until it is ready, gives it the settings a restore does not
carry, closes incidents that have gone quiet, and announces every end on SNS (done or failed, with
the table names). A stream batch also tries to start its incidents' restores, so a restore whose
time has already come starts at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_missing_table
from dynamodb_dr.stream_recovery import aws_backup, notify, pitr
from dynamodb_dr.stream_recovery.config import Action
from dynamodb_dr.stream_recovery.errors import RecoveryActionError
from dynamodb_dr.stream_recovery.state import Incident, IncidentStore

if TYPE_CHECKING:
    from dynamodb_dr.stream_recovery.processor import Runtime

# How long one invocation holds the right to start an incident's restore before another may take it.
ACTION_LEASE_SECONDS = 300
# An incident is closed once no triggering record came for one window plus this margin (lagging shards).
QUIET_MARGIN_SECONDS = 300
# A follow-up that keeps failing (e.g. settings that cannot be applied) is given up and announced.
MAX_FOLLOWUP_ATTEMPTS = 20


def publish(
    incident: Incident, event: str, runtime: Runtime, logger: Any, record_count: int = 0, **extra: Any
) -> None:
    settings, clients = runtime.settings, runtime.clients
    body = notify.announcement(incident, event, record_count, **extra)
    if settings.sns_topic_arn and clients.sns is not None:
        message_id = notify.announce(clients.sns, settings.sns_topic_arn, incident, body)
        logger.warning(
            "incident announced",
            extra={"incident_id": incident.incident_id, "announcement": body, "sns_message_id": message_id},
        )
    else:
        logger.warning(
            "incident (no SNS_TOPIC_ARN configured)",
            extra={"incident_id": incident.incident_id, "announcement": body},
        )


def announce_once(
    incident: Incident, event: str, runtime: Runtime, store: IncidentStore, logger: Any, record_count: int = 0
) -> Incident:
    """Announce ``event`` of the incident unless someone already did (conditional flag)."""
    if event in incident.announced:
        return incident
    claimed = store.claim_announcement(incident, event)
    if claimed is None:
        return incident
    try:
        publish(claimed, event, runtime, logger, record_count)
    except Exception:
        store.release_announcement(claimed, event)
        raise
    return claimed


def _restorable(incident: Incident) -> bool:
    return (
        incident.action in (Action.PITR_RESTORE.value, Action.AWS_BACKUP_RESTORE.value)
        and not incident.dry_run
    )


def advance_restore(
    incident: Incident, runtime: Runtime, store: IncidentStore, logger: Any, claimed_by: str
) -> Incident:
    """Start the incident's restore if it is pending and its time has come (tried once per invocation)."""
    if not _restorable(incident) or incident.pk in store.actions_settled:
        return incident
    if not (
        incident.action_status in ("pending", "starting")
        or (incident.action_status == "failed" and not incident.final)
    ):
        return incident
    store.actions_settled.add(incident.pk)
    clients = runtime.clients
    if incident.action == Action.PITR_RESTORE.value:
        window = pitr.pitr_window(clients.dynamodb, incident.table_name)
        if not window.enabled:
            return (
                store.update_incident(
                    incident,
                    action_status="failed",
                    final=True,
                    error=f"point-in-time recovery is not enabled on {incident.table_name}; enable it "
                    "(UpdateContinuousBackups) so that later incidents can be restored",
                )
                or incident
            )
        wanted = pitr.restore_time_of(incident.first_record_time)
        if window.latest < wanted:
            logger.info(
                "PITR restore waits for LatestRestorableDateTime",
                extra={"restore_time": wanted, "latest": window.latest},
            )
            return incident
        restore_time, note = wanted, None
        if window.earliest > wanted:
            restore_time = window.earliest
            note = (
                f"the earliest restorable time forces a later point: {notify._time(window.earliest)} instead of "
                f"{notify._time(wanted)} (first change - 1 s); changes in between may be in the recovery table"
            )
    claimed = store.claim_action(incident, ACTION_LEASE_SECONDS, claimed_by)
    if claimed is None:
        return store.forget(incident)
    incident = claimed
    try:
        if incident.action == Action.PITR_RESTORE.value:
            pitr.start_pitr_restore(
                clients.dynamodb, incident.table_name, incident.target_table or "", restore_time
            )
            logger.info(
                "PITR restore started",
                extra={"target_table": incident.target_table, "restore_time": restore_time},
            )
            fields: dict[str, Any] = {
                "restore_time": restore_time,
                "settings_status": "pending",
                "error": None,
            }
            if note:
                fields["note"] = note
            return store.update_incident(incident, action_status="started", **fields) or incident
        return _start_backup_restore(incident, runtime, store, logger)
    except Exception as exc:  # release the claim: the next try starts again
        logger.exception("restore not started", extra={"incident_id": incident.incident_id})
        store.update_incident(incident, action_status="failed", error=str(exc))
        raise


def _start_backup_restore(
    incident: Incident, runtime: Runtime, store: IncidentStore, logger: Any
) -> Incident:
    settings, clients = runtime.settings, runtime.clients
    if clients.backup is None or settings.backup_restore_role_arn is None:
        raise RecoveryActionError("aws_backup_restore needs BACKUP_RESTORE_ROLE_ARN and a backup client")
    source = clients.dynamodb.describe_table(TableName=incident.table_name)["Table"]
    before = aws_backup.change_time(incident.first_record_time)
    point = aws_backup.newest_recovery_point(
        clients.backup, source["TableArn"], before, settings.backup_vault_name
    )
    if point is None:
        raise RecoveryActionError(
            f"no usable (COMPLETED or AVAILABLE) AWS Backup recovery point of {incident.table_name} was created "
            f"before {before.isoformat()}"
            + (f" in vault {settings.backup_vault_name}" if settings.backup_vault_name else "")
            + "; add a backup plan for the table or use action pitr_restore"
        )
    job_id = aws_backup.start_backup_restore(
        clients.backup,
        recovery_point_arn=point["RecoveryPointArn"],
        role_arn=settings.backup_restore_role_arn,
        target_table=incident.target_table or "",
        idempotency_token=incident.incident_id,
        source_table=source,
    )
    logger.info(
        "AWS Backup restore job started",
        extra={
            "restore_job_id": job_id,
            "target_table": incident.target_table,
            "recovery_point_arn": point["RecoveryPointArn"],
        },
    )
    return (
        store.update_incident(
            incident, action_status="started", restore_job_id=job_id, settings_status="pending", error=None
        )
        or incident
    )


def _restored_table_state(incident: Incident, runtime: Runtime) -> str:
    """ready | waiting | failed: <why> for the incident's started restore."""
    clients = runtime.clients
    if incident.restore_job_id:
        assert clients.backup is not None
        status, message = aws_backup.restore_job_status(clients.backup, incident.restore_job_id)
        if status in ("ABORTED", "FAILED"):
            return (
                f"failed: AWS Backup restore job {incident.restore_job_id} {status}: {message or ''}".strip()
            )
        if status != "COMPLETED":
            return "waiting"
    try:
        table = clients.dynamodb.describe_table(TableName=incident.target_table)["Table"]
    except ClientError as exc:
        if is_missing_table(exc):
            return f"failed: the recovery table {incident.target_table} does not exist (the restore failed or it was deleted)"
        raise
    return "ready" if table["TableStatus"] == "ACTIVE" else "waiting"


def followup_incident(incident: Incident, runtime: Runtime, store: IncidentStore, logger: Any) -> Incident:
    incident = advance_restore(incident, runtime, store, logger, claimed_by="scheduled-follow-up")
    if _restorable(incident) and incident.action_status == "started":
        state = _restored_table_state(incident, runtime)
        if state.startswith("failed"):
            incident = (
                store.update_incident(
                    incident, action_status="failed", final=True, error=state[len("failed: ") :]
                )
                or incident
            )
        elif state == "ready":
            pitr.apply_unrestored_settings(
                runtime.clients.dynamodb,
                incident.table_name,
                incident.target_table or "",
                autoscaling=runtime.clients.autoscaling,
            )
            incident = (
                store.update_incident(incident, action_status="done", settings_status="done") or incident
            )
            logger.info(
                "recovery table ready, with the settings of the source",
                extra={"target_table": incident.target_table},
            )
    quiet = (
        incident.last_record_time or incident.first_record_time
    ) + store.window_seconds + QUIET_MARGIN_SECONDS < time.time()
    finished = incident.action_status in ("done", "none", "dry_run", "refused") or (
        incident.action_status == "failed" and incident.final
    )
    if finished and (quiet or incident.action_status in ("done", "failed")):
        incident = store.update_incident(incident, closed=True) or incident
        announce_once(incident, "end", runtime, store, logger)
        store.remove_followup(incident.pk)
    return incident


def run_followups(store: IncidentStore, runtime: Runtime, logger: Any) -> dict[str, Any]:
    """The scheduled follow-up: every listed incident once. Never raises: a failed one stays listed and
    is tried again at the next run (given up, announced as failed, after ``MAX_FOLLOWUP_ATTEMPTS``)."""
    summary: dict[str, Any] = {"followups": 0, "finished": [], "failed": []}
    for incident in store.pending_followups():
        summary["followups"] += 1
        logger.append_keys(incident_id=incident.incident_id)
        try:
            incident = followup_incident(incident, runtime, store, logger)
            if incident.closed:
                summary["finished"].append(incident.incident_id)
        except Exception as exc:
            logger.exception("follow-up failed; it is tried again at the next run")
            incident = store.forget(incident)
            attempts = incident.followup_attempts + 1
            try:
                if attempts >= MAX_FOLLOWUP_ATTEMPTS:
                    incident = (
                        store.update_incident(
                            incident,
                            followup_attempts=attempts,
                            action_status="failed",
                            final=True,
                            settings_status="failed"
                            if incident.settings_status == "pending"
                            else incident.settings_status,
                            error=f"given up after {attempts} follow-ups: {exc}",
                        )
                        or incident
                    )
                    announce_once(incident, "end", runtime, store, logger)
                    store.remove_followup(incident.pk)
                else:
                    store.update_incident(incident, followup_attempts=attempts)
            except Exception:
                logger.exception("follow-up state not updated")
            summary["failed"].append(incident.incident_id)
        finally:
            logger.remove_keys(["incident_id"])
    logger.info("follow-up done", extra=summary)
    return summary
