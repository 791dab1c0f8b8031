"""Shared fixtures: one local AWS endpoint (real moto server over HTTP) and one Spark session for
the whole run. The endpoint starts before any client or Spark worker exists, and every client finds
it through ``AWS_ENDPOINT_URL``, exactly as product code finds AWS."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lambda handlers and the Glue script are imported from their folders, as their runtimes do.
for extra in (ROOT, ROOT / "glue_jobs"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from local_aws import LocalAWS, export_layout, start_local_aws, table_import  # noqa: E402

SLOW_FILES = {
    # outside tools in their own processes: checkov, terraform, a notebook kernel, the packaging
    "test_checkov.py",
    "test_terraform_cli.py",
    "test_notebook.py",
    "test_artifacts.py",
    # files over ~10 s on 2 cores (measured with --durations=0): subprocesses per test, real waits
    "test_restore_lambda.py",
    "test_import_restore.py",
    "test_cli.py",
    "test_stream_safety.py",
    "test_stream_recovery.py",
    "test_batch_writer.py",
    "test_export_backup.py",
    "test_export_monitor.py",
    "test_time_travel.py",
    "test_time_travel_cli.py",
    "test_time_travel_chain.py",
    "test_export_chain.py",
    "test_restore_verify.py",
    "test_restore_drill.py",
    "test_time_travel_verify.py",
}
"""Left out of ``make test-fast`` (``make test`` runs everything)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``make test-fast`` leaves out what starts Spark or an outside tool: every test that uses the
    ``spark`` fixture is marked ``spark`` (whether or not its module says so), the files above
    ``slow``."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def local_aws_endpoint() -> Iterator[LocalAWS]:
    local = start_local_aws()
    yield local
    local.stop()


@pytest.fixture
def aws(local_aws_endpoint: LocalAWS) -> Iterator[LocalAWS]:
    """The local endpoint, emptied before the test, with default export settings."""
    local_aws_endpoint.reset()
    export_layout.configure(**vars(export_layout.Settings()))
    table_import.configure(**vars(table_import.Settings()))
    yield local_aws_endpoint


@pytest.fixture(scope="session")
def spark(local_aws_endpoint: LocalAWS):
    """One local Spark session for the whole run (started after the endpoint, so its Python workers
    inherit the endpoint's environment)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dynamodb-dr-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "2g")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
