"""The backup manifest: ``{prefix}/{YYYY-MM-DD}/manifest.json``, one per backup date.

It records, per table, the export (ARN, status, counts, where AWS wrote it) and the table's
definition (keys, billing mode, indexes) that a restore needs to check or recreate its target.

The object is always replaced whole (S3 PutObject is atomic) and every update is a conditional
write (``If-Match`` on the ETag read, ``If-None-Match: *`` for a new manifest), so the export
Lambda and the monitor never overwrite each other's work.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_condition_failed, is_missing_bucket, is_missing_object
from dynamodb_dr.errors import BackupNotFoundError, ConcurrentUpdateError, ManifestError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


SCHEMA_VERSION = 1
BACKUP_TYPE = "DYNAMODB_NATIVE_EXPORT"
MANIFEST_NAME = "manifest.json"

# Table export statuses (DynamoDB's ExportStatus, plus NOT_STARTED when the request itself failed).
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
NOT_STARTED = "NOT_STARTED"

# Backup statuses.
BACKUP_IN_PROGRESS = "IN_PROGRESS"
BACKUP_COMPLETE = "COMPLETE"  # every table's export COMPLETED
BACKUP_PARTIAL = "PARTIAL"  # all finished, some tables failed
BACKUP_FAILED = "FAILED"  # all finished, none completed

logger = logging.getLogger(__name__)

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_backup_date(value: str, *, source: str = "backup date") -> str:
    """``YYYY-MM-DD`` as a real calendar date, or a ManifestError naming the bad value."""
    if not DATE_RE.match(value or ""):
        raise ManifestError(f"{source} {value!r} is not a date in the form YYYY-MM-DD (or 'latest')")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ManifestError(f"{source} {value!r} is not a real calendar date") from None
    return value


def manifest_key(prefix: str, backup_date: str) -> str:
    return f"{prefix}/{backup_date}/{MANIFEST_NAME}"


def export_prefix(prefix: str, backup_date: str, table_name: str) -> str:
    """The S3Prefix given to ExportTableToPointInTime for one table."""
    return f"{prefix}/{backup_date}/{table_name}"


@dataclass
class TableBackup:
    table_name: str
    status: str = NOT_STARTED
    table_arn: str | None = None
    export_arn: str | None = None
    export_s3_prefix: str | None = None
    client_token: str | None = None
    export_time: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    item_count: int | None = None
    billed_size_bytes: int | None = None
    export_manifest_key: str | None = None
    """Key of the export's ``manifest-summary.json`` (DescribeExport's ExportManifest)."""
    manifest_files_key: str | None = None
    """Key of the export's ``manifest-files.json``, the list of data files."""
    failure_code: str | None = None
    failure_message: str | None = None
    table_definition: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in (COMPLETED, FAILED, NOT_STARTED)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableBackup:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class BackupManifest:
    backup_date: str
    environment: str
    s3_bucket: str
    s3_prefix: str
    tables: dict[str, TableBackup] = field(default_factory=dict)
    created_at: str = field(default_factory=utc_now_iso)
    updated_at: str = field(default_factory=utc_now_iso)
    schema_version: int = SCHEMA_VERSION
    backup_type: str = BACKUP_TYPE

    @property
    def key(self) -> str:
        return manifest_key(self.s3_prefix, self.backup_date)

    @property
    def status(self) -> str:
        statuses = [t.status for t in self.tables.values()]
        if not statuses:
            return BACKUP_FAILED
        if any(s == IN_PROGRESS for s in statuses):
            return BACKUP_IN_PROGRESS
        if all(s == COMPLETED for s in statuses):
            return BACKUP_COMPLETE
        if any(s == COMPLETED for s in statuses):
            return BACKUP_PARTIAL
        return BACKUP_FAILED

    @property
    def total_items(self) -> int:
        return sum(t.item_count or 0 for t in self.tables.values())

    @property
    def total_bytes(self) -> int:
        return sum(t.billed_size_bytes or 0 for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "backup_type": self.backup_type,
            "backup_date": self.backup_date,
            "environment": self.environment,
            "s3_bucket": self.s3_bucket,
            "s3_prefix": self.s3_prefix,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "total_items": self.total_items,
            "total_billed_size_bytes": self.total_bytes,
            "tables": {name: asdict(t) for name, t in sorted(self.tables.items())},
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False).encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "manifest") -> BackupManifest:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ManifestError(
                f"{source} has schema_version {version!r}; this toolkit reads version {SCHEMA_VERSION}. "
                "Use the toolkit release that wrote it, or upgrade."
            )
        try:
            return cls(
                backup_date=data["backup_date"],
                environment=data["environment"],
                s3_bucket=data["s3_bucket"],
                s3_prefix=data["s3_prefix"],
                tables={n: TableBackup.from_dict(t) for n, t in data.get("tables", {}).items()},
                created_at=data.get("created_at") or utc_now_iso(),
                updated_at=data.get("updated_at") or utc_now_iso(),
                backup_type=data.get("backup_type", BACKUP_TYPE),
            )
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"{source} is missing or has a malformed field: {exc}") from None


# --- S3 store -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredManifest:
    manifest: BackupManifest
    etag: str


def read_manifest(s3: S3Client, bucket: str, prefix: str, backup_date: str) -> StoredManifest:
    key = manifest_key(prefix, backup_date)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing_object(exc):
            raise BackupNotFoundError(
                f"no backup manifest for {backup_date}: s3://{bucket}/{key} does not exist. "
                f"List the dates that have one with: aws s3 ls s3://{bucket}/{prefix}/"
            ) from None
        if is_missing_bucket(exc):
            raise BackupNotFoundError(
                f"backup bucket {bucket!r} does not exist (check --BACKUP_BUCKET / BACKUP_BUCKET)"
            ) from None
        raise
    try:
        data = json.loads(obj["Body"].read())
    except ValueError as exc:
        raise ManifestError(f"s3://{bucket}/{key} is not valid JSON: {exc}") from None
    return StoredManifest(BackupManifest.from_dict(data, source=f"s3://{bucket}/{key}"), obj["ETag"])


def write_manifest(s3: S3Client, manifest: BackupManifest, *, etag: str | None) -> str:
    """Replace the manifest whole, only if it is still the version read (``etag``), or create it
    only if it does not exist yet (``etag=None``). Returns the new ETag."""
    manifest.updated_at = utc_now_iso()
    try:
        if etag:
            response = s3.put_object(
                Bucket=manifest.s3_bucket,
                Key=manifest.key,
                Body=manifest.to_json(),
                ContentType="application/json",
                IfMatch=etag,
            )
        else:
            response = s3.put_object(
                Bucket=manifest.s3_bucket,
                Key=manifest.key,
                Body=manifest.to_json(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
    except ClientError as exc:
        if is_condition_failed(exc):
            raise ConcurrentUpdateError(
                f"s3://{manifest.s3_bucket}/{manifest.key} changed while it was being updated"
            ) from None
        raise
    return response["ETag"]


def update_manifest(
    s3: S3Client,
    bucket: str,
    prefix: str,
    backup_date: str,
    change: Callable[[BackupManifest | None], BackupManifest],
    *,
    attempts: int = 5,
) -> BackupManifest:
    """Read-modify-write with optimistic concurrency: ``change`` gets the current manifest (or None
    when there is none yet) and returns the new one; re-run on a concurrent update."""
    for attempt in range(attempts):
        try:
            stored = read_manifest(s3, bucket, prefix, backup_date)
            current, etag = stored.manifest, stored.etag
        except BackupNotFoundError:
            current, etag = None, None
        updated = change(current)
        try:
            write_manifest(s3, updated, etag=etag)
            return updated
        except ConcurrentUpdateError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def list_backup_dates(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    """Dates that have a folder under ``prefix``, newest first."""
    dates: set[str] = set()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/", Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            name = common["Prefix"][len(prefix) + 1 :].rstrip("/")
            if DATE_RE.match(name):
                dates.add(name)
    return sorted(dates, reverse=True)


def find_latest_complete(
    s3: S3Client, bucket: str, prefix: str, *, skipped: list[str] | None = None
) -> StoredManifest:
    """The newest backup whose status is COMPLETE. A manifest that cannot be read (not JSON, an
    unknown schema version, a malformed field) is passed over, not fatal: it is logged and named in
    ``skipped`` when given, and the search goes on to older dates."""
    seen = []
    try:
        dates = list_backup_dates(s3, bucket, prefix)
    except ClientError as exc:
        if is_missing_bucket(exc):
            raise BackupNotFoundError(
                f"backup bucket {bucket!r} does not exist (check --BACKUP_BUCKET / BACKUP_BUCKET)"
            ) from None
        raise
    for backup_date in dates:
        try:
            stored = read_manifest(s3, bucket, prefix, backup_date)
        except BackupNotFoundError:
            seen.append(f"{backup_date} (no manifest)")
            continue
        except ManifestError as exc:
            seen.append(f"{backup_date} (unreadable manifest)")
            warning = f"'latest' passed over the backup of {backup_date}: its manifest cannot be read: {exc}"
            logger.warning(
                "unreadable backup manifest skipped", extra={"backup_date": backup_date, "error": str(exc)}
            )
            if skipped is not None:
                skipped.append(warning)
            continue
        if stored.manifest.status == BACKUP_COMPLETE:
            return stored
        seen.append(f"{backup_date} ({stored.manifest.status})")
    detail = "; found: " + ", ".join(seen[:10]) if seen else f"; s3://{bucket}/{prefix}/ holds no backups"
    raise BackupNotFoundError(
        "'latest' asks for the newest COMPLETE backup and there is none"
        + detail
        + ". Run the export monitor to finish in-progress backups, or restore a date explicitly."
    )
