"""The Restore Lambda through its handler against the local endpoint: every event field, bad events,
the dry run, clearing with the job's safety rules, the hand-off to the Glue job (the run and its
arguments read back from the local Glue), and a restore cut short by the time limit that resumes to
an exact table.

No Spark: the function runs the job's stages on threads, which is the point of it.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from dynamodb_dr.restore.args import parse_args
from local_aws import export_layout
from local_aws.lambda_context import LocalLambdaContext
from tests.support.backups import PREFIX, create_table, data_files, make_backup, put_items, replace_data_file
from tests.support.items import (
    HASH_TABLE_ATTRS,
    HASH_TABLE_KEYS,
    RANGE_TABLE_ATTRS,
    RANGE_TABLE_KEYS,
    every_type_item,
    scan_all,
    simple_item,
)

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "lambda-restore-bucket"
DATE = "2026-04-04"
OLDER = "2026-04-01"
JOB = "dr-test-restore-job"

_handler: list[Any] = []


def invoke(event: Any, context: LocalLambdaContext | None = None) -> dict[str, Any]:
    """``lambdas/restore/handler.py`` imported from its file, as the Lambda runtime does, and invoked."""
    if not _handler:
        spec = importlib.util.spec_from_file_location("restore_handler", ROOT / "lambdas/restore/handler.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handler.append(module.lambda_handler)
    return _handler[0](event, context or LocalLambdaContext(function_name="dr-test-restore"))


def _orders_item(i: int) -> dict[str, Any]:
    return every_type_item(f"o{i:03d}")


def _session_item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"s{i % 3}"}, "sk": {"B": bytes([i, 0xFF])}, "v": {"S": f"session {i}"}}


@pytest.fixture
def fleet(aws, monkeypatch):
    """Two tables backed up on DATE (an older backup of orders on OLDER), then damaged; the Glue
    restore job exists in the local Glue. Returns the clients and each table's pre-damage scan."""
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("RESTORE_GLUE_JOB_NAME", JOB)
    export_layout.configure(items_per_file=4, empty_files=1)
    ddb, s3, glue = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("glue")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "orders", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "sessions", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "orders", [_orders_item(i) for i in range(5)])
    make_backup(ddb, s3, BUCKET, ["orders"], OLDER)
    put_items(ddb, "orders", [_orders_item(i) for i in range(5, 12)])
    put_items(ddb, "sessions", [_session_item(i) for i in range(9)])
    backup = make_backup(ddb, s3, BUCKET, ["orders", "sessions"], DATE)
    before = {t: scan_all(ddb, t) for t in ("orders", "sessions")}
    # The bad day: deletes, an overwrite, junk.
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "o003"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "o004"}, "s": {"S": "overwritten"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "junk"}, "s": {"S": "junk"}})
    ddb.delete_item(TableName="sessions", Key={"pk": {"S": "s1"}, "sk": {"B": bytes([4, 0xFF])}})
    glue.create_job(
        Name=JOB,
        Role="arn:aws:iam::123456789012:role/dr-test-restore-job-role",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/artifacts/restore_job.py"},
    )
    return {"ddb": ddb, "s3": s3, "glue": glue, "before": before, "backup": backup}


def _stored_report(s3, body: dict) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=body["report_key"])["Body"].read())


# --- each event field -----------------------------------------------------------------------------


def test_the_empty_event_restores_every_table_of_the_latest_backup(fleet):
    ddb, s3 = fleet["ddb"], fleet["s3"]
    response = invoke({})
    body = response["body"]
    assert response["statusCode"] == 200, body
    assert (body["requested_date"], body["backup_date"], body["finished"]) == ("latest", DATE, True)
    timings = body["timings"]
    assert 0 < timings["seconds_to_first_write"] <= timings["seconds_to_last_write"] <= timings["seconds"]
    assert set(body["tables"]) == {"orders", "sessions"}
    for table in ("orders", "sessions"):
        assert body["tables"][table]["status"] == "SUCCEEDED"
    # Put back what was deleted or overwritten; without clear_existing_data the junk stays.
    orders = scan_all(ddb, "orders")
    assert {k: v for k, v in orders.items() if k != ("junk",)} == fleet["before"]["orders"]
    assert ("junk",) in orders
    assert scan_all(ddb, "sessions") == fleet["before"]["sessions"]
    stored = _stored_report(s3, body)
    assert stored["run_id"] == body["run_id"] and stored["statusCode"] == 200
    assert body["report_key"].startswith(f"{PREFIX}/{DATE}/restore-reports/")


def test_backup_date_and_tables_choose_the_backup_and_the_tables(fleet):
    ddb = fleet["ddb"]
    sessions_before = scan_all(ddb, "sessions")
    response = invoke({"backup_date": OLDER, "tables": ["orders"]})
    body = response["body"]
    assert response["statusCode"] == 200, body
    assert body["backup_date"] == OLDER and set(body["tables"]) == {"orders"}
    assert body["tables"]["orders"]["items_written"] == 5
    orders = scan_all(ddb, "orders")
    older = {k: v for k, v in fleet["before"]["orders"].items() if int(k[0][1:]) < 5}
    assert {k: orders[k] for k in older} == older  # o003 back, o004 back as it was on OLDER
    assert scan_all(ddb, "sessions") == sessions_before  # not selected: untouched


def test_dry_run_validates_and_writes_nothing(fleet):
    ddb = fleet["ddb"]
    damaged = {t: scan_all(ddb, t) for t in ("orders", "sessions")}
    response = invoke({"dry_run": True, "clear_existing_data": True})
    body = response["body"]
    assert response["statusCode"] == 200 and body["dry_run"] is True, body
    for table in ("orders", "sessions"):
        result = body["tables"][table]
        assert result["status"] == "VALIDATED" and result["items_written"] == 0
        assert result["would_remove_extras"] is True
    assert body["tables"]["orders"]["would_write"] == 12
    assert body["timings"]["seconds_to_first_write"] is None  # nothing was written
    assert {t: scan_all(ddb, t) for t in ("orders", "sessions")} == damaged
    assert ddb.list_backups(TableName="orders")["BackupSummaries"] == []


def test_the_documented_dry_run_event(fleet):
    """docs/deploy.md's example payload, kept as tests/events/restore_dry_run.json."""
    event = json.loads((ROOT / "tests" / "events" / "restore_dry_run.json").read_text())
    assert (
        f"--payload '{json.dumps(event, separators=(',', ':'))}'" in (ROOT / "docs" / "deploy.md").read_text()
    )
    response = invoke(event)
    body = response["body"]
    assert response["statusCode"] == 200 and body["backup_date"] == DATE, body
    assert {t: r["status"] for t, r in body["tables"].items()} == {
        "orders": "VALIDATED",
        "sessions": "VALIDATED",
    }


def test_clear_existing_data_backs_up_writes_then_removes_only_the_extras(fleet):
    ddb = fleet["ddb"]
    response = invoke({"tables": ["orders"], "clear_existing_data": True})
    body = response["body"]
    result = body["tables"]["orders"]
    assert response["statusCode"] == 200, body
    assert result["extras_removed"] == 1 and result["backup_arn"], result
    assert scan_all(ddb, "orders") == fleet["before"]["orders"]  # exact: junk gone, the rest back
    assert [b["BackupArn"] for b in ddb.list_backups(TableName="orders")["BackupSummaries"]] == [
        result["backup_arn"]
    ]


def test_clear_existing_data_with_an_item_dynamodb_would_refuse_changes_nothing(fleet):
    """The job's safety rule: validation first; a table with a bad line is neither written nor
    cleared (its junk stays), and the report says so."""
    ddb, s3, backup = fleet["ddb"], fleet["s3"], fleet["backup"].tables["orders"]
    key = data_files(s3, BUCKET, backup)[1]["dataFileS3Key"]
    lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines()
    lines[1] = b'{"Item":{"pk":{"N":"7"}}}'
    replace_data_file(s3, BUCKET, key, gzip.compress(b"\n".join(lines) + b"\n"), backup.manifest_files_key)
    damaged = scan_all(ddb, "orders")

    response = invoke({"tables": ["orders"], "clear_existing_data": True})
    result = response["body"]["tables"]["orders"]
    assert response["statusCode"] == 500 and result["status"] == "FAILED", result
    assert f"data file {key}" in result["errors"][0] and "line 2" in result["errors"][0]
    assert result["items_written"] == 0 and result["target_state"] == "untouched"
    assert scan_all(ddb, "orders") == damaged
    assert ddb.list_backups(TableName="orders")["BackupSummaries"] == []


def test_target_tables_and_create_missing_tables_restore_into_a_new_table(fleet):
    ddb = fleet["ddb"]
    response = invoke(
        {
            "tables": ["orders"],
            "target_tables": {"orders": "orders_inspect"},
            "create_missing_tables": True,
        }
    )
    body = response["body"]
    assert response["statusCode"] == 200, body
    result = body["tables"]["orders"]
    assert (result["target_table"], result["created"]) == ("orders_inspect", True)
    assert scan_all(ddb, "orders_inspect") == fleet["before"]["orders"]
    pitr = ddb.describe_continuous_backups(TableName="orders_inspect")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    # Without create_missing_tables a missing target fails the table, naming the fix.
    response = invoke({"tables": ["sessions"], "target_tables": {"sessions": "sessions_gone"}})
    assert response["statusCode"] == 500
    assert "--create_missing_tables true" in response["body"]["tables"]["sessions"]["errors"][0]


def test_max_workers_and_the_write_budget_reach_the_restore(fleet):
    response = invoke({"tables": ["orders"], "max_workers": 2})
    body = response["body"]
    assert response["statusCode"] == 200, body
    # Two requests in flight (1,000 items/s each assumed) bound the estimate's rate below the
    # table's default budget of 40,000 items/s.
    assert body["estimate"]["tables"]["orders"]["write_rate"] == 2000
    assert body["tables"]["orders"]["write_rate_budget"] == 40000

    response = invoke({"tables": ["orders"], "max_write_rate": 60, "write_rate_percent": 50})
    body = response["body"]
    assert response["statusCode"] == 200, body
    assert body["tables"]["orders"]["write_rate_budget"] == 60  # the smaller of the two wins
    assert body["estimate"]["tables"]["orders"]["write_rate"] == 60

    response = invoke({"tables": ["sessions"], "write_rate_percent": 25})
    # On demand, warm throughput 4,000 write units/s (as the endpoint describes a new table): 25% of
    # it, at 1 WCU per (small) item.
    assert response["body"]["tables"]["sessions"]["write_rate_budget"] == 1000


def test_backup_bucket_environment_and_prefix_can_come_with_the_event(fleet, monkeypatch):
    monkeypatch.delenv("BACKUP_BUCKET")
    monkeypatch.delenv("ENVIRONMENT")
    response = invoke(
        {"BACKUP_BUCKET": BUCKET, "ENVIRONMENT": "other", "S3_EXPORTS_PREFIX": PREFIX, "tables": ["sessions"]}
    )
    body = response["body"]
    assert response["statusCode"] == 200, body
    assert body["environment"] == "other"
    assert any("taken in environment 'test'" in w for w in body["warnings"])


# --- bad events -----------------------------------------------------------------------------------

BAD_EVENTS = {
    "unknown field": ({"tabels": ["orders"]}, "unknown argument tabels (did you mean tables?)"),
    "hyphenated field": ({"dry-run": True}, "unknown argument dry-run (did you mean dry_run?)"),
    "Glue's own argument": ({"JOB_NAME": "x"}, "unknown argument JOB_NAME"),
    "empty table list": ({"tables": []}, "event field 'tables' is an empty array"),
    "tables as a string": ({"tables": "orders"}, "event field 'tables' is a string"),
    "a table name that is not a string": ({"tables": [7]}, "event field 'tables' is a number"),
    "an invalid table name": ({"tables": ["a"]}, "'a' is not a valid DynamoDB table name"),
    "dry_run as a string": ({"dry_run": "true"}, "event field 'dry_run' is a string"),
    "clear_existing_data as a number": ({"clear_existing_data": 1}, "'clear_existing_data' is a number"),
    "max_workers as a string": ({"max_workers": "5"}, "event field 'max_workers' is a string"),
    "max_workers as a boolean": ({"max_workers": True}, "event field 'max_workers' is a boolean"),
    "max_workers fractional": ({"max_workers": 2.5}, "event field 'max_workers' is a number (2.5)"),
    "max_workers out of range": (
        {"max_workers": 0},
        "--max_workers='0' is not valid; expected a whole number from 1 to 64",
    ),
    "backup_date as a number": ({"backup_date": 20260404}, "event field 'backup_date' is a number"),
    "backup_date not a date": ({"backup_date": "yesterday"}, "yesterday"),
    "backup_date empty": ({"backup_date": ""}, "--backup_date is given with an empty value"),
    "tables null": ({"tables": None}, "event field 'tables' is null"),
    "target_tables as a list": ({"target_tables": ["orders:x"]}, "event field 'target_tables' is an array"),
    "target_tables outside tables": (
        {"tables": ["orders"], "target_tables": {"sessions": "sessions_x"}},
        "--target_tables maps sessions, which --tables does not select",
    ),
    "max_write_rate too low": ({"max_write_rate": 0.1}, "is too low"),
    "write_rate_percent over 100": ({"write_rate_percent": 150}, "at most 100"),
    "not an object": (["orders"], "the event is an array; expected a JSON object"),
}


@pytest.mark.parametrize("name", list(BAD_EVENTS))
def test_a_bad_event_is_refused_with_400_and_nothing_starts(fleet, name):
    event, message = BAD_EVENTS[name]
    damaged = scan_all(fleet["ddb"], "orders")
    response = invoke(event)
    body = response["body"]
    assert response["statusCode"] == 400 and body["statusCode"] == 400, body
    assert message in body["errors"][0], body["errors"]
    assert body["tables"] == {}
    assert scan_all(fleet["ddb"], "orders") == damaged
    assert fleet["glue"].get_job_runs(JobName=JOB)["JobRuns"] == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"backup_date": "2026-04-03"}, "2026-04-03"),
        ({"tables": ["nope_table"]}, "table(s) nope_table are not in the backup of 2026-04-04"),
    ],
)
def test_a_backup_or_table_that_does_not_exist_is_a_bad_event(fleet, event, message):
    response = invoke(event)
    assert response["statusCode"] == 400, response
    assert message in response["body"]["errors"][0]


# --- hand-off to the Glue job ---------------------------------------------------------------------


def test_a_restore_that_would_not_fit_is_handed_to_the_glue_job_with_the_same_arguments(fleet):
    ddb, glue = fleet["ddb"], fleet["glue"]
    damaged = scan_all(ddb, "orders")
    event = {
        "tables": ["orders", "sessions"],
        "target_tables": {"sessions": "sessions_inspect"},
        "create_missing_tables": True,
        "clear_existing_data": True,
        "max_workers": 3,
        "max_write_rate": 250,
        "resume": False,
    }
    # 10 s left: less than the reserve alone, so no restore of any size fits.
    response = invoke(event, LocalLambdaContext(function_name="dr-test-restore", remaining_ms=10_000))
    body = response["body"]
    assert response["statusCode"] == 202, body
    assert body["statusCode"] == 202 and body["handed_off_to"] == "glue" and body["job_name"] == JOB
    assert body["report_location"] == f"s3://{BUCKET}/{PREFIX}/{DATE}/restore-reports/"
    assert body["estimate"]["needed_seconds"] > 10 >= body["remaining_seconds"]

    run = glue.get_job_run(JobName=JOB, RunId=body["job_run_id"])["JobRun"]
    assert run["Arguments"] == body["arguments"]
    assert run["Arguments"] == {
        "--backup_date": DATE,  # "latest" as resolved now: the job restores the backup estimated
        "--BACKUP_BUCKET": BUCKET,
        "--ENVIRONMENT": "test",
        "--S3_EXPORTS_PREFIX": PREFIX,
        "--tables": "orders,sessions",
        "--target_tables": "sessions:sessions_inspect",
        "--dry_run": "false",
        "--clear_existing_data": "true",
        "--create_missing_tables": "true",
        "--max_workers": "3",
        "--max_write_rate": "250",
        "--resume": "false",
        "--import_mode": "auto",
    }
    # The job's own parser reads them back into what the event said.
    argv = [part for pair in run["Arguments"].items() for part in pair]
    parsed = parse_args(argv, env={})
    assert (parsed.tables, parsed.target_tables, parsed.max_workers, parsed.max_write_rate) == (
        ("orders", "sessions"),
        (("sessions", "sessions_inspect"),),
        3,
        250.0,
    )
    assert (parsed.clear_existing_data, parsed.create_missing_tables, parsed.resume) == (True, True, False)
    assert scan_all(ddb, "orders") == damaged  # the function itself wrote nothing
    assert ddb.list_backups(TableName="orders")["BackupSummaries"] == []


def test_the_estimate_decides_restore_here_or_hand_off(fleet):
    """The same restore is handed off with 16 s left and done here with a second more than its
    estimate says it needs (12 items at 50 items/s, 4 data files read and written, times the safety
    factor 1.5, plus the 15 s reserve)."""
    event = {"tables": ["orders"], "max_write_rate": 50}
    short = invoke(event, LocalLambdaContext(remaining_ms=16_000))
    assert short["statusCode"] == 202, short["body"]
    work = short["body"]["estimate"]
    assert work["tables"]["orders"]["items"] == 12 and work["tables"]["orders"]["files"] == 4
    # 12 / 50 s of writes and 8 x 0.2 s of files (the reading of 12 small items is negligible).
    assert 1.84 <= work["seconds"] < 1.9
    assert work["needed_seconds"] == pytest.approx(work["seconds"] * 1.5 + 15, abs=0.01)
    enough = LocalLambdaContext(remaining_ms=int(work["needed_seconds"] * 1000) + 1000)
    response = invoke(event, enough)
    assert response["statusCode"] == 200 and response["body"]["tables"]["orders"]["status"] == "SUCCEEDED"


def test_a_data_file_too_large_for_the_free_temporary_storage_is_handed_off(fleet):
    """Each data file is spooled to /tmp before it is read: with less free space than the largest
    file may need (its uncompressed bytes, an upper bound), the job restores it instead. Called
    through the library function, which takes the free space the handler measures."""
    from dynamodb_dr.restore.args import parse_event
    from dynamodb_dr.restore.lambda_restore import LambdaSettings, restore_or_hand_off

    response = restore_or_hand_off(
        parse_event({"tables": ["orders"]}),
        s3=fleet["s3"],
        dynamodb=fleet["ddb"],
        glue=fleet["glue"],
        settings=LambdaSettings(glue_job_name=JOB),
        remaining_ms=lambda: 900_000,
        spool_free_bytes=100,
    )
    body = response["body"]
    assert response["statusCode"] == 202, body
    largest = body["estimate"]["largest_file_bytes"]
    assert (
        largest > 100
        and f"up to {largest:,} bytes on disk" in body["why"]
        and "100 bytes free" in body["why"]
    )
    run = fleet["glue"].get_job_run(JobName=JOB, RunId=body["job_run_id"])["JobRun"]
    assert run["Arguments"]["--tables"] == "orders"


def test_a_hand_off_that_cannot_start_the_job_fails_with_the_command(fleet, monkeypatch):
    monkeypatch.setenv("RESTORE_GLUE_JOB_NAME", "no-such-job")
    response = invoke({"dry_run": True}, LocalLambdaContext(remaining_ms=5_000))
    body = response["body"]
    assert response["statusCode"] == 500
    assert "EntityNotFoundException" in body["errors"][0]
    assert "aws glue start-job-run --job-name no-such-job --arguments" in body["errors"][0]


def test_without_the_glue_job_name_the_function_refuses_to_start(fleet, monkeypatch):
    monkeypatch.delenv("RESTORE_GLUE_JOB_NAME")
    response = invoke({})
    assert response["statusCode"] == 500
    assert "RESTORE_GLUE_JOB_NAME is missing" in response["body"]["errors"][0]


# --- cut short, then resumed ----------------------------------------------------------------------

LEDGER_FILES = 12
LEDGER_PER_FILE = 25


@pytest.fixture
def ledger(aws, monkeypatch):
    """One table of 12 data files of 25 items, backed up, then emptied of half its items."""
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("RESTORE_GLUE_JOB_NAME", JOB)
    export_layout.configure(items_per_file=LEDGER_PER_FILE, empty_files=0)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "ledger", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    items = [simple_item(f"l{i:04d}", i) for i in range(LEDGER_FILES * LEDGER_PER_FILE)]
    for start in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={"ledger": [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )
    backup = make_backup(ddb, s3, BUCKET, ["ledger"], DATE).tables["ledger"]
    before = scan_all(ddb, "ledger")
    for item in items[::2]:
        ddb.delete_item(TableName="ledger", Key={"pk": item["pk"]})
    return ddb, s3, backup, before


def _markers(s3) -> list[str]:
    page = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/{DATE}/restore-progress/")
    return [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".done")]


def _items_of(s3, key: str) -> set[str]:
    lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines()
    return {json.loads(line)["Item"]["pk"]["S"] for line in lines if line.strip()}


def _cut_short(s3, event: dict) -> dict:
    """Invoke with 120 s left; once the first data file is written, the context says 1 s is left."""
    context = LocalLambdaContext(function_name="dr-test-restore", remaining_ms=120_000)

    def run_out_of_time() -> None:
        deadline = time.monotonic() + 60
        while not _markers(s3) and time.monotonic() < deadline:
            time.sleep(0.01)
        context.remaining_ms = 1_000

    watcher = threading.Thread(target=run_out_of_time)
    watcher.start()
    try:
        return invoke(event, context)
    finally:
        watcher.join()


def test_a_restore_cut_short_stops_at_a_file_boundary_and_the_same_event_resumes_it(ledger):
    """The estimate says the restore fits (120 s left); then the time runs out under it (as with a
    throttled target): once the first data file is written, the context says 1 s is left. The
    function starts no further file, lets the one in flight finish, answers with the state and how to
    finish; the same event again resumes and the table ends exactly equal to the backup."""
    import hashlib

    ddb, s3, backup, before = ledger
    event = {"tables": ["ledger"], "max_write_rate": 100, "max_workers": 1}
    response = _cut_short(s3, event)
    body = response["body"]
    result = body["tables"]["ledger"]
    assert response["statusCode"] == 500 and body["finished"] is False, body
    written = result["files_written"]
    assert 1 <= written < LEDGER_FILES - 1, result
    assert body["files_not_started"] == LEDGER_FILES - written
    assert result["items_written"] == written * LEDGER_PER_FILE  # whole files only
    assert "invoke the Restore Lambda again with the same event" in body["how_to_finish"]
    assert f"aws glue start-job-run --job-name {JOB}" in body["how_to_finish"]
    assert any("invoke the Restore Lambda again with the same event" in e for e in result["errors"])
    assert result["target_state"] == f"partly written ({written * LEDGER_PER_FILE} of 300 items)"
    assert _stored_report(s3, body)["tables"]["ledger"]["status"] == "FAILED"

    # Exactly the files with a marker were written; the others are still as the damage left them.
    markers = set(_markers(s3))
    assert len(markers) == written
    done = [f["dataFileS3Key"] for f in data_files(s3, BUCKET, backup)]
    done = [
        k for k in done if any(m.endswith(hashlib.sha1(k.encode()).hexdigest() + ".done") for m in markers)
    ]
    restored = set().union(*(_items_of(s3, k) for k in done))
    now = {k[0] for k in scan_all(ddb, "ledger")}
    surviving = {f"l{i:04d}" for i in range(1, LEDGER_FILES * LEDGER_PER_FILE, 2)}
    assert now == surviving | restored

    again = invoke(event)
    body = again["body"]
    result = body["tables"]["ledger"]
    assert again["statusCode"] == 200 and body["finished"] is True, body
    assert result["resumed"] is True and result["files_skipped"] == written
    assert result["items_written"] == (LEDGER_FILES - written) * LEDGER_PER_FILE
    assert scan_all(ddb, "ledger") == before


def test_resume_false_starts_the_table_fresh_after_a_cut_short_restore(ledger):
    ddb, s3, _, before = ledger
    event = {"tables": ["ledger"], "max_write_rate": 100, "resume": False}
    cut = _cut_short(s3, event)
    assert cut["body"]["finished"] is False and cut["body"]["tables"]["ledger"]["files_written"] >= 1
    # Finishing means resuming, which this event turns off: the answer says so.
    assert 'with the same event without "resume": false' in cut["body"]["how_to_finish"]
    assert '"--resume": "true"' in cut["body"]["how_to_finish"]

    fresh = invoke(event)
    result = fresh["body"]["tables"]["ledger"]
    assert fresh["statusCode"] == 200, fresh["body"]
    assert (result["resumed"], result["files_skipped"], result["items_written"]) == (False, 0, 300)
    assert scan_all(ddb, "ledger") == before


# --- ImportTable: the function does not wait for one ------------------------------------------------


def test_a_missing_table_is_written_by_the_function_and_import_mode_import_goes_to_glue(fleet):
    ddb, glue = fleet["ddb"], fleet["glue"]
    ddb.delete_table(TableName="sessions")

    response = invoke({"tables": ["sessions"], "create_missing_tables": True})
    body = response["body"]
    assert response["statusCode"] == 200, body
    table = body["tables"]["sessions"]
    assert (
        table["restore_path"] == "write" and "ImportTable would take minutes" in table["restore_path_reason"]
    )
    assert scan_all(ddb, "sessions") == fleet["before"]["sessions"]
    assert table["settings"]["PointInTimeRecovery"] == "applied"

    ddb.delete_table(TableName="sessions")
    response = invoke({"tables": ["sessions"], "create_missing_tables": True, "import_mode": "import"})
    body = response["body"]
    assert response["statusCode"] == 202, body
    assert "ImportTable restores sessions and runs for minutes" in body["why"]
    run = glue.get_job_run(JobName=JOB, RunId=body["job_run_id"])["JobRun"]
    assert run["Arguments"]["--import_mode"] == "import"
    assert "sessions" not in ddb.list_tables()["TableNames"]  # nothing created by the function


def test_the_function_restores_from_a_copy_of_the_bucket_with_the_original_gone(fleet):
    ddb, s3 = fleet["ddb"], fleet["s3"]
    copy = "lambda-restore-replica"
    s3.create_bucket(Bucket=copy)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            s3.copy_object(Bucket=copy, Key=o["Key"], CopySource={"Bucket": BUCKET, "Key": o["Key"]})
            s3.delete_object(Bucket=BUCKET, Key=o["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    ddb.delete_table(TableName="sessions")

    response = invoke(
        {
            "BACKUP_BUCKET": copy,
            "tables": ["orders", "sessions"],
            "create_missing_tables": True,
            "clear_existing_data": True,
        }
    )

    body = response["body"]
    assert response["statusCode"] == 200, body
    assert scan_all(ddb, "orders") == fleet["before"]["orders"]
    assert scan_all(ddb, "sessions") == fleet["before"]["sessions"]
    assert any(f"s3://{copy}, a copy of s3://{BUCKET}" in w for w in body["warnings"])
    assert body["report_key"] and s3.head_object(Bucket=copy, Key=body["report_key"])
