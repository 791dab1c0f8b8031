"""Restores from ION exports: the local endpoint writes them in AWS's layout (``.ion.gz`` data files,
``outputFormat: ION``), the restore reads them through the same checks and writer as DYNAMODB_JSON,
and the table it writes equals the one restored from a DYNAMODB_JSON export of the same items.

Runs the real restore stages on threads (``ThreadRunner``: the same task functions as on Spark)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import ConfigError
from dynamodb_dr.export.backup import run_backup
from dynamodb_dr.export.monitor import monitor_backup
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.job import run_restore
from dynamodb_dr.restore.report import RestoreReport
from dynamodb_dr.restore.runner import ThreadRunner
from local_aws import export_layout
from tests.support.backups import create_table, data_files, make_backup, put_items, replace_data_file
from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS, every_type_item, large_item, scan_all

BUCKET = "ion-backups"
JSON_DAY, ION_DAY = "2026-01-15", "2026-01-16"


def exact(value: Any) -> Any:
    """Items with numbers as (sign, digits, exponent): DynamoDB stores a number, not its text, and
    the local endpoint keeps the text it was given ("0.000001" from one export, "1E-6" from the other)."""
    if isinstance(value, dict):
        if set(value) == {"N"}:
            return {"N": Decimal(value["N"]).as_tuple()}
        if set(value) == {"NS"}:
            return {"NS": sorted(Decimal(n).as_tuple() for n in value["NS"])}
        if set(value) in ({"SS"}, {"BS"}):
            return {k: sorted(v) for k, v in value.items()}
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


def restore(ddb: Any, s3: Any, date: str, target: str) -> RestoreReport:
    args = parse_args(
        [
            "--backup_date", date, "--BACKUP_BUCKET", BUCKET,
            "--target_tables", f"users:{target}", "--create_missing_tables", "true",
        ]
    )  # fmt: skip
    return run_restore(args, s3=s3, dynamodb=ddb, runner=ThreadRunner(2), progress_seconds=0.2)


@pytest.fixture
def exports(aws):
    export_layout.configure(items_per_file=3, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    items = [every_type_item(f"u{i}") for i in range(6)]
    items += [large_item("u-big"), every_type_item("u-long", text={"S": "ü" * 20_000})]
    put_items(ddb, "users", items)
    as_json = make_backup(ddb, s3, BUCKET, ["users"], JSON_DAY)
    as_ion = make_backup(ddb, s3, BUCKET, ["users"], ION_DAY, export_format="ION")
    return ddb, s3, as_json, as_ion


def test_ion_export_restores_equal_to_the_dynamodb_json_export(exports):
    ddb, s3, _, as_ion = exports
    original = scan_all(ddb, "users")
    files = data_files(s3, BUCKET, as_ion.tables["users"])
    summary = json.loads(
        s3.get_object(Bucket=BUCKET, Key=as_ion.tables["users"].export_manifest_key)["Body"].read()
    )
    assert summary["outputFormat"] == "ION" and len(files) == 4
    assert all(f["dataFileS3Key"].endswith(".ion.gz") for f in files)
    first = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=files[0]["dataFileS3Key"])["Body"].read())
    assert first.startswith(b"$ion_1_0 {Item:{")

    from_json = restore(ddb, s3, JSON_DAY, "users_from_json")
    from_ion = restore(ddb, s3, ION_DAY, "users_from_ion")

    assert from_json.ok and from_ion.ok, (from_json.to_json(), from_ion.to_json())
    assert from_ion.tables["users"].items_written == 8
    restored_json, restored_ion = scan_all(ddb, "users_from_json"), scan_all(ddb, "users_from_ion")
    assert sorted(restored_ion) == sorted(restored_json) == sorted(original)
    for key, item in original.items():
        assert exact(restored_ion[key]) == exact(restored_json[key]) == exact(item), key


def test_an_ion_line_that_is_no_dynamodb_item_fails_the_table_before_any_write(exports):
    ddb, s3, _, as_ion = exports
    backup = as_ion.tables["users"]
    key = data_files(s3, BUCKET, backup)[0]["dataFileS3Key"]
    lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines(keepends=True)
    lines[1] = b'$ion_1_0 {Item:{pk:"u-time",when:2026-01-15T00:00:00Z}}\n'
    replace_data_file(s3, BUCKET, key, gzip.compress(b"".join(lines)), backup.manifest_files_key or "")

    report = restore(ddb, s3, ION_DAY, "users_never")

    result = report.tables["users"]
    assert result.status == "FAILED" and result.items_written == 0
    assert any("line 2" in e and "timestamp" in e for e in result.errors), result.errors
    assert "users_never" not in ddb.list_tables()["TableNames"]


def test_export_format_ion_makes_the_export_lambda_write_ion_that_restores(aws):
    """``EXPORT_FORMAT=ION``: the export side (``run_backup``, the export Lambda's one call) asks
    DynamoDB for ION exports; the restore of that backup gives back every item."""
    export_layout.configure(items_per_file=3, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    ddb.update_continuous_backups(
        TableName="users", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    put_items(ddb, "users", [every_type_item(f"u{i}") for i in range(5)])
    original = scan_all(ddb, "users")
    env = {"BACKUP_BUCKET": BUCKET, "ENVIRONMENT": "test", "DYNAMODB_TABLES": '["users"]'}
    with pytest.raises(
        ConfigError, match=r"EXPORT_FORMAT='CSV' is not an export format; expected DYNAMODB_JSON or ION"
    ):
        BackupSettings.from_env({**env, "EXPORT_FORMAT": "CSV"})
    assert BackupSettings.from_env(env).export_format == "DYNAMODB_JSON"

    settings = BackupSettings.from_env({**env, "EXPORT_FORMAT": "ION"})
    started = run_backup(ddb, s3, settings, ION_DAY)
    manifest = monitor_backup(ddb, s3, settings, ION_DAY)  # the monitor's one call: the backup COMPLETE

    export = ddb.describe_export(ExportArn=started.tables["users"].export_arn)["ExportDescription"]
    assert export["ExportFormat"] == "ION" and manifest.status == "COMPLETE"
    report = restore(ddb, s3, "latest", "users_restored")
    assert report.ok and report.backup_date == ION_DAY, report.to_json()
    restored = scan_all(ddb, "users_restored")
    assert sorted(restored) == sorted(original)
    assert all(exact(restored[k]) == exact(v) for k, v in original.items())
