"""``--verify`` and ``--verify_only`` against the local endpoint: real exports, real Scans.

The restores run their real stages on threads (``ThreadRunner``: the same task functions as on
Spark, the join done in a dict); one test runs the Glue job's ``main`` on the shared Spark session
(``fullOuterJoin``) for the pass, a failure and its exit code.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
import restore_job

from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.job import run_restore
from dynamodb_dr.restore.runner import ThreadRunner
from local_aws import export_layout
from tests.support.backups import create_table, make_backup, put_items
from tests.support.items import (
    HASH_TABLE_ATTRS,
    HASH_TABLE_KEYS,
    NON_UTF8,
    RANGE_TABLE_ATTRS,
    RANGE_TABLE_KEYS,
    every_type_item,
    simple_item,
)

BUCKET = "verify-bucket"
DATE = "2026-01-15"
OLD = 1_700_000_000  # updated_at of every backed-up item: long before any restore or backup


@pytest.fixture
def clients(aws):
    export_layout.configure(items_per_file=4, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return ddb, s3


def users_backup(ddb, s3, count: int = 12) -> list[dict]:
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    items = [every_type_item(f"u{i:02d}", updated_at={"N": str(OLD)}) for i in range(count)]
    put_items(ddb, "users", items)
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    return items


def restore(ddb, s3, *argv: str):
    args = parse_args(["--backup_date", "latest", "--BACKUP_BUCKET", BUCKET, *argv])
    return run_restore(args, s3=s3, dynamodb=ddb, runner=ThreadRunner(2), progress_seconds=0.2)


# --- --verify after a restore ----------------------------------------------------------------------


def test_verify_passes_on_an_exact_restore_and_reports_its_read_cost(clients):
    ddb, s3 = clients
    users_backup(ddb, s3)
    create_table(ddb, "orders", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "orders", [{**simple_item(f"o{i}", i), "sk": {"B": bytes([i, 0xFF])}} for i in range(9)])
    make_backup(ddb, s3, BUCKET, ["users", "orders"], "2026-01-16")

    report = restore(
        ddb, s3, "--target_tables", "users:users_copy,orders:orders_copy", "--create_missing_tables", "true",
        "--verify", "true",
    )  # fmt: skip

    assert report.ok, report.to_json()
    for source, items in (("users", 12), ("orders", 9)):
        v = report.tables[source].verification
        assert v is not None and v.ok
        assert (v.backup_items, v.scanned_items, v.same) == (items, items, items)
        assert (v.missing, v.extra, v.different) == (0, 0, 0)
        assert v.read_capacity_units > 0 and v.scan_segments >= 2
        assert v.finished_at
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=report.report_key)["Body"].read())
    assert stored["tables"]["users"]["verification"]["same"] == 12


def test_verify_only_catches_a_missing_an_extra_and_a_changed_item_of_every_type(clients):
    ddb, s3 = clients
    items = users_backup(ddb, s3, count=14)
    assert restore(ddb, s3, "--verify", "true").ok  # in place, exact

    # Equal to DynamoDB, though written differently: not a difference.
    ddb.put_item(TableName="users", Item={**items[0], "updated_at": {"N": f"{OLD}.000"}})
    ddb.delete_item(TableName="users", Key={"pk": {"S": "u01"}})
    ddb.put_item(TableName="users", Item=every_type_item("zz-extra"))
    changes = {
        "s": {"S": "changed"},
        "n_38_digits": {"N": "12345678901234567890123456789012345677"},
        "n_tiny": {"S": "0.000000000000000000000000000000000001"},  # same text, other type
        "b": {"B": NON_UTF8 + b"\x00"},
        "bool_t": {"BOOL": False},
        "null": {"BOOL": True},
        "ss": {"SS": ["a", "b", "ü"]},
        "ns": {"NS": ["1", "-2.5"]},
        "bs": {"BS": [NON_UTF8]},
        "l": {"L": [{"S": "x"}]},
        "m": {"M": {"leaf": {"S": "other"}}},
    }
    changed_keys = []
    for index, (name, value) in enumerate(changes.items(), start=2):
        item = dict(items[index])
        item[name] = value
        ddb.put_item(TableName="users", Item=item)
        changed_keys.append(item["pk"]["S"])

    report = restore(ddb, s3, "--verify_only", "true")

    result = report.tables["users"]
    v = result.verification
    assert result.failed and not report.ok and v is not None and not v.ok
    assert (v.missing, v.extra, v.different) == (1, 1, len(changes))
    assert v.same == 14 - 1 - len(changes)
    assert v.missing_keys == ["pk=u01"] and v.extra_keys == ["pk=zz-extra"]
    assert v.different_keys == sorted(f"pk={k}" for k in changed_keys)[:5]
    assert "1 missing" in result.errors[0] and "pk=u01" in result.errors[0]
    assert result.items_written == 0 and result.target_state == "untouched (verify only)"
    assert any("deleted after the restore started" in c for c in v.cannot_tell)
    assert any("no --verify_timestamp_attribute" in c for c in v.cannot_tell)


def test_live_writes_after_the_start_are_reported_apart_with_a_timestamp_attribute(clients):
    ddb, s3 = clients
    items = users_backup(ddb, s3, count=6)
    assert restore(ddb, s3).ok
    time.sleep(1.1)  # after the backup's export time, to the second
    now = str(int(time.time()) + 1)
    ddb.put_item(TableName="users", Item=every_type_item("new", updated_at={"N": now}))
    ddb.put_item(TableName="users", Item={**items[1], "s": {"S": "live"}, "updated_at": {"N": now}})
    ddb.put_item(  # an ISO 8601 timestamp in milliseconds' place: an S attribute
        TableName="users",
        Item={
            **items[2],
            "s": {"S": "live"},
            "updated_at": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))},
        },
    )

    apart = restore(ddb, s3, "--verify_only", "true", "--verify_timestamp_attribute", "updated_at")
    v = apart.tables["users"].verification
    assert apart.ok and v is not None and v.ok, apart.to_json()
    assert (v.written_after_start, v.extra, v.different) == (3, 0, 0)
    assert v.written_after_start_keys == ["pk=new", "pk=u01", "pk=u02"]
    assert v.since is not None

    # An old timestamp is no excuse: that change counts.
    ddb.put_item(TableName="users", Item={**items[3], "s": {"S": "stale"}})
    stale = restore(ddb, s3, "--verify_only", "true", "--verify_timestamp_attribute", "updated_at")
    assert stale.tables["users"].verification.different_keys == ["pk=u03"]
    assert stale.tables["users"].failed

    # Without the attribute nothing can be told apart: every difference fails.
    blind = restore(ddb, s3, "--verify_only", "true").tables["users"].verification
    assert (blind.extra, blind.different, blind.written_after_start) == (1, 3, 0)


def test_a_restore_that_keeps_other_items_reports_them_as_kept_extras(clients):
    ddb, s3 = clients
    users_backup(ddb, s3, count=3)
    ddb.put_item(TableName="users", Item=every_type_item("kept"))
    report = restore(ddb, s3, "--verify", "true")
    v = report.tables["users"].verification
    assert report.ok and v.ok and (v.extra, v.extra_kept) == (0, 1)


# --- on Spark ----------------------------------------------------------------------------------------


def test_glue_job_verifies_on_spark_and_a_difference_exits_1(clients, spark, capsys):
    ddb, s3 = clients
    users_backup(ddb, s3, count=9)
    ddb.delete_table(TableName="users")

    def job(*argv: str) -> tuple[int, dict, str]:
        capsys.readouterr()
        code = restore_job.main(["--BACKUP_BUCKET", BUCKET, "--backup_date", "latest", *argv], spark=spark)
        out = capsys.readouterr()
        return code, json.loads(out.out), out.err

    code, report, _ = job("--create_missing_tables", "true", "--verify", "true")
    assert code == 0, report
    assert report["tables"]["users"]["verification"]["same"] == 9

    ddb.delete_item(TableName="users", Key={"pk": {"S": "u04"}})
    code, report, summary = job("--verify_only", "true")
    v = report["tables"]["users"]["verification"]
    assert code == 1 and report["tables"]["users"]["status"] == "FAILED"
    assert (v["missing"], v["same"], v["missing_keys"]) == (1, 8, ["pk=u04"])
    assert "verify users -> users: FAILED" in summary and "missing: pk=u04" in summary


# --- in the Restore Lambda ------------------------------------------------------------------------------


def test_restore_lambda_verifies_and_verify_only_fails_a_changed_table(clients, monkeypatch):
    import importlib.util
    from pathlib import Path

    from local_aws.lambda_context import LocalLambdaContext

    ddb, s3 = clients
    users_backup(ddb, s3, count=5)
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("RESTORE_GLUE_JOB_NAME", "dr-test-restore-job")
    spec = importlib.util.spec_from_file_location(
        "verify_restore_handler", Path(__file__).resolve().parents[2] / "lambdas/restore/handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def invoke(event):
        return module.lambda_handler(
            event, LocalLambdaContext(function_name="dr-test-restore", remaining_ms=600_000)
        )

    restored = invoke({"tables": ["users"], "verify": True})
    assert restored["statusCode"] == 200, restored
    assert restored["body"]["tables"]["users"]["verification"]["same"] == 5
    assert restored["body"]["estimate"]["seconds"] > 0

    ddb.put_item(TableName="users", Item={**every_type_item("u03"), "ns": {"NS": ["7"]}})
    checked = invoke({"tables": ["users"], "verify_only": True})
    v = checked["body"]["tables"]["users"]["verification"]
    assert checked["statusCode"] == 500 and (v["different"], v["different_keys"]) == (1, ["pk=u03"])
    assert checked["body"]["tables"]["users"]["items_written"] == 0
