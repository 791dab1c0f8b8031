"""Build a table's export chain end to end on the local endpoint, with the real Lambdas.

``build_chain`` is the one call the restore tests and the demo need::

    from tests.support.chains import build_chain

    built = build_chain(dynamodb, s3, bucket="my-bucket", table="orders", windows=3,
                        write=lambda i: put_items_changed_in_window(i))
    built.chain.windows          # 3 COMPLETED ChainWindows, contiguous, each `minutes` long
    built.boundaries             # [full export time, end of window 0, end of window 1, end of window 2]
    built.states                 # the table (scan_all) at each boundary, to compare a restore with

What it does, all through the real code over HTTP: enables PITR on ``table`` (which must exist and
hold its first items), runs the export Lambda (the daily full backup of ``backup_date``) and the
export monitor until that export is COMPLETED, then for each window ``i``: calls ``write(i)`` (the
writes that land in window ``i``), moves the endpoint's clock (``local_aws.clock``) one window
forward and runs the export chain Lambda (which starts window ``i``). A last chain run follows the
windows until every one is COMPLETED. The clock is never moved back; the ``aws`` fixture resets it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dynamodb_dr.export.chain_state import Chain, parse_time, read_chain
from local_aws import clock
from local_aws.lambda_context import LocalLambdaContext
from tests.support.items import scan_all
from tests.support.lambdas import load_handler

PREFIX = "native-exports"
ENVIRONMENT = "test"


def chain_env(
    bucket: str,
    tables: list[str],
    *,
    minutes: int = 15,
    view: str = "NEW_AND_OLD_IMAGES",
    export_format: str = "DYNAMODB_JSON",
    prefix: str = PREFIX,
) -> dict[str, str]:
    """The environment the export, monitor and chain Lambdas read (as Terraform sets it)."""
    return {
        "BACKUP_BUCKET": bucket,
        "ENVIRONMENT": ENVIRONMENT,
        "DYNAMODB_TABLES": "[" + ",".join(f'"{t}"' for t in tables) + "]",
        "S3_EXPORTS_PREFIX": prefix,
        "EXPORT_FORMAT": export_format,
        "INCREMENTAL_EXPORT_MINUTES": str(minutes),
        "INCREMENTAL_EXPORT_VIEW": view,
    }


@contextmanager
def lambda_env(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` set in this process for the duration (the handlers read os.environ)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def invoke(name: str, env: Mapping[str, str], event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``lambdas/<name>/handler.py`` with ``env``, as Lambda would."""
    with lambda_env(env):
        result: dict[str, Any] = load_handler(name)(
            event or {}, LocalLambdaContext(function_name=f"test-{name}")
        )
    return result


def full_backup(env: Mapping[str, str], backup_date: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """The export Lambda for ``backup_date``, then the monitor until the backup is no longer
    IN_PROGRESS. Returns the monitor's last response body."""
    started = invoke("export_backup", env, {"backup_date": backup_date})
    assert started["statusCode"] == 200, started
    deadline = time.monotonic() + timeout
    while True:
        body = invoke("export_monitor", env, {"backup_date": backup_date})["body"]
        if body["backup_status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def run_chain(env: Mapping[str, str]) -> dict[str, Any]:
    """One scheduled run of the export chain Lambda."""
    return invoke("export_chain", env, {"source": "aws.events", "detail-type": "Scheduled Event"})


def chain_of(s3: Any, bucket: str, table: str, prefix: str = PREFIX) -> Chain:
    stored = read_chain(s3, bucket, f"{prefix}/incremental/{table}")
    assert stored is not None, f"no chain.json for {table}"
    return stored.chain


def follow_until_complete(
    env: Mapping[str, str], s3: Any, bucket: str, table: str, *, timeout: float = 30.0
) -> Chain:
    """Chain runs (no clock move) until the base and every window of ``table``'s chain are done."""
    deadline = time.monotonic() + timeout
    while True:
        run_chain(env)
        chain = chain_of(s3, bucket, table, env.get("S3_EXPORTS_PREFIX", PREFIX))
        exports = [chain.base, *chain.windows]
        if all(e.status != "IN_PROGRESS" for e in exports) or time.monotonic() > deadline:
            return chain
        time.sleep(0.05)


@dataclass
class BuiltChain:
    chain: Chain
    env: dict[str, str]
    """The Lambdas' environment (``run_chain(built.env)`` runs the chain Lambda once more)."""
    backup_date: str = ""
    boundaries: list[datetime] = field(default_factory=list)
    """The full export's time, then the end of each window (aware UTC datetimes)."""
    states: list[dict[tuple, dict[str, Any]]] = field(default_factory=list)
    """``scan_all`` of the table at each boundary (same order as ``boundaries``)."""


def build_chain(
    dynamodb: Any,
    s3: Any,
    *,
    bucket: str,
    table: str,
    windows: int,
    write: Callable[[int], None] | None = None,
    minutes: int = 15,
    view: str = "NEW_AND_OLD_IMAGES",
    export_format: str = "DYNAMODB_JSON",
    backup_date: str = "2026-12-01",
) -> BuiltChain:
    """A full backup of ``table`` by the export Lambda and ``windows`` COMPLETED incremental windows
    by the export chain Lambda, ``write(i)`` making the changes that land in window ``i`` (it must
    not move the clock itself).

    ``bucket`` must exist and ``table`` exist with its first items; PITR is enabled here. The daily
    backup is filed under ``backup_date`` (its manifest: ``native-exports/{backup_date}/manifest.json``)."""
    dynamodb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    env = chain_env(bucket, [table], minutes=minutes, view=view, export_format=export_format)
    backup = full_backup(env, backup_date)
    assert backup["backup_status"] == "COMPLETE", backup
    states = [scan_all(dynamodb, table)]
    for i in range(windows):
        if write is not None:
            write(i)
        states.append(scan_all(dynamodb, table))
        clock.advance(minutes * 60)
        result = run_chain(env)
        assert result["body"]["tables"][table]["windows_started"] == 1, result
    chain = follow_until_complete(env, s3, bucket, table)
    assert [w.status for w in chain.windows] == ["COMPLETED"] * windows, chain.windows
    boundaries = [parse_time(chain.base.export_time), *(parse_time(w.end) for w in chain.windows)]
    return BuiltChain(chain=chain, env=env, backup_date=backup_date, boundaries=boundaries, states=states)
