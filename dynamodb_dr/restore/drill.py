"""A DR drill (``--drill true``): prove the latest backup restorable, and how fast.

Per table (every table of the backup, or ``--tables``): restore the backup (``--backup_date``,
``latest`` by default), or a point in time (``--restore_time``: the chain's full export and
windows, ``restore.timetravel``), into a scratch table ``{table}-drill-{yyyymmdd}`` that the drill
creates, verify it item by item (``verify``; a point against the chain's state at its effective
point), then record and clean up:

- **RTO**: from the drill's request (the job's start) to the moment the scratch table was verified;
- **RPO**: the age of the data restored, the drill's start minus the export's ``ExportTime`` (for a
  point: minus the effective point, the time the restored data is from, not the full export's);
- items/s of the write stage, and the cost: write units (items written times the export's average
  item size in whole KB: the writer does not ask for consumed capacity) and the read units the
  verification's Scans consumed (``ReturnConsumedCapacity``);
- CloudWatch metrics in namespace ``DynamoDBDR`` with dimension ``Table`` (``RTOSeconds``,
  ``RPOSeconds``, ``ItemsPerSecond``, ``WriteCapacityUnits``, ``ReadCapacityUnits``,
  ``DrillSucceeded`` 1 or 0; ``DrillSucceeded`` also without dimensions, for "any table" alarms);
- a drill report JSON kept with the backups: ``{S3_EXPORTS_PREFIX}/drills/{table}/{UTC time}.json``
  (``dynamodb-dr drills list`` reads them; the backup_history notebook plots RTO/RPO over time);
- the scratch table deleted, always (also when the restore or verify failed), unless
  ``--keep_drill_tables true``; only a table this drill created is ever deleted: a scratch table
  that already exists fails the drill of its table and is left alone;
- the result announced on SNS (``--drill_topic_arn``).

Why a mode of the restore job and not a Lambda: a drill creates a table, restores and scans it,
which takes minutes to hours; a Lambda must not wait that long. The schedule (a Glue trigger,
``infra/modules/glue_restore``) starts the job with ``--drill true``; no other component is needed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import describe, is_missing_table
from dynamodb_dr.drill_history import DRILLS_FOLDER
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.restore import write_rate
from dynamodb_dr.restore.args import RestoreArgs, drill_table_name
from dynamodb_dr.restore.dispatch import check_restore, execute_restore
from dynamodb_dr.restore.job import RestoreRun, export_time
from dynamodb_dr.restore.report import SUCCEEDED, RestoreReport, TableResult
from dynamodb_dr.restore.runner import StageRunner
from dynamodb_dr.restore.timetravel.run import TimeTravelRun, TravelTable

logger = logging.getLogger(__name__)

NAMESPACE = "DynamoDBDR"
FAILED = "FAILED"
LEFTOVER_DAYS = 14
"""How many earlier days' scratch table names a drill looks for (one DescribeTable each)."""


@dataclass
class DrillResult:
    """One table's drill: what the drill report JSON in S3 holds."""

    table: str
    scratch_table: str
    status: str = FAILED
    backup_date: str | None = None
    export_time: str | None = None
    """The time the restored data is from: the export's ExportTime, or a point's effective point."""
    restore_time: str | None = None
    """``--restore_time``: the point asked for (``export_time`` holds the effective one)."""
    requested_at: str = ""
    verified_at: str | None = None
    rto_seconds: float | None = None
    """From the drill's request to the scratch table verified; None when it was not verified."""
    rpo_seconds: float | None = None
    """The drill's start minus the export's ExportTime: the age of the data restored."""
    items_restored: int = 0
    items_per_second: float | None = None
    """Items written per second of the table's restore (its verification left out)."""
    write_capacity_units: float = 0.0
    """Estimated: items written times the export's average item size in whole KB; 0 when ImportTable
    filled the scratch table (it uses no write capacity)."""
    restore_path: str | None = None
    """``import`` (ImportTable) or ``write`` (BatchWriteItem): how the scratch table was filled."""
    imported_bytes: int = 0
    """ImportTable: the export's BilledSizeBytes, the uncompressed size ImportTable is billed on."""
    read_capacity_units: float = 0.0
    """Measured: what the verification's Scans consumed."""
    scratch_table_deleted: bool = False
    scratch_table_kept: bool = False
    report_key: str | None = None
    restore_report_key: str | None = None
    run_id: str | None = None
    errors: list[str] = field(default_factory=list)
    scratch_tables_left: list[str] = field(default_factory=list)
    """Scratch tables of earlier drills of this table (``LEFTOVER_DAYS``) that still exist: a drill
    killed before its cleanup leaves one, costing storage (and capacity, if provisioned)."""
    restore: dict[str, Any] = field(default_factory=dict)
    """The table's entry of the restore report (with its ``verification``)."""

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


@dataclass
class DrillReport:
    requested_at: str
    restore: RestoreReport
    tables: list[DrillResult] = field(default_factory=list)
    restore_time: str | None = None
    """``--restore_time``: the point drilled, instead of a daily backup."""
    warnings: list[str] = field(default_factory=list)
    announced: str | None = None
    """The SNS MessageId of the announcement."""

    @property
    def ok(self) -> bool:
        return bool(self.tables) and all(t.succeeded for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drill": True,
            "ok": self.ok,
            "requested_at": self.requested_at,
            "backup_date": self.restore.backup_date,
            "restore_time": self.restore_time,
            "announced": self.announced,
            "warnings": self.warnings,
            "tables": {t.table: asdict(t) for t in self.tables},
            "restore": self.restore.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


def drill_report_key(prefix: str, table: str, moment: datetime) -> str:
    return f"{prefix}/{DRILLS_FOLDER}/{table}/{moment.strftime('%Y-%m-%dT%H%M%SZ')}.json"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Scratch:
    """One table of the drill, whichever restore runs it (a daily backup's ``job._Table``, or time
    travel's ``TravelTable``): what the drill reads of it."""

    source: str
    name: str
    existed: bool | None
    """Whether the scratch table existed before the drill; None: the table failed its checks first."""
    result: TableResult
    table: Any


def _scratch_tables(run: RestoreRun) -> list[_Scratch]:
    if isinstance(run, TimeTravelRun):
        return [
            _Scratch(t.source, t.target, None if t.result.failed else t.target_exists, t.result, t)
            for t in run.travel
        ]
    return [
        _Scratch(t.source, t.selection.target, t.target.exists if t.target is not None else None, t.result, t)
        for t in run.tables
    ]


def _data_time(scratch: _Scratch) -> str | None:
    """The moment the restored data is from: the export's time, or the effective point."""
    if isinstance(scratch.table, TravelTable):
        travel = scratch.result.time_travel
        return str(travel["effective_point"]) if travel else None
    return export_time(scratch.table)


def _write_units(scratch: _Scratch) -> float:
    """A daily backup: items written times the export's average item size in whole KB; a point: the
    write units of its puts and deletes, counted per item from its size (``tasks.apply_states``)."""
    if isinstance(scratch.table, TravelTable):
        return float((scratch.result.time_travel or {}).get("write_units") or 0)
    if scratch.result.restore_path == "import":
        return 0.0
    backup = scratch.table.selection.backup
    return write_rate.wcu_per_item(backup.billed_size_bytes, backup.item_count) * scratch.result.items_written


def _imported_bytes(scratch: _Scratch) -> int:
    if isinstance(scratch.table, TravelTable) or scratch.result.restore_path != "import":
        return 0
    return int(scratch.table.selection.backup.billed_size_bytes or 0)


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_drill(
    args: RestoreArgs,
    *,
    s3: Any,
    dynamodb: Any,
    cloudwatch: Any,
    sns: Any | None,
    runner: StageRunner,
    requested_at: datetime | None = None,
    progress_seconds: float = 5.0,
) -> DrillReport:
    """Restore, verify, record, clean up and announce (see the module docstring). Raises a
    DynamoDBDRError when nothing can start (no such backup or table), like the restore."""
    assert args.drill, "run_drill needs --drill true"
    requested = requested_at or datetime.now(UTC)
    try:
        run = check_restore(args, s3=s3, dynamodb=dynamodb)
    except DynamoDBDRError as exc:  # no backup to drill (none COMPLETE, a table not in it): a failed drill
        _could_not_start(cloudwatch, sns, args, exc)
        raise
    tables = _scratch_tables(run)
    created_by_drill = []
    for table in tables:
        if table.existed:
            table.result.fail(
                f"scratch table {table.name} already exists (an earlier drill kept it, or another "
                "drill is running); the drill does not touch a table it did not create: delete it and run the "
                "drill again"
            )
        elif table.existed is not None:
            created_by_drill.append(table)
    logger.info(
        "drill starting",
        extra={
            "tables": {t.source: t.name for t in tables},
            "restore_time": args.restore_time,
            "requested_at": _iso(requested),
        },
    )
    try:
        report = execute_restore(run, runner, progress_seconds=progress_seconds)
    except Exception as exc:  # the restore itself broke: every table's drill fails, cleanup still runs
        logger.error("drill restore failed", extra={"error": f"{type(exc).__name__}: {exc}"}, exc_info=True)
        for table in tables:
            if not table.result.failed and table.result.status != SUCCEEDED:
                table.result.fail(f"the drill's restore stopped: {type(exc).__name__}: {str(exc)[:500]}")
        run.report.finish()
        report = run.report
    drill = DrillReport(requested_at=_iso(requested), restore=report, restore_time=args.restore_time)
    for table in tables:
        result = _result(run, table, requested)
        if table in created_by_drill:
            _remove_scratch(dynamodb, table, result, keep=args.keep_drill_tables)
        _find_leftovers(dynamodb, args, result, drill)
        drill.tables.append(result)
    for result in drill.tables:
        _store(s3, args, result, requested, drill)
        _put_metrics(cloudwatch, result, drill)
    if args.drill_topic_arn and sns is not None:
        _announce(sns, args.drill_topic_arn, drill)
    for result in drill.tables:
        log = logger.info if result.succeeded else logger.error
        log(
            "drill finished",
            extra={
                "table": result.table,
                "status": result.status,
                "rto_seconds": result.rto_seconds,
                "rpo_seconds": result.rpo_seconds,
                "report_key": result.report_key,
            },
        )
    return drill


def _could_not_start(cloudwatch: Any, sns: Any | None, args: RestoreArgs, exc: DynamoDBDRError) -> None:
    """DrillSucceeded 0 (per listed table, and without dimensions) and the announcement, so the
    drill alarms fire now rather than when the staleness alarm notices."""
    stamp = datetime.now(UTC)
    data: list[dict[str, Any]] = [
        {"MetricName": "DrillSucceeded", "Value": 0.0, "Unit": "Count", "Timestamp": stamp}
    ]
    data += [
        {"MetricName": "DrillSucceeded", "Dimensions": [{"Name": "Table", "Value": table}], "Value": 0.0,
         "Unit": "Count", "Timestamp": stamp}
        for table in args.tables or ()
    ]  # fmt: skip
    try:
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    except ClientError as error:
        logger.error("drill metrics could not be put", extra={"error": describe(error)})
    if args.drill_topic_arn and sns is not None:
        try:
            sns.publish(
                TopicArn=args.drill_topic_arn,
                Subject="DynamoDB DR drill FAILED: it could not start",
                Message=json.dumps(
                    {"ok": False, "tables": list(args.tables or []), "error": str(exc)}, indent=1
                ),
            )
        except ClientError as error:
            logger.error("drill result could not be announced", extra={"error": describe(error)})


def _result(run: RestoreRun, table: _Scratch, requested: datetime) -> DrillResult:
    restore = table.result
    exported = _parse(_data_time(table))
    verification = restore.verification
    verified = _parse(verification.finished_at) if verification is not None and verification.ok else None
    wcu = _write_units(table)
    # The table's restore, its verification left out: items/s is the restore's pace.
    restoring = restore.seconds - (verification.seconds if verification is not None else 0.0)
    result = DrillResult(
        table=table.source,
        scratch_table=table.name,
        status=SUCCEEDED if restore.status == SUCCEEDED and verified is not None else FAILED,
        backup_date=run.manifest.backup_date,
        export_time=_iso(exported) if exported else None,
        restore_time=run.args.restore_time,
        requested_at=_iso(requested),
        verified_at=_iso(verified) if verified else None,
        rto_seconds=round((verified - requested).total_seconds(), 3) if verified else None,
        rpo_seconds=round((requested - exported).total_seconds(), 3) if exported else None,
        items_restored=restore.items_written,
        items_per_second=round(restore.items_written / restoring, 3) if restoring > 0 else None,
        write_capacity_units=round(wcu, 3),
        restore_path=restore.restore_path or "write",
        imported_bytes=_imported_bytes(table),
        read_capacity_units=verification.read_capacity_units if verification is not None else 0.0,
        restore_report_key=run.report.report_key,
        run_id=run.report.run_id,
        errors=list(restore.errors),
        restore=asdict(restore),
    )
    if restore.status == SUCCEEDED and verified is None:
        result.errors.append("the scratch table was restored but not verified")
    return result


def _remove_scratch(dynamodb: Any, table: _Scratch, result: DrillResult, *, keep: bool) -> None:
    """Delete the scratch table this drill created (deletion protection, copied from the source's
    definition, turned off first); ``keep`` leaves it, and says so."""
    name = table.name
    if keep:
        result.scratch_table_kept = True
        return
    try:
        described = dynamodb.describe_table(TableName=name)["Table"]
        if described.get("DeletionProtectionEnabled"):
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=name)
    except ClientError as exc:
        if is_missing_table(exc):  # never created (the restore failed before): nothing to delete
            result.scratch_table_deleted = True
            return
        result.status = FAILED
        result.errors.append(
            f"the scratch table {name} could not be deleted ({describe(exc)}); delete it by hand: "
            f"aws dynamodb delete-table --table-name {name}"
        )
        return
    result.scratch_table_deleted = True


def _find_leftovers(dynamodb: Any, args: RestoreArgs, result: DrillResult, drill: DrillReport) -> None:
    """Scratch tables of this table's drills of the last ``LEFTOVER_DAYS`` days that still exist
    (a drill killed before its cleanup, or one kept with ``--keep_drill_tables``): named in the
    report, the announcement and a metric, never deleted (this drill did not create them)."""
    if not args.drill_date:
        return
    today = datetime.strptime(args.drill_date, "%Y%m%d").replace(tzinfo=UTC)
    for days in range(1, LEFTOVER_DAYS + 1):
        name = drill_table_name(result.table, (today - timedelta(days=days)).strftime("%Y%m%d"))
        try:
            dynamodb.describe_table(TableName=name)
        except ClientError as exc:
            if not is_missing_table(exc):
                logger.warning("drill: a scratch table could not be looked for", extra={"table": name})
            continue
        result.scratch_tables_left.append(name)
    if result.scratch_tables_left:
        names = ", ".join(result.scratch_tables_left)
        first = result.scratch_tables_left[0]
        drill.warnings.append(
            f"scratch tables of earlier drills of {result.table} still exist: {names}. A drill killed before "
            "its cleanup leaves one; delete each (after checking nobody uses it): aws dynamodb update-table "
            f"--table-name {first} --no-deletion-protection-enabled; aws dynamodb delete-table --table-name {first}"
        )
        logger.warning(
            "drill: scratch tables of earlier drills still exist",
            extra={"table": result.table, "scratch_tables": result.scratch_tables_left},
        )


def _store(s3: Any, args: RestoreArgs, result: DrillResult, requested: datetime, drill: DrillReport) -> None:
    key = drill_report_key(args.exports_prefix, result.table, requested)
    result.report_key = key
    try:
        s3.put_object(
            Bucket=args.backup_bucket,
            Key=key,
            Body=json.dumps(asdict(result), indent=2, default=str).encode("utf-8"),
            ContentType="application/json",
        )
    except ClientError as exc:  # an unrecorded drill proves nothing to an auditor: it fails
        result.report_key = None
        result.status = FAILED
        result.errors.append(
            f"the drill report could not be stored at s3://{args.backup_bucket}/{key}: {describe(exc)}"
        )
        drill.warnings.append(result.errors[-1])


def _put_metrics(cloudwatch: Any, result: DrillResult, drill: DrillReport) -> None:
    dimensions = [{"Name": "Table", "Value": result.table}]
    data: list[dict[str, Any]] = [
        {"MetricName": "DrillSucceeded", "Dimensions": dimensions, "Value": 1.0 if result.succeeded else 0.0, "Unit": "Count"},
        {"MetricName": "DrillSucceeded", "Value": 1.0 if result.succeeded else 0.0, "Unit": "Count"},
        {"MetricName": "WriteCapacityUnits", "Dimensions": dimensions, "Value": result.write_capacity_units, "Unit": "Count"},
        {"MetricName": "ScratchTablesLeft", "Dimensions": dimensions, "Value": len(result.scratch_tables_left), "Unit": "Count"},
        {"MetricName": "ReadCapacityUnits", "Dimensions": dimensions, "Value": result.read_capacity_units, "Unit": "Count"},
    ]  # fmt: skip
    for name, value, unit in (
        ("RTOSeconds", result.rto_seconds, "Seconds"),
        ("RPOSeconds", result.rpo_seconds, "Seconds"),
        ("ItemsPerSecond", result.items_per_second, "Count/Second"),
    ):
        if value is not None:
            data.append({"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": unit})
    stamp = datetime.now(UTC)
    for entry in data:
        entry["Timestamp"] = stamp
    try:
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    except ClientError as exc:  # the report in S3 holds the numbers; the alarm on missing data fires
        drill.warnings.append(f"the drill metrics of {result.table} could not be put: {describe(exc)}")


def _announce(sns: Any, topic_arn: str, drill: DrillReport) -> None:
    failed = [t.table for t in drill.tables if not t.succeeded]
    subject = (
        f"DynamoDB DR drill {'SUCCEEDED' if drill.ok else 'FAILED'}: "
        + (", ".join(failed) if failed else f"{len(drill.tables)} table(s)")
    )[:100]
    body = {
        "ok": drill.ok,
        "requested_at": drill.requested_at,
        "backup_date": drill.restore.backup_date,
        "restore_time": drill.restore_time,
        "tables": {
            t.table: {
                "status": t.status,
                "rto_seconds": t.rto_seconds,
                "rpo_seconds": t.rpo_seconds,
                "items_restored": t.items_restored,
                "scratch_table_deleted": t.scratch_table_deleted,
                "scratch_tables_left": t.scratch_tables_left,
                "report_key": t.report_key,
                "errors": t.errors,
            }
            for t in drill.tables
        },
        "warnings": drill.warnings,
    }
    try:
        drill.announced = sns.publish(
            TopicArn=topic_arn, Subject=subject, Message=json.dumps(body, indent=1)
        )["MessageId"]
    except ClientError as exc:
        drill.warnings.append(f"the drill result could not be announced on {topic_arn}: {describe(exc)}")


def cost_text(result: DrillResult) -> str:
    """What the drill consumed, in words: the import's bytes or the writes' WCU, and the Scans' RCU."""
    if result.restore_path == "import":
        filled = f"ImportTable of {result.imported_bytes / 1e6:,.2f} MB (no WCU)"
    else:
        filled = f"~{result.write_capacity_units:g} WCU"
    return f"{filled}, {result.read_capacity_units:g} RCU"


def format_drill(drill: DrillReport) -> str:
    """The human-readable end of a drill (stderr): per table status, RTO and RPO."""
    what = f"point {drill.restore_time}" if drill.restore_time else f"backup {drill.restore.backup_date}"
    lines = [f"DR drill of {what}: {'SUCCEEDED' if drill.ok else 'FAILED'}"]
    for t in drill.tables:
        rto = f"{t.rto_seconds:.1f} s" if t.rto_seconds is not None else "-"
        rpo = f"{t.rpo_seconds:.0f} s" if t.rpo_seconds is not None else "-"
        cleanup = "kept" if t.scratch_table_kept else "deleted" if t.scratch_table_deleted else "NOT deleted"
        lines.append(
            f"  {t.table} -> {t.scratch_table}: {t.status}; RTO {rto}, RPO {rpo}, {t.items_restored} items, "
            f"{cost_text(t)}; scratch table {cleanup}"
        )
        lines += [f"    {error}" for error in t.errors]
    lines += [f"  warning: {warning}" for warning in drill.warnings]
    return "\n".join(lines)
