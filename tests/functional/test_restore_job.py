"""The restore job end to end: real exports on the local endpoint, real Spark, real gzip.

Every test runs ``glue_jobs/restore_job.py``'s ``main(argv)`` in-process with the shared ``spark``
session (one test runs it as a subprocess) and checks what landed in DynamoDB and S3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import restore_job
from botocore.awsrequest import AWSResponse

from dynamodb_dr.clients import make_client
from dynamodb_dr.restore import targets
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.job import run_restore
from local_aws import export_layout
from tests.support.backups import PREFIX, create_table, data_files, make_backup, put_items
from tests.support.items import (
    HASH_TABLE_ATTRS,
    HASH_TABLE_KEYS,
    NON_UTF8,
    RANGE_TABLE_ATTRS,
    RANGE_TABLE_KEYS,
    every_type_item,
    large_item,
    scan_all,
    simple_item,
)

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "restore-bucket"
DATE = "2026-01-15"


@pytest.fixture
def clients(aws):
    export_layout.configure(items_per_file=3, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return ddb, s3


def run_job(capsys, spark, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = restore_job.main(["--BACKUP_BUCKET", BUCKET, "--ENVIRONMENT", "test", *argv], spark=spark)
    out = capsys.readouterr().out
    return code, json.loads(out)


def orders_and_users(ddb):
    """Two tables: ``users`` (hash key, every type, a 390 KB item), ``orders`` (hash + binary range
    key, a GSI and an LSI)."""
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "users", [every_type_item(f"u{i}") for i in range(7)] + [large_item("u-big")])
    create_table(
        ddb,
        "orders",
        RANGE_TABLE_KEYS,
        [*RANGE_TABLE_ATTRS, {"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "pk-status",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    put_items(
        ddb,
        "orders",
        [
            every_type_item(f"o{i % 3}", sk={"B": bytes([0xFF, i])}, status={"S": f"s{i % 2}"})
            for i in range(8)
        ],
    )
    return scan_all(ddb, "users"), scan_all(ddb, "orders")


def assert_same_items(ddb, table: str, expected: dict) -> None:
    restored = scan_all(ddb, table)
    assert sorted(restored) == sorted(expected)
    for key, item in expected.items():
        assert restored[key] == item, (table, key)


# --- round trips ---------------------------------------------------------------------------------


def test_round_trip_repairs_damaged_tables_exactly(clients, capsys, spark):
    ddb, s3 = clients
    users, orders = orders_and_users(ddb)
    make_backup(ddb, s3, BUCKET, ["users", "orders"], DATE)
    # Damage: delete some items, overwrite others (with different types).
    ddb.delete_item(TableName="users", Key={"pk": {"S": "u1"}})
    ddb.delete_item(TableName="users", Key={"pk": {"S": "u-big"}})
    ddb.put_item(TableName="users", Item={"pk": {"S": "u2"}, "n_tiny": {"S": "not a number any more"}})
    ddb.put_item(
        TableName="orders", Item={"pk": {"S": "o0"}, "sk": {"B": bytes([0xFF, 0])}, "status": {"S": "x"}}
    )
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "o1"}, "sk": {"B": bytes([0xFF, 1])}})
    assert scan_all(ddb, "users") != users

    code, report = run_job(capsys, spark, "--backup_date", DATE, "--max_workers", "3")

    assert code == 0 and report["statusCode"] == 200, report
    assert_same_items(ddb, "users", users)
    assert_same_items(ddb, "orders", orders)
    u = report["tables"]["users"]
    assert (u["status"], u["items_read"], u["items_written"], u["items_not_written"]) == (
        "SUCCEEDED",
        8,
        8,
        0,
    )
    assert u["files"] == 4 and u["bytes"] > 390_000 and u["errors"] == [] and u["created"] is False
    assert report["tables"]["orders"]["items_written"] == 8
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=report["report_key"])["Body"].read())
    assert report["report_key"].startswith(f"{PREFIX}/{DATE}/restore-reports/")
    assert stored["tables"]["users"]["items_written"] == 8 and stored["statusCode"] == 200


def test_deleted_and_scratch_targets_are_created_from_the_recorded_definition(clients, capsys, spark):
    ddb, s3 = clients
    users, orders = orders_and_users(ddb)
    make_backup(ddb, s3, BUCKET, ["users", "orders"], DATE)
    recorded = ddb.describe_table(TableName="orders")["Table"]
    ddb.delete_table(TableName="users")

    code, report = run_job(
        capsys,
        spark,
        "--backup_date",
        "latest",
        "--target_tables",
        "orders:orders_scratch",
        "--create_missing_tables",
        "true",
    )

    assert code == 0, report
    assert report["tables"]["users"]["created"] and report["tables"]["orders"]["created"]
    assert report["tables"]["orders"]["target_table"] == "orders_scratch"
    assert_same_items(ddb, "users", users)
    assert_same_items(ddb, "orders_scratch", orders)
    scratch = ddb.describe_table(TableName="orders_scratch")["Table"]
    assert scratch["KeySchema"] == recorded["KeySchema"]
    assert sorted(scratch["AttributeDefinitions"], key=str) == sorted(
        recorded["AttributeDefinitions"], key=str
    )
    assert scratch["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [g["IndexName"] for g in scratch["GlobalSecondaryIndexes"]] == ["by-status"]
    assert (
        scratch["GlobalSecondaryIndexes"][0]["KeySchema"]
        == recorded["GlobalSecondaryIndexes"][0]["KeySchema"]
    )
    assert [i["IndexName"] for i in scratch["LocalSecondaryIndexes"]] == ["pk-status"]
    assert ddb.describe_table(TableName="users")["Table"]["KeySchema"] == HASH_TABLE_KEYS
    for table in ("users", "orders_scratch"):
        pitr = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_dry_run_writes_nothing_and_says_what_it_would_write(clients, capsys, spark):
    ddb, s3 = clients
    users, _ = orders_and_users(ddb)
    make_backup(ddb, s3, BUCKET, ["users", "orders"], DATE)
    for key in users:
        ddb.delete_item(TableName="users", Key={"pk": {"S": key[0]}})
    ddb.delete_table(TableName="orders")

    ddb.put_item(TableName="users", Item={"pk": {"S": "added-later"}})
    code, report = run_job(
        capsys,
        spark,
        "--backup_date",
        DATE,
        "--dry_run",
        "true",
        "--create_missing_tables",
        "true",
        "--clear_existing_data",
        "true",
    )

    assert code == 0 and report["dry_run"] is True, report
    assert list(scan_all(ddb, "users")) == [("added-later",)]  # not written, not cleared
    assert ddb.list_backups(TableName="users")["BackupSummaries"] == []
    assert "orders" not in ddb.list_tables()["TableNames"]
    assert report["tables"]["users"]["would_remove_extras"] is True
    assert (
        report["tables"]["users"]["status"] == "VALIDATED" and report["tables"]["users"]["would_write"] == 8
    )
    assert (
        report["tables"]["orders"]["would_create"] is True and report["tables"]["orders"]["would_write"] == 8
    )
    assert report["totals"]["items_written"] == 0


# --- clear existing data -------------------------------------------------------------------------


def test_clear_existing_backs_up_first_then_replaces_the_contents(clients, capsys, spark):
    ddb, s3 = clients
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(
        ddb,
        "users",
        [simple_item(f"k{i}", i) for i in range(20)] + [every_type_item(f"e{i}") for i in range(10)],
    )
    users = scan_all(ddb, "users")
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    put_items(ddb, "users", [every_type_item(f"extra{i}") for i in range(40)])  # written after the backup
    ddb.put_item(TableName="users", Item={"pk": {"S": "k0"}, "n": {"N": "-1"}})

    code, report = run_job(capsys, spark, "--backup_date", DATE, "--clear_existing_data", "true")

    assert code == 0, report
    result = report["tables"]["users"]
    backups = ddb.list_backups(TableName="users")["BackupSummaries"]
    assert [b["BackupArn"] for b in backups] == [result["backup_arn"]]
    # Only the 40 items whose keys are not in the backup are deleted; k0 is overwritten, not deleted.
    assert result["backup_status"] in ("CREATING", "AVAILABLE") and result["extras_removed"] == 40
    assert_same_items(ddb, "users", users)


def _fail_create_backup(client) -> None:
    """moto accepts every CreateBackup for an existing table, so the refusal DynamoDB gives (e.g. a
    backup quota) is produced by a ``before-call`` hook on the job's client, for CreateBackup only."""

    def refuse(**_):
        body = {
            "Error": {"Code": "LimitExceededException", "Message": "Backup quota reached"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("http://local", 400, {}, None), body

    client.meta.events.register("before-call.dynamodb.CreateBackup", refuse)


def test_clear_existing_refuses_when_the_backup_cannot_be_made(clients, spark):
    ddb, s3 = clients
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "users", [simple_item(f"k{i}", i) for i in range(5)])
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    put_items(ddb, "users", [simple_item("extra", 99)])
    before = scan_all(ddb, "users")
    job_ddb = make_client("dynamodb")
    _fail_create_backup(job_ddb)

    args = parse_args(
        ["--backup_date", DATE, "--BACKUP_BUCKET", BUCKET, "--clear_existing_data", "true"], env={}
    )
    report = run_restore(args, spark=spark, s3=make_client("s3"), dynamodb=job_ddb)

    assert report.status_code == 500
    result = report.tables["users"]
    assert result.status == "FAILED" and result.items_written == 0 and result.backup_arn is None
    assert (
        "could not back up target table users before clearing it (LimitExceededException" in result.errors[0]
    )
    assert "nothing was cleared or written" in result.errors[0]
    assert scan_all(ddb, "users") == before


# --- bad inputs ----------------------------------------------------------------------------------


def test_bad_arguments_and_missing_backups_are_clear_errors(clients, capsys, spark, monkeypatch):
    ddb, s3 = clients
    monkeypatch.delenv("BACKUP_BUCKET", raising=False)
    capsys.readouterr()
    assert restore_job.main(["--backup_date", DATE], spark=spark) == 2
    assert "--BACKUP_BUCKET is missing" in capsys.readouterr().out

    code, report = run_job(capsys, spark, "--backup_date", "2026-13-01")
    assert code == 2 and "'2026-13-01' is not a real calendar date" in report["errors"][0]

    code, report = run_job(capsys, spark, "--backup_date", "2026-01-01")
    assert code == 2 and report["statusCode"] == 400
    assert (
        f"no backup manifest for 2026-01-01: s3://{BUCKET}/{PREFIX}/2026-01-01/manifest.json"
        in report["errors"][0]
    )

    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "users", [simple_item("k", 1)])
    make_backup(ddb, s3, BUCKET, ["users"], "2026-01-10", statuses={"users": "FAILED"})
    code, report = run_job(capsys, spark, "--backup_date", "latest")
    assert (
        code == 2 and "'latest' asks for the newest COMPLETE backup and there is none" in report["errors"][0]
    )
    assert "2026-01-10 (FAILED)" in report["errors"][0]

    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    code, report = run_job(capsys, spark, "--backup_date", DATE, "--tables", "users,nosuchtable")
    assert (
        code == 2
        and report["statusCode"] == 400
        and "table(s) nosuchtable are not in the backup of 2026-01-15; it holds: users" in report["errors"][0]
    )

    # A backup date whose export exists but whose manifest was deleted.
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{DATE}/manifest.json")
    code, report = run_job(capsys, spark, "--backup_date", DATE)
    assert code == 2 and f"no backup manifest for {DATE}" in report["errors"][0]


def _overwrite(s3, key: str, data: bytes, manifest_files_key: str | None = None) -> None:
    import base64
    import hashlib

    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    if manifest_files_key:
        lines = s3.get_object(Bucket=BUCKET, Key=manifest_files_key)["Body"].read().splitlines()
        entries = [json.loads(x) for x in lines]
        for entry in entries:
            if entry["dataFileS3Key"] == key:
                entry["md5Checksum"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        s3.put_object(
            Bucket=BUCKET, Key=manifest_files_key, Body="\n".join(json.dumps(e) for e in entries).encode()
        )


def test_damaged_exports_and_wrong_targets_fail_their_table_and_write_nothing(clients, capsys, spark):
    ddb, s3 = clients
    for name in ("md5bad", "gzipbad", "keysbad", "good"):
        create_table(ddb, name, HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
        put_items(ddb, name, [simple_item(f"{name}{i}", i) for i in range(7)])
    good = scan_all(ddb, "good")
    backup = make_backup(ddb, s3, BUCKET, ["md5bad", "gzipbad", "keysbad", "good"], DATE)
    # md5bad: a data file replaced by other content (manifest untouched).
    md5_key = data_files(s3, BUCKET, backup.tables["md5bad"])[1]["dataFileS3Key"]
    _overwrite(s3, md5_key, b"\x1f\x8b not the exported file")
    # gzipbad: a truncated gzip whose md5Checksum was patched to match: only the gzip check sees it.
    gz_key = data_files(s3, BUCKET, backup.tables["gzipbad"])[2]["dataFileS3Key"]
    whole = s3.get_object(Bucket=BUCKET, Key=gz_key)["Body"].read()
    _overwrite(s3, gz_key, whole[:-10], backup.tables["gzipbad"].manifest_files_key)
    # keysbad: the target now has another key schema.
    ddb.delete_table(TableName="keysbad")
    create_table(ddb, "keysbad", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    # Empty every target so that any write would show.
    for name in ("md5bad", "gzipbad", "good"):
        for key in scan_all(ddb, name):
            ddb.delete_item(TableName=name, Key={"pk": {"S": key[0]}})

    code, report = run_job(capsys, spark, "--backup_date", DATE)

    assert code == 1 and report["statusCode"] == 207, report
    tables = report["tables"]
    assert tables["good"]["status"] == "SUCCEEDED"
    assert_same_items(ddb, "good", good)
    for name in ("md5bad", "gzipbad", "keysbad"):
        assert tables[name]["status"] == "FAILED" and tables[name]["items_written"] == 0
        assert scan_all(ddb, name) == {}, name
    md5_error = tables["md5bad"]["errors"][0]
    assert md5_key in md5_error and "does not match md5Checksum" in md5_error
    assert backup.tables["md5bad"].export_arn in md5_error
    gz_error = tables["gzipbad"]["errors"][0]
    assert gz_key in gz_error and "gzip stream is truncated" in gz_error
    keys_error = tables["keysbad"]["errors"][0]
    assert "target table keysbad has key schema pk (HASH, S), sk (RANGE, B)" in keys_error
    assert "the backup of keysbad has pk (HASH, S)" in keys_error


def test_missing_target_without_create_fails_before_any_write(clients, capsys, spark):
    ddb, s3 = clients
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "users", [simple_item("k", 1)])
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    code, report = run_job(capsys, spark, "--backup_date", DATE, "--target_tables", "users:users_tmp")
    assert code == 1 and report["statusCode"] == 500
    assert (
        "target table users_tmp (restore of users) does not exist" in report["tables"]["users"]["errors"][0]
    )
    assert "--create_missing_tables true" in report["tables"]["users"]["errors"][0]
    assert "users_tmp" not in ddb.list_tables()["TableNames"]


# --- the command line ----------------------------------------------------------------------------


def test_command_line_restores_and_exits_zero(clients):
    ddb, s3 = clients
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(
        ddb,
        "users",
        [every_type_item(f"c{i}") for i in range(4)] + [{"pk": {"S": "b"}, "b": {"B": NON_UTF8}}],
    )
    users = scan_all(ddb, "users")
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    ddb.delete_table(TableName="users")

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable, "BACKUP_BUCKET": BUCKET}
    done = subprocess.run(
        [
            sys.executable,
            "glue_jobs/restore_job.py",
            "--backup_date",
            "latest",
            "--create_missing_tables",
            "true",
            "--import_mode",  # the write path's progress log is what this test reads
            "write",
            "--JOB_NAME",
            "local",
            "--job-bookmark-option",
            "job-bookmark-disable",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout)
    assert report["statusCode"] == 200 and report["tables"]["users"]["items_written"] == 5
    assert_same_items(ddb, "users", users)
    stderr = done.stderr.decode().splitlines()
    progress = [
        json.loads(line)
        for line in stderr
        if line.startswith("{") and json.loads(line).get("message") == "restore progress"
    ]
    assert progress, stderr[-20:]
    last = progress[-1]  # logged as the write stage ends
    assert (last["table"], last["target_table"]) == ("users", "users")
    assert (last["files_done"], last["files_total"], last["items_done"], last["items_total"]) == (3, 3, 5, 5)
    assert last["items_per_second"] > 0 and last["eta_seconds"] == 0 and last["elapsed_seconds"] > 0
    # The human-readable summary after the JSON log lines.
    summary = stderr[stderr.index(next(line for line in stderr if line.startswith("restore of backup"))) :]
    assert summary[0] == f"restore of backup {DATE}: statusCode 200"
    assert summary[1].split() == [
        "table",
        "target",
        "status",
        "items",
        "skipped",
        "files",
        "seconds",
        "items/s",
    ]
    assert summary[3].split()[:6] == ["users", "users", "SUCCEEDED", "5/5", "0", "3/3"]


def test_clear_table_works_in_bounded_rounds(clients):
    ddb, _ = clients
    create_table(ddb, "orders", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "orders", [{"pk": {"S": f"p{i % 5}"}, "sk": {"B": bytes([0xFF, i])}} for i in range(70)])
    client = make_client("dynamodb")
    scans = []
    client.meta.events.register("before-call.dynamodb.Scan", lambda params, **_: scans.append(params))
    assert targets.clear_table(client, "orders", ("pk", "sk"), segments=3, keys_per_round=9) == 70
    assert len(scans) > 70 // 9  # several rounds of at most 9 keys, each a fresh parallel scan
    assert scan_all(ddb, "orders") == {}
