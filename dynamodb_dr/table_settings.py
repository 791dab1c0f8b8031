"""The settings of a table that a new table does not carry: recorded with each backup, re-applied to
a table a restore created.

At backup time (``read_settings``) each setting is read with its own call, and a call AWS refuses
(no permission, an API the region or endpoint does not serve) records the setting as unknown with
the reason, never failing the backup::

    "Settings": {
      "TimeToLive": {"Enabled": true, "AttributeName": "expires_at"},
      "PointInTimeRecovery": {"Enabled": true, "RecoveryPeriodInDays": 14},
      "Tags": [{"Key": "team", "Value": "orders"}],
      "ResourcePolicy": {"Policy": null},                     # none is normal
      "ContributorInsights": {"Unknown": "AccessDeniedException: ..."}
    }

SSE, the on-demand maximum, warm throughput, stream, table class and deletion protection come from
DescribeTable and live in the CreateTable-shaped definition (``tables.table_definition``).

After a restore created the target (by CreateTable or ImportTable), ``reapply`` sets every recorded
setting the new table lacks, one call each, and says per setting what happened: ``applied``,
``applied at creation``, ``not applicable: ...`` or ``failed: ... fix: <command>``. A failure is a
warning with the command that fixes it, never a failed restore: the items are there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from dynamodb_dr.aws_errors import describe, error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

SETTINGS = "Settings"
UNKNOWN = "Unknown"
POLICY_NOT_FOUND = "PolicyNotFoundException"

APPLIED = "applied"
APPLIED_AT_CREATION = "applied at creation"
NOT_APPLICABLE = "not applicable"
FAILED = "failed"

ORDER = (
    "TableClass",
    "StreamSpecification",
    "SSESpecification",
    "OnDemandThroughput",
    "WarmThroughput",
    "Tags",
    "TimeToLive",
    "PointInTimeRecovery",
    "ContributorInsights",
    "ResourcePolicy",
    "DeletionProtectionEnabled",
)
"""Re-applied in this order: deletion protection last, so a failed step can still be cleaned up."""


# --- backup: read ---------------------------------------------------------------------------------


def _unknown(exc: ClientError | BotoCoreError) -> dict[str, str]:
    if isinstance(exc, ClientError):
        return {UNKNOWN: f"{error_code(exc) or 'Unknown'}: {error_message(exc)}"[:500]}
    return {UNKNOWN: f"{type(exc).__name__}: {exc}"[:500]}


def _time_to_live(dynamodb: Any, table_name: str) -> dict[str, Any]:
    ttl = dynamodb.describe_time_to_live(TableName=table_name).get("TimeToLiveDescription") or {}
    enabled = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    return {"Enabled": enabled, **({"AttributeName": ttl["AttributeName"]} if enabled else {})}


def _pitr(dynamodb: Any, table_name: str) -> dict[str, Any]:
    described = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    pitr = described.get("PointInTimeRecoveryDescription") or {}
    out: dict[str, Any] = {"Enabled": pitr.get("PointInTimeRecoveryStatus") == "ENABLED"}
    if out["Enabled"] and pitr.get("RecoveryPeriodInDays"):
        out["RecoveryPeriodInDays"] = int(pitr["RecoveryPeriodInDays"])
    return out


def _tags(dynamodb: Any, table_arn: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    kwargs: dict[str, Any] = {"ResourceArn": table_arn}
    while True:
        page = dynamodb.list_tags_of_resource(**kwargs)
        tags += [{"Key": t["Key"], "Value": t["Value"]} for t in page.get("Tags", [])]
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def _resource_policy(dynamodb: Any, table_arn: str) -> dict[str, Any]:
    try:
        return {"Policy": dynamodb.get_resource_policy(ResourceArn=table_arn).get("Policy")}
    except ClientError as exc:
        if error_code(exc) == POLICY_NOT_FOUND:
            return {"Policy": None}
        raise


def _contributor_insights(dynamodb: Any, table_name: str) -> dict[str, Any]:
    described = dynamodb.describe_contributor_insights(TableName=table_name)
    out = {"Status": described.get("ContributorInsightsStatus", "DISABLED")}
    if described.get("ContributorInsightsMode"):
        out["Mode"] = described["ContributorInsightsMode"]
    return out


def read_settings(dynamodb: DynamoDBClient, description: dict[str, Any]) -> dict[str, Any]:
    """The settings DescribeTable does not show, one call each; a refused call is recorded as
    ``{"Unknown": "<code>: <message>"}``."""
    name, arn = description["TableName"], description["TableArn"]
    readers = {
        "TimeToLive": lambda: _time_to_live(dynamodb, name),
        "PointInTimeRecovery": lambda: _pitr(dynamodb, name),
        "Tags": lambda: _tags(dynamodb, arn),
        "ResourcePolicy": lambda: _resource_policy(dynamodb, arn),
        "ContributorInsights": lambda: _contributor_insights(dynamodb, name),
    }
    settings: dict[str, Any] = {}
    for setting, read in readers.items():
        try:
            settings[setting] = read()
        except (ClientError, BotoCoreError) as exc:
            settings[setting] = _unknown(exc)
            logger.warning(
                "table setting not recorded",
                extra={"table": name, "setting": setting, "reason": settings[setting][UNKNOWN]},
            )
    return settings


def record_definition(dynamodb: DynamoDBClient, description: dict[str, Any]) -> dict[str, Any]:
    """The table definition a backup records: ``table_definition`` plus ``"Settings"``."""
    from dynamodb_dr.tables import table_definition

    definition = table_definition(description)
    definition[SETTINGS] = read_settings(dynamodb, description)
    return definition


# --- restore: re-apply ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingOutcome:
    setting: str
    status: str
    """``applied``, ``applied at creation``, ``not applicable`` or ``failed``."""
    detail: str = ""
    command: str | None = None
    """For ``failed``: the command that applies it by hand."""

    def text(self) -> str:
        out = self.status + (f": {self.detail}" if self.detail else "")
        return out + (f"; fix: {self.command}" if self.command else "")


def _wait_active(dynamodb: Any, table_name: str, wait_seconds: int) -> None:
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 2, "MaxAttempts": max(1, wait_seconds // 2)}
    )


def region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else None


def kms_key_for_region(key_arn: str, region: str) -> tuple[str | None, str]:
    """The KMS key to use in ``region`` for a table encrypted with ``key_arn``: the same key in its
    own region; a multi-region key's replica (same key id, ``mrk-``) elsewhere; else None and why."""
    key_region = region_of(key_arn)
    if key_region in (None, region):
        return key_arn, ""
    key_id = key_arn.rsplit("/", 1)[-1]
    if key_id.startswith("mrk-"):
        parts = key_arn.split(":")
        parts[3] = region
        return ":".join(parts), f"the multi-region key's replica in {region}"
    return None, (
        f"the backup's KMS key {key_arn} is in {key_region} and a table in {region} cannot use it "
        "(create a key, or a multi-region key replica, in this region)"
    )


def create_time_definition(definition: dict[str, Any], region: str) -> tuple[dict[str, Any], str | None]:
    """The definition to create the table with in ``region``: a KMS key of another region that has
    no replica here is left out (the table gets the AWS owned key); the reason, or None."""
    sse = definition.get("SSESpecification") or {}
    key = sse.get("KMSMasterKeyId")
    if not key:
        return definition, None
    usable, why = kms_key_for_region(key, region)
    if usable is None:
        return {k: v for k, v in definition.items() if k != "SSESpecification"}, why
    if usable != key:
        return {**definition, "SSESpecification": {**sse, "KMSMasterKeyId": usable}}, None
    return definition, None


def _policy_for(policy: str, source_arn: str | None, target_arn: str) -> str:
    """The recorded policy with the source table's ARN replaced by the target's (a policy must name
    the table it is attached to)."""
    if source_arn and source_arn != target_arn:
        policy = policy.replace(source_arn, target_arn)
    return policy


def _cli(command: str, **options: str) -> str:
    return command + "".join(f" --{k.replace('_', '-')} {v}" for k, v in options.items())


def reapply(
    dynamodb: DynamoDBClient,
    table_name: str,
    definition: dict[str, Any],
    *,
    created_by: str,
    source_table_arn: str | None = None,
    sse_not_applied: str | None = None,
    wait_seconds: int = 600,
) -> list[SettingOutcome]:
    """Apply to ``table_name`` (just created by ``created_by``: ``CreateTable`` or ``ImportTable``)
    every recorded setting it does not carry yet. Never raises an AWS error: each outcome says."""
    settings = definition.get(SETTINGS) or {}
    described: dict[str, Any] = dict(dynamodb.describe_table(TableName=table_name)["Table"])
    target_arn = described["TableArn"]
    at_create = created_by == "CreateTable"
    outcomes: list[SettingOutcome] = []

    def run(setting: str, call: Any, command: str) -> SettingOutcome:
        try:
            call()
        except (ClientError, BotoCoreError, WaiterError) as exc:
            why = describe(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"
            return SettingOutcome(setting, FAILED, why, command)
        return SettingOutcome(setting, APPLIED)

    def update(**kwargs: Any) -> Any:
        def call() -> None:
            dynamodb.update_table(TableName=table_name, **kwargs)
            _wait_active(dynamodb, table_name, wait_seconds)

        return call

    for setting in ORDER:
        value = settings.get(setting) if setting in settings else definition.get(setting)
        if isinstance(value, dict) and UNKNOWN in value:
            if setting == "PointInTimeRecovery":  # exports need PITR: the source had it on
                value = {"Enabled": True}
            else:
                outcomes.append(
                    SettingOutcome(setting, NOT_APPLICABLE, f"not recorded by the backup ({value[UNKNOWN]})")
                )
                continue
        if setting not in settings and setting not in definition:
            if setting == "PointInTimeRecovery":
                value = {"Enabled": True}  # a backup from before settings were recorded
            elif setting in ("TimeToLive", "Tags", "ResourcePolicy", "ContributorInsights"):
                outcomes.append(SettingOutcome(setting, NOT_APPLICABLE, "not recorded by this backup"))
                continue
            else:
                outcomes.append(SettingOutcome(setting, NOT_APPLICABLE, "not set on the backed-up table"))
                continue
        outcomes.append(
            _apply_one(
                dynamodb,
                table_name,
                setting,
                value,
                described,
                at_create=at_create,
                run=run,
                update=update,
                target_arn=target_arn,
                source_table_arn=source_table_arn,
                sse_not_applied=sse_not_applied,
            )
        )
    for outcome in outcomes:
        log = logger.warning if outcome.status == FAILED else logger.info
        log(
            "table setting re-applied" if outcome.status != FAILED else "table setting not re-applied",
            extra={"table": table_name, "setting": outcome.setting, "outcome": outcome.text()},
        )
    return outcomes


def _apply_one(
    dynamodb: Any,
    table_name: str,
    setting: str,
    value: Any,
    described: dict[str, Any],
    *,
    at_create: bool,
    run: Any,
    update: Any,
    target_arn: str,
    source_table_arn: str | None,
    sse_not_applied: str | None,
) -> SettingOutcome:
    update_cli = f"aws dynamodb update-table --table-name {table_name}"
    if setting == "SSESpecification":
        if sse_not_applied:
            return SettingOutcome(
                setting,
                FAILED,
                f"{sse_not_applied}; the table is encrypted with the AWS owned key",
                f"{update_cli} --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=<key ARN in this region>",
            )
        return SettingOutcome(setting, APPLIED_AT_CREATION, value.get("KMSMasterKeyId", "AWS managed key"))
    if setting == "OnDemandThroughput":
        return SettingOutcome(setting, APPLIED_AT_CREATION)
    if setting in ("TableClass", "StreamSpecification", "DeletionProtectionEnabled") and at_create:
        return SettingOutcome(setting, APPLIED_AT_CREATION)
    if setting == "TableClass":
        if value == "STANDARD":
            return SettingOutcome(setting, NOT_APPLICABLE, "STANDARD is a new table's class")
        return run(setting, update(TableClass=value), f"{update_cli} --table-class {value}")
    if setting == "StreamSpecification":
        view = value["StreamViewType"]
        return run(
            setting,
            update(StreamSpecification={"StreamEnabled": True, "StreamViewType": view}),
            f"{update_cli} --stream-specification StreamEnabled=true,StreamViewType={view}",
        )
    if setting == "DeletionProtectionEnabled":
        return run(
            setting, update(DeletionProtectionEnabled=True), f"{update_cli} --deletion-protection-enabled"
        )
    if setting == "WarmThroughput":
        current = described.get("WarmThroughput") or {}
        wanted = {
            k: v for k, v in value.items() if int(current.get(k) or 0) < int(v)
        }  # only raise: a new table's defaults are not bought again
        if not wanted:
            return SettingOutcome(setting, NOT_APPLICABLE, "the new table already has at least this much")
        units = ",".join(f"{k}={v}" for k, v in wanted.items())
        return run(setting, update(WarmThroughput=wanted), f"{update_cli} --warm-throughput {units}")
    if setting == "Tags":
        if not value:
            return SettingOutcome(setting, NOT_APPLICABLE, "the table had no tags")
        pairs = " ".join(f"Key={t['Key']},Value={t['Value']}" for t in value)
        return run(
            setting,
            lambda: dynamodb.tag_resource(ResourceArn=target_arn, Tags=value),
            _cli("aws dynamodb tag-resource", resource_arn=target_arn, tags=pairs),
        )
    if setting == "TimeToLive":
        if not value.get("Enabled"):
            return SettingOutcome(setting, NOT_APPLICABLE, "TTL was off")
        attribute = value["AttributeName"]
        return run(
            setting,
            lambda: dynamodb.update_time_to_live(
                TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            ),
            _cli(
                "aws dynamodb update-time-to-live",
                table_name=table_name,
                time_to_live_specification=f"Enabled=true,AttributeName={attribute}",
            ),
        )
    if setting == "PointInTimeRecovery":
        if not value.get("Enabled"):
            return SettingOutcome(setting, NOT_APPLICABLE, "PITR was off")
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
        cli_spec = "PointInTimeRecoveryEnabled=true"
        if value.get("RecoveryPeriodInDays"):
            spec["RecoveryPeriodInDays"] = int(value["RecoveryPeriodInDays"])
            cli_spec += f",RecoveryPeriodInDays={spec['RecoveryPeriodInDays']}"
        return run(
            setting,
            lambda: dynamodb.update_continuous_backups(
                TableName=table_name, PointInTimeRecoverySpecification=spec
            ),
            _cli(
                "aws dynamodb update-continuous-backups",
                table_name=table_name,
                point_in_time_recovery_specification=cli_spec,
            ),
        )
    if setting == "ContributorInsights":
        if value.get("Status") not in ("ENABLED", "ENABLING"):
            return SettingOutcome(setting, NOT_APPLICABLE, "Contributor Insights was off")
        kwargs: dict[str, Any] = {"TableName": table_name, "ContributorInsightsAction": "ENABLE"}
        if value.get("Mode"):
            kwargs["ContributorInsightsMode"] = value["Mode"]
        return run(
            setting,
            lambda: dynamodb.update_contributor_insights(**kwargs),
            _cli(
                "aws dynamodb update-contributor-insights",
                table_name=table_name,
                contributor_insights_action="ENABLE",
            ),
        )
    if setting == "ResourcePolicy":
        if not value.get("Policy"):
            return SettingOutcome(setting, NOT_APPLICABLE, "the table had no resource policy")
        policy = _policy_for(value["Policy"], source_table_arn, target_arn)
        return run(
            setting,
            lambda: dynamodb.put_resource_policy(ResourceArn=target_arn, Policy=policy),
            _cli(
                "aws dynamodb put-resource-policy",
                resource_arn=target_arn,
                policy=f"'{policy}'",
            ),
        )
    raise AssertionError(f"no way to apply {setting}")  # ORDER and the branches agree
