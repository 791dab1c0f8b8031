"""Time travel on the restore's stages: ``check`` on the driver (before Spark), ``execute`` on a
``StageRunner``.

* ``--restore_time``: the newest full export at or before the point plus the contiguous windows
  up to it (``catalog.plan_point``), every data file checked first (MD5, gzip, line shapes, counts;
  a bad file fails the table before anything is written), then merged (per key the newest state:
  later in the chain, then later written) and applied: puts (the exported bytes, type-exact) and
  deletes, within the table's write budget. On Spark the states meet in a ``reduceByKey``; with
  threads, in a dict. ``--clear_existing_data`` keeps its meaning: a safety backup first, the
  target's keys the chain does not hold removed last.
* ``--rewind_to`` / ``--undo_window``: only the keys the windows changed, each put back (or
  deleted) with a conditional write, only if it is still in its last exported state
  (``rewind``). A NEW_AND_OLD_IMAGES chain reads no full export.
* ``--verify`` / ``--verify_only`` with a point: the target compared with the chain's state at the
  effective point, item by item (``verify_point``).
* ``--export_uri``: the same, from every export under one prefix (``catalog.uri_catalog``); the key
  schema from the live target, or ``--key_schema`` for a target to be created.

A wrong time, a gap (without ``--allow_chain_gaps``), another table's exports, a missing key schema
are bad input (``ConfigError``): raised by ``check`` before anything starts.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr import table_settings
from dynamodb_dr.aws_errors import describe, is_missing_table
from dynamodb_dr.backup_manifest import BackupManifest, list_backup_dates, read_manifest
from dynamodb_dr.errors import ConfigError, DynamoDBDRError, ManifestError, TargetTableError
from dynamodb_dr.restore import extras, targets, write_rate
from dynamodb_dr.restore.args import RestoreArgs
from dynamodb_dr.restore.export_reader import read_export
from dynamodb_dr.restore.item_rules import ItemRules
from dynamodb_dr.restore.job import RestoreRun, apply_backed_up_settings
from dynamodb_dr.restore.progress import ProgressLog, TableTotals
from dynamodb_dr.restore.report import (
    FAILED,
    SUCCEEDED,
    VALIDATED,
    VERIFIED,
    RestoreReport,
    TableResult,
    store_report,
)
from dynamodb_dr.restore.runner import SparkRunner, StageRunner
from dynamodb_dr.restore.timetravel import rewind
from dynamodb_dr.restore.timetravel.catalog import (
    NEW_IMAGE,
    CatalogExport,
    PointPlan,
    RangePlan,
    TableCatalog,
    plan_point,
    plan_range,
    toolkit_catalog,
    uri_catalog,
)
from dynamodb_dr.restore.timetravel.points import check_not_future, iso, parse_export_time, seconds_between
from dynamodb_dr.restore.timetravel.tasks import (
    Applied,
    ApplySettings,
    SourceCheck,
    SourceFile,
    TargetScan,
    apply_states,
    check_source,
    newest,
    read_states,
    target_keys,
)
from dynamodb_dr.restore.timetravel.verify_point import verify_point
from dynamodb_dr.restore.writer import check_transport
from dynamodb_dr.tables import describe_key_schema, key_schema_signature

logger = logging.getLogger(__name__)

RESTORE_TIME = "restore_time"
REWIND = "rewind_to"
UNDO = "undo_window"
SAMPLE_KEYS = 20
"""Conflicting keys named in the report, per table (all are counted)."""


@dataclass
class TravelTable:
    """One table's time travel: what was planned and checked, and its result."""

    source: str
    target: str
    catalog: TableCatalog
    result: TableResult
    key_names: tuple[str, ...] = ()
    rules: ItemRules | None = None
    definition: dict[str, Any] | None = None
    sse_note: str | None = None
    """Why the recorded SSE key cannot be used at creation here (another region's key), if it cannot."""
    target_exists: bool = True
    point: PointPlan | None = None
    range: RangePlan | None = None
    started: float = field(default_factory=time.monotonic)


@dataclass
class TimeTravelRun(RestoreRun):
    """A ``RestoreRun`` whose tables are restored from a chain of exports (``travel``)."""

    mode: str = RESTORE_TIME
    travel: list[TravelTable] = field(default_factory=list)


def _mode(args: RestoreArgs) -> tuple[str, str]:
    if args.rewind_to:
        return REWIND, args.rewind_to
    if args.undo_window:
        return UNDO, args.undo_window
    return RESTORE_TIME, args.restore_time or "latest"


def _now(catalog: TableCatalog) -> datetime:
    """The later of this machine's clock and the newest export's time (``points.check_not_future``)."""
    times = [e.end for e in catalog.fulls + catalog.windows]
    return max([datetime.now(UTC), *times])


# --- check (driver only, before Spark) ---------------------------------------------------------------


def check(args: RestoreArgs, *, s3: Any, dynamodb: Any) -> TimeTravelRun:
    """Plan every table's chain and check its target. Raises a ConfigError (bad input, nothing
    started) for a time no chain reaches, a gap, another table's exports, a missing key schema."""
    mode, asked = _mode(args)
    report = RestoreReport(
        backup_date=None, requested_date=asked, environment=args.environment, dry_run=args.dry_run
    )
    check_transport(dynamodb)
    tables = _catalogs(args, s3, mode)
    targets_named = [target for _, target in tables]
    clashes = sorted({t for t in targets_named if targets_named.count(t) > 1})
    if clashes:
        raise ConfigError(
            f"more than one source table would be restored into {', '.join(clashes)}; give each source its own "
            "target with --target_tables"
        )
    run = TimeTravelRun(
        args=args,
        manifest=BackupManifest(
            backup_date="",
            environment=args.environment or "",
            s3_bucket=args.backup_bucket,
            s3_prefix=args.exports_prefix,
        ),
        report=report,
        tables=[],
        s3=s3,
        dynamodb=dynamodb,
        mode=mode,
    )
    for catalog, target in tables:
        table = TravelTable(catalog.table, target, catalog, TableResult(catalog.table, target))
        report.tables[table.source] = table.result
        run.travel.append(table)
        _plan(args, s3, mode, table)
        try:
            _check_target(args, dynamodb, mode, table)
        except (TargetTableError, ClientError) as exc:
            table.result.fail(describe(exc) if isinstance(exc, ClientError) else str(exc))
    first = next((t for t in run.travel if t.point or t.range), None)
    point = (
        (first.point.effective if first.point else first.range.effective_from)  # type: ignore[union-attr]
        if first is not None
        else datetime.now(UTC)
    )
    report.backup_date = run.manifest.backup_date = point.date().isoformat()
    logger.info(
        "time travel starting",
        extra={
            "mode": mode,
            "asked": asked,
            "tables": {t.source: t.target for t in run.travel},
            "dry_run": args.dry_run,
        },
    )
    return run


def _catalogs(args: RestoreArgs, s3: Any, mode: str) -> list[tuple[TableCatalog, str]]:
    if args.export_uri:
        catalog = uri_catalog(s3, args.export_uri)
        unknown = [source for source, _ in args.target_tables if source != catalog.table]
        if unknown:
            raise ConfigError(
                f"--target_tables maps {', '.join(unknown)}, but the exports under {args.export_uri} are of "
                f"{catalog.table}; give --target_tables {catalog.table}:TARGET, or just --target_tables TARGET"
            )
        return [(catalog, args.export_target or args.target_for(catalog.table))]
    names = list(args.tables) if args.tables is not None else _backed_up_tables(s3, args)
    until = None
    if mode == RESTORE_TIME:
        until = (
            parse_export_time(args.restore_time) if args.restore_time else datetime(9999, 1, 1, tzinfo=UTC)
        )
    return [
        (
            toolkit_catalog(s3, args.backup_bucket, args.exports_prefix, name, fulls_until=until),
            args.target_for(name),
        )
        for name in names
    ]


def _backed_up_tables(s3: Any, args: RestoreArgs) -> list[str]:
    """Without --tables: the tables of the newest backup manifest."""
    for date in list_backup_dates(s3, args.backup_bucket, args.exports_prefix):
        try:
            return sorted(read_manifest(s3, args.backup_bucket, args.exports_prefix, date).manifest.tables)
        except ManifestError:
            continue
    raise ConfigError(
        f"s3://{args.backup_bucket}/{args.exports_prefix}/ holds no backup manifest to list the tables from; "
        "name them with --tables"
    )


def _plan(args: RestoreArgs, s3: Any, mode: str, table: TravelTable) -> None:
    now = _now(table.catalog)
    for name in ("restore_time", "rewind_to", "undo_window"):
        value = getattr(args, name)
        for part in value.split("/") if value else ():
            check_not_future(parse_export_time(part), name=name, now=now)
    if mode == RESTORE_TIME:
        # No point given (--export_uri alone): the newest state the exports hold.
        point = parse_export_time(args.restore_time) if args.restore_time else now
        table.point = plan_point(table.catalog, point, allow_gaps=args.allow_chain_gaps)
        return
    if mode == REWIND:
        assert args.rewind_to is not None
        start, end = parse_export_time(args.rewind_to), None
    else:
        assert args.undo_window is not None
        first, last = args.undo_window.split("/")
        start, end = parse_export_time(first), parse_export_time(last)
    table.range = plan_range(table.catalog, start, end, allow_gaps=args.allow_chain_gaps)
    if table.range.view == NEW_IMAGE:
        # NEW_IMAGE windows carry no OldImage: the state before comes from the chain up to the start.
        if not args.export_uri:
            table.catalog = toolkit_catalog(
                s3,
                args.backup_bucket,
                args.exports_prefix,
                table.source,
                fulls_until=table.range.effective_from,
            )
        table.point = plan_point(table.catalog, table.range.effective_from, allow_gaps=args.allow_chain_gaps)


def _definition_from_key_schema(key_schema: Sequence[tuple[str, str]]) -> dict[str, Any]:
    kinds = ("HASH", "RANGE")
    return {
        "KeySchema": [{"AttributeName": n, "KeyType": kinds[i]} for i, (n, _) in enumerate(key_schema)],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in key_schema],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _check_target(args: RestoreArgs, dynamodb: Any, mode: str, table: TravelTable) -> None:
    """The key schema: the live target's, checked against the recorded definition or --key_schema;
    a missing target is created only by --restore_time with --create_missing_tables."""
    definition = table.catalog.definition
    if args.key_schema:
        definition = _definition_from_key_schema(args.key_schema)
    try:
        live = dynamodb.describe_table(TableName=table.target)["Table"]
    except ClientError as exc:
        if not is_missing_table(exc):
            raise
        live = None
    if live is None:
        if args.verify_only:
            raise TargetTableError(f"--verify_only: target table {table.target} does not exist")
        if mode != RESTORE_TIME:
            raise ConfigError(
                f"target table {table.target} does not exist; a rewind or an undo changes a live table in place. "
                "Use --restore_time to restore into a new table"
            )
        if not args.create_missing_tables:
            raise ConfigError(
                f"target table {table.target} does not exist; create it, or pass --create_missing_tables true"
                + (" with --key_schema NAME:TYPE[,NAME:TYPE]" if definition is None else "")
            )
        if definition is None:
            raise ConfigError(
                f"target table {table.target} does not exist and the exports under {table.catalog.location} carry "
                "no key schema; give it with --key_schema, e.g. --key_schema pk:S or pk:S,sk:N"
            )
        table.definition = definition
        table.target_exists = False
        table.key_names = tuple(k["AttributeName"] for k in definition["KeySchema"])
        table.rules = ItemRules.from_table(definition)
        return
    if live.get("TableStatus") != "ACTIVE":
        raise TargetTableError(
            f"target table {table.target} is {live.get('TableStatus')}, not ACTIVE; wait and run again"
        )
    actual = key_schema_signature(live["KeySchema"], live["AttributeDefinitions"])
    if definition is not None:
        expected = key_schema_signature(definition["KeySchema"], definition["AttributeDefinitions"])
        if actual != expected:
            what = "--key_schema" if args.key_schema else f"the recorded definition of {table.source}"
            raise TargetTableError(
                f"target table {table.target} has key schema {describe_key_schema(actual)} but {what} has "
                f"{describe_key_schema(expected)}; restore into a table with the exports' keys"
            )
    table.key_names = tuple(k["AttributeName"] for k in live["KeySchema"])
    table.rules = ItemRules.from_table(live)
    table.definition = definition


# --- execute -----------------------------------------------------------------------------------------


def execute(run: RestoreRun, runner: StageRunner, *, progress_seconds: float = 5.0) -> RestoreReport:
    assert isinstance(run, TimeTravelRun)
    for table in run.travel:
        if table.result.failed:
            continue
        try:
            if run.mode == RESTORE_TIME and run.args.verify_only:
                _verify_only(run, runner, table)
            elif run.mode == RESTORE_TIME:
                _restore_to_point(run, runner, table, progress_seconds)
            else:
                _rewind(run, runner, table, progress_seconds)
        except (DynamoDBDRError, ClientError) as exc:
            table.result.fail(describe(exc) if isinstance(exc, ClientError) else str(exc))
        except Exception as exc:  # Spark itself failed: the table may be partly written
            table.result.fail(
                f"the restore stopped ({type(exc).__name__}: {str(exc)[:500]}); the target may be partly written. "
                "Run the same restore again: puts and deletes are idempotent"
            )
    return _finish(run)


def _sources(
    run: TimeTravelRun,
    table: TravelTable,
    exports: Sequence[CatalogExport],
    *,
    start: int,
    keep: frozenset[str] | None = None,
) -> list[SourceFile]:
    out: list[SourceFile] = []
    for position, export in enumerate(exports, start=start):
        files = read_export(run.s3, export.bucket, export.summary_key).files
        out.extend(
            SourceFile(
                bucket=export.bucket,
                export_arn=export.export_arn,
                data_file=f,
                position=position,
                incremental=export.incremental,
                key_names=table.key_names,
                rules=table.rules,
                keep=keep,
            )
            for f in files
        )
    return out


def _validate(runner: StageRunner, table: TravelTable, sources: list[SourceFile]) -> list[SourceFile] | None:
    """Every data file checked; None (the table failed, nothing written) if any is bad."""
    checks: list[SourceCheck] = runner.run(sources, check_source, f"check-{table.source}")
    table.result.files = len(sources)
    table.result.items_in_export = sum(s.data_file.item_count for s in sources)
    table.result.items_read = sum(c.items for c in checks)
    table.result.bytes = sum(c.bytes for c in checks)
    bad = [c for c in checks if not c.ok]
    logger.info(
        "time travel: data files checked",
        extra={
            "table": table.source,
            "files": len(checks),
            "lines": table.result.items_read,
            "failed": len(bad),
        },
    )
    if bad:
        for check in bad[:5]:
            table.result.fail(check.error or f"data file {check.key} failed its checks")
        return None
    return [dataclasses.replace(s, verified_etag=c.etag) for s, c in zip(sources, checks, strict=True)]


def _budget(run: TimeTravelRun, table: TravelTable, exports: Sequence[CatalogExport]) -> float:
    billed = sum(e.billed_size_bytes or 0 for e in exports if not e.incremental)
    items = sum(e.item_count for e in exports if not e.incremental)
    args = run.args
    if args.write_rate_percent is not None and not table.target_exists:
        args = dataclasses.replace(args, write_rate_percent=None)
    describe_table = (
        run.dynamodb.describe_table(TableName=table.target) if args.write_rate_percent is not None else None
    )
    return write_rate.table_budget(
        args, describe_table, write_units_per_item=write_rate.wcu_per_item(billed or None, items or None)
    )


def _plan_report(plan: PointPlan | RangePlan, mode: str) -> dict[str, Any]:
    if isinstance(plan, PointPlan):
        return {
            "mode": mode,
            "requested_point": iso(plan.requested),
            "effective_point": iso(plan.effective),
            "distance_seconds": seconds_between(plan.requested, plan.effective),
            "full_export": plan.full.describe() if plan.full else None,
            "windows": [w.describe() for w in plan.windows],
            "gaps_accepted": [g.describe() for g in plan.gaps],
            "notes": list(plan.notes),
        }
    return {
        "mode": mode,
        "requested_point": iso(plan.requested_from),
        "requested_to": iso(plan.requested_to) if plan.requested_to else None,
        "effective_point": iso(plan.effective_from),
        "effective_to": iso(plan.effective_to),
        "distance_seconds": seconds_between(plan.requested_from, plan.effective_from),
        "view": plan.view,
        "windows": [w.describe() for w in plan.windows],
        "later_windows": len(plan.later),
        "gaps_accepted": [g.describe() for g in plan.gaps],
        "notes": list(plan.notes),
    }


def _restore_to_point(
    run: TimeTravelRun, runner: StageRunner, table: TravelTable, progress_seconds: float = 5.0
) -> None:
    plan = table.point
    assert plan is not None
    result = table.result
    summary = _plan_report(plan, RESTORE_TIME)
    result.time_travel = summary
    result.export_arn = plan.full.export_arn if plan.full else None
    exports = plan.exports
    sources = _validate(runner, table, _sources(run, table, exports, start=0))
    if sources is None:
        return
    args = run.args
    slots = runner.task_slots()
    if not args.dry_run:
        if not table.target_exists:
            assert table.definition is not None
            create_definition, table.sse_note = table_settings.create_time_definition(
                table.definition, run.dynamodb.meta.region_name
            )
            targets.create_target(run.dynamodb, table.target, create_definition)
            result.created = True
        elif args.clear_existing_data:
            details = targets.backup_target(run.dynamodb, table.target)
            result.backup_arn, result.backup_status = details["BackupArn"], details.get("BackupStatus")
    budget = _budget(run, table, exports)
    result.write_rate_budget = round(budget, 3)
    partitions = max(1, min(slots, math.ceil(result.items_in_export / 1000) or 1))
    result.write_tasks = partitions
    settings = ApplySettings(
        table=table.target,
        write_rate=write_rate.task_ceiling(budget / partitions),
        dry_run=args.dry_run,
        max_workers=args.max_workers,
    )
    scans = None
    if args.clear_existing_data and table.target_exists:
        segments = max(slots, 1)
        scans = [TargetScan(table.target, table.key_names, i, segments) for i in range(segments)]
        result.would_remove_extras = args.dry_run
    delete_settings = extras.DeleteSettings(
        table=table.target, write_rate=write_rate.task_ceiling(budget / max(slots, 1))
    )
    applied, removed = merge_and_apply(
        runner,
        sources,
        settings,
        partitions,
        scans=scans,
        delete_settings=delete_settings,
        skip_deletes=not table.target_exists,
        progress_seconds=progress_seconds,
    )
    puts = sum(a.puts for a in applied)
    deletes = sum(a.deletes for a in applied)
    result.items_in_export = puts + deletes  # the merged states to apply (items_read: the lines read)
    logger.info(
        "time travel: chain merged and applied",
        extra={"table": table.source, "target_table": table.target, "puts": puts, "deletes": deletes},
    )
    summary.update(
        puts=puts,
        deletes=deletes,
        write_units=sum(a.write_units for a in applied),
        extras_removed=sum(r.deleted for r in removed) if removed is not None else None,
    )
    if args.dry_run:
        result.status = VALIDATED
        result.would_write = puts + deletes
        result.would_create = not table.target_exists
        if removed is not None:
            summary["extras_would_remove"] = sum(r.deleted for r in removed)
        return
    result.items_written = puts + deletes - sum(a.not_written for a in applied)
    result.items_not_written = sum(a.not_written for a in applied)
    errors = [a.error for a in applied if a.error]
    if errors:
        result.fail(
            f"{result.items_not_written} puts/deletes to {table.target} were not applied ({errors[0]}); the target "
            "is partly restored. Run the same restore again"
        )
        return
    if removed is not None:
        result.extras_removed = sum(r.deleted for r in removed)
        bad = [r for r in removed if r.error]
        if bad:
            result.fail(
                f"the chain was applied to {table.target}, but {sum(r.not_deleted for r in bad)} items not in it "
                f"could not be removed ({bad[0].error}); run the restore again to remove them"
            )
            return
    if result.created:
        assert table.definition is not None
        export_arn = plan.full.export_arn if plan.full else None
        apply_backed_up_settings(
            run,
            table.target,
            table.definition,
            result,
            created_by="CreateTable",
            source_table_arn=export_arn.split("/export/", 1)[0] if export_arn else None,
            sse_note=table.sse_note,
        )
    result.status = SUCCEEDED
    result.target_state = (
        f"{'created and ' if result.created else ''}restored to {summary['effective_point']}"
        + (f", {result.extras_removed} items not in the chain removed" if result.extras_removed else "")
    )
    if args.verify:
        verify_point(run, runner, table, sources, verify_only=False)


def _verify_only(run: TimeTravelRun, runner: StageRunner, table: TravelTable) -> None:
    """``--verify_only``: the existing target compared with the chain's state at the point; nothing
    written. Each data file's MD5 is checked as the comparison reads it."""
    plan = table.point
    assert plan is not None
    result = table.result
    result.time_travel = _plan_report(plan, RESTORE_TIME)
    result.export_arn = plan.full.export_arn if plan.full else None
    sources = _sources(run, table, plan.exports, start=0)
    result.files = len(sources)
    result.items_in_export = sum(s.data_file.item_count for s in sources)
    result.target_state = "untouched (verify only)"
    verify_point(run, runner, table, sources, verify_only=True)


def merge_and_apply(
    runner: StageRunner,
    sources: Sequence[SourceFile],
    settings: ApplySettings,
    partitions: int,
    *,
    scans: Sequence[TargetScan] | None = None,
    delete_settings: extras.DeleteSettings | None = None,
    skip_deletes: bool = False,
    progress_seconds: float = 5.0,
) -> tuple[list[Applied], list[extras.ExtrasDeleted] | None]:
    """Per key the newest state of ``sources``, applied a partition at a time (``apply_states``);
    with ``scans``, then the target's keys that no state puts are deleted (``--clear_existing_data``;
    only if every partition applied)."""
    keep_delete: Callable[[tuple[str, Any]], bool] = (
        (lambda kv: kv[1][2] is not None) if skip_deletes else (lambda kv: True)
    )
    counts = runner.counter()
    apply = functools.partial(apply_states, settings, counts=counts)

    def progress(total: int, parts: int) -> ProgressLog:
        """'restore progress' lines while the merged states are applied (the CLI's bar)."""
        table = TableTotals(settings.table, settings.table, files_total=parts, items_total=total)
        return ProgressLog(counts, [table], progress_seconds)

    if isinstance(runner, SparkRunner):
        sc = runner.spark.sparkContext
        sc.setJobGroup(
            "restore-time-travel", f"time travel: merge {len(sources)} data files into {settings.table}"
        )
        states = (
            sc.parallelize(list(sources), max(1, len(sources)))
            .flatMap(read_states)
            .reduceByKey(newest, numPartitions=partitions)
            .filter(keep_delete)
        )
        if scans:
            states = states.persist()
        try:
            # The count reuses the shuffle's files (S3 is read once); it gives the progress its total.
            with progress(states.count(), partitions):
                applied = states.mapPartitions(lambda part: [apply(part)]).collect()
            removed = None
            if scans and delete_settings is not None and not any(a.error for a in applied):
                live = states.filter(lambda kv: kv[1][2] is not None).map(lambda kv: (kv[0], None))
                theirs = sc.parallelize(list(scans), len(scans)).flatMap(target_keys)
                extra = theirs.subtractByKey(live, numPartitions=len(scans)).values()
                remove = functools.partial(_remove, delete_settings, settings.dry_run)
                removed = extra.mapPartitions(lambda keys: [remove(keys)]).collect()
            return applied, removed
        finally:
            if scans:
                states.unpersist()
    merged: dict[str, Any] = {}
    for states_of_file in runner.run(list(sources), lambda s: list(read_states(s)), "time-travel-read"):
        for ckey, state in states_of_file:
            current = merged.get(ckey)
            merged[ckey] = state if current is None else newest(current, state)
    items = [kv for kv in merged.items() if keep_delete(kv)]
    parts = [items[i::partitions] for i in range(partitions)] if items else []
    with progress(len(items), len(parts)):
        applied = runner.run(parts, apply, "time-travel-write")
    removed = None
    if scans and delete_settings is not None and not any(a.error for a in applied):
        live = {k for k, v in merged.items() if v[2] is not None}
        scanned = runner.run(list(scans), lambda t: list(target_keys(t)), "time-travel-scan")
        extra_parts = [[text for ckey, text in pairs if ckey not in live] for pairs in scanned]
        removed = runner.run(
            extra_parts, functools.partial(_remove, delete_settings, settings.dry_run), "time-travel-extras"
        )
    return applied, removed


def _remove(settings: extras.DeleteSettings, dry_run: bool, keys: Any) -> extras.ExtrasDeleted:
    if dry_run:
        return extras.ExtrasDeleted(sum(1 for _ in keys))
    return extras.delete_extras(settings, keys)


# --- rewind / undo -----------------------------------------------------------------------------------


def _rewind(
    run: TimeTravelRun, runner: StageRunner, table: TravelTable, progress_seconds: float = 5.0
) -> None:
    plan = table.range
    assert plan is not None
    result = table.result
    summary = _plan_report(plan, run.mode)
    result.time_travel = summary
    result.export_arn = plan.windows[0].export_arn if plan.windows else None
    windows = plan.windows + plan.later
    sources = _validate(runner, table, _sources(run, table, windows, start=1))
    if sources is None:
        return
    changes = runner.run(sources, rewind.read_changes, f"changes-{table.source}")
    actions = rewind.plan_actions(
        [c for file_changes in changes for c in file_changes], in_range=len(plan.windows), windows=windows
    )
    if table.point is not None:  # NEW_IMAGE: the states before, from the chain, for these keys only
        summary["before_from"] = [e.describe() for e in table.point.exports]
        keep = frozenset(a.ckey for a in actions)
        chain = _validate(runner, table, _sources(run, table, table.point.exports, start=0, keep=keep))
        if chain is None:
            return
        before: dict[str, Any] = {}
        for states in runner.run(chain, lambda s: list(read_states(s)), f"chain-{table.source}"):
            for ckey, state in states:
                current = before.get(ckey)
                before[ckey] = state if current is None else newest(current, state)
        actions = [dataclasses.replace(a, before=_image_of(before.get(a.ckey))) for a in actions]
    budget = _budget(run, table, ())
    slots = runner.task_slots()
    chunks = rewind.chunk(actions, slots)
    logger.info(
        "time travel: changed keys to put back",
        extra={"table": table.source, "changed_keys": len(actions), "tasks": len(chunks)},
    )
    settings = rewind.RewindSettings(
        table=table.target,
        key_names=table.key_names,
        dry_run=run.args.dry_run,
        write_rate=write_rate.task_ceiling(budget / max(1, len(chunks))) if chunks else None,
    )
    result.write_rate_budget = round(budget, 3)
    result.write_tasks = len(chunks)
    counts = runner.counter()
    totals = [TableTotals(table.source, table.target, files_total=len(chunks), items_total=len(actions))]
    with ProgressLog(counts, totals, progress_seconds):  # "restore progress" lines: keys done of the changed
        outcomes: list[rewind.RewindResult] = runner.run(
            chunks, functools.partial(rewind.apply_actions, settings, counts=counts), f"rewind-{table.source}"
        )
    total = rewind.RewindResult.combine(outcomes)
    result.items_in_export = len(actions)  # the changed keys (items_read: the windows' lines)
    summary.update(
        changed_keys=len(actions),
        puts=total.puts,
        deletes=total.deletes,
        conflicts=total.conflicts,
        conflict_keys=[{"key": k, "reason": r} for k, r in total.conflict_samples[:SAMPLE_KEYS]],
        unchanged=total.unchanged,
        reads=total.reads,
        write_units=total.write_units,
    )
    if total.conflicts:
        run.report.warnings.append(
            f"{table.target}: {total.conflicts} changed items were left as they are (written since the last export, "
            f"or changed again after the window): e.g. {', '.join(k for k, _ in total.conflict_samples[:3])}; "
            "see time_travel.conflict_keys"
        )
    if run.args.dry_run:
        result.status = VALIDATED
        result.would_write = total.puts + total.deletes
        return
    result.items_written = total.puts + total.deletes
    if total.errors:
        result.items_not_written = total.failed
        result.fail(
            f"{total.failed} items of {table.target} could not be put back ({total.errors[0]}); the items put back "
            "stay put back. Run the same rewind again: items already put back count as unchanged"
        )
        return
    result.status = SUCCEEDED
    what = "rewound to" if run.mode == REWIND else "undid the changes from"
    result.target_state = (
        f"{what} {summary['effective_point']}"
        + (f" to {summary['effective_to']}" if run.mode == UNDO else "")
        + f": {total.puts} put back, {total.deletes} deleted, {total.conflicts} conflicts left as they are"
    )


def _image_of(state: Any) -> bytes | None:
    """The attribute map of a merged state's item line (None: absent at that point)."""
    if state is None or state[2] is None:
        return None
    line: bytes = state[2]
    return line[len(b'{"Item":') : -1]


# --- finish ------------------------------------------------------------------------------------------


def _finish(run: TimeTravelRun) -> RestoreReport:
    now = time.monotonic()
    for table in run.travel:
        result = table.result
        result.seconds = round(now - table.started, 3)
        if result.status not in (SUCCEEDED, VALIDATED, VERIFIED, FAILED):
            result.fail("the restore stopped before this table finished")
        if result.status == VALIDATED:
            result.target_state = "untouched (dry run)"
        elif result.verification is not None:
            pass  # restored (target_state says to what) or verify only, then compared
        elif result.failed and result.items_written == 0 and not result.created:
            result.target_state = "untouched"
        elif result.failed:
            result.target_state = f"partly written ({result.items_written} puts/deletes applied)"
    report, args = run.report, run.args
    report.finish()
    try:
        store_report(run.s3, args.backup_bucket, args.exports_prefix, report)
    except Exception as exc:  # the report still goes to stdout; say it was not stored
        report.warnings.append(f"could not store the report in s3://{args.backup_bucket}/: {exc}")
    for name, result in report.tables.items():
        (logger.error if result.failed else logger.info)(
            "time travel finished", extra={"table": name, "result": dataclasses.asdict(result)}
        )
    return report
