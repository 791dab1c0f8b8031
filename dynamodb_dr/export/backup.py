"""The scheduled backup: start one native export (ExportTableToPointInTime) per table and record
them in the day's backup manifest.

This never waits for an export to finish; the export monitor (``dynamodb_dr.export.monitor``) follows
them with DescribeExport. Every table is handled on its own: a table that cannot be exported is
recorded as failed, with AWS's error code and a message saying what to do, and the others go on.

Re-running the same day is safe: the ClientToken of each export is derived from the backup date,
the table and the destination, so DynamoDB returns the export it already started instead of
starting a second one, and a table whose export the manifest already records (IN_PROGRESS or
COMPLETED) is not asked again at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dynamodb_dr.aws_errors import MISSING_TABLE_CODES, THROTTLING_CODES, error_code, error_message
from dynamodb_dr.backup_manifest import (
    BACKUP_TYPE,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    NOT_STARTED,
    BackupManifest,
    BackupNotFoundError,
    TableBackup,
    export_prefix,
    manifest_key,
    parse_backup_date,
    read_manifest,
    update_manifest,
)
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import DynamoDBDRError, ManifestError
from dynamodb_dr.table_settings import record_definition

logger = logging.getLogger(__name__)

MAX_PARALLEL_TABLES = 8
"""Tables handled at once. Each needs two quick API calls; AWS allows 300 exports in flight."""

STARTED_STATUSES = (IN_PROGRESS, COMPLETED)


class InvalidEventError(DynamoDBDRError):
    """The Lambda event carries a field this toolkit cannot use (a bad date or time)."""


# --- backup date --------------------------------------------------------------------------------


def utc_today(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()


def previous_day(backup_date: str) -> str:
    return (date.fromisoformat(backup_date) - timedelta(days=1)).isoformat()


def backup_date_from_event(event: Mapping[str, Any] | None, *, now: datetime | None = None) -> str:
    """The backup date an invocation is about.

    ``{"backup_date": "YYYY-MM-DD"}`` wins; otherwise the UTC date of an EventBridge event's
    ``time`` (so a run scheduled at 23:59 UTC that starts at 00:00 still files under its day);
    otherwise today's UTC date.
    """
    event = event if isinstance(event, Mapping) else {}
    explicit = event.get("backup_date")
    if explicit is not None:
        if not isinstance(explicit, str):
            raise InvalidEventError(f"event field backup_date={explicit!r} must be a string 'YYYY-MM-DD'")
        try:
            return parse_backup_date(explicit, source="event field backup_date")
        except ManifestError as exc:
            raise InvalidEventError(f'{exc}; send e.g. {{"backup_date": "2026-01-31"}}') from exc
    when = event.get("time")
    if when:
        try:
            parsed = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidEventError(
                f"event field time={when!r} is not an ISO 8601 timestamp (EventBridge sends e.g. "
                '\'2026-01-31T02:00:00Z\'); send {"backup_date": "YYYY-MM-DD"} to choose the date'
            ) from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return utc_today(parsed)
    return utc_today(now)


# --- one table ----------------------------------------------------------------------------------


def client_token(
    settings: BackupSettings, backup_date: str, table_name: str, *, retry_of: str | None = None
) -> str:
    """A deterministic ClientToken (64 hex characters) for one table's export on one date.

    The same date, table and destination always give the same token, so DynamoDB treats a second
    request (a re-invoked Lambda) as the same export for 8 hours. ``retry_of`` (the ARN of an
    export that ended FAILED) gives a new token, so a failed export can be started again.
    """
    parts = [settings.environment, settings.backup_bucket, settings.exports_prefix, backup_date, table_name]
    if settings.export_format != "DYNAMODB_JSON":  # the same token with another format would be refused
        parts.append(f"format:{settings.export_format}")
    if retry_of:
        parts.append(f"retry-of:{retry_of}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:64]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def record_export_description(entry: TableBackup, description: Mapping[str, Any]) -> None:
    """Copy what DescribeExport (or the ExportTableToPointInTime response) says into ``entry``."""
    entry.export_arn = description.get("ExportArn", entry.export_arn)
    entry.status = description.get("ExportStatus", entry.status)
    entry.table_arn = description.get("TableArn") or entry.table_arn
    entry.client_token = description.get("ClientToken") or entry.client_token
    entry.export_s3_prefix = description.get("S3Prefix") or entry.export_s3_prefix
    for field_name, key in (
        ("export_time", "ExportTime"),
        ("start_time", "StartTime"),
        ("end_time", "EndTime"),
    ):
        if description.get(key) is not None:
            setattr(entry, field_name, _iso(description[key]))
    if description.get("ItemCount") is not None:
        entry.item_count = int(description["ItemCount"])
    if description.get("BilledSizeBytes") is not None:
        entry.billed_size_bytes = int(description["BilledSizeBytes"])
    if description.get("ExportManifest"):
        entry.export_manifest_key = description["ExportManifest"]
    if entry.status == FAILED:
        entry.failure_code = description.get("FailureCode") or "UNKNOWN"
        entry.failure_message = (
            f"the export ended FAILED: {description.get('FailureMessage') or 'no message from DynamoDB'}. "
            "Fix the cause (bucket, KMS key or permissions), then re-invoke the export Lambda for this "
            "date: it starts a new export for this table only"
        )
    else:
        entry.failure_code = entry.failure_message = None


MANIFEST_FILES_FIELD = "manifestFilesS3Key"


def read_manifest_files_key(s3: Any, bucket: str, summary_key: str) -> str:
    """``manifestFilesS3Key`` from an export's ``manifest-summary.json``."""
    body = s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read()
    try:
        value = json.loads(body)[MANIFEST_FILES_FIELD]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"s3://{bucket}/{summary_key} has no {MANIFEST_FILES_FIELD}: {exc!r}") from exc
    if not isinstance(value, str) or not value:
        raise ValueError(f"s3://{bucket}/{summary_key} has an empty {MANIFEST_FILES_FIELD}")
    return value


def record_manifest_files_key(s3: Any, bucket: str, entry: TableBackup) -> None:
    """For a COMPLETED export: record where its list of data files is (``manifest-files.json``,
    named by its ``manifest-summary.json``). An export whose manifests cannot be read is of no use
    to a restore, so it is recorded FAILED, with what to do."""
    if not entry.export_manifest_key:
        entry.status = FAILED
        entry.failure_code = "ExportManifestMissing"
        entry.failure_message = (
            f"DynamoDB says export {entry.export_arn} COMPLETED but names no ExportManifest, so a restore cannot "
            "find its data files. Re-invoke the export Lambda for this date to export the table again"
        )
        return
    try:
        entry.manifest_files_key = read_manifest_files_key(s3, bucket, entry.export_manifest_key)
    except (ClientError, ValueError) as exc:
        entry.status = FAILED
        entry.failure_code = "ExportManifestUnreadable"
        entry.failure_message = (
            f"the export's manifest-summary.json could not be read ({exc}), so a restore cannot find its data "
            "files. Check the bucket's permissions and lifecycle rules, then re-invoke the export Lambda "
            "for this date to export the table again"
        )


def needs_checking(entry: TableBackup) -> bool:
    """An export the monitor must still look at: running, or completed but not yet located."""
    if not entry.export_arn:
        return False
    return entry.status == IN_PROGRESS or (entry.status == COMPLETED and not entry.manifest_files_key)


def failure_advice(code: str, message: str, table_name: str, step: str) -> str:
    """What went wrong with one table, and what to do about it."""
    said = f"{step} failed with {code}: {message}"
    if code == "PointInTimeRecoveryUnavailableException":
        return (
            f"point-in-time recovery is not enabled on table {table_name}, and exports need it. "
            f"Enable it: aws dynamodb update-continuous-backups --table-name {table_name} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true "
            f"(or point_in_time_recovery {{ enabled = true }} in Terraform), then re-invoke the export Lambda. ({said})"
        )
    if code in MISSING_TABLE_CODES:
        return (
            f"table {table_name} does not exist in this account and region. Create or restore it, or remove it "
            f"from DYNAMODB_TABLES (the Terraform variable that lists the tables to back up). ({said})"
        )
    if code in THROTTLING_CODES:
        return (
            f"DynamoDB kept throttling {step} for {table_name} after the client's retries. Re-invoke the export "
            f"Lambda later: re-invocations the same day start no duplicate export. ({said})"
        )
    if code == "LimitExceededException":
        return (
            f"too many exports or control-plane operations in flight (AWS allows 300 concurrent exports). "
            f"Wait for running exports to finish, then re-invoke the export Lambda. ({said})"
        )
    if code in ("AccessDeniedException", "UnrecognizedClientException"):
        return (
            f"the Lambda's role may not call {step} on {table_name} or write to the backup bucket. Grant "
            "dynamodb:DescribeTable, dynamodb:ExportTableToPointInTime and s3:PutObject/s3:AbortMultipartUpload "
            f"on the backup bucket's prefix. ({said})"
        )
    if code == "ExportConflictException":
        return (
            f"DynamoDB holds an export request for {table_name} with the same ClientToken but different "
            "parameters (tokens stay in use for 8 hours). Wait for it to expire, or start this export by hand "
            f"with aws dynamodb export-table-to-point-in-time and another --client-token. ({said})"
        )
    return (
        f"{said}. Fix the cause, then re-invoke the export Lambda (already started exports are not repeated)."
    )


def _record_failure(entry: TableBackup, exc: ClientError | BotoCoreError, step: str) -> TableBackup:
    if isinstance(exc, ClientError):
        code, message = error_code(exc) or "Unknown", error_message(exc)
    else:  # no answer at all (connection refused, timeout) after the client's retries
        code, message = type(exc).__name__, str(exc)
    entry.status = NOT_STARTED
    entry.failure_code = code
    entry.failure_message = failure_advice(code, message, entry.table_name, step)
    return entry


def start_table_export(
    dynamodb: Any,
    s3: Any,
    settings: BackupSettings,
    backup_date: str,
    table_name: str,
    *,
    previous: TableBackup | None = None,
) -> TableBackup:
    """DescribeTable then ExportTableToPointInTime for one table. Never raises an AWS error: a failed
    call is recorded in the returned entry (status NOT_STARTED, failure code and advice)."""
    entry = TableBackup(
        table_name=table_name,
        export_s3_prefix=export_prefix(settings.exports_prefix, backup_date, table_name),
    )
    try:
        table = dynamodb.describe_table(TableName=table_name)["Table"]
    except (ClientError, BotoCoreError) as exc:
        return _record_failure(entry, exc, "DescribeTable")
    entry.table_arn = table["TableArn"]
    entry.table_definition = record_definition(dynamodb, table)
    retry_of = previous.export_arn if previous is not None and previous.status == FAILED else None
    entry.client_token = client_token(settings, backup_date, table_name, retry_of=retry_of)
    try:
        started = dynamodb.export_table_to_point_in_time(
            TableArn=entry.table_arn,
            S3Bucket=settings.backup_bucket,
            S3Prefix=entry.export_s3_prefix,
            ExportFormat=settings.export_format,
            ClientToken=entry.client_token,
        )["ExportDescription"]
    except (ClientError, BotoCoreError) as exc:
        return _record_failure(entry, exc, "ExportTableToPointInTime")
    record_export_description(entry, started)
    if entry.status == COMPLETED:  # already finished (small tables can be quick)
        record_manifest_files_key(s3, settings.backup_bucket, entry)
    return entry


# --- the whole backup ---------------------------------------------------------------------------


def already_started(entry: TableBackup | None) -> bool:
    return entry is not None and bool(entry.export_arn) and entry.status in STARTED_STATUSES


def merge_table(current: TableBackup | None, ours: TableBackup) -> TableBackup:
    """Which entry to keep when writing ``ours`` over a manifest that may have changed since it was
    read: an export someone else recorded as started, or as finished, is never overwritten."""
    if current is None:
        return ours
    if already_started(current):
        return current
    if current.export_arn and current.export_arn == ours.export_arn and current.finished:
        return current
    return ours


def log_table(log: Any, message: str, entry: TableBackup, backup_date: str, **extra: Any) -> None:
    level = logging.ERROR if entry.status in (FAILED, NOT_STARTED) else logging.INFO
    log.log(
        level,
        message,
        extra={
            "backup_date": backup_date,
            "table_name": entry.table_name,
            "status": entry.status,
            "export_arn": entry.export_arn,
            "failure_code": entry.failure_code,
            "failure_message": entry.failure_message,
            **extra,
        },
    )


def run_backup(
    dynamodb: Any,
    s3: Any,
    settings: BackupSettings,
    backup_date: str,
    *,
    max_workers: int = MAX_PARALLEL_TABLES,
    log: Any = None,
) -> BackupManifest:
    """Start the exports of every configured table for ``backup_date`` and write the manifest.

    Tables are handled in parallel (at most ``max_workers`` at once). Tables whose export the
    manifest already records as IN_PROGRESS or COMPLETED are left alone. Returns the manifest as
    written to ``s3://{bucket}/{prefix}/{backup_date}/manifest.json``. ``log`` is any logger with
    the ``logging.Logger`` methods (the Lambda passes its Powertools Logger).
    """
    log = log or logger
    parse_backup_date(backup_date)
    try:
        existing = read_manifest(s3, settings.backup_bucket, settings.exports_prefix, backup_date).manifest
    except BackupNotFoundError:
        existing = None
    if existing is not None:
        check_environment(existing, settings)
    previous = existing.tables if existing is not None else {}

    to_start = [t for t in settings.tables if not already_started(previous.get(t))]
    for name in settings.tables:
        if name not in to_start:
            log_table(
                log, "export already recorded for this date; not started again", previous[name], backup_date
            )

    def start(name: str) -> TableBackup:
        return start_table_export(dynamodb, s3, settings, backup_date, name, previous=previous.get(name))

    workers = max(1, min(max_workers, len(to_start) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
        started = list(pool.map(start, to_start))

    def change(current: BackupManifest | None) -> BackupManifest:
        manifest = current or BackupManifest(
            backup_date=backup_date,
            environment=settings.environment,
            s3_bucket=settings.backup_bucket,
            s3_prefix=settings.exports_prefix,
        )
        check_environment(manifest, settings)
        for entry in started:
            manifest.tables[entry.table_name] = merge_table(manifest.tables.get(entry.table_name), entry)
        return manifest

    manifest = update_manifest(s3, settings.backup_bucket, settings.exports_prefix, backup_date, change)
    for entry in started:
        recorded = manifest.tables[entry.table_name]
        log_table(log, "table export requested", recorded, backup_date)
    log.info(
        "backup manifest written",
        extra={
            "backup_date": backup_date,
            "backup_status": manifest.status,
            "manifest_s3_key": manifest.key,
            "s3_bucket": manifest.s3_bucket,
        },
    )
    return manifest


def check_environment(manifest: BackupManifest, settings: BackupSettings) -> None:
    if manifest.environment != settings.environment:
        raise ManifestError(
            f"s3://{manifest.s3_bucket}/{manifest.key} belongs to environment {manifest.environment!r}, "
            f"not {settings.environment!r}. Give each environment its own BACKUP_BUCKET or S3_EXPORTS_PREFIX."
        )


# --- the Lambda response ------------------------------------------------------------------------


def table_error(entry: TableBackup) -> str | None:
    if entry.failure_code or entry.failure_message:
        return f"{entry.failure_code}: {entry.failure_message}"
    return None


def status_code(entries: Iterable[TableBackup]) -> int:
    """200 when no table failed, 207 when some did, 500 when all did (or there are none)."""
    entries = list(entries)
    failed = sum(1 for e in entries if e.status not in STARTED_STATUSES)
    if entries and failed == 0:
        return 200
    if failed < len(entries):
        return 207
    return 500


def backup_response(manifest: BackupManifest) -> dict[str, Any]:
    """``{"statusCode": 200|207|500, "body": {...}}``; ``body`` is a dict, never a JSON string
    (an EventBridge-invoked Lambda's result is not an HTTP response; callers read it as data)."""
    entries = [manifest.tables[name] for name in sorted(manifest.tables)]
    successful = sum(1 for e in entries if e.status in STARTED_STATUSES)
    body = {
        "backup_date": manifest.backup_date,
        "environment": manifest.environment,
        "backup_type": BACKUP_TYPE,
        "total_tables_processed": len(entries),
        "successful_exports": successful,
        "failed_exports": len(entries) - successful,
        "total_items_exported": manifest.total_items,
        "total_size_mb": round(manifest.total_bytes / (1024 * 1024), 3),
        "manifest_s3_key": manifest_key(manifest.s3_prefix, manifest.backup_date),
        "s3_bucket": manifest.s3_bucket,
        "backup_status": manifest.status,
        "tables": {
            e.table_name: {"status": e.status, "export_arn": e.export_arn, "error": table_error(e)}
            for e in entries
        },
    }
    return {"statusCode": status_code(entries), "body": body}


def run_scheduled_backup(
    dynamodb: Any, s3: Any, settings: BackupSettings, event: Mapping[str, Any] | None, *, log: Any = None
) -> dict[str, Any]:
    """What the export Lambda does with one event: pick the date, start the exports, answer."""
    backup_date = backup_date_from_event(event)
    manifest = run_backup(dynamodb, s3, settings, backup_date, log=log)
    return backup_response(manifest)
