"""Job arguments: Glue's --name value convention, optional ones really optional, clear errors."""

from __future__ import annotations

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import DEFAULT_MAX_WORKERS, parse_args

BASE = ["--backup_date", "2026-01-15", "--BACKUP_BUCKET", "my-backups"]


def test_defaults_and_glue_extras_are_ignored():
    args = parse_args(
        [*BASE, "--JOB_NAME", "restore", "--TempDir", "s3://tmp/x", "--job-bookmark-option", "job-bookmark-disable",
         "--enable-continuous-cloudwatch-log", "true", "--enable-metrics"],
        env={},
    )
    assert args.backup_date == "2026-01-15" and args.backup_bucket == "my-backups"
    assert args.tables is None and args.target_tables == () and args.environment is None
    assert (args.dry_run, args.clear_existing_data, args.create_missing_tables) == (False, False, False)
    assert args.max_workers == DEFAULT_MAX_WORKERS and args.exports_prefix == "native-exports"


def test_every_option():
    args = parse_args(
        ["--backup_date=LATEST", "--BACKUP_BUCKET", "b-ucket", "--ENVIRONMENT", "prod", "--S3_EXPORTS_PREFIX", "/x/y/",
         "--tables", "orders, users", "--target_tables", "orders:orders_scratch", "--dry_run", "TRUE",
         "--clear_existing_data", "yes", "--create_missing_tables", "1", "--max_workers", "8"],
        env={},
    )
    assert args.backup_date == "latest" and args.environment == "prod" and args.exports_prefix == "x/y"
    assert args.tables == ("orders", "users")
    assert args.target_for("orders") == "orders_scratch" and args.target_for("users") == "users"
    assert (args.dry_run, args.clear_existing_data, args.create_missing_tables, args.max_workers) == (True, True, True, 8)


def test_bucket_environment_and_prefix_fall_back_to_the_environment():
    args = parse_args(["--backup_date", "latest"], env={"BACKUP_BUCKET": "env-bucket", "ENVIRONMENT": "dev",
                                                         "S3_EXPORTS_PREFIX": "p"})
    assert (args.backup_bucket, args.environment, args.exports_prefix) == ("env-bucket", "dev", "p")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--BACKUP_BUCKET", "b-ucket"], r"--backup_date is required: YYYY-MM-DD or 'latest'"),
        (["--backup_date", "15-01-2026", "--BACKUP_BUCKET", "bkt"], r"'15-01-2026' is not a date in the form YYYY-MM-DD"),
        (["--backup_date", "2026-02-30", "--BACKUP_BUCKET", "bkt"], r"not a real calendar date"),
        (["--backup_date", "latest"], r"--BACKUP_BUCKET is missing .*BACKUP_BUCKET is not set"),
        (["--backup_date", "latest", "--BACKUP_BUCKET", "Bad_Bucket"], r"not a valid S3 bucket name"),
        ([*BASE, "--dry_run", "maybe"], r"--dry_run='maybe' is not a boolean; expected true or false"),
        ([*BASE, "--max_workers", "0"], r"--max_workers='0' is not valid; expected a whole number from 1 to 64"),
        ([*BASE, "--max_workers", "four"], r"--max_workers='four'"),
        ([*BASE, "--tables", "ok_table,x"], r"'x' is not a valid DynamoDB table name"),
        ([*BASE, "--tables", "aaa,aaa"], r"more than once: aaa"),
        ([*BASE, "--target_tables", "orders"], r"'orders' is not a source:target pair; expected e.g."),
        ([*BASE, "--target_tables", "aaa:ccc,bbb:ccc"], r"maps the target table\(s\) ccc more than once"),
        ([*BASE, "--tables", "aaa", "--target_tables", "bbb:ccc"], r"maps bbb, which --tables does not select"),
        ([*BASE, "stray"], r"unexpected argument 'stray'"),
    ],
)
def test_bad_values_name_the_argument_and_the_expected_form(argv, message):
    with pytest.raises(ConfigError, match=message):
        parse_args(argv, env={})
