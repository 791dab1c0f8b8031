"""``--verify*`` and ``--drill*``: the combinations that make no sense are refused by name; drill
arguments survive the Restore Lambda's hand-off; the Lambda refuses a drill (it is the job's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import job_arguments, parse_args, parse_event

BUCKET = "args-bucket"
TODAY = datetime.now(UTC).strftime("%Y%m%d")


def drill_args(*argv: str):
    return parse_args(["--BACKUP_BUCKET", BUCKET, "--backup_date", "latest", "--drill", "true", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--verify_only", "true", "--dry_run", "true"], "--dry_run true makes no sense"),
        (["--verify_only", "true", "--clear_existing_data", "true"], "--clear_existing_data true"),
        (["--verify_timestamp_attribute", "updated_at"], "without --verify true"),
        (["--verify", "maybe"], "is not a boolean"),
        (["--verify", "true", "--verify_timestamp_attribute", ""], "empty value"),
    ],
)
def test_bad_verify_arguments_are_refused_by_name(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_args(["--backup_date", "latest", "--BACKUP_BUCKET", BUCKET, *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--drill", "true", "--target_tables", "orders:xyz"], "leave --target_tables out"),
        (["--drill", "true", "--clear_existing_data", "true"], "--clear_existing_data true makes no sense"),
        (["--drill", "true", "--drill_topic_arn", "dr-drills"], "not an SNS topic ARN"),
        (["--keep_drill_tables", "true"], "go with --drill true"),
        (["--drill", "true", "--verify_only", "true"], "--drill true makes no sense"),
    ],
)
def test_bad_drill_arguments_are_refused_by_name(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_args(["--BACKUP_BUCKET", BUCKET, "--backup_date", "latest", *argv])


def test_drill_arguments_survive_the_hand_off_and_the_lambda_refuses_a_drill() -> None:
    args = drill_args(
        "--tables", "orders", "--drill_topic_arn", "arn:aws:sns:us-east-1:123456789012:dr-drills"
    )
    assert args.target_for("orders") == f"orders-drill-{TODAY}" and args.create_missing_tables and args.verify
    argv = [part for pair in job_arguments(args).items() for part in pair]
    assert parse_args(argv) == args
    with pytest.raises(ConfigError, match="runs on the Glue restore job"):
        parse_event({"drill": True}, env={"BACKUP_BUCKET": BUCKET})


POINT = "2026-01-15T10:15:00Z"


@pytest.mark.parametrize(
    "argv",
    [
        ["--restore_time", POINT, "--verify", "true", "--verify_timestamp_attribute", "updated_at"],
        ["--restore_time", POINT, "--verify_only", "true", "--tables", "orders"],
        ["--restore_time", POINT, "--drill", "true", "--tables", "orders", "--keep_drill_tables", "true"],
        [
            "--export_uri",
            "s3://copied/orders",
            "--restore_time",
            POINT,
            "--target_tables",
            "copy",
            "--verify",
            "true",
        ],
    ],
)
def test_a_point_in_time_can_be_verified_and_drilled_and_survives_the_hand_off(argv: list[str]) -> None:
    args = parse_args(["--BACKUP_BUCKET", BUCKET, *argv])
    assert args.verify or args.verify_only
    assert args.restore_time == POINT and args.time_travel
    if args.drill:
        assert args.target_for("orders") == f"orders-drill-{TODAY}" and args.create_missing_tables
    again = [part for pair in job_arguments(args).items() for part in pair]
    assert parse_args(again) == args


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rewind_to", POINT, "--verify", "true"], "--verify true is not supported with --rewind_to"),
        (
            ["--undo_window", f"{POINT}/2026-01-15T10:30:00Z", "--verify_only", "true"],
            "not supported with --undo",
        ),
        (["--rewind_to", POINT, "--drill", "true"], "work with --restore_time"),
        (
            ["--export_uri", "s3://copied/orders", "--target_tables", "copy", "--drill", "true"],
            "scratch tables itself",
        ),
    ],
)
def test_a_rewind_or_an_undo_is_not_verified_and_a_drill_names_its_own_table(
    argv: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_args(["--BACKUP_BUCKET", BUCKET, *argv])
