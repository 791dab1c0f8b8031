"""The export chain against the local endpoint: a chain from a real daily backup made by the export
Lambda, windows from real writes (the endpoint's clock moved forward), catch-up, every broken-chain
cause detected and restarted with its log line and metric, the lag metric, bad settings refused."""

from __future__ import annotations

import gzip
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import ConfigError
from dynamodb_dr.export.chain_state import parse_time
from local_aws import clock, export_layout
from tests.support.chains import (
    build_chain,
    chain_env,
    chain_of,
    follow_until_complete,
    full_backup,
    invoke,
    run_chain,
)
from tests.support.items import every_type_item, normalized, scan_all

BUCKET = "chain-test-bucket"
TABLE = "orders"
PREFIX = f"native-exports/incremental/{TABLE}"
WINDOW = 15 * 60
SERVICE = "dynamodb-dr-export-chain"


@pytest.fixture
def clients(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(3):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"seed{i}"}, "v": {"N": str(i)}})
    return ddb, s3, boto3.client("cloudwatch")


def _put(ddb: Any, pk: str, v: int) -> None:
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "v": {"N": str(v)}})


def _lines(s3: Any, summary_key: str) -> list[dict[str, Any]]:
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=summary_key)["Body"].read())
    files = s3.get_object(Bucket=BUCKET, Key=summary["manifestFilesS3Key"])["Body"].read().decode()
    out = []
    for entry in (json.loads(line) for line in files.splitlines()):
        data = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=entry["dataFileS3Key"])["Body"].read())
        out.extend(json.loads(line) for line in data.decode().splitlines())
    return out


def _metric(cloudwatch: Any, name: str, table: str = TABLE, stat: str = "Maximum") -> list[float]:
    """The metric's datapoints (per minute, ``stat``) published by the chain runs of this test."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="DynamoDBDR",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": "test"}, {"Name": "TableName", "Value": table}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=60,
        Statistics=[stat],
    )["Datapoints"]
    return [p[stat] for p in points]


def _restart_logs(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SERVICE and r.getMessage() == "export chain restarted"]


def test_chain_from_the_daily_backup_catches_up_and_records_every_window(clients, caplog):
    ddb, s3, cloudwatch = clients
    env = chain_env(BUCKET, [TABLE])
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    backup = full_backup(env, "2026-12-01")
    assert backup["backup_status"] == "COMPLETE"
    daily = json.loads(
        s3.get_object(Bucket=BUCKET, Key="native-exports/2026-12-01/manifest.json")["Body"].read()
    )
    daily_entry = daily["tables"][TABLE]

    # Three windows' worth of writes, the Lambda not run meanwhile: one run catches up all three.
    _put(ddb, "a", 1)
    _put(ddb, "seed0", 10)
    clock.advance(WINDOW)
    _put(ddb, "a", 2)
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "seed1"}})
    clock.advance(WINDOW)
    ddb.put_item(TableName=TABLE, Item=every_type_item("typed"))
    clock.advance(WINDOW + 60)  # a bit more than three windows: the fourth is not whole yet

    with caplog.at_level(logging.INFO):
        first = run_chain(env)
    assert first["statusCode"] == 200
    assert first["body"]["tables"][TABLE]["windows_started"] == 3 and first["body"]["windows_started"] == 3
    chain = chain_of(s3, BUCKET, TABLE)
    assert chain.base.source == "daily_backup" and chain.base.backup_date == "2026-12-01"
    assert chain.base.export_arn == daily_entry["export_arn"]
    assert chain.base.export_time == daily_entry["export_time"]  # the chain starts at the full export
    assert chain.table_id == ddb.describe_table(TableName=TABLE)["Table"]["TableId"]
    starts = [chain.base.export_time, *(w.end for w in chain.windows[:-1])]
    assert [w.start for w in chain.windows] == starts  # each from = the previous to
    assert all(parse_time(w.end) - parse_time(w.start) == timedelta(minutes=15) for w in chain.windows)
    assert [
        r for r in caplog.records if r.name == SERVICE and r.getMessage() == "incremental exports started"
    ]

    # Idempotent: a second run at the same time starts nothing and follows the three to COMPLETED.
    second = run_chain(env)
    assert second["body"]["tables"][TABLE]["windows_started"] == 0
    assert len(ddb.list_exports(TableArn=chain.table_arn)["ExportSummaries"]) == 4  # full + 3 windows
    chain = chain_of(s3, BUCKET, TABLE)
    assert [w.status for w in chain.windows] == ["COMPLETED"] * 3
    assert chain.covered_until() == chain.windows[-1].end
    raw = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/chain.json")["Body"].read())
    assert (
        raw["windows"][0]["from"] == chain.base.export_time and raw["covered_until"] == chain.windows[-1].end
    )
    assert raw["base"]["manifest_summary_key"] == daily_entry["export_manifest_key"]

    # Every window's summary is where AWS puts it (the restore side lists them), data in one folder.
    summaries = sorted(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/")["Contents"]
        if o["Key"].endswith("/manifest-summary.json")
    )
    assert summaries == sorted(w.manifest_summary_key for w in chain.windows)
    per_window = [
        {line["Keys"]["pk"]["S"]: line for line in _lines(s3, w.manifest_summary_key)} for w in chain.windows
    ]
    assert sorted(per_window[0]) == ["a", "seed0"] and per_window[0]["seed0"]["OldImage"]["v"] == {"N": "0"}
    assert sorted(per_window[1]) == ["a", "seed1"] and "NewImage" not in per_window[1]["seed1"]
    assert per_window[1]["a"]["OldImage"]["v"] == {"N": "1"}
    assert list(per_window[2]) == ["typed"]
    assert all(w.billed_size_bytes == 10_000_000 and w.item_count for w in chain.windows)

    # after the first run: three windows started, none complete; after the second: covered up to a
    # minute before LatestRestorableDateTime
    assert max(_metric(cloudwatch, "ChainLagSeconds")) > 2 * WINDOW
    assert 0 < min(_metric(cloudwatch, "ChainLagSeconds", stat="Minimum")) < WINDOW
    assert _metric(cloudwatch, "ChainRestarted") == [0.0]
    assert _restart_logs(caplog) == []


def test_the_export_monitor_marks_windows_complete_between_chain_runs(clients):
    ddb, s3, _ = clients
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    assert full_backup(_ENV, "2026-12-01")["backup_status"] == "COMPLETE"
    export_layout.configure(delay_seconds=0.3)
    clock.advance(2 * WINDOW)
    assert run_chain(_ENV)["body"]["windows_started"] == 2
    assert [w.status for w in chain_of(s3, BUCKET, TABLE).windows] == ["IN_PROGRESS"] * 2
    time.sleep(0.8)
    monitored = invoke("export_monitor", _ENV, {"source": "aws.events", "time": "2026-12-03T01:00:00Z"})
    assert monitored["body"]["chains"][TABLE]["windows_completed"] == 2
    chain = chain_of(s3, BUCKET, TABLE)
    assert [w.status for w in chain.windows] == ["COMPLETED"] * 2
    assert monitored["body"]["chains"][TABLE]["covered_until"] == chain.windows[-1].end
    assert all(w.manifest_summary_key and w.item_count is not None for w in chain.windows)


def test_build_chain_helper_gives_boundaries_and_states(clients):
    ddb, s3, _ = clients

    def write(i: int) -> None:
        _put(ddb, "hot", i)
        if i == 1:
            ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "seed2"}})

    built = build_chain(ddb, s3, bucket=BUCKET, table=TABLE, windows=3, write=write)
    assert len(built.boundaries) == 4 == len(built.states)
    assert [w.end for w in built.chain.windows] == [
        b.isoformat(timespec="milliseconds").replace("+00:00", "Z") for b in built.boundaries[1:]
    ]
    assert ("seed2",) in built.states[1] and ("seed2",) not in built.states[2]
    assert built.states[-1] == scan_all(ddb, TABLE)
    assert built.states[3][("hot",)] == normalized({"pk": {"S": "hot"}, "v": {"N": "2"}})


def _restart_case(ddb, s3, cloudwatch, caplog, env) -> tuple[Any, Any]:
    """A chain of one COMPLETED window to break."""
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    assert full_backup(env, "2026-12-01")["backup_status"] == "COMPLETE"
    clock.advance(WINDOW)
    run_chain(env)
    before = follow_until_complete(env, s3, BUCKET, TABLE)
    assert [w.status for w in before.windows] == ["COMPLETED"]
    return before, caplog


def _assert_restarted(ddb, s3, cloudwatch, caplog, before, reason: str) -> Any:
    after = chain_of(s3, BUCKET, TABLE)
    assert after.chain_id != before.chain_id and after.status == "ACTIVE"
    assert after.base.source == "chain_start" and after.base.s3_prefix == PREFIX
    assert after.breaks[-1].reason == reason and after.breaks[-1].previous_chain_id == before.chain_id
    assert after.breaks[-1].new_chain_id == after.chain_id
    assert after.breaks[-1].previous_covered_until == before.covered_until()
    logs = _restart_logs(caplog)
    assert logs and logs[-1].levelno == logging.ERROR and logs[-1].reason == reason
    assert logs[-1].full_export_arn == after.base.export_arn
    assert 1.0 in _metric(cloudwatch, "ChainRestarted")
    # the new full export is under the chain's prefix, in its own folder, with its summary
    export_id = after.base.export_arn.rsplit("/", 1)[1]
    full_chain = follow_until_complete(dict(_ENV), s3, BUCKET, TABLE)
    assert full_chain.base.manifest_summary_key == f"{PREFIX}/AWSDynamoDB/{export_id}/manifest-summary.json"
    keys = {
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/AWSDynamoDB/{export_id}/")["Contents"]
    }
    assert any("/data/" in k for k in keys)
    # and the new chain goes on from the new full export's time
    clock.advance(WINDOW)
    run_chain(dict(_ENV))
    chain = follow_until_complete(dict(_ENV), s3, BUCKET, TABLE)
    assert chain.windows[0].start == chain.base.export_time and chain.windows[0].status == "COMPLETED"
    return chain


_ENV = chain_env(BUCKET, [TABLE])


def test_recovery_period_passed_restarts_the_chain(clients, caplog):
    ddb, s3, cloudwatch = clients
    ddb.update_continuous_backups(
        TableName=TABLE,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 1},
    )
    before, _ = _restart_case(ddb, s3, cloudwatch, caplog, _ENV)
    clock.advance(2 * 86_400)  # the Lambda did not run for two days: PITR no longer reaches the chain
    with caplog.at_level(logging.INFO):
        result = run_chain(_ENV)
    assert result["body"]["chains_restarted"] == [TABLE]
    assert result["body"]["tables"][TABLE]["break_reason"] == "recovery_period_passed"
    _assert_restarted(ddb, s3, cloudwatch, caplog, before, "recovery_period_passed")


def test_recreated_table_restarts_the_chain(clients, caplog):
    ddb, s3, cloudwatch = clients
    before, _ = _restart_case(ddb, s3, cloudwatch, caplog, _ENV)
    ddb.delete_table(TableName=TABLE)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    _put(ddb, "new-table-item", 1)
    with caplog.at_level(logging.INFO):
        run_chain(_ENV)
    after = _assert_restarted(ddb, s3, cloudwatch, caplog, before, "table_recreated")
    assert after.table_id == ddb.describe_table(TableName=TABLE)["Table"]["TableId"] != before.table_id


def test_pitr_disabled_marks_the_chain_broken_until_it_is_enabled_again(clients, caplog):
    ddb, s3, cloudwatch = clients
    before, _ = _restart_case(ddb, s3, cloudwatch, caplog, _ENV)
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    clock.advance(WINDOW)
    with caplog.at_level(logging.INFO):
        broken = run_chain(_ENV)
        again = run_chain(_ENV)
    assert broken["statusCode"] == 500 and broken["body"]["tables"][TABLE]["status"] == "BROKEN"
    assert broken["body"]["tables"][TABLE]["break_reason"] == "pitr_disabled"
    chain = chain_of(s3, BUCKET, TABLE)
    assert chain.status == "BROKEN" and chain.chain_id == before.chain_id
    assert len(chain.breaks) == 1 and chain.breaks[0].new_chain_id is None  # recorded once, not per run
    assert again["body"]["tables"][TABLE]["status"] == "BROKEN"
    assert any(
        r.name == SERVICE and r.levelno == logging.ERROR and "export chain broken" in r.getMessage()
        for r in caplog.records
    )
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    with caplog.at_level(logging.INFO):
        run_chain(_ENV)
    after = _assert_restarted(ddb, s3, cloudwatch, caplog, before, "pitr_disabled")
    assert len(after.breaks) == 1


def test_failed_window_restarts_the_chain(clients, caplog):
    ddb, s3, cloudwatch = clients
    before, _ = _restart_case(ddb, s3, cloudwatch, caplog, _ENV)
    export_layout.configure(fail_tables={TABLE})
    clock.advance(WINDOW)
    with caplog.at_level(logging.INFO):
        started = run_chain(_ENV)  # starts the window, which ends FAILED
        export_layout.configure(fail_tables=set())
        failed = chain_of(s3, BUCKET, TABLE)
        if failed.windows[-1].status == "IN_PROGRESS":  # not yet seen FAILED: the next run follows it
            assert failed.chain_id == before.chain_id
        result = run_chain(_ENV)  # sees it FAILED: new full export, new chain
    body = [started["body"]["tables"][TABLE], result["body"]["tables"][TABLE]]
    assert sum(b["windows_failed"] for b in body) == 1
    assert result["body"]["tables"][TABLE]["break_reason"] == "window_failed"
    assert any(r.name == SERVICE and r.getMessage() == "chain export failed" for r in caplog.records)
    _assert_restarted(ddb, s3, cloudwatch, caplog, before, "window_failed")


def test_no_daily_backup_starts_the_chain_from_its_own_full_export(clients):
    ddb, s3, _ = clients
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    run_chain(_ENV)
    chain = follow_until_complete(_ENV, s3, BUCKET, TABLE)
    assert chain.base.source == "chain_start" and chain.base.status == "COMPLETED"
    assert chain.base.manifest_summary_key.startswith(f"{PREFIX}/AWSDynamoDB/")
    assert chain.breaks == []


@pytest.mark.parametrize("value", ["14", "1441", "0", "abc", "15.5", "-15", "60 minutes", "1e2"])
def test_bad_incremental_export_minutes_are_refused(value):
    env = {**_ENV, "INCREMENTAL_EXPORT_MINUTES": value}
    with pytest.raises(ConfigError, match=r"INCREMENTAL_EXPORT_MINUTES=.*15 to 1440"):
        BackupSettings.from_env(env)


def test_limits_and_view_are_accepted_and_a_bad_view_refused():
    assert (
        BackupSettings.from_env({**_ENV, "INCREMENTAL_EXPORT_MINUTES": "15"}).incremental_export_minutes == 15
    )
    assert (
        BackupSettings.from_env({**_ENV, "INCREMENTAL_EXPORT_MINUTES": "1440"}).incremental_export_minutes
        == 1440
    )
    settings = BackupSettings.from_env({k: v for k, v in _ENV.items() if not k.startswith("INCREMENTAL")})
    assert (
        settings.incremental_export_minutes is None
        and settings.incremental_export_view == "NEW_AND_OLD_IMAGES"
    )
    with pytest.raises(
        ConfigError, match=r"INCREMENTAL_EXPORT_VIEW='NEW_IMAGES'.*NEW_AND_OLD_IMAGES or NEW_IMAGE"
    ):
        BackupSettings.from_env({**_ENV, "INCREMENTAL_EXPORT_VIEW": "NEW_IMAGES"})


def test_chain_lambda_without_minutes_fails_naming_the_variable(aws, caplog):
    env = {**_ENV, "INCREMENTAL_EXPORT_MINUTES": ""}
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(ConfigError, match="INCREMENTAL_EXPORT_MINUTES is missing"),
    ):
        invoke("export_chain", env)
    assert any(r.name == SERVICE and r.levelno == logging.ERROR for r in caplog.records)


def test_ion_chain_writes_ion_windows_in_the_shared_folder(clients):
    ddb, s3, _ = clients
    env = chain_env(BUCKET, [TABLE], export_format="ION", view="NEW_IMAGE")
    ddb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    run_chain(env)  # no daily backup: the chain starts from its own (ION) full export
    _put(ddb, "seed0", 42)
    clock.advance(WINDOW)
    run_chain(env)
    chain = follow_until_complete(env, s3, BUCKET, TABLE)
    assert chain.export_format == "ION" and chain.export_view_type == "NEW_IMAGE"
    (window,) = chain.windows
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=window.manifest_summary_key)["Body"].read())
    assert (summary["outputFormat"], summary["outputView"]) == ("ION", "NEW_IMAGE")
    files = s3.get_object(Bucket=BUCKET, Key=summary["manifestFilesS3Key"])["Body"].read().decode()
    keys = [json.loads(line)["dataFileS3Key"] for line in files.splitlines()]
    assert keys and all(k.startswith(f"{PREFIX}/AWSDynamoDB/data/") and k.endswith(".ion.gz") for k in keys)
    assert window.item_count == 1
