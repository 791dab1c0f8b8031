"""The export monitor: follow a backup's exports with DescribeExport and fill in its manifest.

For every table whose export the manifest records as IN_PROGRESS it asks DescribeExport, and
records the status, item count, billed size, times, the export's own manifests
(``manifest-summary.json`` and, read from it, ``manifest-files.json``) or the failure code and
message. The manifest is replaced whole through ``update_manifest`` (conditional writes), so the
monitor and a re-invoked export Lambda never overwrite each other. It never waits: a run looks
once and returns; the next scheduled run looks again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dynamodb_dr.aws_errors import error_code, error_message
from dynamodb_dr.backup_manifest import (
    BACKUP_IN_PROGRESS,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    BackupManifest,
    BackupNotFoundError,
    TableBackup,
    read_manifest,
    update_manifest,
)
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import ConcurrentUpdateError, ManifestError
from dynamodb_dr.export.backup import (
    MAX_PARALLEL_TABLES,
    backup_date_from_event,
    backup_response,
    check_environment,
    needs_checking,
    previous_day,
    record_export_description,
    record_manifest_files_key,
)
from dynamodb_dr.export.chain import follow_chain

logger = logging.getLogger(__name__)


def refresh_table(dynamodb: Any, s3: Any, bucket: str, entry: TableBackup) -> TableBackup:
    """A copy of ``entry`` updated from DescribeExport (and the export's manifest-summary.json).

    A DescribeExport call that fails (throttled, no permission) leaves the entry IN_PROGRESS with
    the error in ``failure_message``, for the next run to try again; an export DynamoDB does not
    know any more ends FAILED.
    """
    refreshed = replace(entry)
    try:
        description = dynamodb.describe_export(ExportArn=entry.export_arn)["ExportDescription"]
    except ClientError as exc:
        code = error_code(exc) or "Unknown"
        if code in ("ExportNotFoundException", "ResourceNotFoundException"):
            refreshed.status = FAILED
            refreshed.failure_code = code
            refreshed.failure_message = (
                f"DynamoDB does not know export {entry.export_arn} ({error_message(exc)}). Re-invoke the export "
                f'Lambda with {{"backup_date": "..."}} for this date to start a new export of {entry.table_name}'
            )
        else:
            refreshed.failure_code = code
            refreshed.failure_message = (
                f"DescribeExport failed with {code}: {error_message(exc)}; the export is still followed and the "
                "next monitor run asks again (grant dynamodb:DescribeExport if this is AccessDenied)"
            )
        return refreshed
    except BotoCoreError as exc:
        refreshed.failure_code = type(exc).__name__
        refreshed.failure_message = f"DescribeExport got no answer ({exc}); the next monitor run asks again"
        return refreshed
    record_export_description(refreshed, description)
    if refreshed.status == COMPLETED:
        record_manifest_files_key(s3, bucket, refreshed)
    return refreshed


def merge_refreshed(
    current: TableBackup | None, before: TableBackup, refreshed: TableBackup
) -> TableBackup | None:
    """Only replace an entry that is still the one we looked at (same export, same status)."""
    if current is None or current.export_arn != before.export_arn or current.status != before.status:
        return current
    return refreshed


def monitor_backup(
    dynamodb: Any,
    s3: Any,
    settings: BackupSettings,
    backup_date: str,
    *,
    max_workers: int = MAX_PARALLEL_TABLES,
    log: Any = None,
) -> BackupManifest:
    """Look once at every IN_PROGRESS export of ``backup_date`` (and every COMPLETED one whose
    ``manifest_files_key`` is not recorded yet) and write the updated manifest.

    Raises ``BackupNotFoundError`` when there is no manifest for that date. Logs one structured
    line per table whose export status changed.
    """
    log = log or logger
    stored = read_manifest(s3, settings.backup_bucket, settings.exports_prefix, backup_date)
    check_environment(stored.manifest, settings)
    pending = [t for t in stored.manifest.tables.values() if needs_checking(t)]
    if not pending:
        return stored.manifest

    def refresh(entry: TableBackup) -> TableBackup:
        return refresh_table(dynamodb, s3, stored.manifest.s3_bucket, entry)

    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(pending))), thread_name_prefix="monitor"
    ) as pool:
        refreshed = dict(zip([t.table_name for t in pending], pool.map(refresh, pending), strict=True))
    before = {t.table_name: t for t in pending}

    def change(current: BackupManifest | None) -> BackupManifest:
        if current is None:
            raise BackupNotFoundError(
                f"the manifest for {backup_date} was deleted while the export monitor was updating it"
            )
        for name, entry in refreshed.items():
            merged = merge_refreshed(current.tables.get(name), before[name], entry)
            if merged is not None:
                current.tables[name] = merged
        return current

    manifest = update_manifest(s3, settings.backup_bucket, settings.exports_prefix, backup_date, change)
    for name, old in before.items():
        new = manifest.tables.get(name)
        if new is not None and new.status != old.status:
            level = logging.ERROR if new.status == FAILED else logging.INFO
            log.log(
                level,
                "table export status changed",
                extra={
                    "backup_date": backup_date,
                    "table_name": name,
                    "export_arn": new.export_arn,
                    "previous_status": old.status,
                    "status": new.status,
                    "item_count": new.item_count,
                    "billed_size_bytes": new.billed_size_bytes,
                    "manifest_files_key": new.manifest_files_key,
                    "failure_code": new.failure_code,
                    "failure_message": new.failure_message,
                },
            )
        elif new is not None and new.failure_message:
            log.warning(
                "could not check table export",
                extra={"backup_date": backup_date, "table_name": name, "export_arn": new.export_arn,
                       "failure_code": new.failure_code, "failure_message": new.failure_message},
            )  # fmt: skip
    log.info(
        "backup manifest updated",
        extra={"backup_date": backup_date, "backup_status": manifest.status, "manifest_s3_key": manifest.key},
    )
    return manifest


def follow_chains(dynamodb: Any, s3: Any, settings: BackupSettings, *, log: Any = None) -> dict[str, Any]:
    """With INCREMENTAL_EXPORT_MINUTES set: record what became of each table's running chain exports
    (``dynamodb_dr.export.chain.follow_chain``), so a window shows COMPLETED within a monitor period
    rather than at the chain Lambda's next run. Per table: its chain id and covered-until point, or
    the error (never raised: the daily backup's monitoring goes on)."""
    log = log or logger
    out: dict[str, Any] = {}
    for table_name in settings.tables:
        try:
            run = follow_chain(dynamodb, s3, settings, table_name, log=log)
        except (ClientError, BotoCoreError, ManifestError, ConcurrentUpdateError) as exc:
            log.warning(
                "could not follow the export chain", extra={"table_name": table_name, "error": str(exc)}
            )
            out[table_name] = {"error": str(exc)}
            continue
        if run is not None:
            out[table_name] = {
                "chain_id": run.chain_id,
                "covered_until": run.covered_until,
                "windows_completed": run.windows_completed,
                "windows_failed": run.windows_failed,
            }
    return out


def monitor_response(manifest: BackupManifest) -> dict[str, Any]:
    """The export Lambda's response shape, plus ``pending_tables`` (still IN_PROGRESS)."""
    result = backup_response(manifest)
    result["body"]["pending_tables"] = sorted(
        n for n, t in manifest.tables.items() if t.status == IN_PROGRESS
    )
    return result


def run_monitor(
    dynamodb: Any,
    s3: Any,
    settings: BackupSettings,
    event: Mapping[str, Any] | None,
    *,
    now: datetime | None = None,
    log: Any = None,
) -> dict[str, Any]:
    """What the monitor Lambda does with one event.

    With ``{"backup_date": "YYYY-MM-DD"}``: that date's backup; no manifest for it is an error
    (``BackupNotFoundError``, naming the missing object and how to list the dates there are).

    On its schedule (any other event): the date of the event's ``time`` (else today, UTC), and
    first yesterday's backup if it is still IN_PROGRESS (an export started late in the day finishes
    after midnight); its response is under ``previous_day``. No manifest for today yet is not an
    error on a schedule (the export Lambda may not have run yet today): the answer is
    ``statusCode`` 404 with ``backup_status`` ``NOT_FOUND`` and a message.
    """
    log = log or logger
    event = event if isinstance(event, Mapping) else {}
    backup_date = backup_date_from_event(event, now=now)
    if "backup_date" in event:
        return monitor_response(monitor_backup(dynamodb, s3, settings, backup_date, log=log))

    earlier: dict[str, Any] | None = None
    yesterday = previous_day(backup_date)
    try:
        stored = read_manifest(s3, settings.backup_bucket, settings.exports_prefix, yesterday)
    except BackupNotFoundError:
        stored = None
    if stored is not None and stored.manifest.status == BACKUP_IN_PROGRESS:
        earlier = monitor_response(monitor_backup(dynamodb, s3, settings, yesterday, log=log))

    try:
        result = monitor_response(monitor_backup(dynamodb, s3, settings, backup_date, log=log))
    except BackupNotFoundError as exc:
        log.warning(
            "no backup manifest for this date yet", extra={"backup_date": backup_date, "error": str(exc)}
        )
        result = {
            "statusCode": 404,
            "body": {
                "backup_date": backup_date,
                "environment": settings.environment,
                "backup_status": "NOT_FOUND",
                "s3_bucket": settings.backup_bucket,
                "message": f"{exc}. The export Lambda has not written a backup for {backup_date} yet.",
                "pending_tables": [],
            },
        }
    if earlier is not None:
        result["body"]["previous_day"] = earlier
    if settings.incremental_export_minutes is not None:
        result["body"]["chains"] = follow_chains(dynamodb, s3, settings, log=log)
    return result
