"""The export monitor Lambda against the real local endpoint: it follows exports with
DescribeExport and fills the manifest until the backup is COMPLETE (or PARTIAL)."""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from dynamodb_dr.errors import BackupNotFoundError
from local_aws import export_layout
from local_aws.lambda_context import LocalLambdaContext

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
BUCKET = "dr-monitor-backups"
DATE = "2026-11-20"  # the UTC date of both sample events' "time"
MANIFEST_KEY = f"native-exports/{DATE}/manifest.json"
ITEMS = {"orders": 23, "events": 9, "inventory": 5}
SERVICE = "dynamodb-dr-export-monitor"

_handlers: dict[str, Any] = {}


def load_handler(name: str):
    """``lambdas/<name>/handler.py`` imported from its file, as the Lambda runtime does."""
    if name not in _handlers:
        spec = importlib.util.spec_from_file_location(
            f"{name}_handler", ROOT / "lambdas" / name / "handler.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handlers[name] = module.lambda_handler
    return _handlers[name]


def event(name: str, **changes: Any) -> dict:
    return {**json.loads((EVENTS / name).read_text()), **changes}


def export_backup(evt: dict) -> dict:
    return load_handler("export_backup")(evt, LocalLambdaContext(function_name="dr-test-export-backup"))


def monitor(evt: dict) -> dict:
    return load_handler("export_monitor")(evt, LocalLambdaContext(function_name="dr-test-export-monitor"))


@pytest.fixture
def tables(aws, monkeypatch) -> dict[str, int]:
    """Three tables with PITR and a known number of items each; the Lambdas' environment."""
    ddb = boto3.client("dynamodb")
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="inventory",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2},
    )
    for i in range(23):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"o{i}"}, "n": {"N": str(i)}})
    for i in range(9):
        ddb.put_item(
            TableName="events",
            Item={"pk": {"S": "u"}, "sk": {"N": str(i)}, "m": {"M": {"x": {"BOOL": True}}}},
        )
    for i in range(5):
        ddb.put_item(TableName="inventory", Item={"sku": {"S": f"sku-{i}"}, "qty": {"N": "1"}})
    for name in ("orders", "events", "inventory"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("DYNAMODB_TABLES", json.dumps(["orders", "events", "inventory"]))
    monkeypatch.delenv("S3_EXPORTS_PREFIX", raising=False)
    # The items, counted from the tables themselves (not from what the test meant to put).
    return {
        name: ddb.scan(TableName=name, Select="COUNT")["Count"] for name in ("orders", "events", "inventory")
    }


def read_manifest(key: str = MANIFEST_KEY) -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def wait_until_finished(body: dict, timeout: float = 20.0) -> None:
    ddb = boto3.client("dynamodb")
    arns = [t["export_arn"] for t in body["tables"].values() if t["export_arn"]]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            ddb.describe_export(ExportArn=a)["ExportDescription"]["ExportStatus"] != "IN_PROGRESS"
            for a in arns
        ):
            return
        time.sleep(0.1)
    raise AssertionError("exports did not finish")


def change_lines(caplog) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == SERVICE and r.getMessage() == "table export status changed"
    ]


def test_monitor_follows_exports_until_the_backup_is_complete(tables, caplog):
    assert tables == ITEMS
    export_layout.configure(delay_seconds=2.0, items_per_file=4)
    started = export_backup(event("scheduled_event.json"))
    assert started["statusCode"] == 200

    with caplog.at_level(logging.INFO):
        first = monitor(event("monitor_event.json"))
    assert first["statusCode"] == 200
    body = first["body"]
    assert body["backup_date"] == DATE
    assert body["backup_status"] == "IN_PROGRESS"
    assert body["pending_tables"] == ["events", "inventory", "orders"]
    assert read_manifest()["status"] == "IN_PROGRESS"
    assert change_lines(caplog) == []  # nothing changed yet

    wait_until_finished(started["body"])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        second = monitor(event("monitor_event.json"))

    assert second["statusCode"] == 200
    body = second["body"]
    assert body["backup_status"] == "COMPLETE"
    assert body["pending_tables"] == []
    assert body["successful_exports"] == 3 and body["failed_exports"] == 0
    assert body["total_items_exported"] == sum(ITEMS.values())
    assert body["total_size_mb"] > 0

    s3 = boto3.client("s3")
    manifest = read_manifest()
    assert manifest["status"] == "COMPLETE"
    assert manifest["total_items"] == sum(ITEMS.values())
    for name, count in ITEMS.items():
        entry = manifest["tables"][name]
        assert entry["status"] == "COMPLETED"
        assert entry["item_count"] == count
        assert entry["billed_size_bytes"] > 0
        assert entry["start_time"] and entry["end_time"] and entry["export_time"]
        assert entry["failure_code"] is None and entry["failure_message"] is None
        export_id = entry["export_arn"].rsplit("/", 1)[1]
        base = f"native-exports/{DATE}/{name}/AWSDynamoDB/{export_id}"
        assert entry["export_manifest_key"] == f"{base}/manifest-summary.json"
        assert entry["manifest_files_key"] == f"{base}/manifest-files.json"
        # manifest_files_key names a real manifest-files.json whose data files hold every item.
        lines = s3.get_object(Bucket=BUCKET, Key=entry["manifest_files_key"])["Body"].read().splitlines()
        files = [json.loads(line) for line in lines]
        assert sum(f["itemCount"] for f in files) == count
        for f in files:
            s3.head_object(Bucket=BUCKET, Key=f["dataFileS3Key"])

    changes = {r.table_name: r for r in change_lines(caplog)}
    assert set(changes) == set(ITEMS)  # one line per table state change
    assert all(r.previous_status == "IN_PROGRESS" and r.status == "COMPLETED" for r in changes.values())
    assert changes["orders"].item_count == ITEMS["orders"]

    # A further run has nothing to do and changes nothing.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        third = monitor(event("monitor_event.json"))
    assert third["body"]["backup_status"] == "COMPLETE" and change_lines(caplog) == []
    assert read_manifest()["updated_at"] == manifest["updated_at"]


def test_failed_export_is_recorded_and_the_backup_is_partial(tables):
    export_layout.configure(fail_tables={"events"})
    started = export_backup(event("scheduled_event.json"))
    wait_until_finished(started["body"])

    result = monitor(event("monitor_event.json"))

    assert result["statusCode"] == 207
    body = result["body"]
    assert body["backup_status"] == "PARTIAL"
    assert body["successful_exports"] == 2 and body["failed_exports"] == 1
    assert body["total_items_exported"] == ITEMS["orders"] + ITEMS["inventory"]
    assert body["tables"]["events"]["status"] == "FAILED"
    assert body["tables"]["events"]["error"].startswith("UNKNOWN: the export ended FAILED: Export failed")
    entry = read_manifest()["tables"]["events"]
    assert entry["status"] == "FAILED" and entry["failure_code"] == "UNKNOWN"
    assert "re-invoke the export Lambda" in entry["failure_message"]
    assert read_manifest()["status"] == "PARTIAL"

    # Re-invoking the export Lambda starts a new export for the failed table only.
    ddb = boto3.client("dynamodb")
    export_layout.configure(fail_tables=set())
    again = export_backup(event("scheduled_event.json"))
    wait_until_finished(again["body"])
    counts = {
        n: len(
            ddb.list_exports(TableArn=ddb.describe_table(TableName=n)["Table"]["TableArn"])["ExportSummaries"]
        )
        for n in ITEMS
    }
    assert counts == {"orders": 1, "events": 2, "inventory": 1}
    final = monitor(event("monitor_event.json"))
    assert final["statusCode"] == 200 and final["body"]["backup_status"] == "COMPLETE"
    assert read_manifest()["tables"]["events"]["item_count"] == ITEMS["events"]


def test_explicit_date_and_a_date_without_a_manifest(tables):
    started = export_backup({"backup_date": "2026-03-01"})
    wait_until_finished(started["body"])

    result = monitor({"backup_date": "2026-03-01"})
    assert result["statusCode"] == 200
    assert result["body"]["backup_date"] == "2026-03-01"
    assert result["body"]["backup_status"] == "COMPLETE"
    assert read_manifest("native-exports/2026-03-01/manifest.json")["total_items"] == sum(ITEMS.values())

    with pytest.raises(BackupNotFoundError) as missing:
        monitor({"backup_date": "2026-03-02"})
    message = str(missing.value)
    assert f"s3://{BUCKET}/native-exports/2026-03-02/manifest.json does not exist" in message
    assert f"aws s3 ls s3://{BUCKET}/native-exports/" in message


def test_scheduled_run_after_midnight_finishes_yesterdays_backup(tables):
    export_layout.configure(delay_seconds=1.0)
    started = export_backup(event("scheduled_event.json", time="2026-11-19T23:58:00Z"))
    assert started["body"]["backup_date"] == "2026-11-19"
    assert read_manifest("native-exports/2026-11-19/manifest.json")["status"] == "IN_PROGRESS"
    wait_until_finished(started["body"])

    result = monitor(event("monitor_event.json", time="2026-11-20T00:05:00Z"))

    # Today's export has not run yet: not an error on a schedule, and said so.
    assert result["statusCode"] == 404
    assert result["body"]["backup_status"] == "NOT_FOUND"
    assert "native-exports/2026-11-20/manifest.json does not exist" in result["body"]["message"]
    previous = result["body"]["previous_day"]
    assert previous["statusCode"] == 200
    assert previous["body"]["backup_date"] == "2026-11-19"
    assert previous["body"]["backup_status"] == "COMPLETE"
    assert read_manifest("native-exports/2026-11-19/manifest.json")["status"] == "COMPLETE"


def test_monitor_configuration_error_is_raised(tables, monkeypatch):
    monkeypatch.setenv("DYNAMODB_TABLES", "[]")
    from dynamodb_dr.errors import ConfigError

    with pytest.raises(ConfigError, match="DYNAMODB_TABLES must be a non-empty JSON array"):
        monitor(event("monitor_event.json"))


def test_export_dynamodb_does_not_know_ends_failed_with_what_to_do(tables):
    started = export_backup(event("scheduled_event.json"))
    wait_until_finished(started["body"])
    # The manifest names an export DynamoDB has never heard of (hand-edited, or older than 90 days).
    s3 = boto3.client("s3")
    manifest = read_manifest()
    unknown = manifest["tables"]["orders"]["export_arn"].rsplit("/", 1)[0] + "/01700000000000-deadbeef"
    manifest["tables"]["orders"]["export_arn"] = unknown
    # Still being followed: the export Lambda may have seen the (instant) local export finish already.
    manifest["tables"]["orders"]["status"] = "IN_PROGRESS"
    s3.put_object(Bucket=BUCKET, Key=MANIFEST_KEY, Body=json.dumps(manifest).encode())

    result = monitor(event("monitor_event.json"))

    assert result["statusCode"] == 207
    assert result["body"]["backup_status"] == "PARTIAL"
    entry = read_manifest()["tables"]["orders"]
    assert entry["status"] == "FAILED" and entry["failure_code"] == "ExportNotFoundException"
    assert unknown in entry["failure_message"] and "Re-invoke the export Lambda" in entry["failure_message"]
    assert read_manifest()["tables"]["events"]["status"] == "COMPLETED"
