"""Table-level recovery from AWS Backup: StartRestoreJob from the newest recovery point created
before the bad change, into a new table, with one IdempotencyToken per incident (so a redelivered
record returns the same restore job instead of starting another).

The local emulator has neither ListRecoveryPointsByResource nor StartRestoreJob: this path is tested
with botocore's Stubber (requests validated against the real API model), not against an endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.stream_recovery.errors import RecoveryActionError

USABLE_STATUSES = ("COMPLETED",)


def newest_recovery_point(
    backup: Any, table_arn: str, before: datetime, vault_name: str | None = None
) -> dict[str, Any] | None:
    """The newest COMPLETED recovery point of ``table_arn`` created strictly before ``before``."""
    best: dict[str, Any] | None = None
    token: str | None = None
    while True:
        try:
            page = backup.list_recovery_points_by_resource(
                ResourceArn=table_arn, **({"NextToken": token} if token else {})
            )
        except ClientError as exc:
            raise RecoveryActionError(
                f"ListRecoveryPointsByResource for {table_arn} failed ({exc.response['Error']['Code']}); "
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


def start_backup_restore(
    backup: Any, *, recovery_point_arn: str, role_arn: str, target_table: str, idempotency_token: str
) -> str:
    """Start the restore job; returns its RestoreJobId."""
    try:
        response = backup.start_restore_job(
            RecoveryPointArn=recovery_point_arn,
            Metadata={"targetTableName": target_table},
            IamRoleArn=role_arn,
            IdempotencyToken=idempotency_token,
            ResourceType="DynamoDB",
        )
    except ClientError as exc:
        raise RecoveryActionError(
            f"StartRestoreJob from {recovery_point_arn} into {target_table} failed "
            f"({exc.response['Error']['Code']}: {exc.response['Error'].get('Message')})"
        ) from exc
    return response["RestoreJobId"]


def change_time(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
