"""``dynamodb-dr restore``: the restore job's own arguments, run on local Spark or as a Glue job run.

The arguments go through the job's parser (``restore.args.parse_args``: strict, the same names and
errors) and the job's driver checks (``restore.job.check_restore``: the backup, the tables, the
targets) before anything starts, wherever the restore then runs:

* locally: ``execute_restore`` on a Spark session of this process (``SparkRunner``);
* ``--on glue``: ``StartJobRun`` of the deployed job with exactly the arguments given (the job's
  default arguments, e.g. ``--BACKUP_BUCKET``, are Glue's to add), then ``GetJobRun`` until the run
  ends, reading the job's ``restore progress`` lines from its continuous log as they come, and at
  the end the report the job stored beside the backup.

Progress reaches the caller as the dictionaries the job logs (``restore.progress.progress_fields``):
locally from the ``restore progress`` log records, on Glue from the same lines in CloudWatch Logs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import describe, error_code
from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import RestoreArgs, parse_args, split_argv
from dynamodb_dr.restore.dispatch import check_restore, execute_restore
from dynamodb_dr.restore.job import RestoreRun
from dynamodb_dr.restore.runner import SparkRunner

PROGRESS_MESSAGE = "restore progress"
PROGRESS_LOGGER = "dynamodb_dr.restore.progress"
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED"})
DEFAULT_LOG_GROUP = "/aws-glue/jobs/logs-v2"
"""Glue's continuous log group when the job names none (``--continuous-log-logGroup``)."""

Progress = Callable[[dict[str, Any]], None]
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# --- local Spark ------------------------------------------------------------------------------------


class _ProgressHandler(logging.Handler):
    """Hands each ``restore progress`` record's fields to ``on_progress``."""

    def __init__(self, on_progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.on_progress = on_progress

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() != PROGRESS_MESSAGE:
            return
        fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}
        try:
            self.on_progress(fields)
        except Exception:  # a display problem must never stop the restore
            self.handleError(record)


@contextlib.contextmanager
def progress_listener(on_progress: Progress) -> Iterator[None]:
    """While inside, the restore's progress lines go to ``on_progress`` too."""
    logger = logging.getLogger(PROGRESS_LOGGER)
    handler = _ProgressHandler(on_progress)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def require_spark() -> None:
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError(
            "a local restore runs on Spark and pyspark is not installed: pip install 'dynamodb-dr[spark]' "
            "(and Java 17), or run it in AWS with --on glue --job-name <restore job>"
        )


def local_spark() -> Any:
    """A local Spark session (``local[*]`` unless ``spark.master`` is configured), quiet: the CLI
    draws its own progress."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("dynamodb-dr-restore")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
    )
    if not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_local(run: RestoreRun, *, progress_seconds: float, on_progress: Progress) -> dict[str, Any]:
    """The checked restore on local Spark; the report as a dictionary (``RestoreReport.to_dict``).
    A failure outside any table's handling still ends in a report, as in the job."""
    runner = SparkRunner(factory=local_spark)
    try:
        with progress_listener(on_progress):
            report = execute_restore(run, runner, progress_seconds=progress_seconds)
    except Exception as exc:
        report = run.report
        report.errors.append(f"the restore stopped: {type(exc).__name__}: {exc}")
        report.finish()
    finally:
        if runner.started:
            runner.spark.stop()
    return report.to_dict()


# --- Glue ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlueRun:
    job_name: str
    run_id: str
    state: str
    arguments: dict[str, str]
    """The arguments the run was started with, as Glue recorded them."""
    error_message: str | None
    report: dict[str, Any] | None
    """The job's report for this run, when it stored one."""
    log_group: str


def _job(glue: Any, job_name: str) -> dict[str, Any]:
    try:
        return glue.get_job(JobName=job_name)["Job"]
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            raise ConfigError(
                f"there is no Glue job {job_name!r} in this account and region (check --job-name; "
                "Terraform's glue_restore module outputs job_name)"
            ) from None
        raise


def glue_arguments(argv: Sequence[str]) -> dict[str, str]:
    """The ``--name value`` pairs given on the command line, as StartJobRun's Arguments."""
    return {f"--{name}": value for name, value in split_argv(argv).items()}


def check_glue(
    glue: Any, job_name: str, argv: Sequence[str], *, s3: Any, dynamodb: Any
) -> tuple[dict[str, Any], RestoreRun]:
    """The job exists; the arguments, merged over its default arguments as Glue will merge them,
    pass the job's parser and its driver checks. Nothing is started."""
    job = _job(glue, job_name)
    given = glue_arguments(argv)
    merged = {**job.get("DefaultArguments", {}), **given}
    args: RestoreArgs = parse_args([part for pair in merged.items() for part in pair], env={})
    return job, check_restore(args, s3=s3, dynamodb=dynamodb)


class _LogReader:
    """The ``restore progress`` lines of one run's driver log stream, each once.

    Glue's continuous logging writes the driver's lines to the stream named after the job run id
    (executors to ``<run id>_<executor>``); the progress log runs on the driver. The stream is named
    exactly rather than by prefix, so no other run's lines can come in (the local endpoint ignores
    ``logStreamNamePrefix``, so a prefix could not be tested either)."""

    def __init__(self, logs: Any, group: str, run_id: str, since_ms: int) -> None:
        self.logs, self.group, self.run_id = logs, group, run_id
        self.since_ms = since_ms
        self.seen: set[str] = set()
        self.missing = False

    def read(self) -> list[dict[str, Any]]:
        lines = []
        kwargs: dict[str, Any] = {
            "logGroupName": self.group,
            "logStreamNames": [self.run_id],
            "startTime": self.since_ms,
            "filterPattern": f'"{PROGRESS_MESSAGE}"',
        }
        try:
            while True:
                page = self.logs.filter_log_events(**kwargs)
                for event in page.get("events", []):
                    if event.get("eventId") in self.seen:
                        continue
                    self.seen.add(event.get("eventId", ""))
                    with contextlib.suppress(ValueError):
                        fields = json.loads(event.get("message", ""))
                        if isinstance(fields, dict) and fields.get("message") == PROGRESS_MESSAGE:
                            lines.append(fields)
                    self.since_ms = max(self.since_ms, int(event.get("timestamp", 0)))
                token = page.get("nextToken")
                if not token:
                    break
                kwargs["nextToken"] = token
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            self.missing = True  # no log stream yet (the driver has not started), or no log group
        return lines


def _stamp(key: str) -> str:
    """``20260115T101500Z`` of a report key ``.../restore-reports/20260115T101500Z-<id>.json``."""
    return key.rsplit("/", 1)[-1].split("-", 1)[0]


def find_report(
    s3: Any, bucket: str, prefix: str, backup_date: str, since: datetime
) -> dict[str, Any] | None:
    """The newest restore report stored for ``backup_date`` at or after ``since``. The job allows one
    run at a time (max_concurrent_runs = 1), so that is this run's."""
    folder = f"{prefix}/{backup_date}/restore-reports/"
    floor = since.strftime("%Y%m%dT%H%M%SZ")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder):
        keys.extend(o["Key"] for o in page.get("Contents", []) if _stamp(o["Key"]) >= floor)
    if not keys:
        return None
    newest = max(keys, key=_stamp)
    report: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=newest)["Body"].read())
    return report


def run_on_glue(
    glue: Any,
    logs: Any,
    s3: Any,
    job: dict[str, Any],
    run: RestoreRun,
    argv: Sequence[str],
    *,
    poll_seconds: float,
    on_started: Callable[[str], None],
    on_state: Callable[[str], None],
    on_progress: Progress,
) -> GlueRun:
    """Start the job run with the arguments given and follow it until it ends."""
    job_name = job["Name"]
    arguments = glue_arguments(argv)
    started_at = time.time()
    run_id = glue.start_job_run(JobName=job_name, Arguments=arguments)["JobRunId"]
    on_started(run_id)
    group = job.get("DefaultArguments", {}).get("--continuous-log-logGroup") or DEFAULT_LOG_GROUP
    reader = _LogReader(logs, group, run_id, int(started_at * 1000) - 60_000)
    state = ""
    while True:
        details = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
        if details["JobRunState"] != state:
            state = details["JobRunState"]
            on_state(state)
        for fields in reader.read():
            on_progress(fields)
        if state in TERMINAL_STATES:
            break
        time.sleep(poll_seconds)
    report = None
    if run.report.backup_date:
        started_on = details.get("StartedOn")
        since = started_on if isinstance(started_on, datetime) else datetime.fromtimestamp(started_at)
        try:
            report = find_report(
                s3, run.args.backup_bucket, run.args.exports_prefix, run.report.backup_date, since
            )
        except (ClientError, ValueError) as exc:
            on_state(
                f"{state} (its report could not be read: {describe(exc) if isinstance(exc, ClientError) else exc})"
            )
    return GlueRun(
        job_name=job_name,
        run_id=run_id,
        state=state,
        arguments=dict(details.get("Arguments") or arguments),
        error_message=details.get("ErrorMessage"),
        report=report,
        log_group=group,
    )


def glue_exit_code(result: GlueRun) -> int:
    """The job's exit code, from its report when there is one, else from the run's state."""
    if result.report is not None:
        status = result.report.get("statusCode")
        return 0 if status == 200 else 2 if status == 400 else 1
    return 0 if result.state == "SUCCEEDED" else 1
