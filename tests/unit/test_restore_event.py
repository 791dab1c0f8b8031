"""The Restore Lambda's event parser: the job's names and checks with JSON types, and the event
turned back into the job's arguments for a hand-off (no network)."""

from __future__ import annotations

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import RestoreArgs, job_arguments, parse_args, parse_event

ENV = {"BACKUP_BUCKET": "my-backups", "ENVIRONMENT": "prod"}


def test_the_empty_event_is_latest_every_table_five_requests_in_flight():
    assert parse_event({}, ENV) == RestoreArgs(
        backup_date="latest", backup_bucket="my-backups", environment="prod", max_workers=5
    )


def test_every_field_with_its_json_type():
    args = parse_event(
        {
            "backup_date": "2026-01-31",
            "tables": ["orders", "users"],
            "target_tables": {"orders": "orders_scratch"},
            "dry_run": True,
            "clear_existing_data": True,
            "create_missing_tables": True,
            "max_workers": 8,
            "max_write_rate": 250.5,
            "write_rate_percent": 40,
            "resume": False,
            "S3_EXPORTS_PREFIX": "exports/",
        },
        ENV,
    )
    assert args == RestoreArgs(
        backup_date="2026-01-31",
        backup_bucket="my-backups",
        environment="prod",
        exports_prefix="exports",
        tables=("orders", "users"),
        target_tables=(("orders", "orders_scratch"),),
        dry_run=True,
        clear_existing_data=True,
        create_missing_tables=True,
        max_workers=8,
        max_write_rate=250.5,
        write_rate_percent=40.0,
        resume=False,
    )


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"backup_date": "2026-01-31", "tables": ["orders"], "dry_run": True},
        {"tables": ["a_b", "c.d"], "target_tables": {"a_b": "x-1", "c.d": "y.2"}, "max_write_rate": 0.5},
        {
            "clear_existing_data": True,
            "create_missing_tables": True,
            "resume": False,
            "write_rate_percent": 12.5,
        },
    ],
)
def test_the_job_arguments_of_an_event_parse_back_to_the_same_restore(event):
    args = parse_event(event, ENV)
    argv = [part for pair in job_arguments(args).items() for part in pair]
    assert parse_args(["--JOB_NAME", "restore", *argv], env={}) == args


def test_the_job_keeps_its_own_default_and_its_glue_arguments():
    # The job's command line is unchanged: Glue's own arguments pass, max_workers stays 4.
    args = parse_args(["--JOB_NAME", "x", "--backup_date", "latest"], env=ENV)
    assert args.max_workers == 4


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"tabels": ["x"]}, "unknown argument tabels (did you mean tables?)"),
        ({"max-workers": 2}, "did you mean max_workers?"),
        ({"TempDir": "s3://x/"}, "unknown argument TempDir"),
        ({"tables": []}, "'tables' is an empty array"),
        ({"target_tables": {}}, "'target_tables' is an empty object"),
        ({"target_tables": {"orders": 3}}, "'target_tables.orders' is a number"),
        ({"dry_run": "false"}, "'dry_run' is a string"),
        ({"max_write_rate": "fast"}, "'max_write_rate' is a string"),
        ({"max_write_rate": False}, "'max_write_rate' is a boolean"),
        ("latest", "the event is a string"),
        (None, "the event is null"),
    ],
)
def test_bad_events(event, message):
    with pytest.raises(ConfigError) as raised:
        parse_event(event, ENV)
    assert message in str(raised.value)
