"""The job checks its arguments and the backup on the driver, before Spark starts, and every way
it can fail to start ends in the JSON report with a clear exit code, never a traceback.

Each case runs ``glue_jobs/restore_job.py`` as a process against the local endpoint with
``SPARK_HOME`` pointing nowhere: had the job tried to start Spark, it could not have, so an exit 2
with the right message proves the check ran before Spark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dynamodb_dr.clients import make_client
from tests.support.backups import create_table, make_backup, put_items
from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS, simple_item

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "early-checks"
DATE = "2026-01-15"


@pytest.fixture
def backup(aws):
    ddb, s3 = make_client("dynamodb"), make_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "users", [simple_item(f"u{i}", i) for i in range(3)])
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    return ddb, s3


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SPARK_HOME": "/nonexistent/spark-must-not-start",
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "glue_jobs/restore_job.py", *argv],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout), done.stderr


def test_a_destructive_typo_exits_2_before_anything_starts(backup):
    ddb, _ = backup
    before = ddb.scan(TableName="users")["Items"]
    code, report, _ = run(
        "--backup_date", "latest", "--BACKUP_BUCKET", BUCKET,
        "--dry-run", "true", "--tabels", "users", "--clear_existing_data", "true",
    )  # fmt: skip
    assert code == 2 and report["statusCode"] == 400
    assert "--dry-run (did you mean --dry_run?)" in report["errors"][0]
    assert "--tabels (did you mean --tables?)" in report["errors"][0]
    assert sorted(map(str, ddb.scan(TableName="users")["Items"])) == sorted(map(str, before))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backup_date", "2026-01-01"], "no backup manifest for 2026-01-01"),
        (["--backup_date", DATE, "--tables", "nosuchtable"], "table(s) nosuchtable are not in the backup"),
        (["--backup_date", DATE, "--tables", ""], "--tables is given with an empty value"),
        (["--backup_date", DATE, "--max_write_rate", "0.001"], "the smallest useful write rate is 0.42"),
    ],
)
def test_a_wrong_date_or_table_exits_2_before_spark(backup, argv, message):
    code, report, _ = run("--BACKUP_BUCKET", BUCKET, *argv)
    assert code == 2 and report["statusCode"] == 400, report
    assert message in report["errors"][0]


def test_latest_with_a_missing_bucket_is_a_report_not_a_traceback(backup):
    code, report, _ = run("--backup_date", "latest", "--BACKUP_BUCKET", "no-such-bucket-here")
    assert code == 2 and report["statusCode"] == 400
    assert "backup bucket 'no-such-bucket-here' does not exist" in report["errors"][0]


def test_missing_credentials_are_a_report_not_a_traceback(backup, tmp_path):
    no_credentials = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_PROFILE": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
    }
    env = {k: v for k, v in os.environ.items() if k not in no_credentials}
    done = subprocess.run(
        [sys.executable, "glue_jobs/restore_job.py", "--backup_date", "latest", "--BACKUP_BUCKET", BUCKET],
        cwd=ROOT,
        env={
            **env,
            "PYTHONPATH": str(ROOT),
            "SPARK_HOME": "/nonexistent",
            **{k: v for k, v in no_credentials.items() if v},
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert (
        done.returncode == 2 and report["statusCode"] == 400
    )  # the caller's setup: bad input, as for the CLI
    assert report["errors"][0].startswith("no AWS credentials found")


def test_latest_passes_over_unreadable_manifests_and_names_them(backup, spark, capsys):
    import restore_job

    _, s3 = backup
    s3.put_object(Bucket=BUCKET, Key="native-exports/2026-01-20/manifest.json", Body=b"{not json")
    s3.put_object(
        Bucket=BUCKET,
        Key="native-exports/2026-01-19/manifest.json",
        Body=json.dumps({"schema_version": 99}).encode(),
    )
    code = restore_job.main(
        ["--backup_date", "latest", "--BACKUP_BUCKET", BUCKET, "--dry_run", "true"], spark=spark
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["backup_date"] == DATE
    warnings = "\n".join(report["warnings"])
    assert "passed over the backup of 2026-01-20: its manifest cannot be read" in warnings
    assert "passed over the backup of 2026-01-19" in warnings and "schema_version 99" in warnings
