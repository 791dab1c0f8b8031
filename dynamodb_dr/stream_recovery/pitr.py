"""Table-level recovery with DynamoDB point-in-time recovery.

RestoreTableToPointInTime always creates a NEW table, here ``{table}-recovery-{UTC yyyymmddThhmmss}``;
the live table is never deleted or overwritten. The restore time is one second before the earliest
triggering record, clamped into [EarliestRestorableDateTime, LatestRestorableDateTime]. PITR does not
restore TTL, the stream, PITR itself or tags: ``apply_unrestored_settings`` copies them from the
source once the new table is ACTIVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import error_code, error_message
from dynamodb_dr.stream_recovery.errors import RecoveryActionError

RESTORE_MARGIN_SECONDS = 1.0


def recovery_table_name(table: str, now: datetime) -> str:
    return f"{table}-recovery-{now.astimezone(UTC):%Y%m%dT%H%M%S}"


def restore_time_of(first_record_time: float) -> float:
    """One second before the first bad change."""
    return first_record_time - RESTORE_MARGIN_SECONDS


@dataclass(frozen=True)
class PitrWindow:
    enabled: bool
    earliest: float = 0.0
    latest: float = 0.0
    recovery_period_days: int | None = None


def pitr_window(dynamodb: Any, table: str) -> PitrWindow:
    try:
        description = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    except ClientError as exc:
        raise RecoveryActionError(
            f"could not read the PITR window of {table} ({error_code(exc)}); it is tried again"
        ) from exc
    pitr = description.get("PointInTimeRecoveryDescription") or {}
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        return PitrWindow(enabled=False)
    return PitrWindow(
        enabled=True,
        earliest=pitr["EarliestRestorableDateTime"].timestamp(),
        latest=pitr["LatestRestorableDateTime"].timestamp(),
        recovery_period_days=pitr.get("RecoveryPeriodInDays"),
    )


def _is_our_restore(dynamodb: Any, source: str, target: str) -> bool:
    try:
        summary = dynamodb.describe_table(TableName=target)["Table"].get("RestoreSummary") or {}
    except ClientError:
        return False
    return str(summary.get("SourceTableArn", "")).endswith(f":table/{source}")


def start_pitr_restore(dynamodb: Any, source: str, target: str, restore_time: float) -> str:
    """Start the restore; returns ``started``. Restarting an already started restore (same target,
    restored from the same source) also returns ``started``: redeliveries never start a second one."""
    try:
        dynamodb.restore_table_to_point_in_time(
            SourceTableName=source,
            TargetTableName=target,
            RestoreDateTime=datetime.fromtimestamp(restore_time, UTC),
        )
    except ClientError as exc:
        code = error_code(exc)
        if code == "TableAlreadyExistsException" and _is_our_restore(dynamodb, source, target):
            return "started"
        raise RecoveryActionError(
            f"RestoreTableToPointInTime {source} -> {target} failed ({code}: {error_message(exc)})"
        ) from exc
    return "started"


def copy_auto_scaling(autoscaling: Any, source: str, target: str, indexes: list[str]) -> int:
    """The source's auto scaling (Application Auto Scaling) on the restored ``target``: each scalable
    target of the table and its GSIs registered with the same minimum and maximum, each
    target-tracking policy put again. A restored table does not carry them. Returns the scalable
    targets copied (0: the source has none, e.g. on-demand)."""
    resources = [f"table/{source}", *(f"table/{source}/index/{name}" for name in indexes)]

    def mapped(resource_id: str) -> str:
        return f"table/{target}" + resource_id[len(f"table/{source}") :]

    found: list[dict[str, Any]] = []
    for page in autoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="dynamodb", ResourceIds=resources
    ):
        found += page.get("ScalableTargets", [])
    for scalable in found:
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId=mapped(scalable["ResourceId"]),
            ScalableDimension=scalable["ScalableDimension"],
            MinCapacity=scalable["MinCapacity"],
            MaxCapacity=scalable["MaxCapacity"],
        )
    for resource in sorted({s["ResourceId"] for s in found}):
        for page in autoscaling.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="dynamodb", ResourceId=resource
        ):
            for policy in page.get("ScalingPolicies", []):
                if (
                    policy.get("ResourceId") != resource
                    or policy.get("PolicyType") != "TargetTrackingScaling"
                ):
                    continue  # DynamoDB scales with target tracking; other kinds are left to the operator
                autoscaling.put_scaling_policy(
                    PolicyName=policy["PolicyName"],
                    ServiceNamespace="dynamodb",
                    ResourceId=mapped(resource),
                    ScalableDimension=policy["ScalableDimension"],
                    PolicyType="TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration=policy[
                        "TargetTrackingScalingPolicyConfiguration"
                    ],
                )
    return len(found)


def apply_unrestored_settings(dynamodb: Any, source: str, target: str, autoscaling: Any = None) -> bool:
    """Copy TTL, stream, PITR (with its recovery period), tags (not the reserved ``aws:`` ones),
    deletion protection and (given an Application Auto Scaling client) auto scaling from ``source``
    to the restored ``target``. False while the target is not ACTIVE yet (call again later); True
    when done."""
    try:
        target_table = dynamodb.describe_table(TableName=target)["Table"]
        if target_table["TableStatus"] != "ACTIVE":
            return False
        source_table = dynamodb.describe_table(TableName=source)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=source)["TimeToLiveDescription"]
        target_ttl = dynamodb.describe_time_to_live(TableName=target)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and target_ttl.get(
            "TimeToLiveStatus"
        ) not in (
            "ENABLED",
            "ENABLING",
        ):
            dynamodb.update_time_to_live(
                TableName=target,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        stream = source_table.get("StreamSpecification") or {}
        if stream.get("StreamEnabled") and not (target_table.get("StreamSpecification") or {}).get(
            "StreamEnabled"
        ):
            dynamodb.update_table(
                TableName=target,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]},
            )
        pitr = dynamodb.describe_continuous_backups(TableName=source)["ContinuousBackupsDescription"]
        source_pitr = pitr.get("PointInTimeRecoveryDescription") or {}
        if source_pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
            if source_pitr.get("RecoveryPeriodInDays"):
                spec["RecoveryPeriodInDays"] = source_pitr["RecoveryPeriodInDays"]
            dynamodb.update_continuous_backups(TableName=target, PointInTimeRecoverySpecification=spec)
        tags, token = [], None
        while True:
            page = dynamodb.list_tags_of_resource(
                ResourceArn=source_table["TableArn"], **({"NextToken": token} if token else {})
            )
            tags += page.get("Tags", [])
            token = page.get("NextToken")
            if not token:
                break
        tags = [t for t in tags if not t["Key"].startswith("aws:")]  # reserved: users cannot set them
        if tags:
            dynamodb.tag_resource(ResourceArn=target_table["TableArn"], Tags=tags)
        if source_table.get("DeletionProtectionEnabled") and not target_table.get(
            "DeletionProtectionEnabled"
        ):
            dynamodb.update_table(TableName=target, DeletionProtectionEnabled=True)
        if autoscaling is not None:
            indexes = [i["IndexName"] for i in source_table.get("GlobalSecondaryIndexes") or []]
            copy_auto_scaling(autoscaling, source, target, indexes)
    except ClientError as exc:
        raise RecoveryActionError(
            f"could not copy TTL/stream/PITR/tags/auto scaling from {source} to {target} ({error_code(exc)}); "
            "it stays pending and is tried again at the next invocation"
        ) from exc
    return True
