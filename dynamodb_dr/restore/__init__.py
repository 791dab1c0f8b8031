"""The Glue PySpark restore job's library: arguments, plan, Spark orchestration, report."""

from dynamodb_dr.restore.args import RestoreArgs, parse_args
from dynamodb_dr.restore.job import run_restore
from dynamodb_dr.restore.report import RestoreReport

__all__ = ["RestoreArgs", "RestoreReport", "parse_args", "run_restore"]
