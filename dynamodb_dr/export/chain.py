"""The export chain: per table, incremental exports (``ExportType=INCREMENTAL_EXPORT``) one window
after the other, from a full export on, so a restore can reach any window boundary.

One run (the export chain Lambda, on a schedule of every ``INCREMENTAL_EXPORT_MINUTES``) does, for
every table in parallel:

1. **Follow** the chain's exports still IN_PROGRESS (DescribeExport) and record COMPLETED/FAILED,
   item counts, billed sizes and where each ``manifest-summary.json`` is. Nothing waits: an export
   still running is looked at again next run.
2. **Check** the chain against the table (DescribeTable, DescribeContinuousBackups). A chain is
   broken when the table was recreated (its TableId changed), PITR is disabled, its base export or
   a window FAILED, or the next window would start before EarliestRestorableDateTime (the recovery
   period passed, or PITR was disabled and enabled again between runs). Then a new full export is
   started under the chain's prefix and a new chain begins at its ExportTime; the run says so: an
   ERROR log "export chain restarted" with the reason, and the metric ``ChainRestarted`` = 1. With
   PITR disabled no export can start: the chain is marked BROKEN and restarts once PITR is back.
3. **Start** the next windows, each ``ExportFromTime`` the previous ``ExportToTime``, as long as a
   whole window ends at or before LatestRestorableDateTime (PITR's "now minus its lag"): a chain that
   fell behind catches up several windows in one run (at most ``MAX_WINDOWS_PER_RUN``). Every
   request carries a ClientToken derived from the chain and the window, so a re-run starts nothing
   twice.
4. **Record** the chain in ``chain.json`` with a conditional write (``chain_state``), and publish
   ``ChainLagSeconds`` per table: how far the chain's newest restorable point (the end of its
   contiguous COMPLETED windows) trails LatestRestorableDateTime.

The first chain of a table starts at the newest COMPLETED full export of the daily backup (the
backup manifest's ``export_time``) when that export is of the same table (its summary's ``tableId``)
and still inside the PITR window; otherwise at a new full export under the chain's prefix.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dynamodb_dr.aws_errors import MISSING_TABLE_CODES, error_code, error_message
from dynamodb_dr.backup_manifest import COMPLETED, FAILED, IN_PROGRESS, list_backup_dates, read_manifest
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import BackupNotFoundError, ConcurrentUpdateError, DynamoDBDRError, ManifestError
from dynamodb_dr.export.chain_state import (
    ACTIVE,
    BASE_FAILED,
    BROKEN,
    CHAIN_START,
    DAILY_BACKUP,
    PITR_DISABLED,
    RECOVERY_PERIOD_PASSED,
    TABLE_RECREATED,
    WINDOW_FAILED,
    Chain,
    ChainBase,
    ChainBreak,
    ChainExport,
    ChainWindow,
    iso,
    parse_time,
    read_chain,
    write_chain,
)

logger = logging.getLogger(__name__)

METRICS_NAMESPACE = "DynamoDBDR"
"""CloudWatch namespace of the chain's metrics (the IAM policy allows PutMetricData to it only)."""
LAG_METRIC = "ChainLagSeconds"
RESTARTED_METRIC = "ChainRestarted"

MAX_PARALLEL_TABLES = 8
MAX_WINDOWS_PER_RUN = 96
"""Windows one run starts per table at most (a day of 15-minute windows); the next run goes on."""
DAILY_MANIFESTS_SEARCHED = 7
"""How many of the newest backup dates are searched for a full export to start the first chain."""

# Run outcomes per table.
RUN_OK = "OK"
RUN_BROKEN = "BROKEN"
RUN_WAITING = "WAITING"
RUN_ERROR = "ERROR"


@dataclass(frozen=True)
class TableState:
    """What DynamoDB says about the table now."""

    table_arn: str
    table_id: str
    pitr_enabled: bool
    earliest: datetime | None
    latest: datetime | None


@dataclass
class ChainRun:
    """What one run did for one table (the Lambda's response, the log lines, the metrics)."""

    table_name: str
    status: str = RUN_OK
    chain_id: str | None = None
    windows_started: int = 0
    windows_completed: int = 0
    windows_failed: int = 0
    restarted: bool = False
    break_reason: str | None = None
    break_detail: str | None = None
    covered_until: str | None = None
    lag_seconds: float | None = None
    error: str | None = None


def _token(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:64]


def _new_chain_id(table_name: str, *parts: str) -> str:
    return f"{table_name}-{_token(table_name, *parts)[:16]}"


# --- reading DynamoDB ------------------------------------------------------------------------------


def table_state(dynamodb: Any, table_name: str) -> TableState:
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription") or {}
    enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    return TableState(
        table_arn=table["TableArn"],
        table_id=table.get("TableId", ""),
        pitr_enabled=enabled,
        earliest=pitr.get("EarliestRestorableDateTime") if enabled else None,
        latest=pitr.get("LatestRestorableDateTime") if enabled else None,
    )


def record_description(export: ChainExport, description: dict[str, Any]) -> None:
    """Copy what DescribeExport (or the ExportTableToPointInTime answer) says into ``export``."""
    export.status = description.get("ExportStatus", export.status)
    if description.get("ExportManifest"):
        export.manifest_summary_key = description["ExportManifest"]
    if description.get("ItemCount") is not None:
        export.item_count = int(description["ItemCount"])
    if description.get("BilledSizeBytes") is not None:
        export.billed_size_bytes = int(description["BilledSizeBytes"])
    if export.status == FAILED:
        export.failure_code = description.get("FailureCode") or "UNKNOWN"
        export.failure_message = description.get("FailureMessage") or "no message from DynamoDB"


def follow_exports(dynamodb: Any, chain: Chain, run: ChainRun, log: Any) -> None:
    """DescribeExport every export of the chain still IN_PROGRESS (the chain's monitor step)."""
    pending: list[ChainExport] = [e for e in (chain.base, *chain.windows) if e.status == IN_PROGRESS]
    for export in pending:
        try:
            description = dynamodb.describe_export(ExportArn=export.export_arn)["ExportDescription"]
        except ClientError as exc:
            code = error_code(exc)
            if code in ("ExportNotFoundException", "ResourceNotFoundException"):
                export.status = FAILED
                export.failure_code, export.failure_message = code, error_message(exc)
            else:  # throttled, denied: look again next run
                log.warning(
                    "could not follow a chain export",
                    extra={"table_name": chain.table_name, "export_arn": export.export_arn, "error_code": code,
                           "error": error_message(exc)},
                )  # fmt: skip
                continue
        except BotoCoreError as exc:
            log.warning(
                "could not follow a chain export",
                extra={"table_name": chain.table_name, "export_arn": export.export_arn, "error": str(exc)},
            )
            continue
        else:
            record_description(export, description)
        note_outcome(chain, export, run, log)


def note_outcome(chain: Chain, export: ChainExport, run: ChainRun, log: Any) -> None:
    """Count (and log, when it FAILED) an export of the chain that finished."""
    if export.status == COMPLETED:
        run.windows_completed += isinstance(export, ChainWindow)
    elif export.status == FAILED:
        run.windows_failed += isinstance(export, ChainWindow)
        log.error(
            "chain export failed",
            extra={"table_name": chain.table_name, "chain_id": chain.chain_id, "export_arn": export.export_arn,
                   "failure_code": export.failure_code, "failure_message": export.failure_message},
        )  # fmt: skip


def follow_chain(
    dynamodb: Any, s3: Any, settings: BackupSettings, table_name: str, *, log: Any = None
) -> ChainRun | None:
    """The export monitor's part: record what became of the chain's running exports (DescribeExport),
    nothing else (no checks, no new exports: the chain Lambda's run does those). None when the
    table has no chain yet. A chain changed meanwhile is left for the next look."""
    log = log or logger
    stored = read_chain(s3, settings.backup_bucket, settings.incremental_prefix(table_name))
    if stored is None:
        return None
    chain, run = stored.chain, ChainRun(table_name=table_name, chain_id=stored.chain.chain_id)
    if any(e.status == IN_PROGRESS for e in (chain.base, *chain.windows)):
        follow_exports(dynamodb, chain, run, log)
        try:
            write_chain(s3, chain, etag=stored.etag)
        except ConcurrentUpdateError:
            log.info(
                "chain changed while it was followed; the next look records it",
                extra={"table_name": table_name},
            )
    run.covered_until = chain.covered_until()
    return run


# --- where a chain starts ------------------------------------------------------------------------


def _summary_table_id(s3: Any, bucket: str, summary_key: str) -> str | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read()
        return str(json.loads(body).get("tableId") or "") or None
    except (ClientError, ValueError):
        return None


def daily_base(s3: Any, settings: BackupSettings, table_name: str, state: TableState) -> ChainBase | None:
    """The newest COMPLETED full export of ``table_name`` in the daily backups, if it is of this very
    table (same TableId in its summary) and inside the PITR window; else None."""
    try:
        dates = list_backup_dates(s3, settings.backup_bucket, settings.exports_prefix)
    except ClientError:
        return None
    for backup_date in dates[:DAILY_MANIFESTS_SEARCHED]:
        try:
            manifest = read_manifest(
                s3, settings.backup_bucket, settings.exports_prefix, backup_date
            ).manifest
        except (BackupNotFoundError, ManifestError):
            continue
        entry = manifest.tables.get(table_name)
        if (
            entry is None
            or entry.status != COMPLETED
            or not (entry.export_time and entry.export_manifest_key)
        ):
            continue
        if _summary_table_id(s3, settings.backup_bucket, entry.export_manifest_key) != state.table_id:
            return None  # the newest backup is of an earlier table of that name: start afresh
        if state.earliest is not None and parse_time(entry.export_time) < state.earliest:
            return None  # too old to chain from: PITR no longer reaches its time
        return ChainBase(
            export_arn=entry.export_arn or "",
            status=COMPLETED,
            client_token=entry.client_token,
            manifest_summary_key=entry.export_manifest_key,
            item_count=entry.item_count,
            billed_size_bytes=entry.billed_size_bytes,
            export_time=iso(parse_time(entry.export_time)),
            s3_prefix=entry.export_s3_prefix,
            source=DAILY_BACKUP,
            backup_date=backup_date,
        )
    return None


def start_full_export(
    dynamodb: Any, settings: BackupSettings, table_name: str, table_arn: str, chain_id: str
) -> ChainBase:
    """A new full export under the chain's prefix: the base of chain ``chain_id``."""
    token = _token("full", chain_id, settings.export_format)
    prefix = settings.incremental_prefix(table_name)
    started = dynamodb.export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=settings.backup_bucket,
        S3Prefix=prefix,
        ExportFormat=settings.export_format,
        ExportType="FULL_EXPORT",
        ClientToken=token,
    )["ExportDescription"]
    base = ChainBase(
        export_arn=started["ExportArn"],
        status=started.get("ExportStatus", IN_PROGRESS),
        client_token=token,
        export_time=iso(started["ExportTime"]),
        s3_prefix=prefix,
        source=CHAIN_START,
    )
    record_description(base, started)
    return base


def new_chain(
    settings: BackupSettings, table_name: str, state: TableState, chain_id: str, base: ChainBase
) -> Chain:
    return Chain(
        table_name=table_name,
        chain_id=chain_id,
        table_arn=state.table_arn,
        table_id=state.table_id,
        s3_bucket=settings.backup_bucket,
        s3_prefix=settings.incremental_prefix(table_name),
        window_minutes=settings.chain_minutes(),
        export_view_type=settings.incremental_export_view,
        export_format=settings.export_format,
        base=base,
    )


# --- breaks ----------------------------------------------------------------------------------------


def find_break(chain: Chain, state: TableState) -> tuple[str, str] | None:
    """(reason, detail) when the chain can no longer go on, else None."""
    if state.table_id != chain.table_id:
        return TABLE_RECREATED, (
            f"table {chain.table_name} was recreated: its TableId is {state.table_id}, the chain's {chain.table_id}"
        )
    if not state.pitr_enabled:
        return PITR_DISABLED, (
            f"point-in-time recovery is disabled on {chain.table_name}: incremental exports need it. Enable it "
            f"(aws dynamodb update-continuous-backups --table-name {chain.table_name} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true)"
        )
    if chain.base.status == FAILED:
        return BASE_FAILED, (
            f"the chain's full export {chain.base.export_arn} FAILED ({chain.base.failure_code}: "
            f"{chain.base.failure_message})"
        )
    failed = next((w for w in chain.windows if w.status == FAILED), None)
    if failed is not None:
        return WINDOW_FAILED, (
            f"the window {failed.start}/{failed.end} ({failed.export_arn}) FAILED "
            f"({failed.failure_code}: {failed.failure_message})"
        )
    if state.earliest is not None and parse_time(chain.next_start) < state.earliest:
        return RECOVERY_PERIOD_PASSED, (
            f"the next window would start at {chain.next_start}, before EarliestRestorableDateTime "
            f"{iso(state.earliest)}: the PITR recovery period passed (or PITR was disabled and enabled again)"
        )
    return None


def restart(
    dynamodb: Any,
    settings: BackupSettings,
    old: Chain,
    state: TableState,
    reason: str,
    detail: str,
    run: ChainRun,
    log: Any,
) -> Chain:
    """A new chain from a new full export, carrying the old chain's history of breaks."""
    generation = str(len(old.breaks) + (0 if old.status == BROKEN else 1))
    chain_id = _new_chain_id(old.table_name, state.table_id, old.chain_id, generation)
    base = start_full_export(dynamodb, settings, old.table_name, state.table_arn, chain_id)
    breaks = list(old.breaks)
    if old.status == BROKEN and breaks and breaks[-1].new_chain_id is None:
        breaks[-1].new_chain_id = chain_id  # the break recorded while PITR was off
    else:
        breaks.append(
            ChainBreak(
                at=iso(datetime.now(UTC)),
                reason=reason,
                detail=detail,
                previous_chain_id=old.chain_id,
                new_chain_id=chain_id,
                previous_covered_until=old.covered_until(),
                previous_windows=len(old.windows),
            )
        )
    chain = new_chain(settings, old.table_name, state, chain_id, base)
    chain.breaks = breaks
    run.restarted, run.break_reason, run.break_detail = True, reason, detail
    log.error(
        "export chain restarted",
        extra={"table_name": old.table_name, "reason": reason, "detail": detail, "previous_chain_id": old.chain_id,
               "chain_id": chain_id, "full_export_arn": base.export_arn, "export_time": base.export_time},
    )  # fmt: skip
    return chain


# --- windows ---------------------------------------------------------------------------------------


def start_windows(
    dynamodb: Any, settings: BackupSettings, chain: Chain, state: TableState, run: ChainRun, log: Any
) -> None:
    """Start every whole window that ends at or before LatestRestorableDateTime (catching up)."""
    if state.latest is None:
        return
    length = timedelta(minutes=chain.window_minutes)
    started: list[ChainWindow] = []
    while len(started) < MAX_WINDOWS_PER_RUN:
        start = parse_time(chain.next_start)
        end = start + length
        if end > state.latest:
            break
        window = ChainWindow(
            export_arn="",
            status=IN_PROGRESS,
            client_token=_token("window", chain.chain_id, iso(start), iso(end), chain.export_view_type,
                                chain.export_format),
            start=iso(start),
            end=iso(end),
        )  # fmt: skip
        try:
            described = dynamodb.export_table_to_point_in_time(
                TableArn=chain.table_arn,
                S3Bucket=chain.s3_bucket,
                S3Prefix=chain.s3_prefix,
                ExportFormat=chain.export_format,
                ExportType="INCREMENTAL_EXPORT",
                IncrementalExportSpecification={
                    "ExportFromTime": start,
                    "ExportToTime": end,
                    "ExportViewType": chain.export_view_type,
                },
                ClientToken=window.client_token,
            )["ExportDescription"]
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            message = error_message(exc) if isinstance(exc, ClientError) else str(exc)
            run.error = f"starting the window {window.start}/{window.end} failed with {code}: {message}; the next run tries again"
            log.error(
                "incremental export could not start",
                extra={"table_name": chain.table_name, "chain_id": chain.chain_id, "from": window.start,
                       "to": window.end, "error_code": code, "error": message},
            )  # fmt: skip
            break
        window.export_arn = described["ExportArn"]
        record_description(window, described)
        note_outcome(chain, window, run, log)
        chain.windows.append(window)
        started.append(window)
    run.windows_started = len(started)
    if started:
        log.info(
            "incremental exports started",
            extra={"table_name": chain.table_name, "chain_id": chain.chain_id, "windows": len(started),
                   "from": started[0].start, "to": started[-1].end,
                   "export_arns": [w.export_arn for w in started]},
        )  # fmt: skip


# --- one table, all tables -------------------------------------------------------------------------


def check_chain(
    dynamodb: Any, settings: BackupSettings, chain: Chain, state: TableState, run: ChainRun, log: Any
) -> Chain:
    """The chain to go on with: ``chain`` itself, a new chain when it broke (restart), or ``chain``
    marked BROKEN when it broke and PITR is off (nothing can start; it restarts once PITR is on)."""
    found = find_break(chain, state)
    if found is not None and not state.pitr_enabled:
        if chain.status != BROKEN:
            chain.breaks.append(
                ChainBreak(
                    at=iso(datetime.now(UTC)),
                    reason=found[0],
                    detail=found[1],
                    previous_chain_id=chain.chain_id,
                    new_chain_id=None,
                    previous_covered_until=chain.covered_until(),
                    previous_windows=len(chain.windows),
                )
            )
            chain.status = BROKEN
        run.status, run.break_reason, run.break_detail = RUN_BROKEN, found[0], found[1]
        log.error(
            "export chain broken; it restarts once point-in-time recovery is enabled",
            extra={"table_name": chain.table_name, "chain_id": chain.chain_id, "reason": found[0],
                   "detail": found[1]},
        )  # fmt: skip
        return chain
    if chain.status == BROKEN:  # PITR is back: restart for the break recorded while it was off
        return restart(
            dynamodb, settings, chain, state, chain.breaks[-1].reason, chain.breaks[-1].detail, run, log
        )
    if found is not None:
        return restart(dynamodb, settings, chain, state, found[0], found[1], run, log)
    return chain


def first_chain(
    dynamodb: Any, s3: Any, settings: BackupSettings, table_name: str, state: TableState, log: Any
) -> Chain:
    """A table's first chain: from the daily backup's newest full export when it can be, else from a
    new full export under the chain's prefix."""
    base = daily_base(s3, settings, table_name, state)
    if base is not None:
        chain_id = _new_chain_id(table_name, state.table_id, base.export_arn)
    else:
        chain_id = _new_chain_id(table_name, state.table_id, "chain-start")
        base = start_full_export(dynamodb, settings, table_name, state.table_arn, chain_id)
    log.info(
        "export chain started",
        extra={"table_name": table_name, "chain_id": chain_id, "base_source": base.source,
               "base_export_arn": base.export_arn, "export_time": base.export_time},
    )  # fmt: skip
    return new_chain(settings, table_name, state, chain_id, base)


def _lag(chain: Chain, state: TableState) -> float:
    reference = state.latest or datetime.now(UTC)
    covered = chain.covered_until() or chain.base.export_time
    return max(0.0, (reference - parse_time(covered)).total_seconds())


CHAIN_WRITE_ATTEMPTS = 3


def advance_table(
    dynamodb: Any, s3: Any, settings: BackupSettings, table_name: str, *, log: Any = None
) -> ChainRun:
    """One run of one table's chain (follow, check, restart if broken, start windows, record).
    Never raises an AWS error: it is recorded in the returned ``ChainRun`` (status ERROR).

    When chain.json changed meanwhile (the export monitor followed the chain), the run is done again
    from the new version: every export it starts carries the same ClientToken the second time, so
    DynamoDB answers with the export already started instead of a new one."""
    log = log or logger
    for attempt in range(CHAIN_WRITE_ATTEMPTS):
        last = attempt == CHAIN_WRITE_ATTEMPTS - 1
        run = _advance_table_once(dynamodb, s3, settings, table_name, log=log, last_attempt=last)
        if run is not None:
            return run
    raise AssertionError("unreachable")


def _advance_table_once(
    dynamodb: Any, s3: Any, settings: BackupSettings, table_name: str, *, log: Any, last_attempt: bool
) -> ChainRun | None:
    run = ChainRun(table_name=table_name)
    prefix = settings.incremental_prefix(table_name)
    try:
        state = table_state(dynamodb, table_name)
        stored = read_chain(s3, settings.backup_bucket, prefix)
        chain = stored.chain if stored else None
        if chain is not None:
            follow_exports(dynamodb, chain, run, log)
            chain = check_chain(dynamodb, settings, chain, state, run, log)
        elif not state.pitr_enabled:
            run.status = RUN_WAITING
            run.error = (
                f"point-in-time recovery is disabled on {table_name}: no export chain can start. Enable it "
                f"(aws dynamodb update-continuous-backups --table-name {table_name} "
                "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true)"
            )
            log.error("export chain cannot start", extra={"table_name": table_name, "error": run.error})
            return run
        else:
            chain = first_chain(dynamodb, s3, settings, table_name, state, log)
        if chain.status == ACTIVE:
            chain.window_minutes = settings.chain_minutes()
            chain.export_view_type = settings.incremental_export_view
            chain.export_format = settings.export_format
            start_windows(dynamodb, settings, chain, state, run, log)
        try:
            write_chain(s3, chain, etag=stored.etag if stored else None)
        except ConcurrentUpdateError:
            if not last_attempt:
                return None
            raise
    except ClientError as exc:
        code = error_code(exc)
        run.status = RUN_ERROR
        if code in MISSING_TABLE_CODES:
            run.error = (
                f"table {table_name} does not exist: its chain waits (a table created again starts a new one)"
            )
        else:
            run.error = f"{code}: {error_message(exc)}"
        log.error("export chain run failed", extra={"table_name": table_name, "error": run.error})
        return run
    except (BotoCoreError, ConcurrentUpdateError, ManifestError) as exc:
        run.status = RUN_ERROR
        run.error = f"{type(exc).__name__}: {exc}"
        log.error("export chain run failed", extra={"table_name": table_name, "error": run.error})
        return run
    run.chain_id = chain.chain_id
    run.covered_until = chain.covered_until()
    run.lag_seconds = _lag(chain, state)
    if run.status == RUN_OK and run.error:
        run.status = RUN_ERROR
    return run


def publish_metrics(cloudwatch: Any, settings: BackupSettings, runs: Iterable[ChainRun]) -> None:
    """``ChainLagSeconds`` (when known) and ``ChainRestarted`` per table, namespace DynamoDBDR,
    dimensions Environment and TableName."""
    data: list[dict[str, Any]] = []
    for run in runs:
        dimensions = [
            {"Name": "Environment", "Value": settings.environment},
            {"Name": "TableName", "Value": run.table_name},
        ]
        data.append(
            {
                "MetricName": RESTARTED_METRIC,
                "Dimensions": dimensions,
                "Value": float(run.restarted),
                "Unit": "Count",
            }
        )
        if run.lag_seconds is not None:
            data.append(
                {
                    "MetricName": LAG_METRIC,
                    "Dimensions": dimensions,
                    "Value": run.lag_seconds,
                    "Unit": "Seconds",
                }
            )
    for i in range(0, len(data), 500):
        cloudwatch.put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=data[i : i + 500])


def run_chains(
    dynamodb: Any,
    s3: Any,
    cloudwatch: Any,
    settings: BackupSettings,
    *,
    max_workers: int = MAX_PARALLEL_TABLES,
    log: Any = None,
) -> dict[str, Any]:
    """One scheduled run over every table; the Lambda's response (``body`` a dict)."""
    log = log or logger
    settings.chain_minutes()  # fail at start, naming the variable, when it is not set

    def one(table_name: str) -> ChainRun:
        return advance_table(dynamodb, s3, settings, table_name, log=log)

    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(settings.tables))), thread_name_prefix="chain"
    ) as pool:
        runs = list(pool.map(one, settings.tables))
    try:
        publish_metrics(cloudwatch, settings, runs)
    except (ClientError, BotoCoreError) as exc:
        raise DynamoDBDRError(f"publishing the chain metrics to CloudWatch failed: {exc}") from exc
    for run in runs:
        log.info("export chain run", extra=asdict(run))
    failed = sum(1 for r in runs if r.status in (RUN_ERROR, RUN_WAITING, RUN_BROKEN))
    code = 200 if failed == 0 else (207 if failed < len(runs) else 500)
    return {
        "statusCode": code,
        "body": {
            "environment": settings.environment,
            "window_minutes": settings.chain_minutes(),
            "windows_started": sum(r.windows_started for r in runs),
            "chains_restarted": sorted(r.table_name for r in runs if r.restarted),
            "tables": {r.table_name: asdict(r) for r in runs},
        },
    }
