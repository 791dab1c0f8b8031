"""Strict job arguments: a typo never changes what a restore does.

A misspelt ``--dry_run`` used to be ignored, turning a rehearsal into a real restore; a misspelt
``--tables`` restored every table. Every name the job does not know (and Glue does not pass) is now
an error naming the closest known one, before anything starts."""

from __future__ import annotations

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore import write_rate
from dynamodb_dr.restore.args import MIN_WRITE_RATE, parse_args

BASE = ["--backup_date", "2026-01-15", "--BACKUP_BUCKET", "my-backups"]


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        # --dry_run: a typo would turn a rehearsal into a restore
        ("--dry-run", "--dry_run"),
        ("--dryrun", "--dry_run"),
        ("--dry_rn", "--dry_run"),
        ("--DRY_RUN", "--dry_run"),
        ("--Dry_Run", "--dry_run"),
        # --tables: a typo would restore every table of the backup
        ("--tabels", "--tables"),
        ("--table", "--tables"),
        ("--Tables", "--tables"),
        ("--target-tables", "--target_tables"),
        ("--target_table", "--target_tables"),
        # --clear_existing_data: destructive
        ("--clear-existing-data", "--clear_existing_data"),
        ("--clear_existing", "--clear_existing_data"),
        ("--clear_exisiting_data", "--clear_existing_data"),
        ("--clear_existing_date", "--clear_existing_data"),
        # --create_missing_tables, --resume, the budget
        ("--create-missing-tables", "--create_missing_tables"),
        ("--create_missing_table", "--create_missing_tables"),
        ("--resum", "--resume"),
        ("--max-write-rate", "--max_write_rate"),
        ("--max_write_rte", "--max_write_rate"),
        ("--write-rate-percent", "--write_rate_percent"),
        ("--max-workers", "--max_workers"),
        ("--backup-date", "--backup_date"),
        ("--backup_bucket", "--BACKUP_BUCKET"),
    ],
)
def test_a_typo_is_an_error_that_names_the_fix(typo, meant):
    argv = ["--backup_date", "2026-01-15", "--BACKUP_BUCKET", "my-backups", typo, "true"]
    if typo == "--backup-date":
        argv = ["--BACKUP_BUCKET", "my-backups", typo, "2026-01-15"]
    with pytest.raises(ConfigError) as error:
        parse_args(argv, env={})
    message = str(error.value)
    assert f"unknown argument {typo} (did you mean {meant}?)" in message
    assert "nothing was started" in message


def test_the_issue_example_is_refused_with_both_fixes():
    argv = [
        "--backup_date",
        "latest",
        "--dry-run",
        "true",
        "--tabels",
        "users",
        "--clear_existing_data",
        "true",
        "--BACKUP_BUCKET",
        "b-ucket",
    ]
    with pytest.raises(
        ConfigError, match=r"--dry-run \(did you mean --dry_run\?\), --tabels \(did you mean --tables\?\)"
    ):
        parse_args(argv, env={})


def test_a_name_like_nothing_known_gets_no_guess():
    with pytest.raises(ConfigError, match=r"unknown argument --zzzz; nothing was started") as error:
        parse_args([*BASE, "--zzzz", "1"], env={})
    assert "did you mean" not in str(error.value)


def test_glue_passes_its_own_arguments_and_they_are_ignored():
    glue = [
        "--JOB_NAME", "dynamodb-dr-restore-prod",
        "--JOB_ID", "j_0123",
        "--JOB_RUN_ID", "jr_4567",
        "--TempDir", "s3://aws-glue-assets/temporary/",
        "--job-bookmark-option", "job-bookmark-disable",
        "--enable-metrics", "",
        "--enable-continuous-cloudwatch-log", "true",
        "--enable-observability-metrics", "true",
        "--continuous-log-logGroup", "/aws-glue/jobs/logs-v2",
        "--extra-py-files", "s3://artifacts/glue/dynamodb_dr.zip",
        "--additional-python-modules", "s3://artifacts/glue/wheels/isal.whl",
        "--python-modules-installer-option", "--no-index",
        "--job-language", "python",
        "--scriptLocation", "s3://artifacts/glue/restore_job.py",
        "--conf", "spark.x=1",
    ]  # fmt: skip
    args = parse_args([*BASE, *glue, "--dry_run", "true"], env={})
    assert args.dry_run is True and args.tables is None


def test_an_argument_given_twice_is_an_error():
    with pytest.raises(ConfigError, match=r"--tables is given more than once \('orders' and 'users'\)"):
        parse_args([*BASE, "--tables", "orders", "--tables", "users"], env={})


@pytest.mark.parametrize("name", ["tables", "target_tables", "dry_run", "max_write_rate", "ENVIRONMENT"])
def test_an_empty_value_is_an_error_not_a_default(name):
    # `--tables "$TABLES"` with TABLES unset must not mean every table.
    with pytest.raises(ConfigError, match=rf"--{name} is given with an empty value; give a value or leave"):
        parse_args([*BASE, f"--{name}", ""], env={})
    with pytest.raises(ConfigError, match=rf"--{name} is given with an empty value"):
        parse_args([*BASE, f"--{name}", "  "], env={})


def test_a_rate_too_low_to_write_a_batch_a_minute_is_refused_naming_the_smallest_useful_one():
    with pytest.raises(ConfigError) as error:
        parse_args([*BASE, "--max_write_rate", "0.001"], env={})
    message = str(error.value)
    assert "--max_write_rate 0.001 is too low: one batch of 25 items would wait 25,000 s" in message
    assert "the smallest useful write rate is 0.42 items/s" in message
    assert parse_args([*BASE, "--max_write_rate", "0.42"], env={}).max_write_rate == 0.42
    assert MIN_WRITE_RATE == 25 / 60


def test_a_percent_that_leaves_less_than_a_batch_a_minute_fails_the_table():
    args = parse_args([*BASE, "--write_rate_percent", "0.01"], env={})
    table = {"Table": {"TableName": "tiny", "ProvisionedThroughput": {"WriteCapacityUnits": 1}}}
    with pytest.raises(
        ConfigError, match=r"--write_rate_percent 0.01 of tiny's write capacity .* is too low"
    ):
        write_rate.table_budget(args, table)


def test_writers_are_capped_so_each_gets_a_useful_share():
    assert write_rate.concurrent_writers(100, 36, budget=1.0) == 2  # 0.5 items/s each
    assert write_rate.concurrent_writers(100, 36, budget=0.42) == 1
    assert write_rate.concurrent_writers(100, 36, budget=1000) == 36


@pytest.mark.parametrize(
    ("date", "named"),
    [
        ("\uff12\uff10\uff12\uff16-01-15", "FULLWIDTH DIGIT TWO"),
        ("\u0662\u0660\u0662\u0666-\u0660\u0661-\u0661\u0665", "ARABIC-INDIC DIGIT TWO"),
        ("2026\u201301\u201315", "EN DASH"),
    ],
)
def test_a_date_in_other_digits_says_what_is_wrong(date, named):
    with pytest.raises(ConfigError) as error:
        parse_args(["--backup_date", date, "--BACKUP_BUCKET", "bkt"], env={})
    message = str(error.value)
    assert "contains characters other than ASCII digits and '-'" in message and named in message
    assert "not a real calendar date" not in message
