"""A restore never leaves a table worse than it found it.

Each data-loss path the probes found is rebuilt here against the local endpoint: a backup whose
files pass MD5, gzip and item count but hold an item DynamoDB refuses, restored with
``--clear_existing_data``. The dry run must fail the table with the file, line and reason; the real
run must leave the target exactly as it was. A write refused mid-table must delete nothing and the
report must say what the table holds. And clearing removes only what is not in the backup.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import restore_job

from local_aws import export_layout
from tests.support.backups import create_table, data_files, make_backup, put_items, replace_data_file
from tests.support.items import HASH_TABLE_KEYS, every_type_item, scan_all

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "safety-bucket"
DATE = "2026-02-02"
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "email", "AttributeType": "S"}]


def _gsi(email_type: str) -> dict:
    return {
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "email", "AttributeType": email_type},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def _user(i: int) -> dict:
    return every_type_item(f"u{i:02d}", email={"S": f"user{i}@example.com"})


@pytest.fixture
def users(aws):
    """A table of 8 users (4 data files of 2), backed up, then damaged as on a bad day."""
    export_layout.configure(items_per_file=2, empty_files=0)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    ddb.create_table(TableName="users", KeySchema=HASH_TABLE_KEYS, BillingMode="PAY_PER_REQUEST", **_gsi("S"))
    put_items(ddb, "users", [_user(i) for i in range(8)])
    backup = make_backup(ddb, s3, BUCKET, ["users"], DATE).tables["users"]
    ddb.delete_item(TableName="users", Key={"pk": {"S": "u01"}})
    put_items(ddb, "users", [{"pk": {"S": "junk"}, "email": {"S": "junk@example.com"}}])
    return ddb, s3, backup


def _run(capsys, spark, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = restore_job.main(["--BACKUP_BUCKET", BUCKET, "--backup_date", DATE, *argv], spark=spark)
    return code, json.loads(capsys.readouterr().out)


def _with_line(s3, backup, replace: bytes) -> tuple[str, int]:
    """The backup's third data file with its second line replaced: (its key, the line number)."""
    key = data_files(s3, BUCKET, backup)[2]["dataFileS3Key"]
    lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines()
    lines[1] = replace
    replace_data_file(s3, BUCKET, key, gzip.compress(b"\n".join(lines) + b"\n"), backup.manifest_files_key)
    return key, 2


BIG = b'{"Item":{"pk":{"S":"big"},"email":{"S":"b@example.com"},"blob":{"S":"' + b"x" * 410_000 + b'"}}}'
VARIANTS = {
    "not JSON inside the frame": (
        rb'{"Item":{"pk":{"S":"bad"},"note":{"S":"a\q"}}}',
        'is not a valid {"Item":{...}} JSON object',
    ),
    "missing key": (
        b'{"Item":{"id":{"S":"no-pk"},"email":{"S":"x@example.com"}}}',
        "has no key attribute 'pk' (the table's key is pk:S)",
    ),
    "key of another type": (
        b'{"Item":{"pk":{"N":"7"}}}',
        "its key attribute 'pk' is of type N, the table's key needs S",
    ),
    "oversize item": (BIG, "holds an item of 410,"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_an_item_dynamodb_would_refuse_fails_the_table_before_anything_changes(users, capsys, spark, variant):
    ddb, s3, backup = users
    line, reason = VARIANTS[variant]
    key, number = _with_line(s3, backup, line)
    before = scan_all(ddb, "users")

    code, dry = _run(capsys, spark, "--dry_run", "true", "--clear_existing_data", "true")
    table = dry["tables"]["users"]
    assert code == 1 and table["status"] == "FAILED", dry
    assert f"data file {key}" in table["errors"][0] and f"line {number} {reason}" in table["errors"][0]
    assert table["target_state"] == "untouched"

    code, real = _run(capsys, spark, "--clear_existing_data", "true")
    table = real["tables"]["users"]
    assert code == 1 and table["status"] == "FAILED" and table["items_written"] == 0
    assert f"line {number} {reason}" in table["errors"][0]
    assert table["target_state"] == "untouched" and "target users is untouched" in table["errors"][-1]
    assert scan_all(ddb, "users") == before  # exactly as it was: nothing written, nothing deleted
    assert ddb.list_backups(TableName="users")["BackupSummaries"] == []


def test_a_target_whose_index_key_type_differs_fails_before_anything_changes(users, capsys, spark):
    ddb, _, _ = users
    # Re-created with the same primary key, but its index keys `email` as a number.
    ddb.delete_table(TableName="users")
    ddb.create_table(TableName="users", KeySchema=HASH_TABLE_KEYS, BillingMode="PAY_PER_REQUEST", **_gsi("N"))
    put_items(ddb, "users", [{"pk": {"S": "new"}, "email": {"N": "1"}}])
    before = scan_all(ddb, "users")

    for argv in (("--dry_run", "true", "--clear_existing_data", "true"), ("--clear_existing_data", "true")):
        code, report = _run(capsys, spark, *argv)
        table = report["tables"]["users"]
        assert code == 1 and table["status"] == "FAILED" and table["items_written"] == 0, report
        assert (
            "line 1 its index by-email key attribute 'email' is of type S, the table's index by-email key needs N"
            in table["errors"][0]
        )
        assert scan_all(ddb, "users") == before


# --- a write refused mid-table ---------------------------------------------------------------------


def test_a_write_refused_mid_table_deletes_nothing_and_the_report_names_the_state(users, tmp_path):
    from tests.functional.test_batch_writer import DynamoDBProxy

    ddb, s3, backup = users
    before = scan_all(ddb, "users")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    proxy = DynamoDBProxy(endpoint, {os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]})
    refused = json.dumps({"__type": "com.amazon.coral.validate#ValidationException", "message": "refused"})

    def refuse_u05(n: int, body: bytes) -> tuple[int, bytes] | None:
        if b'"u05"' in body:
            return 400, refused.encode()
        return None

    proxy.before = refuse_u05
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYSPARK_PYTHON": sys.executable,
        "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,  # the job's DynamoDB calls go through the proxy
    }
    try:
        done = subprocess.run(
            [sys.executable, "glue_jobs/restore_job.py", "--BACKUP_BUCKET", BUCKET, "--backup_date", DATE,
             "--clear_existing_data", "true", "--max_workers", "1"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        proxy.stop()
    report = json.loads(done.stdout)
    table = report["tables"]["users"]
    assert done.returncode == 1 and table["status"] == "FAILED", done.stderr[-3000:]
    # The data file holding u05 was refused (its one batch); every other file was written.
    refused_items = next(
        f["itemCount"]
        for f in data_files(s3, BUCKET, backup)
        if b'"u05"' in gzip.decompress(s3.get_object(Bucket=BUCKET, Key=f["dataFileS3Key"])["Body"].read())
    )
    written = 8 - refused_items
    assert (table["items_written"], table["items_not_written"]) == (written, refused_items)
    state = f"partly written ({written} of 8 items); items not in the backup not removed"
    assert table["target_state"] == state and table["extras_removed"] is None
    arn = table["backup_arn"]
    assert arn and table["restore_backup_command"] == (
        f"aws dynamodb restore-table-from-backup --backup-arn {arn} --target-table-name users-before-restore"
    )
    assert f"target users is {state}" in table["errors"][-1] and arn in table["errors"][-1]
    assert f"users: target users is {state}" in done.stderr  # the summary on stderr
    after = scan_all(ddb, "users")
    assert ("junk",) in after  # nothing deleted: the junk stays until every write succeeded
    assert set(before) <= set(after)  # no item that was there is gone
    assert ("u01",) in after  # restored: it was deleted on the bad day, and its file was written


# --- clear removes only what is not in the backup -------------------------------------------------


def test_clear_existing_on_20k_items_deletes_only_the_1_percent_junk(aws, capsys, spark):
    export_layout.configure(items_per_file=2500, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "ledger", HASH_TABLE_KEYS, [ATTRS[0]])
    items = [
        {"pk": {"S": f"t{i:05d}"}, "n": {"N": str(i)}, "b": {"B": bytes([i % 256])}} for i in range(19_800)
    ]
    _batch_put(ddb, "ledger", items)
    backup = scan_all(ddb, "ledger")
    make_backup(ddb, s3, BUCKET, ["ledger"], DATE)
    # The bad day: 200 junk items (1% of 20k), 50 items overwritten with other values.
    _batch_put(ddb, "ledger", [{"pk": {"S": f"junk{i:03d}"}} for i in range(200)])
    _batch_put(ddb, "ledger", [{"pk": {"S": f"t{i:05d}"}, "n": {"N": "-1"}} for i in range(50)])
    client = boto3.client("dynamodb")

    started = time.monotonic()
    code, report = _run(capsys, spark, "--clear_existing_data", "true")
    seconds = time.monotonic() - started
    table = report["tables"]["ledger"]
    assert code == 0 and table["status"] == "SUCCEEDED", report
    assert table["extras_removed"] == 200 and table["items_written"] == 19_800
    assert table["target_state"] == "restored, 200 items not in the backup removed"
    assert scan_all(client, "ledger") == backup
    print(f"clear-and-restore of 20k items with 1% junk: {seconds:.1f} s")


def _batch_put(ddb, table: str, items: list[dict]) -> None:
    for start in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )


def test_lines_with_whitespace_restore_exactly(users, capsys, spark):
    """An export not written by AWS (a console copy, another tool) may space its JSON: still valid."""
    ddb, s3, backup = users
    expected = {k: v for k, v in scan_all(ddb, "users").items() if k != ("junk",)}  # u01 was deleted
    for entry in data_files(s3, BUCKET, backup):
        key = entry["dataFileS3Key"]
        lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines()
        spaced = [json.dumps(json.loads(line), indent=None).encode() for line in lines if line.strip()]
        assert all(b'"Item": {' in line for line in spaced)
        replace_data_file(
            s3, BUCKET, key, gzip.compress(b"\n".join(spaced) + b"\n"), backup.manifest_files_key
        )
    ddb.delete_table(TableName="users")

    code, report = _run(capsys, spark, "--create_missing_tables", "true")
    assert code == 0, report
    restored = scan_all(ddb, "users")
    assert set(restored) == {(f"u{i:02d}",) for i in range(8)}
    for key, item in expected.items():
        assert restored[key] == item, key
