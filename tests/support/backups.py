"""Build a backup as the export Lambda + monitor would, without them: real exports on the local
endpoint (AWS layout), then a BackupManifest written with ``manifest.write_manifest``."""

from __future__ import annotations

import json
import time
from typing import Any

from dynamodb_dr import backup_manifest as mf
from dynamodb_dr.table_settings import record_definition

PREFIX = "native-exports"
ENVIRONMENT = "test"


def create_table(dynamodb: Any, name: str, keys: list, attrs: list, **extra: Any) -> None:
    dynamodb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST", **extra
    )


def put_items(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for item in items:
        dynamodb.put_item(TableName=table, Item=item)


def export_table(
    dynamodb: Any,
    s3: Any,
    bucket: str,
    table: str,
    backup_date: str,
    prefix: str = PREFIX,
    export_format: str = "DYNAMODB_JSON",
) -> mf.TableBackup:
    dynamodb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    description = dynamodb.describe_table(TableName=table)["Table"]
    started = dynamodb.export_table_to_point_in_time(
        TableArn=description["TableArn"],
        S3Bucket=bucket,
        S3Prefix=mf.export_prefix(prefix, backup_date, table),
        ExportFormat=export_format,
    )["ExportDescription"]
    for _ in range(400):
        export = dynamodb.describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
        if export["ExportStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.05)
    assert export["ExportStatus"] == "COMPLETED", export
    summary = json.loads(s3.get_object(Bucket=bucket, Key=export["ExportManifest"])["Body"].read())
    return mf.TableBackup(
        table_name=table,
        status=mf.COMPLETED,
        table_arn=description["TableArn"],
        export_arn=export["ExportArn"],
        export_s3_prefix=export["S3Prefix"],
        item_count=export["ItemCount"],
        billed_size_bytes=export["BilledSizeBytes"],
        export_manifest_key=export["ExportManifest"],
        manifest_files_key=summary["manifestFilesS3Key"],
        table_definition=record_definition(dynamodb, description),
    )


def make_backup(
    dynamodb: Any,
    s3: Any,
    bucket: str,
    tables: list[str],
    backup_date: str = "2026-01-15",
    *,
    prefix: str = PREFIX,
    statuses: dict[str, str] | None = None,
    export_format: str = "DYNAMODB_JSON",
) -> mf.BackupManifest:
    """Export ``tables`` and write the backup manifest for ``backup_date``."""
    backup = mf.BackupManifest(
        backup_date=backup_date, environment=ENVIRONMENT, s3_bucket=bucket, s3_prefix=prefix
    )
    for table in tables:
        table_backup = export_table(dynamodb, s3, bucket, table, backup_date, prefix, export_format)
        if statuses and table in statuses:
            table_backup.status = statuses[table]
        backup.tables[table] = table_backup
    mf.write_manifest(s3, backup, etag=None)
    return backup


def data_files(s3: Any, bucket: str, table_backup: mf.TableBackup) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=bucket, Key=table_backup.manifest_files_key)["Body"].read()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def replace_data_file(s3: Any, bucket: str, key: str, data: bytes, manifest_files_key: str) -> None:
    """Store ``data`` as data file ``key`` with a matching md5Checksum in manifest-files.json (and the
    item count of its lines): a file that passes every integrity check, whatever it holds."""
    import base64
    import gzip
    import hashlib

    s3.put_object(Bucket=bucket, Key=key, Body=data)
    body = s3.get_object(Bucket=bucket, Key=manifest_files_key)["Body"].read()
    entries = [json.loads(line) for line in body.splitlines() if line.strip()]
    for entry in entries:
        if entry["dataFileS3Key"] == key:
            entry["md5Checksum"] = base64.b64encode(hashlib.md5(data).digest()).decode()
            entry["itemCount"] = sum(1 for line in gzip.decompress(data).splitlines() if line.strip())
    s3.put_object(
        Bucket=bucket, Key=manifest_files_key, Body="\n".join(json.dumps(e) for e in entries).encode()
    )
