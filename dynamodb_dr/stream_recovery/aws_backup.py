"""Table-level recovery from AWS Backup: StartRestoreJob from the newest recovery point created
before the bad change, into a new table, with one IdempotencyToken per incident (so a redelivered
record returns the same restore job instead of starting another).

The job is followed with DescribeRestoreJob by the scheduled follow-up. The local emulator has no
ListRecoveryPointsByResource, StartRestoreJob or DescribeRestoreJob: this path is tested with
botocore's Stubber (requests validated against the real API model), not against an endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import error_code, error_message
from dynamodb_dr.stream_recovery.errors import RecoveryActionError

USABLE_STATUSES = ("COMPLETED", "AVAILABLE")  # AVAILABLE: usable too (AWS Backup API)


def newest_recovery_point(
    backup: Any, table_arn: str, before: datetime, vault_name: str | None = None
) -> dict[str, Any] | None:
    """The newest usable (COMPLETED or AVAILABLE) recovery point of ``table_arn`` created strictly before ``before``."""
    best: dict[str, Any] | None = None
    token: str | None = None
    while True:
        try:
            page = backup.list_recovery_points_by_resource(
                ResourceArn=table_arn, **({"NextToken": token} if token else {})
            )
        except ClientError as exc:
            raise RecoveryActionError(
                f"ListRecoveryPointsByResource for {table_arn} failed ({error_code(exc)}); "
                "check the Lambda role allows backup:ListRecoveryPointsByResource"
            ) from exc
        for point in page.get("RecoveryPoints", []):
            if point.get("Status") not in USABLE_STATUSES or point["CreationDate"] >= before:
                continue
            if vault_name and point.get("BackupVaultName") != vault_name:
                continue
            if best is None or point["CreationDate"] > best["CreationDate"]:
                best = point
        token = page.get("NextToken")
        if not token:
            return best


def encryption_metadata(source_table: dict[str, Any]) -> dict[str, str]:
    """StartRestoreJob metadata that keeps the source's encryption: without it a table encrypted with
    a KMS key comes back with the DynamoDB-owned key."""
    sse = source_table.get("SSEDescription") or {}
    if (
        sse.get("Status") in ("ENABLED", "UPDATING")
        and sse.get("SSEType") == "KMS"
        and sse.get("KMSMasterKeyArn")
    ):
        return {"encryptionType": "KMS", "kmsMasterKeyArn": sse["KMSMasterKeyArn"]}
    return {"encryptionType": "Default"}


def start_backup_restore(
    backup: Any,
    *,
    recovery_point_arn: str,
    role_arn: str,
    target_table: str,
    idempotency_token: str,
    source_table: dict[str, Any],
) -> str:
    """Start the restore job (encryption as the source's, see ``encryption_metadata``); returns its
    RestoreJobId. Tags and the other settings are copied when the job has completed."""
    try:
        response = backup.start_restore_job(
            RecoveryPointArn=recovery_point_arn,
            Metadata={"targetTableName": target_table, **encryption_metadata(source_table)},
            IamRoleArn=role_arn,
            IdempotencyToken=idempotency_token,
            ResourceType="DynamoDB",
        )
    except ClientError as exc:
        raise RecoveryActionError(
            f"StartRestoreJob from {recovery_point_arn} into {target_table} failed "
            f"({error_code(exc)}: {error_message(exc)})"
        ) from exc
    return response["RestoreJobId"]


def change_time(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def restore_job_status(backup: Any, job_id: str) -> tuple[str, str | None]:
    """(Status, StatusMessage) of a restore job: PENDING | RUNNING | COMPLETED | ABORTED | FAILED."""
    try:
        job = backup.describe_restore_job(RestoreJobId=job_id)
    except ClientError as exc:
        raise RecoveryActionError(
            f"DescribeRestoreJob {job_id} failed ({error_code(exc)}); it is tried again"
        ) from exc
    return job["Status"], job.get("StatusMessage")
