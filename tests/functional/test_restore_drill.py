"""DR drills end to end against the local endpoint: the scratch table is created, restored, verified
and deleted; the drill report lands in S3 with the backups, the metrics in CloudWatch (read back
with ListMetrics / GetMetricData), the announcement on SNS (an SQS inbox subscribed to the topic).

One drill runs through the Glue job's ``main`` on the shared Spark session; the others call
``run_drill`` on threads (the same stages)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import restore_job

from dynamodb_dr.restore import drill
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.runner import ThreadRunner
from local_aws import export_layout
from tests.support.backups import PREFIX, create_table, make_backup, put_items
from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS, every_type_item, simple_item
from tests.support.stream_tables import topic_with_inbox

BUCKET = "drill-bucket"
TODAY = datetime.now(UTC).strftime("%Y%m%d")


@pytest.fixture
def clients(aws):
    export_layout.configure(items_per_file=5)
    ddb, s3, cw = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("cloudwatch")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS, DeletionProtectionEnabled=True)
    put_items(ddb, "users", [every_type_item(f"u{i}") for i in range(8)])
    create_table(ddb, "orders", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "orders", [simple_item(f"o{i}", i) for i in range(11)])
    make_backup(ddb, s3, BUCKET, ["users", "orders"], "2026-01-15")
    return ddb, s3, cw


def metric_values(cw, name: str, table: str | None) -> list[float]:
    now = datetime.now(UTC)
    metric = {"Namespace": drill.NAMESPACE, "MetricName": name}
    if table is not None:
        metric["Dimensions"] = [{"Name": "Table", "Value": table}]
    answer = cw.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Maximum"}}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
    )
    return answer["MetricDataResults"][0]["Values"]


def drill_reports(s3, table: str) -> list[dict]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/drills/{table}/").get("Contents", [])
    return [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()) for o in listed]


def test_a_drill_on_glue_restores_verifies_records_and_removes_its_scratch_tables(clients, spark, capsys):
    ddb, s3, cw = clients
    topic, inbox = topic_with_inbox()
    # The run Glue started: RTO counts from its StartedOn (Glue's start-up included).
    glue = boto3.client("glue")
    glue.create_job(Name="drill-job", Role="arn:aws:iam::123456789012:role/r", Command={"Name": "glueetl"})
    run_id = glue.start_job_run(JobName="drill-job")["JobRunId"]
    started_on = glue.get_job_run(JobName="drill-job", RunId=run_id)["JobRun"]["StartedOn"]

    code = restore_job.main(
        ["--BACKUP_BUCKET", BUCKET, "--backup_date", "latest", "--drill", "true", "--drill_topic_arn", topic,
         "--JOB_NAME", "drill-job", "--JOB_RUN_ID", run_id],
        spark=spark,
    )  # fmt: skip
    out = capsys.readouterr()
    report = json.loads(out.out)

    assert code == 0, out.out[-3000:]
    assert report["ok"] and set(report["tables"]) == {"users", "orders"}
    assert report["requested_at"] == started_on.astimezone(UTC).isoformat(timespec="seconds")
    for table, items in (("users", 8), ("orders", 11)):
        result = report["tables"][table]
        assert result["status"] == "SUCCEEDED" and result["scratch_table"] == f"{table}-drill-{TODAY}"
        assert result["items_restored"] == items
        assert result["restore"]["verification"]["same"] == items
        assert result["restore"]["restore_path"] == "import"  # a scratch table is a missing table
        assert result["rto_seconds"] > 0 and result["rpo_seconds"] >= 0
        # ImportTable filled the scratch table: no write capacity, billed on the export's size.
        assert result["restore_path"] == "import" and result["write_capacity_units"] == 0
        assert result["imported_bytes"] > 0 and result["read_capacity_units"] > 0
        assert result["scratch_table_deleted"] and not result["scratch_table_kept"]
        (stored,) = drill_reports(s3, table)
        assert stored["rto_seconds"] == result["rto_seconds"] and stored["status"] == "SUCCEEDED"
        assert metric_values(cw, "DrillSucceeded", table) == [1.0]
        assert metric_values(cw, "RTOSeconds", table) == [pytest.approx(result["rto_seconds"])]
        assert metric_values(cw, "RPOSeconds", table) == [pytest.approx(result["rpo_seconds"])]
    # Deletion protection came with the source's definition; the drill turned it off to delete.
    assert sorted(ddb.list_tables()["TableNames"]) == ["orders", "users"]
    listed = cw.list_metrics(Namespace=drill.NAMESPACE)["Metrics"]
    assert {m["MetricName"] for m in listed} >= {
        "DrillSucceeded", "RTOSeconds", "RPOSeconds", "ItemsPerSecond", "WriteCapacityUnits", "ReadCapacityUnits",
    }  # fmt: skip
    assert set(metric_values(cw, "DrillSucceeded", None)) == {1.0}  # one per table, maybe in two periods
    (announced,) = inbox()
    assert announced["ok"] and announced["tables"]["users"]["status"] == "SUCCEEDED"
    assert "RTO" in out.err and "scratch table deleted" in out.err


class WriteStageBreaks(ThreadRunner):
    """The write stage fails after the scratch tables were created (as a lost Spark executor would).
    Its drills take the write path (``--import_mode write``): ImportTable would skip the write stage."""

    def run(self, tasks, func, description):
        if description == "write":
            raise RuntimeError("executor lost")
        return super().run(tasks, func, description)


def run(args, runner):
    return drill.run_drill(
        args,
        s3=boto3.client("s3"),
        dynamodb=boto3.client("dynamodb"),
        cloudwatch=boto3.client("cloudwatch"),
        sns=None,
        runner=runner,
        progress_seconds=0.2,
    )


def drill_args(*argv: str):
    return parse_args(["--BACKUP_BUCKET", BUCKET, "--backup_date", "latest", "--drill", "true", *argv])


def test_a_failed_restore_fails_the_drill_and_still_removes_the_scratch_table(clients):
    ddb, s3, cw = clients

    report = run(drill_args("--tables", "orders", "--import_mode", "write"), WriteStageBreaks(2))

    (result,) = report.tables
    assert not report.ok and result.status == "FAILED" and result.rto_seconds is None
    assert any("executor lost" in e for e in result.errors)
    assert result.scratch_table_deleted
    assert sorted(ddb.list_tables()["TableNames"]) == ["orders", "users"]
    (stored,) = drill_reports(s3, "orders")
    assert stored["status"] == "FAILED"
    assert metric_values(cw, "DrillSucceeded", "orders") == [0.0]


def test_an_existing_scratch_table_fails_the_drill_and_is_left_alone(clients):
    ddb, _, cw = clients
    create_table(ddb, f"orders-drill-{TODAY}", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)

    report = run(drill_args("--tables", "orders"), ThreadRunner(2))

    (result,) = report.tables
    assert result.status == "FAILED" and "already exists" in result.errors[0]
    assert not result.scratch_table_deleted
    assert f"orders-drill-{TODAY}" in ddb.list_tables()["TableNames"]
    assert metric_values(cw, "DrillSucceeded", "orders") == [0.0]


def test_a_drill_that_finds_no_backup_fails_in_its_metrics_and_announces_it(aws):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    topic, inbox = topic_with_inbox()
    from dynamodb_dr.errors import BackupNotFoundError

    args = drill_args("--tables", "orders", "--drill_topic_arn", topic)
    with pytest.raises(BackupNotFoundError):
        drill.run_drill(
            args,
            s3=boto3.client("s3"),
            dynamodb=boto3.client("dynamodb"),
            cloudwatch=boto3.client("cloudwatch"),
            sns=boto3.client("sns"),
            runner=ThreadRunner(2),
        )
    cw = boto3.client("cloudwatch")
    assert metric_values(cw, "DrillSucceeded", "orders") == [0.0]
    assert metric_values(cw, "DrillSucceeded", None) == [0.0]
    (announced,) = inbox()
    assert announced["ok"] is False and "latest" in announced["error"]


def test_keep_drill_tables_keeps_the_verified_scratch_table(clients):
    ddb, _, _ = clients
    report = run(drill_args("--tables", "orders", "--keep_drill_tables", "true"), ThreadRunner(2))
    assert report.ok and report.tables[0].scratch_table_kept
    assert f"orders-drill-{TODAY}" in ddb.list_tables()["TableNames"]


def test_scratch_tables_left_by_earlier_drills_are_named_and_never_deleted(clients):
    ddb, _, cw = clients
    # A drill killed three days ago before its cleanup left its scratch table, protected against deletion.
    earlier = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y%m%d")
    left = f"orders-drill-{earlier}"
    create_table(ddb, left, HASH_TABLE_KEYS, HASH_TABLE_ATTRS, DeletionProtectionEnabled=True)
    too_old = (datetime.now(UTC) - timedelta(days=drill.LEFTOVER_DAYS + 1)).strftime("%Y%m%d")
    create_table(ddb, f"orders-drill-{too_old}", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)

    report = run(drill_args("--tables", "orders"), ThreadRunner(2))

    (result,) = report.tables
    assert report.ok and result.scratch_table_deleted  # the drill itself is fine: only a warning
    assert result.scratch_tables_left == [left]
    (warning,) = report.warnings
    assert left in warning and f"aws dynamodb delete-table --table-name {left}" in warning
    assert "--no-deletion-protection-enabled" in warning
    assert f"warning: scratch tables of earlier drills of orders still exist: {left}" in drill.format_drill(
        report
    )
    assert metric_values(cw, "ScratchTablesLeft", "orders") == [1.0]
    assert left in ddb.list_tables()["TableNames"]  # never deleted: this drill did not create it
    stored = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=result.report_key)["Body"].read())
    assert stored["scratch_tables_left"] == [left]


# --- the history: dynamodb-dr drills list, through the console script --------------------------------


def test_drills_list_shows_each_drill_per_table_oldest_first(clients):
    from test_cli import assert_bad_input, base_env
    from test_cli import console_script as make_script
    from test_cli import run as run_script

    earlier = datetime.now(UTC) - timedelta(days=7)
    failed = drill.run_drill(
        drill_args("--tables", "orders", "--import_mode", "write"),
        s3=boto3.client("s3"),
        dynamodb=boto3.client("dynamodb"),
        cloudwatch=boto3.client("cloudwatch"),
        sns=None,
        runner=WriteStageBreaks(2),
        requested_at=earlier,
    )
    passed = run(drill_args(), ThreadRunner(2))
    assert not failed.ok and passed.ok
    script = make_script.__wrapped__(_TmpFactory())
    env = base_env(BACKUP_BUCKET=BUCKET)

    listed = run_script(script, "drills", "list", "--table", "orders", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["status"] for r in rows] == ["FAILED", "SUCCEEDED"]
    assert rows[0]["rto_seconds"] is None and "executor lost" in rows[0]["errors"][0]
    assert (
        rows[1]["rto_seconds"] == passed.tables[[t.table for t in passed.tables].index("orders")].rto_seconds
    )
    assert all(r["table"] == "orders" and r["scratch_table_deleted"] for r in rows)

    everything = run_script(script, "drills", "list", env=env)
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert sum("SUCCEEDED" in line for line in lines) == 2 and sum("FAILED" in line for line in lines) == 1
    assert any("users" in line and "deleted" in line for line in lines)
    assert "executor lost" in everything.stderr + everything.stdout

    assert_bad_input(run_script(script, "drills", "list", "--table", "x", env=env), "--table", "not a valid")
    # A drill is the job's (it records and cleans up); the local restore command refuses it.
    assert_bad_input(
        run_script(script, "restore", "--backup_date", "latest", "--drill", "true", env=env), "--on glue"
    )


class _TmpFactory:
    """``tmp_path_factory`` for the console script fixture called directly."""

    def mktemp(self, name: str):
        import tempfile
        from pathlib import Path

        return Path(tempfile.mkdtemp(prefix=name))
