"""``dynamodb-dr restore`` with time travel, through the console script in a subprocess against the
local endpoint: a dry-run rewind and a rewind on local Spark (real output, exit code), and bad
points refused in one line with exit 2."""

from __future__ import annotations

import json

import boto3
import pytest

from dynamodb_dr.restore.timetravel.points import iso
from tests.functional.test_cli import assert_bad_input, base_env, console_script, run  # noqa: F401
from tests.functional.test_time_travel import BUCKET, PREFIX, _by_pk, history, item
from tests.support.handlaid import same_items, scan_all

pytestmark = pytest.mark.spark


def env():
    return base_env(BACKUP_BUCKET=BUCKET, S3_EXPORTS_PREFIX=PREFIX)


def test_rewind_through_the_console_script(aws, console_script):  # noqa: F811
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    chain = history(ddb, s3)
    ddb.put_item(TableName="ttable", Item=item("a0", v={"N": "100"}))  # written after the last window
    point = iso(chain.boundaries[2])
    dry = run(
        console_script,
        "restore",
        "--rewind_to",
        point,
        "--tables",
        "ttable",
        "--dry_run",
        "true",
        env=env(),
        timeout=300,
    )
    assert dry.returncode == 0, dry.stderr
    assert f"rewind_to {point}: effective {point} (0 s before the point asked), 2 windows" in dry.stderr
    assert "2 puts, 1 deletes, 1 conflicts, 1 unchanged, 4 reads" in dry.stderr
    assert "(dry run: nothing written)" in dry.stderr
    assert 'conflict {"pk":{"S":"a0"}' in dry.stderr
    done = run(
        console_script,
        "restore",
        "--rewind_to",
        point,
        "--tables",
        "ttable",
        "--json",
        env=env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    travel = json.loads(done.stdout)["tables"]["ttable"]["time_travel"]
    assert (travel["puts"], travel["deletes"], travel["conflicts"]) == (2, 1, 1)
    expected = _by_pk(chain.states[2])
    expected["a0"] = item("a0", v={"N": "100"})
    assert same_items(scan_all(ddb, "ttable"), list(expected.values()), ("pk", "sk")) == []


def test_bad_points_are_one_line_and_exit_2(aws, console_script):  # noqa: F811
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for args, words in [
        (["--restore_time", "2026-11-30T10:00:00+02:00"], ["is not in UTC"]),
        (["--rewind_to", "soon"], ["is not a point in time"]),
        (["--restore_time", "2026-11-30T10:00:00Z", "--backup_date", "latest"], ["give one of them"]),
        (
            ["--export_uri", "s3://nowhere-bucket/x", "--target_tables", "t_copy"],
            ["nowhere-bucket", "does not exist"],
        ),
    ]:
        assert_bad_input(run(console_script, "restore", *args, env=env()), *words)
