"""What the backups in a bucket hold, and whether their data files are intact.

``list_backups`` reads every date's backup manifest; ``show_backup`` one backup's tables, their
exports and recorded definitions; ``check_backup`` streams every data file of the chosen tables
through the restore's own validation (``export_reader.validate_data_file``: MD5, gzip, line shape,
item count) in threads of this process: no Spark, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr import backup_manifest as mf
from dynamodb_dr.aws_errors import describe, is_missing_bucket
from dynamodb_dr.errors import BackupNotFoundError, ConfigError, DynamoDBDRError, ManifestError
from dynamodb_dr.restore.export_reader import DataFile, read_export, validate_data_file

LATEST = "latest"
FULL_EXPORT = "FULL_EXPORT"


def missing_bucket(bucket: str) -> BackupNotFoundError:
    return BackupNotFoundError(
        f"backup bucket {bucket!r} does not exist (check --bucket / BACKUP_BUCKET, and the account and region)"
    )


def resolve(s3: Any, bucket: str, prefix: str, when: str) -> mf.BackupManifest:
    """The manifest of ``when`` (``YYYY-MM-DD`` or ``latest``, the newest COMPLETE backup). A date
    that is malformed or has no backup is a ``ConfigError`` / ``BackupNotFoundError``: bad input."""
    if when.lower() == LATEST:
        return mf.find_latest_complete(s3, bucket, prefix).manifest
    try:
        date = mf.parse_backup_date(when, source="backup date")
    except ManifestError as exc:
        raise ConfigError(f"{exc}, e.g. 2026-01-31 or latest") from None
    return mf.read_manifest(s3, bucket, prefix, date).manifest


def _age_seconds(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max((now - then).total_seconds(), 0.0)


@dataclass(frozen=True)
class BackupRow:
    """One backup date, as ``backups list`` shows it."""

    backup_date: str
    status: str
    """COMPLETE | IN_PROGRESS | PARTIAL | FAILED, or NO_MANIFEST / UNREADABLE."""
    tables: tuple[str, ...] = ()
    items: int = 0
    size_bytes: int = 0
    created_at: str | None = None
    age_seconds: float | None = None
    error: str | None = None


def list_backups(
    s3: Any, bucket: str, prefix: str, *, limit: int | None = None, now: datetime | None = None
) -> list[BackupRow]:
    """Every backup date under ``prefix``, newest first (the newest ``limit`` when given)."""
    now = now or datetime.now(UTC)
    try:
        dates = mf.list_backup_dates(s3, bucket, prefix)
    except ClientError as exc:
        if is_missing_bucket(exc):
            raise missing_bucket(bucket) from None
        raise
    rows = []
    for date in dates[:limit] if limit else dates:
        try:
            manifest = mf.read_manifest(s3, bucket, prefix, date).manifest
        except BackupNotFoundError:
            rows.append(BackupRow(date, "NO_MANIFEST", error="the date has objects but no manifest.json"))
            continue
        except ManifestError as exc:
            rows.append(BackupRow(date, "UNREADABLE", error=str(exc)))
            continue
        rows.append(
            BackupRow(
                backup_date=date,
                status=manifest.status,
                tables=tuple(sorted(manifest.tables)),
                items=manifest.total_items,
                size_bytes=manifest.total_bytes,
                created_at=manifest.created_at,
                age_seconds=_age_seconds(manifest.created_at, now),
            )
        )
    return rows


@dataclass(frozen=True)
class TableDetail:
    """One table of a backup: its export, counts and recorded definition."""

    table: str
    status: str
    export_arn: str | None
    export_time: str | None
    items: int | None
    size_bytes: int | None
    data_files: int | None
    """Data files listed in the export's manifest-files.json (None when it could not be read)."""
    export_type: str | None
    output_format: str | None
    key_schema: str | None
    billing_mode: str | None
    indexes: tuple[str, ...]
    chain: str | None
    """Incremental export chain state: None while this toolkit takes full exports only."""
    problem: str | None = None


@dataclass(frozen=True)
class BackupDetail:
    backup_date: str
    status: str
    environment: str
    bucket: str
    manifest_key: str
    created_at: str
    updated_at: str
    tables: tuple[TableDetail, ...]


def _key_schema(definition: dict[str, Any] | None) -> str | None:
    if not definition or "KeySchema" not in definition:
        return None
    types = {a["AttributeName"]: a["AttributeType"] for a in definition.get("AttributeDefinitions", [])}
    return ", ".join(
        f"{k['AttributeName']} ({types.get(k['AttributeName'], '?')}, {k['KeyType']})"
        for k in definition["KeySchema"]
    )


def _table_detail(s3: Any, bucket: str, table: mf.TableBackup) -> TableDetail:
    definition = table.table_definition or {}
    indexes = tuple(
        f"{kind} {index['IndexName']}"
        for kind, key in (("GSI", "GlobalSecondaryIndexes"), ("LSI", "LocalSecondaryIndexes"))
        for index in definition.get(key, [])
    )
    files = output_format = problem = None
    export_type: str | None = None
    if table.status == mf.COMPLETED and table.export_manifest_key:
        try:
            export = read_export(s3, bucket, table.export_manifest_key)
        except (DynamoDBDRError, ClientError) as exc:
            problem = describe(exc) if isinstance(exc, ClientError) else str(exc)
        else:
            files, output_format, export_type = len(export.files), export.summary.output_format, FULL_EXPORT
    elif table.failure_code or table.failure_message:
        problem = f"{table.failure_code}: {table.failure_message}"
    return TableDetail(
        table=table.table_name,
        status=table.status,
        export_arn=table.export_arn,
        export_time=table.export_time,
        items=table.item_count,
        size_bytes=table.billed_size_bytes,
        data_files=files,
        export_type=export_type,
        output_format=output_format,
        key_schema=_key_schema(definition),
        billing_mode=definition.get("BillingMode"),
        indexes=indexes,
        chain=None,
        problem=problem,
    )


def show_backup(s3: Any, bucket: str, prefix: str, when: str) -> BackupDetail:
    manifest = resolve(s3, bucket, prefix, when)
    return BackupDetail(
        backup_date=manifest.backup_date,
        status=manifest.status,
        environment=manifest.environment,
        bucket=bucket,  # the bucket read (a replica's exports are read there, not where they were written)
        manifest_key=manifest.key,
        created_at=manifest.created_at,
        updated_at=manifest.updated_at,
        tables=tuple(_table_detail(s3, bucket, manifest.tables[name]) for name in sorted(manifest.tables)),
    )


# --- check --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileResult:
    """One data file, streamed end to end."""

    table: str
    key: str
    items_expected: int
    ok: bool
    items: int = 0
    bytes: int = 0
    error: str | None = None


@dataclass
class TableCheck:
    table: str
    export_arn: str | None = None
    files: int = 0
    items_expected: int = 0
    problem: str | None = None
    """The table could not be checked at all (export failed, manifests unreadable)."""
    results: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None and all(r.ok for r in self.results) and len(self.results) == self.files


@dataclass
class CheckResult:
    backup_date: str
    tables: dict[str, TableCheck]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables.values())

    @property
    def files(self) -> int:
        return sum(t.files for t in self.tables.values())


@dataclass(frozen=True)
class _Job:
    table: str
    export_arn: str
    data_file: DataFile


def plan_check(
    s3: Any, bucket: str, prefix: str, when: str, tables: Sequence[str] | None = None
) -> tuple[CheckResult, str, list[_Job]]:
    """The tables' exports read (their manifests); one job per data file. Returns the result to
    fill in, the bucket holding the exports and the jobs."""
    manifest = resolve(s3, bucket, prefix, when)
    chosen = list(tables) if tables else sorted(manifest.tables)
    unknown = [t for t in chosen if t not in manifest.tables]
    if unknown:
        raise ConfigError(
            f"table(s) {', '.join(unknown)} are not in the backup of {manifest.backup_date}; it holds: "
            f"{', '.join(sorted(manifest.tables)) or '(no tables)'}"
        )
    result = CheckResult(manifest.backup_date, {})
    jobs: list[_Job] = []
    for name in chosen:
        backup = manifest.tables[name]
        check = result.tables[name] = TableCheck(name, backup.export_arn)
        if backup.status != mf.COMPLETED or not backup.export_manifest_key:
            check.problem = f"its export is {backup.status}, there is nothing to check"
            continue
        try:
            export = read_export(s3, bucket, backup.export_manifest_key)
        except (DynamoDBDRError, ClientError) as exc:
            check.problem = describe(exc) if isinstance(exc, ClientError) else str(exc)
            continue
        check.files = len(export.files)
        check.items_expected = export.summary.item_count
        jobs.extend(_Job(name, export.summary.export_arn, f) for f in export.files)
    return result, bucket, jobs


def _check_file(s3: Any, bucket: str, job: _Job) -> FileResult:
    expected = job.data_file.item_count
    try:
        found = validate_data_file(s3, bucket, job.data_file, job.export_arn)
    except DynamoDBDRError as exc:
        return FileResult(job.table, job.data_file.key, expected, False, error=str(exc))
    except ClientError as exc:
        return FileResult(job.table, job.data_file.key, expected, False, error=describe(exc))
    return FileResult(job.table, job.data_file.key, expected, True, found.items, found.compressed_bytes)


def run_check(
    s3: Any,
    bucket: str,
    result: CheckResult,
    jobs: Sequence[_Job],
    *,
    threads: int = 4,
    on_file: Callable[[FileResult], None] | None = None,
) -> CheckResult:
    """Every job's data file streamed and checked, ``threads`` at a time; ``on_file`` is called as
    each one finishes (for a progress bar)."""
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="backups-check") as pool:
        futures = [pool.submit(_check_file, s3, bucket, job) for job in jobs]
        for future in as_completed(futures):
            file_result = future.result()
            result.tables[file_result.table].results.append(file_result)
            if on_file is not None:
                on_file(file_result)
    for check in result.tables.values():
        check.results.sort(key=lambda r: r.key)
    return result
