"""Which restore runs: a daily backup (``job``) or time travel (``timetravel``: ``--restore_time``,
``--rewind_to``, ``--undo_window``, ``--export_uri``), chosen by the arguments.

The restore job (Glue) and ``dynamodb-dr restore`` come through here. The Restore Lambda calls
``job`` directly: it restores daily backups only (its event refuses the time-travel fields), so its
role is not granted the item-by-item reads and writes a rewind makes."""

from __future__ import annotations

from typing import Any

from dynamodb_dr.restore import job
from dynamodb_dr.restore.args import RestoreArgs
from dynamodb_dr.restore.job import RestoreRun
from dynamodb_dr.restore.report import RestoreReport
from dynamodb_dr.restore.runner import SparkRunner, StageRunner
from dynamodb_dr.restore.timetravel import run as timetravel


def check_restore(args: RestoreArgs, *, s3: Any, dynamodb: Any) -> RestoreRun:
    """The driver's checks, before Spark (``job.check_restore`` or ``timetravel.check``)."""
    if args.time_travel:
        return timetravel.check(args, s3=s3, dynamodb=dynamodb)
    return job.check_restore(args, s3=s3, dynamodb=dynamodb)


def execute_restore(run: RestoreRun, runner: StageRunner, *, progress_seconds: float = 5.0) -> RestoreReport:
    """The stages on ``runner`` (``job.execute_restore`` or ``timetravel.execute``)."""
    if isinstance(run, timetravel.TimeTravelRun):
        return timetravel.execute(run, runner, progress_seconds=progress_seconds)
    return job.execute_restore(run, runner, progress_seconds=progress_seconds)


def run_restore(
    args: RestoreArgs,
    *,
    s3: Any,
    dynamodb: Any,
    spark: Any = None,
    runner: StageRunner | None = None,
    progress_seconds: float = 5.0,
) -> RestoreReport:
    """``job.run_restore`` for both kinds of restore."""
    run = check_restore(args, s3=s3, dynamodb=dynamodb)
    return execute_restore(run, runner or SparkRunner(spark), progress_seconds=progress_seconds)
