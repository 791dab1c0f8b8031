"""Job arguments: Glue's --name value convention, optional ones really optional, clear errors."""

from __future__ import annotations

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore import write_rate
from dynamodb_dr.restore.args import DEFAULT_MAX_WORKERS, parse_args
from dynamodb_dr.restore.progress import TABLE_COUNTS, TableTotals, format_summary, progress_fields
from dynamodb_dr.restore.report import RestoreReport, TableResult

BASE = ["--backup_date", "2026-01-15", "--BACKUP_BUCKET", "my-backups"]


def test_defaults_and_glue_extras_are_ignored():
    args = parse_args(
        [
            *BASE,
            "--JOB_NAME",
            "restore",
            "--TempDir",
            "s3://tmp/x",
            "--job-bookmark-option",
            "job-bookmark-disable",
            "--enable-continuous-cloudwatch-log",
            "true",
            "--enable-metrics",
        ],
        env={},
    )
    assert args.backup_date == "2026-01-15" and args.backup_bucket == "my-backups"
    assert args.tables is None and args.target_tables == () and args.environment is None
    assert (args.dry_run, args.clear_existing_data, args.create_missing_tables) == (False, False, False)
    assert args.max_workers == DEFAULT_MAX_WORKERS and args.exports_prefix == "native-exports"
    assert (args.max_write_rate, args.write_rate_percent, args.resume) == (None, None, True)


def test_every_option():
    args = parse_args(
        [
            "--backup_date=LATEST",
            "--BACKUP_BUCKET",
            "b-ucket",
            "--ENVIRONMENT",
            "prod",
            "--S3_EXPORTS_PREFIX",
            "/x/y/",
            "--tables",
            "orders, users",
            "--target_tables",
            "orders:orders_scratch",
            "--dry_run",
            "TRUE",
            "--clear_existing_data",
            "yes",
            "--create_missing_tables",
            "1",
            "--max_workers",
            "8",
            "--max_write_rate",
            "250.5",
            "--write_rate_percent",
            "40",
            "--resume",
            "false",
        ],
        env={},
    )
    assert args.backup_date == "latest" and args.environment == "prod" and args.exports_prefix == "x/y"
    assert args.tables == ("orders", "users")
    assert args.target_for("orders") == "orders_scratch" and args.target_for("users") == "users"
    assert (args.dry_run, args.clear_existing_data, args.create_missing_tables, args.max_workers) == (
        True,
        True,
        True,
        8,
    )
    assert (args.max_write_rate, args.write_rate_percent, args.resume) == (250.5, 40.0, False)


def test_bucket_environment_and_prefix_fall_back_to_the_environment():
    args = parse_args(
        ["--backup_date", "latest"],
        env={"BACKUP_BUCKET": "env-bucket", "ENVIRONMENT": "dev", "S3_EXPORTS_PREFIX": "p"},
    )
    assert (args.backup_bucket, args.environment, args.exports_prefix) == ("env-bucket", "dev", "p")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--BACKUP_BUCKET", "b-ucket"], r"--backup_date is required: YYYY-MM-DD or 'latest'"),
        (
            ["--backup_date", "15-01-2026", "--BACKUP_BUCKET", "bkt"],
            r"'15-01-2026' is not a date in the form YYYY-MM-DD",
        ),
        (["--backup_date", "2026-02-30", "--BACKUP_BUCKET", "bkt"], r"not a real calendar date"),
        (["--backup_date", "latest"], r"--BACKUP_BUCKET is missing .*BACKUP_BUCKET is not set"),
        (["--backup_date", "latest", "--BACKUP_BUCKET", "Bad_Bucket"], r"not a valid S3 bucket name"),
        ([*BASE, "--dry_run", "maybe"], r"--dry_run='maybe' is not a boolean; expected true or false"),
        (
            [*BASE, "--max_workers", "0"],
            r"--max_workers='0' is not valid; expected a whole number from 1 to 64",
        ),
        ([*BASE, "--max_workers", "four"], r"--max_workers='four'"),
        ([*BASE, "--tables", "ok_table,x"], r"'x' is not a valid DynamoDB table name"),
        ([*BASE, "--tables", "aaa,aaa"], r"more than once: aaa"),
        ([*BASE, "--target_tables", "orders"], r"'orders' is not a source:target pair; expected e.g."),
        ([*BASE, "--target_tables", "aaa:ccc,bbb:ccc"], r"maps the target table\(s\) ccc more than once"),
        (
            [*BASE, "--tables", "aaa", "--target_tables", "bbb:ccc"],
            r"maps bbb, which --tables does not select",
        ),
        ([*BASE, "stray"], r"unexpected argument 'stray'"),
        (
            [*BASE, "--max_write_rate", "0"],
            r"--max_write_rate='0' is not valid; expected a number above 0, e\.g\. "
            r"--max_write_rate 1000 \(items/s per table\)",
        ),
        ([*BASE, "--max_write_rate", "-5"], r"--max_write_rate='-5' is not valid"),
        ([*BASE, "--max_write_rate", "fast"], r"--max_write_rate='fast' is not valid"),
        ([*BASE, "--max_write_rate", "inf"], r"--max_write_rate='inf' is not valid"),
        ([*BASE, "--max_write_rate", "nan"], r"--max_write_rate='nan' is not valid"),
        (
            [*BASE, "--write_rate_percent", "101"],
            r"--write_rate_percent='101' is not valid; expected a number above 0 "
            r"and at most 100, e\.g\. --write_rate_percent 50",
        ),
        ([*BASE, "--write_rate_percent", "0"], r"--write_rate_percent='0' is not valid"),
        ([*BASE, "--write_rate_percent", "half"], r"--write_rate_percent='half' is not valid"),
        ([*BASE, "--resume", "maybe"], r"--resume='maybe' is not a boolean; expected true or false"),
    ],
)
def test_bad_values_name_the_argument_and_the_expected_form(argv, message):
    with pytest.raises(ConfigError, match=message):
        parse_args(argv, env={})


# --- the write budget ------------------------------------------------------------------------------

PROVISIONED = {
    "Table": {
        "TableName": "t",
        "BillingModeSummary": {"BillingMode": "PROVISIONED"},
        "ProvisionedThroughput": {"WriteCapacityUnits": 1000},
    }
}


def test_budget_is_the_smaller_of_the_two_arguments_and_the_table_quota_without_either():
    both = parse_args([*BASE, "--max_write_rate", "300", "--write_rate_percent", "50"], env={})
    assert write_rate.table_budget(both, PROVISIONED) == 300
    assert (
        write_rate.table_budget(both, PROVISIONED, write_units_per_item=4) == 125
    )  # 50% of 1000 WCU, 4 KB items
    percent = parse_args([*BASE, "--write_rate_percent", "50"], env={})
    assert write_rate.table_budget(percent, PROVISIONED) == 500
    assert write_rate.table_budget(parse_args(BASE, env={}), None) == 40_000


def test_write_units_per_item_round_the_average_item_up_to_whole_kb():
    assert write_rate.wcu_per_item(1_000_000, 1000) == 1  # 1,000 bytes
    assert write_rate.wcu_per_item(1_500_000, 1000) == 2
    assert write_rate.wcu_per_item(0, 0) == 1


@pytest.mark.parametrize("share", [20, 50, 100, 150, 1000, 5000])
def test_a_task_ceiling_keeps_every_5s_window_within_the_share(share):
    ceiling = write_rate.task_ceiling(share)
    # A token bucket at rate c with a 0.1 s burst releases at most c * (W + 0.1) + one batch in W s.
    assert ceiling * (5 + 0.1) + 25 <= share * 5 + 1e-9
    assert ceiling >= 0.9 * share or share < 100


def test_a_tiny_share_gets_half_of_it():
    assert write_rate.task_ceiling(4) == 2


def test_task_slots_count_the_executors_dynamic_allocation_may_add():
    assert write_rate.task_slots(8, {}) == 8
    scaling = {
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.maxExecutors": "9",
        "spark.executor.cores": "4",
    }
    assert write_rate.task_slots(8, scaling) == 36
    assert write_rate.task_slots(8, {**scaling, "spark.task.cpus": "2"}) == 18
    assert write_rate.task_slots(8, {**scaling, "spark.dynamicAllocation.enabled": "false"}) == 8
    assert write_rate.concurrent_writers(1, 36) == 1 and write_rate.concurrent_writers(100, 36) == 36


# --- progress --------------------------------------------------------------------------------------


def test_progress_counts_skipped_files_as_done_and_the_eta_comes_from_this_runs_rate():
    totals = TableTotals(
        "orders", "orders_tmp", files_total=10, items_total=1000, files_skipped=4, items_skipped=400
    )
    line = progress_fields(totals, files=2, items=200, elapsed=4.0)
    assert (line["files_done"], line["items_done"], line["items_per_second"], line["eta_seconds"]) == (
        6,
        600,
        50.0,
        8.0,
    )
    assert progress_fields(totals, files=0, items=0, elapsed=1.0)["eta_seconds"] is None  # no rate yet
    assert progress_fields(totals, files=6, items=600, elapsed=9.0)["eta_seconds"] == 0


def test_table_counts_merge_per_target():
    merged = TABLE_COUNTS.addInPlace(TABLE_COUNTS.zero({}), {"a": [1, 25]})
    merged = TABLE_COUNTS.addInPlace(merged, {"a": [1, 5], "b": [1, 0]})
    assert merged == {"a": [2, 30], "b": [1, 0]}


def test_summary_is_one_aligned_row_per_table():
    report = RestoreReport(backup_date="2026-01-15", requested_date="latest", environment=None, dry_run=False)
    report.tables["orders"] = TableResult(
        "orders",
        "orders",
        status="SUCCEEDED",
        files=4,
        items_in_export=100,
        items_written=60,
        items_skipped=40,
        files_written=3,
        files_skipped=1,
        seconds=2.0,
    )
    report.tables["users"] = TableResult("users", "users_tmp", status="FAILED", files=2, items_in_export=10)
    lines = format_summary(report).splitlines()
    assert lines[0] == "restore of backup 2026-01-15: statusCode 207"
    assert lines[1].split() == [
        "table",
        "target",
        "status",
        "items",
        "skipped",
        "files",
        "seconds",
        "items/s",
    ]
    assert lines[3].split() == ["orders", "orders", "SUCCEEDED", "100/100", "40", "4/4", "2.0", "30.0"]
    assert lines[4].split() == ["users", "users_tmp", "FAILED", "0/10", "0", "0/2", "0.0", "0.0"]
    assert lines[3].index("SUCCEEDED") == lines[4].index("FAILED") == lines[1].index("status")
