"""Glue PySpark job: restore DynamoDB tables from a backup (native exports in S3), type-exact.

Thin entry point: parse the arguments strictly, build the clients, check the backup, the tables and
the targets on the driver (``dynamodb_dr.restore.job.check_restore``: a bad argument, date or table
exits 2 in well under a second, before Spark starts), then run the stages on Spark
(``execute_restore``; GlueContext + Job when ``awsglue`` is importable, a plain local SparkSession
otherwise), print the JSON report (stdout), a summary table (stderr) and turn it into the exit code.

    python glue_jobs/restore_job.py --backup_date latest --BACKUP_BUCKET my-backups [--dry_run true]
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from dynamodb_dr.aws_errors import describe
from dynamodb_dr.clients import make_client
from dynamodb_dr.errors import BackupNotFoundError, ConfigError, DynamoDBDRError
from dynamodb_dr.logs import configure_json_logging
from dynamodb_dr.restore import drill
from dynamodb_dr.restore.args import RestoreArgs, parse_args, split_argv
from dynamodb_dr.restore.dispatch import check_restore, execute_restore
from dynamodb_dr.restore.progress import format_summary
from dynamodb_dr.restore.report import not_started
from dynamodb_dr.restore.runner import SparkRunner

logger = logging.getLogger("restore_job")

EXIT_OK = 0
"""Every table restored (statusCode 200)."""
EXIT_FAILED = 1
"""Some or all tables failed, or the restore could not run (statusCode 207 / 500)."""
EXIT_BAD_INPUT = 2
"""Bad arguments, a backup date / table / bucket that does not exist, or no credentials (statusCode
400); nothing started."""


def _spark_session(argv: Sequence[str]) -> tuple[Any, Any, bool]:
    """(spark, glue job or None, whether we created the session)."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from awsglue.job import Job  # type: ignore[import-not-found]
        from pyspark.context import SparkContext
    except ImportError:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession

        # Spark's Python workers must run this interpreter (its packages: botocore, isal), not
        # whatever `python3` comes first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = SparkSession.builder.appName("dynamodb-dr-restore")
        if not SparkConf().contains("spark.master"):
            builder = builder.master("local[*]")
        return builder.getOrCreate(), None, True
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    names = list(argv)
    job_name = names[names.index("--JOB_NAME") + 1] if "--JOB_NAME" in names[:-1] else "dynamodb-dr-restore"
    job.init(job_name, {})
    return glue_context.spark_session, job, False


def _could_not_start(exc: BaseException) -> str:
    """One line for a failure before any table started: no traceback, the cause and the fix."""
    if isinstance(exc, DynamoDBDRError):
        return str(exc)
    if isinstance(exc, ClientError):
        return f"the restore could not read what it needs ({describe(exc)})"
    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: run the job with an IAM role (Glue), or set AWS_PROFILE / "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (locally)"
        )
    return f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None, *, spark: Any = None, progress_seconds: float = 5.0) -> int:
    """Parse, check on the driver, then run the stages on Spark; print the JSON report (stdout) and a
    summary (stderr); return the exit code. Spark starts only once the driver's checks passed."""
    configure_json_logging()
    requested_at = datetime.now(UTC)
    argv = list(sys.argv[1:] if argv is None else argv)
    args: RestoreArgs | None = None
    try:
        args = parse_args(argv)
        if args.drill:
            return _drill(args, argv, spark, requested_at, progress_seconds)
        run = check_restore(args, s3=make_client("s3"), dynamodb=make_client("dynamodb"))
    except (ConfigError, BackupNotFoundError, NoCredentialsError) as exc:
        # No credentials is the caller's setup, like a wrong bucket: bad input, as for dynamodb-dr.
        logger.error("restore not started: bad input", extra={"error": _could_not_start(exc)})
        print(not_started(args, _could_not_start(exc), bad_input=True).to_json())
        return EXIT_BAD_INPUT
    except (DynamoDBDRError, ClientError, BotoCoreError) as exc:
        logger.error("restore could not start", extra={"error": _could_not_start(exc)})
        print(not_started(args, _could_not_start(exc), bad_input=False).to_json())
        return EXIT_FAILED

    job = None
    created = False

    def start_spark() -> Any:
        nonlocal job, created
        session, job, created = _spark_session(argv)
        return session

    runner = SparkRunner(spark) if spark is not None else SparkRunner(factory=start_spark)
    try:
        report = execute_restore(run, runner, progress_seconds=progress_seconds)
    except Exception as exc:  # a failure outside any table's handling: still a report, never a traceback
        logger.error("restore failed", extra={"error": _could_not_start(exc)}, exc_info=True)
        failed = run.report
        failed.errors.append(f"the restore stopped: {_could_not_start(exc)}")
        failed.finish()
        print(failed.to_json())
        return EXIT_FAILED
    finally:
        if created:
            runner.spark.stop()
    print(report.to_json())
    print(format_summary(report), file=sys.stderr)
    if job is not None:
        job.commit()
    return EXIT_OK if report.ok else EXIT_FAILED


def _run_started(argv: Sequence[str]) -> datetime | None:
    """When this Glue job run started (GetJobRun's StartedOn): a drill's RTO counts from the request,
    so Glue's own start-up before the script runs counts too. None outside Glue, or when it cannot be
    read (the script's start is used then, and a warning says so)."""
    raw = split_argv(argv)
    name, run_id = raw.get("JOB_NAME"), raw.get("JOB_RUN_ID")
    if not name or not run_id:
        return None
    try:
        started = make_client("glue").get_job_run(JobName=name, RunId=run_id)["JobRun"].get("StartedOn")
    except ClientError as exc:
        logger.warning(
            "drill: the job run's start could not be read; RTO counts from the script's start",
            extra={"error": describe(exc)},
        )
        return None
    if not isinstance(started, datetime):
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def _drill(
    args: RestoreArgs, argv: Sequence[str], spark: Any, requested_at: datetime, progress_seconds: float
) -> int:
    """``--drill true``: restore into scratch tables, verify, record, delete, announce
    (``dynamodb_dr.restore.drill``). Bad input raises to ``main`` (exit 2) before Spark starts."""
    created = False

    def start_spark() -> Any:
        nonlocal created
        session, _, created = _spark_session(argv)
        return session

    runner = SparkRunner(spark) if spark is not None else SparkRunner(factory=start_spark)
    requested_at = _run_started(argv) or requested_at
    try:
        report = drill.run_drill(
            args,
            s3=make_client("s3"),
            dynamodb=make_client("dynamodb"),
            cloudwatch=make_client("cloudwatch"),
            sns=make_client("sns") if args.drill_topic_arn else None,
            runner=runner,
            requested_at=requested_at,
            progress_seconds=progress_seconds,
        )
    finally:
        if created:
            runner.spark.stop()
    print(report.to_json())
    print(format_summary(report.restore), file=sys.stderr)
    print(drill.format_drill(report), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
