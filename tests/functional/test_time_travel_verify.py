"""``--verify`` / ``--verify_only`` / ``--drill`` of a restore to a point in time, against the local
endpoint: the target compared, item by item, with the chain's merged state at the effective point.

The chain is ``test_time_travel.history`` (a hand-laid full export and four windows of real writes:
updates, deletes, a delete then a re-insert, every type, a 38-digit key). The restores run their
real stages on threads (``ThreadRunner``: the left side folded in a dict); the drill runs through
the Glue job's ``main`` on the shared Spark session (``reduceByKey`` then ``fullOuterJoin``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import restore_job

from dynamodb_dr.restore import drill
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.dispatch import run_restore
from dynamodb_dr.restore.runner import ThreadRunner
from dynamodb_dr.restore.timetravel.points import iso
from tests.functional.test_time_travel import BUCKET, PREFIX, history, item, key
from tests.support.handlaid import same_items, scan_all

TODAY = datetime.now(UTC).strftime("%Y%m%d")


@pytest.fixture
def chain(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return history(ddb, s3)


def restore(*argv: str, runner: ThreadRunner | None = None):
    args = parse_args(["--BACKUP_BUCKET", BUCKET, "--S3_EXPORTS_PREFIX", PREFIX, "--tables", "ttable", *argv])
    return run_restore(
        args, s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"), runner=runner or ThreadRunner(2)
    )


def test_verify_passes_after_a_restore_to_a_point_and_catches_what_was_tampered_with(chain):
    ddb = boto3.client("dynamodb")
    point = iso(chain.boundaries[2])
    state = chain.states[2]
    report = restore(
        "--restore_time", point, "--target_tables", "ttable:tt_v", "--create_missing_tables", "true",
        "--verify", "true",
    )  # fmt: skip
    assert report.ok, report.to_json()
    result = report.tables["ttable"]
    v = result.verification
    assert v is not None and v.ok and result.status == "SUCCEEDED"
    assert (v.backup_items, v.scanned_items, v.same) == (len(state), len(state), len(state))
    assert (v.missing, v.extra, v.different, v.extra_deleted) == (0, 0, 0, 0)
    assert v.against == f"the state at {point}" and v.read_capacity_units > 0
    assert result.target_state == f"created and restored to {point}"

    # Tampered with after the restore: a4 gone, a5 changed, a stranger added, b0 (deleted in window
    # 2) back, a1 (deleted in window 1, re-inserted in window 2) back as it was before its delete.
    ddb.delete_item(TableName="tt_v", Key=key("a4"))
    ddb.put_item(TableName="tt_v", Item=item("a5", v={"N": "5"}))
    ddb.put_item(TableName="tt_v", Item=item("zz"))
    ddb.put_item(TableName="tt_v", Item=item("b0"))
    ddb.put_item(TableName="tt_v", Item=item("a1"))

    report = restore("--verify_only", "true", "--restore_time", point, "--target_tables", "ttable:tt_v")

    result = report.tables["ttable"]
    v = result.verification
    assert not report.ok and result.failed and v is not None and not v.ok
    assert (v.missing, v.extra, v.different, v.extra_deleted) == (1, 2, 2, 1)
    assert v.same == len(state) - 3 and v.backup_items == len(state)
    assert v.missing_keys == ["pk=a4, sk=1"]
    assert v.extra_keys == ["pk=b0, sk=1", "pk=zz, sk=1"]
    assert v.different_keys == ["pk=a1, sk=1", "pk=a5, sk=1"]
    assert f"against the state at {point} found 1 missing" in result.errors[0]
    assert result.items_written == 0 and result.target_state == "untouched (verify only)"
    assert result.time_travel["effective_point"] == point
    # Nothing was written: the tampered items are still there.
    assert len(scan_all(ddb, "tt_v")) == len(state) + 1

    # Put right, verify-only passes: VERIFIED.
    for pk in ("zz", "b0"):
        ddb.delete_item(TableName="tt_v", Key=key(pk))
    for wanted in state:
        if wanted["pk"]["S"] in ("a1", "a4", "a5"):
            ddb.put_item(TableName="tt_v", Item=wanted)
    report = restore("--verify_only", "true", "--restore_time", point, "--target_tables", "ttable:tt_v")
    assert report.ok, report.to_json()
    assert report.tables["ttable"].status == "VERIFIED"
    assert report.tables["ttable"].verification.same == len(state)


class PlantsBeforeVerify(ThreadRunner):
    """Writes to the target after the restore, before the verify reads it (as live traffic would)."""

    def __init__(self, plant):
        super().__init__(2)
        self.plant = plant

    def join(self, *args, **kwargs):
        self.plant()
        return super().join(*args, **kwargs)


def test_into_the_live_table_extras_are_kept_but_a_key_the_chain_deleted_is_not(chain):
    """No --clear_existing_data: the target's own items stay (extra_kept: a stranger, and c1 from a
    window after the point); a key the chain deleted
    by the point must be gone (the restore deletes it), so one present fails the table. With
    --verify_timestamp_attribute a live write after the start is reported apart."""
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName="ttable", Item=item("stranger"))
    after = str(int(time.time()) + 5)

    def plant():
        ddb.put_item(TableName="ttable", Item=item("b0"))  # deleted in window 2, back: an extra
        ddb.put_item(TableName="ttable", Item=item("live", updated_at={"N": after}))

    point = iso(chain.boundaries[2])
    args = ("--restore_time", point, "--verify", "true", "--verify_timestamp_attribute", "updated_at")
    report = restore(*args, runner=PlantsBeforeVerify(plant))

    result = report.tables["ttable"]
    v = result.verification
    assert result.failed and v is not None and not v.ok
    assert (v.extra, v.extra_deleted, v.extra_kept, v.written_after_start) == (1, 1, 2, 1)
    assert v.extra_keys == ["pk=b0, sk=1"] and v.written_after_start_keys == ["pk=live, sk=1"]
    assert (v.missing, v.different) == (0, 0)
    assert result.target_state == f"restored to {point}"  # restored, then found wrong
    from dynamodb_dr.restore.progress import verify_lines

    assert "2 extra kept (1 extra deleted in the chain)" in "\n".join(verify_lines(report))

    # Without the planted key, the same restore verifies: only the target's own items are extra.
    def unplant():
        for pk in ("b0", "live"):
            ddb.delete_item(TableName="ttable", Key=key(pk))

    report = restore(*args, runner=PlantsBeforeVerify(unplant))
    v = report.tables["ttable"].verification
    assert report.ok and v.ok, report.to_json()
    assert (v.extra, v.extra_kept, v.written_after_start) == (0, 2, 0)  # stranger and c1 (window 4)


def test_export_uri_with_a_point_verifies(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    built = history(ddb, s3, table="ttable", uri_prefix="console/ttable")
    args = parse_args([
        "--export_uri", f"s3://{BUCKET}/console/ttable", "--restore_time", iso(built.boundaries[3]),
        "--target_tables", "tt_uri", "--key_schema", "pk:S,sk:N", "--create_missing_tables", "true",
        "--verify", "true",
    ])  # fmt: skip
    report = run_restore(args, s3=s3, dynamodb=ddb, runner=ThreadRunner(2))
    assert report.ok, report.to_json()
    assert report.tables["ttable"].verification.same == len(built.states[3])
    assert same_items(scan_all(ddb, "tt_uri"), built.states[3], ("pk", "sk")) == []


def test_a_drill_of_a_point_on_glue_records_rpo_from_the_effective_point(chain, spark, capsys):
    ddb, s3, cw = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("cloudwatch")
    asked = chain.boundaries[3] + timedelta(minutes=5)  # inside window 4: effective is its start
    code = restore_job.main(
        ["--BACKUP_BUCKET", BUCKET, "--S3_EXPORTS_PREFIX", PREFIX, "--tables", "ttable", "--drill", "true",
         "--restore_time", iso(asked)],
        spark=spark,
    )  # fmt: skip
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert code == 0, out.out[-3000:]
    result = report["tables"]["ttable"]
    assert report["ok"] and report["restore_time"] == iso(asked)
    assert result["status"] == "SUCCEEDED" and result["scratch_table"] == f"ttable-drill-{TODAY}"
    effective = chain.boundaries[3]
    assert result["export_time"] == effective.isoformat(timespec="seconds")
    requested = datetime.fromisoformat(result["requested_at"])
    assert result["rpo_seconds"] == pytest.approx((requested - effective).total_seconds(), abs=1)
    assert result["rto_seconds"] > 0
    verification = result["restore"]["verification"]
    assert verification["ok"] and verification["same"] == len(chain.states[3])
    assert result["restore"]["time_travel"]["effective_point"] == iso(effective)
    assert result["items_restored"] == len(chain.states[3])  # a created table: puts only
    assert result["write_capacity_units"] >= len(chain.states[3])
    assert result["scratch_table_deleted"] and "ttable-drill" not in " ".join(ddb.list_tables()["TableNames"])
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/drills/ttable/")["Contents"]
    (stored,) = [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()) for o in listed]
    assert stored["rpo_seconds"] == result["rpo_seconds"] and stored["restore_time"] == iso(asked)
    metrics = {m["MetricName"] for m in cw.list_metrics(Namespace=drill.NAMESPACE)["Metrics"]}
    assert {"DrillSucceeded", "RTOSeconds", "RPOSeconds", "ReadCapacityUnits"} <= metrics
    assert f"DR drill of point {iso(asked)}: SUCCEEDED" in out.err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--rewind_to", "2026-11-30T00:15:00Z", "--verify", "true"], "--verify true is not supported with --rewind_to"),
        (["--undo_window", "2026-11-30T00:15:00Z/2026-11-30T00:30:00Z", "--drill", "true"],
         "--drill true is not supported with --undo_window"),
        (["--rewind_to", "2026-11-30T00:15:00Z", "--verify_only", "true"], "work with --restore_time"),
        (["--export_uri", "s3://b/p", "--target_tables", "copy", "--drill", "true"],
         "names its scratch tables itself"),
    ],
)  # fmt: skip
def test_what_cannot_be_verified_is_refused_in_one_line_with_exit_2(argv, words, capsys):
    code = restore_job.main(["--BACKUP_BUCKET", BUCKET, *argv])
    out = capsys.readouterr()
    assert code == 2
    (error,) = json.loads(out.out)["errors"]
    assert words in error and "\n" not in error
