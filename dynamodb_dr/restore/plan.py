"""Resolve the backup to restore and check every restore target BEFORE anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_missing_table
from dynamodb_dr.backup_manifest import (
    COMPLETED,
    StoredManifest,
    TableBackup,
    find_latest_complete,
    read_manifest,
)
from dynamodb_dr.errors import ConfigError, ManifestError, TargetTableError
from dynamodb_dr.restore.args import LATEST, RestoreArgs
from dynamodb_dr.restore.item_rules import ItemRules
from dynamodb_dr.tables import describe_key_schema, key_schema_signature

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class TableSelection:
    source: str
    target: str
    backup: TableBackup


@dataclass(frozen=True)
class TargetState:
    exists: bool
    """False: the target is missing and will be created (``--create_missing_tables``)."""
    key_names: tuple[str, ...]
    rules: ItemRules
    """What DynamoDB will check on every item written to it: the live target's keys and indexes, or
    the recorded definition's when it is to be created."""


def resolve_backup(s3: S3Client, args: RestoreArgs, *, warnings: list[str] | None = None) -> StoredManifest:
    """The manifest of the date asked for, or for ``latest`` the newest readable COMPLETE one (each
    unreadable manifest passed over is named in ``warnings``)."""
    if args.backup_date == LATEST:
        return find_latest_complete(s3, args.backup_bucket, args.exports_prefix, skipped=warnings)
    return read_manifest(s3, args.backup_bucket, args.exports_prefix, args.backup_date)


def select_tables(
    manifest_tables: dict[str, TableBackup], args: RestoreArgs, backup_date: str
) -> list[TableSelection]:
    """The (source, target) pairs to restore. Only tables in the backup can be restored."""
    available = sorted(manifest_tables)
    wanted = list(args.tables) if args.tables is not None else available
    unknown = [t for t in wanted if t not in manifest_tables]
    unknown += [s for s, _ in args.target_tables if s not in manifest_tables and s not in unknown]
    if unknown:
        raise ConfigError(
            f"table(s) {', '.join(unknown)} are not in the backup of {backup_date}; it holds: "
            f"{', '.join(available) or '(no tables)'}. Fix --tables / --target_tables."
        )
    selections = [TableSelection(s, args.target_for(s), manifest_tables[s]) for s in wanted]
    targets = [s.target for s in selections]
    clashes = sorted({t for t in targets if targets.count(t) > 1})
    if clashes:
        raise ConfigError(
            f"more than one source table would be restored into {', '.join(clashes)}; give each source its own "
            "target with --target_tables"
        )
    return selections


def check_backup(selection: TableSelection) -> dict[str, Any]:
    """The table's recorded definition, if its export finished and is usable."""
    backup = selection.backup
    if backup.status != COMPLETED or not backup.export_manifest_key:
        detail = f" ({backup.failure_code}: {backup.failure_message})" if backup.failure_code else ""
        raise ManifestError(
            f"the backup of table {selection.source} has export status {backup.status}{detail}, so it cannot be "
            "restored; restore another backup date or leave this table out with --tables"
        )
    if not backup.table_definition or "KeySchema" not in backup.table_definition:
        raise ManifestError(
            f"the backup of table {selection.source} has no recorded table definition, so the target's key "
            "schema cannot be checked; restore another backup date"
        )
    return backup.table_definition


def _describe(dynamodb: DynamoDBClient, table: str) -> Mapping[str, Any] | None:
    try:
        return dynamodb.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if is_missing_table(exc):
            return None
        raise


def check_target(
    dynamodb: DynamoDBClient, selection: TableSelection, definition: dict[str, Any], *, create_missing: bool
) -> TargetState:
    """The target must exist, be ACTIVE and have the recorded key schema (or be missing and
    ``create_missing``). Anything else is a TargetTableError naming the fix."""
    expected = key_schema_signature(definition["KeySchema"], definition["AttributeDefinitions"])
    key_names = tuple(k["AttributeName"] for k in definition["KeySchema"])
    table = _describe(dynamodb, selection.target)
    if table is None:
        if create_missing:
            return TargetState(exists=False, key_names=key_names, rules=ItemRules.from_table(definition))
        raise TargetTableError(
            f"target table {selection.target} (restore of {selection.source}) does not exist; create it with key "
            f"schema {describe_key_schema(expected)}, or pass --create_missing_tables true"
        )
    status = table.get("TableStatus")
    if status != "ACTIVE":
        raise TargetTableError(
            f"target table {selection.target} is {status}, not ACTIVE; wait until it is ACTIVE and run the restore again"
        )
    actual = key_schema_signature(table["KeySchema"], table["AttributeDefinitions"])
    if actual != expected:
        raise TargetTableError(
            f"target table {selection.target} has key schema {describe_key_schema(actual)} but the backup of "
            f"{selection.source} has {describe_key_schema(expected)}; restore into a table with the backup's keys "
            "(e.g. --target_tables with --create_missing_tables)"
        )
    return TargetState(exists=True, key_names=key_names, rules=ItemRules.from_table(table))
