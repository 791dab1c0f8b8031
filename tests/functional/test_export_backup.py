"""The export Lambda against the real local endpoint: exports started, manifest written, failures
recorded per table, re-invocations idempotent."""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import ConfigError
from dynamodb_dr.export.backup import InvalidEventError, backup_response, run_backup
from local_aws import export_layout
from local_aws.lambda_context import LocalLambdaContext

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
BUCKET = "dr-test-backups"
DATE = "2026-11-20"  # the UTC date of tests/events/scheduled_event.json's "time"
MANIFEST_KEY = f"native-exports/{DATE}/manifest.json"
BODY_KEYS = {
    "backup_date", "environment", "backup_type", "total_tables_processed", "successful_exports",
    "failed_exports", "total_items_exported", "total_size_mb", "manifest_s3_key", "s3_bucket",
    "tables", "backup_status",
}  # fmt: skip

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


def scheduled_event() -> dict:
    return json.loads((EVENTS / "scheduled_event.json").read_text())


def invoke(event: dict) -> dict:
    return load_handler("export_backup")(event, LocalLambdaContext(function_name="dr-test-export-backup"))


# --- tables ---------------------------------------------------------------------------------------

PK_S = [{"AttributeName": "pk", "AttributeType": "S"}]


def create_tables(ddb) -> dict[str, int]:
    """Three tables (hash-only on demand; hash+range with a GSI and an LSI; provisioned), PITR on,
    items in each. Returns the number of items put per table."""
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=PK_S,
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "kind", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [
                    {"AttributeName": "kind", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-time",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    ddb.create_table(
        TableName="inventory",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "B"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
    )
    counts = {"orders": 11, "events": 7, "inventory": 4}
    for i in range(counts["orders"]):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"order-{i}"}, "total": {"N": str(i * 10)}})
    for i in range(counts["events"]):
        ddb.put_item(
            TableName="events",
            Item={
                "pk": {"S": "user-1"},
                "sk": {"N": str(i)},
                "kind": {"S": "click"},
                "at": {"S": f"T{i:02d}"},
            },
        )
    for i in range(counts["inventory"]):
        ddb.put_item(TableName="inventory", Item={"sku": {"B": bytes([i, 255])}, "tags": {"SS": ["a", "b"]}})
    for table in counts:
        enable_pitr(ddb, table)
    return counts


def enable_pitr(ddb, table: str) -> None:
    ddb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def hash_only_table(ddb, name: str, *, pitr: bool = True) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=PK_S,
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "only"}})
    if pitr:
        enable_pitr(ddb, name)


@pytest.fixture
def env(aws, monkeypatch):
    """The export Lambda's environment, as Terraform sets it, and an empty backup bucket."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("DYNAMODB_TABLES", json.dumps(["orders", "events", "inventory"]))
    monkeypatch.delenv("S3_EXPORTS_PREFIX", raising=False)
    return monkeypatch


def read_manifest(key: str = MANIFEST_KEY) -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def exports_of(ddb, table: str) -> list[dict]:
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    return ddb.list_exports(TableArn=arn)["ExportSummaries"]


def wait_for_exports(ddb, arns: list[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [ddb.describe_export(ExportArn=a)["ExportDescription"]["ExportStatus"] for a in arns]
        if all(s != "IN_PROGRESS" for s in statuses):
            return
        time.sleep(0.1)
    raise AssertionError("exports did not finish")


# --- tests --------------------------------------------------------------------------------------


def test_scheduled_event_starts_one_export_per_table_and_writes_the_manifest(env):
    export_layout.configure(delay_seconds=1.5)  # exports stay IN_PROGRESS while the Lambda runs
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    create_tables(ddb)

    result = invoke(scheduled_event())

    assert result["statusCode"] == 200
    body = result["body"]
    assert isinstance(body, dict) and set(body) == BODY_KEYS
    assert body["backup_date"] == DATE
    assert body["environment"] == "test"
    assert body["backup_type"] == "DYNAMODB_NATIVE_EXPORT"
    assert body["total_tables_processed"] == 3
    assert body["successful_exports"] == 3 and body["failed_exports"] == 0
    assert body["manifest_s3_key"] == MANIFEST_KEY
    assert body["s3_bucket"] == BUCKET
    # The Lambda does not wait: what it knows is what ExportTableToPointInTime answered.
    assert body["backup_status"] == "IN_PROGRESS"
    assert body["total_items_exported"] == 0 and body["total_size_mb"] == 0
    assert set(body["tables"]) == {"orders", "events", "inventory"}

    manifest = read_manifest()
    assert manifest["schema_version"] == 1
    assert manifest["backup_type"] == "DYNAMODB_NATIVE_EXPORT"
    assert manifest["backup_date"] == DATE and manifest["environment"] == "test"
    assert manifest["s3_bucket"] == BUCKET and manifest["s3_prefix"] == "native-exports"
    assert manifest["status"] == "IN_PROGRESS"

    for name in ("orders", "events", "inventory"):
        described = ddb.describe_table(TableName=name)["Table"]
        entry = manifest["tables"][name]
        assert entry["status"] == "IN_PROGRESS"
        assert entry["table_arn"] == described["TableArn"]
        assert entry["export_arn"] == body["tables"][name]["export_arn"]
        assert body["tables"][name] == {
            "status": "IN_PROGRESS",
            "export_arn": entry["export_arn"],
            "error": None,
        }
        assert entry["export_s3_prefix"] == f"native-exports/{DATE}/{name}"
        assert len(entry["client_token"]) == 64
        definition = entry["table_definition"]
        assert definition["KeySchema"] == described["KeySchema"]
        assert sorted(definition["AttributeDefinitions"], key=str) == sorted(
            described["AttributeDefinitions"], key=str
        )

        export = ddb.describe_export(ExportArn=entry["export_arn"])["ExportDescription"]
        assert export["S3Bucket"] == BUCKET
        assert export["S3Prefix"] == f"native-exports/{DATE}/{name}"
        assert export["ExportFormat"] == "DYNAMODB_JSON"
        assert export["TableArn"] == described["TableArn"]
        assert export["ClientToken"] == entry["client_token"]
        assert len(exports_of(ddb, name)) == 1

    tables = manifest["tables"]
    assert tables["orders"]["table_definition"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "GlobalSecondaryIndexes" not in tables["orders"]["table_definition"]

    events = ddb.describe_table(TableName="events")["Table"]
    events_def = tables["events"]["table_definition"]
    assert [g["IndexName"] for g in events_def["GlobalSecondaryIndexes"]] == ["by-kind"]
    assert (
        events_def["GlobalSecondaryIndexes"][0]["KeySchema"]
        == events["GlobalSecondaryIndexes"][0]["KeySchema"]
    )
    assert (
        events_def["GlobalSecondaryIndexes"][0]["Projection"]
        == events["GlobalSecondaryIndexes"][0]["Projection"]
    )
    assert [i["IndexName"] for i in events_def["LocalSecondaryIndexes"]] == ["by-time"]
    assert (
        events_def["LocalSecondaryIndexes"][0]["KeySchema"] == events["LocalSecondaryIndexes"][0]["KeySchema"]
    )
    assert events_def["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "KEYS_ONLY"}

    inventory = ddb.describe_table(TableName="inventory")["Table"]
    inventory_def = tables["inventory"]["table_definition"]
    assert inventory_def["BillingMode"] == "PROVISIONED"
    assert (
        inventory_def["ProvisionedThroughput"]
        == {
            "ReadCapacityUnits": inventory["ProvisionedThroughput"]["ReadCapacityUnits"],
            "WriteCapacityUnits": inventory["ProvisionedThroughput"]["WriteCapacityUnits"],
        }
        == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}
    )

    # The exports land under {prefix}/{date}/{table}/AWSDynamoDB/<ExportId>/.
    wait_for_exports(ddb, [t["export_arn"] for t in tables.values()])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"native-exports/{DATE}/")["Contents"]]
    for name, entry in tables.items():
        export_id = entry["export_arn"].rsplit("/", 1)[1]
        assert f"native-exports/{DATE}/{name}/AWSDynamoDB/{export_id}/manifest-summary.json" in keys
    assert {k.split("/")[2] for k in keys} == {"manifest.json", "orders", "events", "inventory"}


def test_backup_date_from_the_event_or_explicit(env):
    ddb = boto3.client("dynamodb")
    hash_only_table(ddb, "orders")
    env.setenv("DYNAMODB_TABLES", '["orders"]')

    late = {**scheduled_event(), "time": "2026-11-20T23:59:59+00:00"}
    assert invoke(late)["body"]["backup_date"] == "2026-11-20"
    explicit = invoke({"backup_date": "2026-02-28"})
    assert explicit["statusCode"] == 200
    assert explicit["body"]["manifest_s3_key"] == "native-exports/2026-02-28/manifest.json"
    assert read_manifest("native-exports/2026-02-28/manifest.json")["backup_date"] == "2026-02-28"
    prefixes = sorted(
        ddb.describe_export(ExportArn=e["ExportArn"])["ExportDescription"]["S3Prefix"]
        for e in exports_of(ddb, "orders")
    )
    assert prefixes == ["native-exports/2026-02-28/orders", "native-exports/2026-11-20/orders"]

    with pytest.raises(InvalidEventError, match=r"2026-02-30.*not a real calendar date"):
        invoke({"backup_date": "2026-02-30"})
    with pytest.raises(InvalidEventError, match=r"time='yesterday'.*ISO 8601"):
        invoke({**scheduled_event(), "time": "yesterday"})


def test_table_without_pitr_and_missing_table_fail_alone_with_actionable_messages(env):
    ddb = boto3.client("dynamodb")
    hash_only_table(ddb, "orders")
    hash_only_table(ddb, "no-pitr", pitr=False)
    env.setenv("DYNAMODB_TABLES", json.dumps(["orders", "no-pitr", "ghost"]))

    result = invoke(scheduled_event())

    assert result["statusCode"] == 207
    body = result["body"]
    assert body["total_tables_processed"] == 3
    assert body["successful_exports"] == 1 and body["failed_exports"] == 2
    assert body["tables"]["orders"]["status"] in ("IN_PROGRESS", "COMPLETED")
    assert body["tables"]["orders"]["error"] is None
    assert "aws dynamodb update-continuous-backups --table-name no-pitr" in body["tables"]["no-pitr"]["error"]
    assert "PointInTimeRecoveryEnabled=true" in body["tables"]["no-pitr"]["error"]
    assert "ghost does not exist" in body["tables"]["ghost"]["error"]
    assert "DYNAMODB_TABLES" in body["tables"]["ghost"]["error"]

    manifest = read_manifest()
    assert manifest["tables"]["orders"]["export_arn"].startswith("arn:aws:dynamodb:")
    no_pitr = manifest["tables"]["no-pitr"]
    assert no_pitr["status"] == "NOT_STARTED" and no_pitr["export_arn"] is None
    assert no_pitr["failure_code"] == "PointInTimeRecoveryUnavailableException"
    assert "update-continuous-backups --table-name no-pitr" in no_pitr["failure_message"]
    assert no_pitr["table_definition"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    ghost = manifest["tables"]["ghost"]
    assert ghost["status"] == "NOT_STARTED"
    assert ghost["failure_code"] == "ResourceNotFoundException"
    assert ghost["table_definition"] is None
    assert len(exports_of(ddb, "orders")) == 1 and exports_of(ddb, "no-pitr") == []

    # After the fix, a re-invocation the same day exports only the table that had failed.
    enable_pitr(ddb, "no-pitr")
    again = invoke(scheduled_event())
    assert again["statusCode"] == 207  # ghost still missing
    assert again["body"]["tables"]["no-pitr"]["status"] in ("IN_PROGRESS", "COMPLETED")
    assert again["body"]["tables"]["orders"]["export_arn"] == manifest["tables"]["orders"]["export_arn"]
    assert len(exports_of(ddb, "orders")) == 1 and len(exports_of(ddb, "no-pitr")) == 1
    assert read_manifest()["tables"]["no-pitr"]["failure_code"] is None


def test_all_tables_failing_answers_500(env):
    ddb = boto3.client("dynamodb")
    hash_only_table(ddb, "no-pitr", pitr=False)
    env.setenv("DYNAMODB_TABLES", json.dumps(["no-pitr", "ghost"]))

    result = invoke(scheduled_event())

    assert result["statusCode"] == 500
    assert result["body"]["successful_exports"] == 0 and result["body"]["failed_exports"] == 2
    assert result["body"]["backup_status"] == "FAILED"
    assert read_manifest()["status"] == "FAILED"


def test_reinvocation_the_same_day_starts_no_second_export(env, aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    create_tables(ddb)

    first = invoke(scheduled_event())
    manifest_after_first = read_manifest()
    proxy = FaultyDynamoDB(aws.endpoint_url)  # counts the second run's DynamoDB calls
    env.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    try:
        second = invoke(scheduled_event())
    finally:
        proxy.close()
        env.delenv("AWS_ENDPOINT_URL_DYNAMODB")

    assert first["statusCode"] == second["statusCode"] == 200
    # Tables whose export the manifest records are not even asked again.
    assert [call for call in proxy.calls if call[0] == "ExportTableToPointInTime"] == []
    for name in ("orders", "events", "inventory"):
        assert len(exports_of(ddb, name)) == 1
        assert second["body"]["tables"][name]["export_arn"] == first["body"]["tables"][name]["export_arn"]
    manifest = read_manifest()
    assert {n: t["export_arn"] for n, t in manifest["tables"].items()} == {
        n: t["export_arn"] for n, t in manifest_after_first["tables"].items()
    }
    assert manifest["created_at"] == manifest_after_first["created_at"]

    # Even when the manifest is lost between two runs, the ClientToken stops a second export.
    s3.delete_object(Bucket=BUCKET, Key=MANIFEST_KEY)
    third = invoke(scheduled_event())
    assert third["statusCode"] == 200
    for name in ("orders", "events", "inventory"):
        assert len(exports_of(ddb, name)) == 1
        assert read_manifest()["tables"][name]["export_arn"] == first["body"]["tables"][name]["export_arn"]


def test_missing_configuration_is_logged_and_raised_not_a_200(env, caplog):
    env.delenv("BACKUP_BUCKET")
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError, match="BACKUP_BUCKET is missing"):
        invoke(scheduled_event())
    logged = [
        r for r in caplog.records if r.name == "dynamodb-dr-export-backup" and r.levelno == logging.ERROR
    ]
    assert logged and "BACKUP_BUCKET" in logged[0].error

    env.setenv("BACKUP_BUCKET", BUCKET)
    env.setenv("DYNAMODB_TABLES", "orders, users")
    with pytest.raises(ConfigError, match="DYNAMODB_TABLES is not valid JSON"):
        invoke(scheduled_event())


# --- throttling and other errors, from a real HTTP endpoint ------------------------------------


class FaultyDynamoDB:
    """A real HTTP endpoint in front of the local one. It counts and forwards every DynamoDB request,
    except that it answers ExportTableToPointInTime for the chosen tables with a DynamoDB error, as AWS does when
    it throttles or denies. The local emulator never throttles, so this is how the export Lambda's
    handling of a throttled call (after botocore's own retries) is exercised over the wire."""

    def __init__(self, upstream: str, faults: dict[str, tuple[int, str, str]] | None = None) -> None:
        self.upstream = upstream
        self.faults = faults or {}
        self.refused: dict[str, int] = {}
        self.calls: dict[tuple[str, str], int] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                action = target.rsplit(".", 1)[-1]
                request = json.loads(body or b"{}")
                table = request.get("TableName") or request.get("TableArn", "").rsplit("/", 1)[-1]
                proxy.calls[action, table] = proxy.calls.get((action, table), 0) + 1
                if action == "ExportTableToPointInTime" and table in proxy.faults:
                    proxy.refused[table] = proxy.refused.get(table, 0) + 1
                    status, code, message = proxy.faults[table]
                    payload = json.dumps(
                        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
                    )
                    self._answer(status, {"Content-Type": "application/x-amz-json-1.0"}, payload.encode())
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                upstream = requests.post(proxy.upstream + self.path, data=body, headers=headers, timeout=30)
                keep = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "x-amz-crc32",
                                                                                 "x-amzn-requestid")}  # fmt: skip
                self._answer(upstream.status_code, keep, upstream.content)

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_throttled_and_denied_tables_fail_alone_after_the_clients_retries(env, aws):
    ddb = boto3.client("dynamodb")
    for name in ("orders", "hot-table", "locked-table"):
        hash_only_table(ddb, name)
    proxy = FaultyDynamoDB(
        aws.endpoint_url,
        {
            "hot-table": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
            "locked-table": (
                400,
                "AccessDeniedException",
                "not authorized to perform: dynamodb:ExportTableToPointInTime",
            ),
        },
    )
    env.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    try:
        settings = BackupSettings(
            backup_bucket=BUCKET, environment="test", tables=("orders", "hot-table", "locked-table")
        )
        # The same factory as the Lambda, with fewer retries so the test does not wait a minute.
        dynamodb = make_client(
            "dynamodb", config=client_config(retries={"mode": "standard", "max_attempts": 3})
        )
        manifest = run_backup(dynamodb, make_client("s3"), settings, DATE)
    finally:
        proxy.close()

    assert proxy.refused["hot-table"] == 4  # the call and botocore's 3 retries (max_attempts counts retries)
    assert proxy.refused["locked-table"] == 1  # access denied is not retried
    assert backup_response(manifest)["statusCode"] == 207
    stored = read_manifest()
    assert stored["tables"]["orders"]["status"] in ("IN_PROGRESS", "COMPLETED")
    hot = stored["tables"]["hot-table"]
    assert hot["status"] == "NOT_STARTED" and hot["failure_code"] == "ThrottlingException"
    assert "Re-invoke the export Lambda later" in hot["failure_message"]
    locked = stored["tables"]["locked-table"]
    assert locked["failure_code"] == "AccessDeniedException"
    assert "dynamodb:ExportTableToPointInTime" in locked["failure_message"]
    assert exports_of(ddb, "hot-table") == [] and len(exports_of(ddb, "orders")) == 1
