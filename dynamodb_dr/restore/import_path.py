"""The fast path for a table that is gone: DynamoDB's ImportTable straight from the export's files.

``choose`` decides per missing target (``--import_mode auto|import|write``). ImportTable reads every
object under one ``S3KeyPrefix``; a full export's data files are alone in
``PREFIX/AWSDynamoDB/<ExportId>/data/``, so that prefix imports exactly that export. The import is
refused (``import``) or the write path taken (``auto``) when:

- the export's format is not one ImportTable reads as exported (DYNAMODB_JSON and ION are; the
  restore reads no CSV exports), or a data file is not ``.gz`` (ImportTable takes one compression);
- the table has local secondary indexes (TableCreationParameters has none);
- the data files are not all in that one ``data/`` folder, or the folder holds objects that are not
  data files of the export (a listing of the prefix is compared with ``manifest-files.json``).

``import_table`` starts the import into the recorded definition (GSIs, billing, SSE with the same
KMS key where this region can use it), polls DescribeImport until it ends (the Glue job waits; the
Restore Lambda never takes this path itself, see ``lambda_restore``), checks ``ImportedItemCount``
and ``ErrorCount`` against the export's item count, and re-applies the settings a new table lacks
(``table_settings.reapply``). A failed import is reported with its FailureCode, FailureMessage and
CloudWatch log group, and whether it left a table behind.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import describe, is_missing_table
from dynamodb_dr.errors import TargetTableError
from dynamodb_dr.restore.export_reader import Export
from dynamodb_dr.tables import import_table_parameters

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

IMPORT = "import"
WRITE = "write"
IMPORT_FORMATS = ("DYNAMODB_JSON", "ION")
DONE_STATUSES = ("COMPLETED", "FAILED", "CANCELLED")
MAX_IMPORT_SECONDS = 24 * 3600
"""The longest the job waits for one import (AWS imports about 10 TB in a few hours)."""


@dataclass(frozen=True)
class PathChoice:
    path: str
    """``import`` or ``write``."""
    reason: str
    data_prefix: str | None = None
    """The S3KeyPrefix that imports exactly this export's data files (import only)."""


def data_prefix(export: Export, summary_key: str) -> str:
    """``PREFIX/AWSDynamoDB/<ExportId>/data/``: the folder of the export whose manifest-summary.json
    is ``summary_key``."""
    return summary_key.rsplit("/", 1)[0] + "/data/"


def _listed_keys(s3: S3Client, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(o["Key"] for o in page.get("Contents", []))
    return keys


def import_problem(
    s3: S3Client, bucket: str, export: Export, summary_key: str, definition: dict[str, Any]
) -> str | None:
    """Why ImportTable cannot restore this export into this definition, or None."""
    fmt = export.summary.output_format
    if fmt not in IMPORT_FORMATS:
        return f"the export is in {fmt} format and ImportTable takes {' or '.join(IMPORT_FORMATS)} exports"
    if definition.get("LocalSecondaryIndexes"):
        return "the table has local secondary indexes, which ImportTable cannot create"
    prefix = data_prefix(export, summary_key)
    outside = [f.key for f in export.files if not f.key.startswith(prefix)]
    if outside:
        return f"data file {outside[0]} is not under {prefix}, the one prefix ImportTable would read"
    not_gzip = [f.key for f in export.files if not f.key.endswith(".gz")]
    if not_gzip:
        return f"data file {not_gzip[0]} is not gzip (.gz); ImportTable reads one compression per import"
    try:
        listed = _listed_keys(s3, bucket, prefix)
    except ClientError as exc:
        return f"s3://{bucket}/{prefix} could not be listed ({describe(exc)})"
    extra = sorted(listed - {f.key for f in export.files})
    if extra:
        return (
            f"s3://{bucket}/{prefix} holds {len(extra)} object(s) that are not data files of this export "
            f"(e.g. {extra[0]}); ImportTable would read them too"
        )
    return None


def choose(
    mode: str,
    s3: S3Client,
    bucket: str,
    export: Export,
    summary_key: str,
    definition: dict[str, Any],
    *,
    target_exists: bool,
    target: str,
) -> PathChoice:
    """The path that fills ``target``. ``--import_mode import`` with a target ImportTable cannot
    create raises a TargetTableError naming the reason and the fix."""
    if target_exists:
        if mode == IMPORT:
            raise TargetTableError(
                f"--import_mode import restores only into a table that does not exist, and {target} exists; "
                f"delete it first, restore into a new name with --target_tables, or use --import_mode auto"
            )
        return PathChoice(WRITE, "the target exists")
    if mode == WRITE:
        return PathChoice(WRITE, "--import_mode write")
    problem = import_problem(s3, bucket, export, summary_key, definition)
    if problem:
        if mode == IMPORT:
            raise TargetTableError(
                f"--import_mode import cannot restore {target}: {problem}. Run with --import_mode auto (or "
                "write) to create the table and write the items"
            )
        return PathChoice(WRITE, f"ImportTable cannot be used: {problem}")
    return PathChoice(
        IMPORT,
        "the target does not exist and ImportTable can read the export",
        data_prefix(export, summary_key),
    )


def client_token(run_id: str, target: str, export_arn: str) -> str:
    return hashlib.sha256(f"{run_id}\x1f{target}\x1f{export_arn}".encode()).hexdigest()[:64]


@dataclass
class ImportOutcome:
    import_arn: str | None
    status: str
    imported: int = 0
    processed: int = 0
    errors: int = 0
    failure: str | None = None
    log_group: str | None = None
    table_left: bool = False


def start_import(
    dynamodb: DynamoDBClient,
    *,
    bucket: str,
    prefix: str,
    input_format: str,
    target: str,
    definition: dict[str, Any],
    token: str,
) -> str:
    try:
        started = dynamodb.import_table(
            ClientToken=token,
            S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": prefix},
            InputFormat=input_format,  # type: ignore[arg-type]
            InputCompressionType="GZIP",
            TableCreationParameters=import_table_parameters(target, definition),  # type: ignore[arg-type]
        )["ImportTableDescription"]
    except ClientError as exc:
        raise TargetTableError(
            f"ImportTable into {target} from s3://{bucket}/{prefix} was refused ({describe(exc)}); nothing was "
            "created. Fix the cause, or run with --import_mode write"
        ) from exc
    logger.info(
        "import started",
        extra={
            "target_table": target,
            "import_arn": started["ImportArn"],
            "s3_prefix": f"s3://{bucket}/{prefix}",
        },
    )
    return started["ImportArn"]


def wait_import(
    dynamodb: DynamoDBClient,
    import_arn: str,
    target: str,
    *,
    poll_seconds: float,
    max_seconds: float = MAX_IMPORT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """DescribeImport until the import ends (logging its progress at every poll)."""
    deadline = time.monotonic() + max_seconds
    while True:
        described: dict[str, Any] = dict(
            dynamodb.describe_import(ImportArn=import_arn)["ImportTableDescription"]
        )
        status = described.get("ImportStatus")
        logger.info(
            "import progress",
            extra={
                "target_table": target,
                "import_arn": import_arn,
                "import_status": status,
                "processed_items": described.get("ProcessedItemCount", 0),
                "processed_bytes": described.get("ProcessedSizeBytes", 0),
                "error_count": described.get("ErrorCount", 0),
            },
        )
        if status in DONE_STATUSES:
            return described
        if time.monotonic() >= deadline:
            raise TargetTableError(
                f"import {import_arn} into {target} is still {status} after {max_seconds:.0f}s; follow it with "
                f"aws dynamodb describe-import --import-arn {import_arn}, then run the restore again"
            )
        sleep(poll_seconds)


def table_exists(dynamodb: DynamoDBClient, table: str) -> bool:
    try:
        dynamodb.describe_table(TableName=table)
    except ClientError as exc:
        if is_missing_table(exc):
            return False
        raise
    return True


def run_import(
    dynamodb: DynamoDBClient,
    *,
    bucket: str,
    choice: PathChoice,
    export: Export,
    target: str,
    definition: dict[str, Any],
    token: str,
    poll_seconds: float,
) -> ImportOutcome:
    """Start the import, wait for it, and say how it ended (counts checked by the caller)."""
    assert choice.data_prefix is not None
    arn = start_import(
        dynamodb,
        bucket=bucket,
        prefix=choice.data_prefix,
        input_format=export.summary.output_format,
        target=target,
        definition=definition,
        token=token,
    )
    described = wait_import(dynamodb, arn, target, poll_seconds=poll_seconds)
    log_group = described.get("CloudWatchLogGroupArn")
    outcome = ImportOutcome(
        import_arn=arn,
        status=str(described.get("ImportStatus")),
        imported=int(described.get("ImportedItemCount") or 0),
        processed=int(described.get("ProcessedItemCount") or 0),
        errors=int(described.get("ErrorCount") or 0),
        log_group=log_group,
    )
    if outcome.status != "COMPLETED":
        outcome.failure = (
            f"import {arn} into {target} ended {outcome.status}: "
            f"{described.get('FailureCode') or 'no code'}: {described.get('FailureMessage') or 'no message'}"
            + (f"; its log is in CloudWatch log group {log_group}" if log_group else "")
        )
    outcome.table_left = table_exists(dynamodb, target)
    return outcome
