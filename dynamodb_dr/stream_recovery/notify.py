"""Announce incidents on SNS: when they start (once per reason), what a dry run would do, and how they
end (done or failed, with the table names)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import error_code
from dynamodb_dr.stream_recovery.errors import RecoveryActionError
from dynamodb_dr.stream_recovery.state import Incident


def _time(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


def announcement(incident: Incident, event: str, record_count: int = 0, **extra: Any) -> dict[str, Any]:
    """``event``: a reason (the incident started, or a burst joined it), ``end`` or ``dry_run``."""
    return {
        "event": event,
        "incident_id": incident.incident_id,
        "table": incident.table_name,
        "reason": incident.reason,
        "reasons": sorted(incident.reasons),
        "detail": incident.detail,
        "first_change_time": _time(incident.first_record_time),
        "last_change_time": _time(incident.last_record_time),
        "record_count": max(record_count, int(incident.counters.get("records_seen", 0))),
        "action": incident.action,
        "action_status": incident.action_status,
        "dry_run": incident.dry_run,
        "target_table": incident.target_table,
        "restore_time": _time(incident.restore_time),
        "restore_job_id": incident.restore_job_id,
        "settings_status": incident.settings_status,
        "counters": {k: int(v) for k, v in sorted(incident.counters.items())},
        "conflict_keys": [json.loads(k) for k in sorted(incident.conflict_keys)],
        "note": incident.note,
        "error": incident.error,
        **extra,
    }


def subject(incident: Incident, event: str) -> str:
    what = {"end": "ended", "dry_run": "dry run"}.get(event, event)
    text = f"DynamoDB incident on {incident.table_name} {what}: {incident.action} {incident.action_status}"
    return text[:100]


def announce(sns: Any, topic_arn: str, incident: Incident, body: dict[str, Any]) -> str:
    """Publish the announcement; returns the SNS MessageId."""
    try:
        response = sns.publish(
            TopicArn=topic_arn, Subject=subject(incident, body["event"]), Message=json.dumps(body, indent=1)
        )
    except ClientError as exc:
        raise RecoveryActionError(
            f"could not announce incident {incident.incident_id} on {topic_arn} ({error_code(exc)}); "
            "check SNS_TOPIC_ARN and the Lambda role's sns:Publish permission"
        ) from exc
    return response["MessageId"]
