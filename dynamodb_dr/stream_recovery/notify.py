"""Announce incidents on SNS: table, time, number of records, action taken, target table or job."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.stream_recovery.errors import RecoveryActionError
from dynamodb_dr.stream_recovery.state import Incident


def announcement(incident: Incident, record_count: int) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "table": incident.table_name,
        "reason": incident.reason,
        "detail": incident.detail,
        "first_change_time": datetime.fromtimestamp(incident.first_record_time, UTC).isoformat(),
        "record_count": record_count,
        "action": incident.action,
        "action_status": incident.action_status,
        "target_table": incident.target_table,
        "restore_time": (
            datetime.fromtimestamp(incident.restore_time, UTC).isoformat() if incident.restore_time else None
        ),
        "restore_job_id": incident.restore_job_id,
        "error": incident.error,
    }


def announce(sns: Any, topic_arn: str, incident: Incident, record_count: int) -> str:
    """Publish the announcement; returns the SNS MessageId."""
    body = announcement(incident, record_count)
    subject = f"DynamoDB incident on {incident.table_name}: {incident.reason}, {incident.action} {incident.action_status}"
    try:
        response = sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(body, indent=1))
    except ClientError as exc:
        raise RecoveryActionError(
            f"could not announce incident {incident.incident_id} on {topic_arn} ({exc.response['Error']['Code']}); "
            "check SNS_TOPIC_ARN and the Lambda role's sns:Publish permission"
        ) from exc
    return response["MessageId"]
