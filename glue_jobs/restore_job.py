"""Glue PySpark job: restore DynamoDB tables from a backup (native exports in S3), type-exact.

Thin entry point: parse the arguments, build the clients and the Spark session (GlueContext + Job
when ``awsglue`` is importable, a plain local SparkSession otherwise), call
``dynamodb_dr.restore.run_restore``, print the JSON report (stdout), a summary table (stderr) and
turn it into the exit code.

    python glue_jobs/restore_job.py --backup_date latest --BACKUP_BUCKET my-backups [--dry_run true]
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from dynamodb_dr.clients import make_client
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.logs import configure_json_logging
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.job import run_restore
from dynamodb_dr.restore.progress import format_summary
from dynamodb_dr.restore.report import RestoreReport

logger = logging.getLogger("restore_job")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _spark_session(argv: Sequence[str]) -> tuple[Any, Any, bool]:
    """(spark, glue job or None, whether we created the session)."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from awsglue.job import Job  # type: ignore[import-not-found]
        from pyspark.context import SparkContext
    except ImportError:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession

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


def main(argv: Sequence[str] | None = None, *, spark: Any = None, progress_seconds: float = 5.0) -> int:
    configure_json_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
    except DynamoDBDRError as exc:
        logger.error("bad job arguments", extra={"error": str(exc)})
        print(json.dumps({"statusCode": 400, "errors": [str(exc)]}, indent=2))
        return EXIT_BAD_INPUT

    job, created = None, False
    if spark is None:
        spark, job, created = _spark_session(argv)
    try:
        report = run_restore(
            args,
            spark=spark,
            s3=make_client("s3"),
            dynamodb=make_client("dynamodb"),
            progress_seconds=progress_seconds,
        )
    except DynamoDBDRError as exc:
        logger.error("restore could not start", extra={"error": str(exc)})
        failed = RestoreReport(
            backup_date=None,
            requested_date=args.backup_date,
            environment=args.environment,
            dry_run=args.dry_run,
        )
        failed.errors.append(str(exc))
        failed.finish()
        print(failed.to_json())
        return EXIT_FAILED
    finally:
        if created:
            spark.stop()
    print(report.to_json())
    print(format_summary(report), file=sys.stderr)
    if job is not None:
        job.commit()
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
