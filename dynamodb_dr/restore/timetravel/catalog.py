"""A table's exports (full and incremental) and the chain that reaches a point in time.

Where the exports are (the contract with the export side):

* full exports of the daily backups: the day's manifest (``{S3_EXPORTS_PREFIX}/{date}/manifest.json``,
  ``TableBackup.export_manifest_key``);
* incremental exports, and the full export a chain restart takes: under
  ``{S3_EXPORTS_PREFIX}/incremental/{table}``, every ``AWSDynamoDB/<ExportId>/manifest-summary.json``;
* ``--export_uri s3://BUCKET/PREFIX``: every ``manifest-summary.json`` under ``PREFIX/AWSDynamoDB/``
  (exports the toolkit did not make: the console's, another tool's, another account's copy).

Data files are never found by listing a folder (incremental exports of one prefix share
``AWSDynamoDB/data/``): only through each export's ``manifest-files.json`` (``export_reader``).

A chain is a full export and the incremental windows that follow it without a gap
(``ExportFromTime`` inclusive, ``ExportToTime`` exclusive). Exports hold one final state per item
per window, so a point inside a window resolves to that window's start (``plan_point``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_missing_bucket, is_missing_object
from dynamodb_dr.backup_manifest import COMPLETED, list_backup_dates, read_manifest
from dynamodb_dr.errors import BackupNotFoundError, ConfigError, ExportDataError, ManifestError
from dynamodb_dr.restore.export_reader import SUPPORTED_FORMATS
from dynamodb_dr.restore.timetravel.points import iso, parse_export_time

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FULL = "FULL_EXPORT"
INCREMENTAL = "INCREMENTAL_EXPORT"
NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"
NEW_IMAGE = "NEW_IMAGE"
SUMMARY_NAME = "manifest-summary.json"


class ChainGapError(ConfigError):
    """The incremental exports do not reach the point without a gap (nothing was written)."""


@dataclass(frozen=True)
class CatalogExport:
    """One export of a table, from its manifest-summary.json."""

    export_arn: str
    kind: str
    """FULL_EXPORT or INCREMENTAL_EXPORT."""
    table_name: str
    table_id: str | None
    bucket: str
    summary_key: str
    manifest_files_key: str
    item_count: int
    output_format: str
    start: datetime
    """A full export's ExportTime; an incremental export's ExportFromTime (inclusive)."""
    end: datetime
    """A full export's ExportTime; an incremental export's ExportToTime (exclusive)."""
    view: str = NEW_IMAGE
    billed_size_bytes: int | None = None

    @property
    def incremental(self) -> bool:
        return self.kind == INCREMENTAL

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"export_arn": self.export_arn, "type": self.kind, "items": self.item_count}
        if self.incremental:
            out.update({"from": iso(self.start), "to": iso(self.end), "view": self.view})
        else:
            out["export_time"] = iso(self.start)
        return out


def table_name_of(table_arn: str) -> str:
    """``orders`` of ``arn:aws:dynamodb:REGION:ACCOUNT:table/orders``."""
    return table_arn.split(":table/", 1)[-1].split("/", 1)[0]


def read_summary(s3: S3Client, bucket: str, key: str) -> CatalogExport:
    """One manifest-summary.json (full or incremental) as a ``CatalogExport``."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if is_missing_object(exc):
            raise ExportDataError(f"export manifest s3://{bucket}/{key} does not exist") from None
        raise
    try:
        data = json.loads(body)
        incremental = data.get("exportType") == INCREMENTAL or "exportFromTime" in data
        if incremental:
            start, end = parse_export_time(data["exportFromTime"]), parse_export_time(data["exportToTime"])
        else:
            start = end = parse_export_time(data["exportTime"])
        export = CatalogExport(
            export_arn=str(data["exportArn"]),
            kind=INCREMENTAL if incremental else FULL,
            table_name=table_name_of(str(data.get("tableArn") or "")),
            table_id=str(data["tableId"]) if data.get("tableId") else None,
            bucket=bucket,
            summary_key=key,
            manifest_files_key=str(data["manifestFilesS3Key"]),
            item_count=int(data["itemCount"]),
            output_format=str(data.get("outputFormat") or "DYNAMODB_JSON"),
            start=start,
            end=end,
            view=str(data.get("outputView") or (NEW_AND_OLD_IMAGES if incremental else NEW_IMAGE)),
            billed_size_bytes=data.get("billedSizeBytes"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ExportDataError(
            f"s3://{bucket}/{key} is not a valid manifest-summary.json ({exc!r}); the export is damaged"
        ) from exc
    if export.incremental and export.end <= export.start:
        raise ExportDataError(
            f"incremental export {export.export_arn} (s3://{bucket}/{key}) ends ({iso(export.end)}) before "
            f"it starts ({iso(export.start)}); the export is damaged"
        )
    if export.output_format not in SUPPORTED_FORMATS:
        raise ExportDataError(
            f"export {export.export_arn} is in {export.output_format} format; the restore reads "
            f"{' and '.join(SUPPORTED_FORMATS)} exports"
        )
    return export


def list_summaries(s3: S3Client, bucket: str, prefix: str) -> list[CatalogExport]:
    """Every export whose ``manifest-summary.json`` is at ``PREFIX/AWSDynamoDB/<ExportId>/``."""
    root = f"{prefix.strip('/')}/AWSDynamoDB/" if prefix.strip("/") else "AWSDynamoDB/"
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(root) :]
                parts = rest.split("/")
                if len(parts) == 2 and parts[1] == SUMMARY_NAME and parts[0] != "data":
                    keys.append(obj["Key"])
    except ClientError as exc:
        if is_missing_bucket(exc):
            raise BackupNotFoundError(
                f"bucket {bucket!r} does not exist (check the export location)"
            ) from None
        raise
    return [read_summary(s3, bucket, key) for key in sorted(keys)]


def incremental_prefix(exports_prefix: str, table: str) -> str:
    """The S3Prefix of a table's incremental exports (and of its chain restarts' full exports)."""
    return f"{exports_prefix}/incremental/{table}"


@dataclass
class TableCatalog:
    """What exists for one table: full exports and incremental windows, with where the table
    definition came from (a daily manifest), when one did."""

    table: str
    fulls: list[CatalogExport] = field(default_factory=list)
    windows: list[CatalogExport] = field(default_factory=list)
    definition: dict[str, Any] | None = None
    location: str = ""

    def add(self, export: CatalogExport) -> None:
        (self.windows if export.incremental else self.fulls).append(export)

    @property
    def view(self) -> str:
        views = {w.view for w in self.windows}
        return NEW_IMAGE if NEW_IMAGE in views else NEW_AND_OLD_IMAGES


def toolkit_catalog(
    s3: S3Client, bucket: str, exports_prefix: str, table: str, *, fulls_until: datetime | None
) -> TableCatalog:
    """The table's exports as the toolkit wrote them: incremental windows (and chain restarts) under
    its incremental prefix; with ``fulls_until``, the newest daily full export at or before it (older
    days are not read) and the table's recorded definition."""
    prefix = incremental_prefix(exports_prefix, table)
    catalog = TableCatalog(table, location=f"s3://{bucket}/{prefix}")
    for export in list_summaries(s3, bucket, prefix):
        catalog.add(export)
    for date in list_backup_dates(s3, bucket, exports_prefix):
        if fulls_until is not None and date > fulls_until.date().isoformat():
            if catalog.definition is None:
                _definition_from(s3, bucket, exports_prefix, date, table, catalog)
            continue
        try:
            manifest = read_manifest(s3, bucket, exports_prefix, date).manifest
        except ManifestError:
            continue
        backup = manifest.tables.get(table)
        if backup is None:
            continue
        if catalog.definition is None and backup.table_definition:
            catalog.definition = backup.table_definition
        if fulls_until is None:
            if catalog.definition is not None:
                break  # no full export wanted: the newest definition is all
            continue
        if backup.status != COMPLETED or not backup.export_manifest_key:
            continue
        full = read_summary(s3, manifest.s3_bucket, backup.export_manifest_key)
        catalog.fulls.append(full)
        if full.start <= fulls_until:
            if backup.table_definition:
                catalog.definition = backup.table_definition
            break
    return catalog


def _definition_from(
    s3: S3Client, bucket: str, prefix: str, date: str, table: str, catalog: TableCatalog
) -> None:
    try:
        backup = read_manifest(s3, bucket, prefix, date).manifest.tables.get(table)
    except ManifestError:
        return
    if backup is not None and backup.table_definition:
        catalog.definition = backup.table_definition


def uri_catalog(s3: S3Client, uri: str) -> TableCatalog:
    """Every export under ``s3://BUCKET/PREFIX`` (one table's): refused when they name more than one table."""
    bucket, prefix = split_uri(uri)
    exports = list_summaries(s3, bucket, prefix)
    if not exports:
        raise ConfigError(
            f"--export_uri {uri} holds no export: no {prefix.strip('/') + '/' if prefix else ''}AWSDynamoDB/"
            f"<ExportId>/{SUMMARY_NAME}. Give the S3Prefix the exports were written with"
        )
    names = sorted({e.table_name for e in exports})
    if len(names) > 1:
        raise ConfigError(
            f"--export_uri {uri} holds exports of more than one table ({', '.join(names)}); a restore reads "
            "one table's exports: give the prefix of that table's exports only"
        )
    catalog = TableCatalog(names[0], location=uri)
    for export in exports:
        catalog.add(export)
    return catalog


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` → (BUCKET, PREFIX without slashes at its ends)."""
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise ConfigError(f"--export_uri {uri!r} is not an S3 URI; expected s3://BUCKET/PREFIX")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise ConfigError(f"--export_uri {uri!r} names no bucket; expected s3://BUCKET/PREFIX")
    return bucket, prefix.strip("/")


# --- chains ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime

    def describe(self) -> dict[str, str]:
        return {"from": iso(self.start), "to": iso(self.end)}


@dataclass(frozen=True)
class PointPlan:
    """What a restore to ``requested`` reads: ``full`` then ``windows`` in order; ``effective`` is
    the point the result holds (the end of the last window used, or the full export's time)."""

    requested: datetime
    effective: datetime
    full: CatalogExport | None
    windows: tuple[CatalogExport, ...]
    gaps: tuple[Gap, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def exports(self) -> tuple[CatalogExport, ...]:
        return ((self.full,) if self.full is not None else ()) + self.windows


def _gap_error(table: str, gap: Gap, what: str) -> ChainGapError:
    return ChainGapError(
        f"the incremental exports of {table} have a gap from {iso(gap.start)} to {iso(gap.end)} (no export "
        f"covers it), so {what} cannot be reached exactly; nothing was written. Restore to a point before "
        f"the gap (--restore_time {iso(gap.start)}), or accept losing the changes made in the gap with "
        "--allow_chain_gaps true"
    )


def _same_table(table: str, export: CatalogExport, table_id: str | None) -> None:
    if export.table_name and export.table_name != table:
        raise ConfigError(
            f"export {export.export_arn} (s3://{export.bucket}/{export.summary_key}) is of table "
            f"{export.table_name}, not {table}; its exports are refused. Keep each table's exports under "
            "its own prefix"
        )
    if table_id and export.table_id and export.table_id != table_id:
        raise ConfigError(
            f"export {export.export_arn} is of table id {export.table_id}, but the chain starts from an export "
            f"of table id {table_id}: {table} was deleted and created again in between, and the two tables' "
            "exports do not form one chain. Restore to a point after the new table's first full export, or "
            "before the table was recreated"
        )


def _walk(
    table: str,
    windows: list[CatalogExport],
    cursor: datetime,
    until: datetime,
    table_id: str | None,
    *,
    allow_gaps: bool,
    what: str,
) -> tuple[list[CatalogExport], list[Gap], datetime]:
    """The windows that continue a chain from ``cursor`` and end at or before ``until``, in order."""
    used: list[CatalogExport] = []
    gaps: list[Gap] = []
    for window in sorted(windows, key=lambda w: (w.start, w.end)):
        if window.end <= cursor or window.end > until:
            continue
        _same_table(table, window, table_id)
        if window.start > cursor:
            gap = Gap(cursor, window.start)
            if not allow_gaps:
                raise _gap_error(table, gap, what)
            gaps.append(gap)
        used.append(window)
        cursor = window.end
    return used, gaps, cursor


def plan_point(catalog: TableCatalog, point: datetime, *, allow_gaps: bool) -> PointPlan:
    """The newest full export at or before ``point`` and the windows after it up to ``point``."""
    table = catalog.table
    fulls = [f for f in catalog.fulls if f.start <= point]
    if not fulls:
        first = min((f.start for f in catalog.fulls), default=None)
        hint = (
            f"the earliest full export of {table} is from {iso(first)}"
            if first is not None
            else f"there is no full export of {table} (in the daily manifests or {catalog.location})"
        )
        raise ConfigError(
            f"{iso(point)} is before any full export of {table}: {hint}. Give a later point in time"
        )
    full = max(fulls, key=lambda f: f.start)
    _same_table(table, full, None)
    windows, gaps, effective = _walk(
        table,
        catalog.windows,
        full.start,
        point,
        full.table_id,
        allow_gaps=allow_gaps,
        what=f"{iso(point)}",
    )
    notes: list[str] = []
    later = [w for w in catalog.windows if w.end > point and w.start <= point and w.end > effective]
    if later:
        notes.append(
            f"{iso(point)} is inside the window {iso(later[0].start)} to {iso(later[0].end)}; an export holds one "
            f"final state per item per window, so the restore reaches {iso(effective)}"
        )
    elif effective < point:
        notes.append(
            f"the newest export of {table} ends at {iso(effective)}; later changes are not exported (yet)"
        )
    return PointPlan(point, effective, full, tuple(windows), tuple(gaps), tuple(notes))


@dataclass(frozen=True)
class RangePlan:
    """The windows whose changes a rewind / undo takes back (``windows``: from ``effective_from`` to
    ``effective_to``), and the windows after them (an undo's later changes: conflicts)."""

    requested_from: datetime
    requested_to: datetime | None
    effective_from: datetime
    effective_to: datetime
    windows: tuple[CatalogExport, ...]
    later: tuple[CatalogExport, ...]
    gaps: tuple[Gap, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def view(self) -> str:
        return NEW_IMAGE if any(w.view == NEW_IMAGE for w in self.windows) else NEW_AND_OLD_IMAGES


def plan_range(
    catalog: TableCatalog, start: datetime, end: datetime | None, *, allow_gaps: bool
) -> RangePlan:
    """The windows from ``start`` (resolved to the start of the window holding it) to ``end``
    (resolved to the end of the window holding its last instant; None: the chain's end)."""
    table = catalog.table
    windows = sorted(catalog.windows, key=lambda w: (w.start, w.end))
    what = f"--rewind_to {iso(start)}" if end is None else f"--undo_window {iso(start)}/{iso(end)}"
    if not windows:
        raise ConfigError(
            f"there is no incremental export of {table} ({catalog.location}); {what} needs the chain of "
            "incremental exports that covers it"
        )
    holding = [w for w in windows if w.start <= start < w.end]
    if not holding:
        if start < windows[0].start:
            raise ConfigError(
                f"{what}: the incremental exports of {table} start at {iso(windows[0].start)}; changes before "
                "that are in no export. Give a later point, or restore a full export with --restore_time"
            )
        if start >= windows[-1].end:
            raise ConfigError(
                f"{what}: the newest incremental export of {table} ends at {iso(windows[-1].end)}; nothing "
                "after that is exported yet. Wait for the next window, or give an earlier point"
            )
        # Between two windows: a gap, the next window is where the known changes resume.
        nxt = next(w for w in windows if w.start > start)
        if not allow_gaps:
            raise _gap_error(table, Gap(max(w.end for w in windows if w.end <= start), nxt.start), what)
        holding = [nxt]
    first = holding[0]
    table_id = first.table_id
    until = windows[-1].end if end is None else end
    if end is not None:
        # The window holding the undo's last instant is taken whole: an undo never leaves half a bad job.
        ending = [w for w in windows if w.start < end <= w.end]
        until = max((w.end for w in ending), default=end)
    used, gaps, cursor = _walk(table, windows, first.start, until, table_id, allow_gaps=allow_gaps, what=what)
    used = [w for w in used if w.start >= first.start]
    if first not in used:
        used.insert(0, first)
        cursor = max(cursor, first.end)
    later, later_gaps, _ = _walk(
        table, windows, cursor, windows[-1].end, table_id, allow_gaps=True, what=what
    )
    notes: list[str] = []
    if first.start != start:
        notes.append(
            f"{iso(start)} is inside the window {iso(first.start)} to {iso(first.end)}; the changes are taken "
            f"back from the window's start"
        )
    if end is not None and cursor != end:
        notes.append(f"the undo covers whole windows: to {iso(cursor)} (asked: {iso(end)})")
    if later_gaps:
        notes.append(
            "the exports after the undone windows have gaps ("
            + ", ".join(f"{iso(g.start)} to {iso(g.end)}" for g in later_gaps)
            + "): a key changed only in a gap is seen by its live state only"
        )
    return RangePlan(start, end, first.start, cursor, tuple(used), tuple(later), tuple(gaps), tuple(notes))
