"""DynamoDB exports in the real AWS layout, served by the local moto endpoint.

moto's own ``ExportTableToPointInTime`` writes one ``data/<uuid>.gz`` file, no ``_started`` marker,
no manifests and a malformed ExportArn (see ``shared/AWS_FACTS.md``). The restore job reads real
exports, so the local endpoint must produce what AWS produces::

    PREFIX/AWSDynamoDB/<ExportId>/_started
    PREFIX/AWSDynamoDB/<ExportId>/manifest-summary.json
    PREFIX/AWSDynamoDB/<ExportId>/manifest-summary.checksum
    PREFIX/AWSDynamoDB/<ExportId>/manifest-files.json        (JSON Lines, one object per data file)
    PREFIX/AWSDynamoDB/<ExportId>/manifest-files.checksum
    PREFIX/AWSDynamoDB/<ExportId>/data/<random>.json.gz      (several; items per file configurable)
                                                             (.ion.gz with ExportFormat=ION: ion_export)

with an ExportArn ``arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/export/<14 digits>-<8 hex>``, a
``ClientToken`` that makes the call idempotent, and ``ItemCount``/``BilledSizeBytes``/times in
``DescribeExport``. The items are snapshotted when the export is requested (the export time) and the
files appear after ``delay_seconds``, so a caller sees ``IN_PROGRESS`` first, as on AWS.

This module replaces three request handlers of moto's DynamoDB service in this process; it is the
only place where the local endpoint's behaviour differs from stock moto.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_aws import ion_export

_lock = threading.Lock()
_installed = False


@dataclass
class Settings:
    items_per_file: int = 1000
    """Items per data file; small values give many files, so parallel reads are exercised."""
    empty_files: int = 1
    """Extra empty data files per export, as AWS writes for an empty table partition."""
    delay_seconds: float = 0.0
    """How long an export stays IN_PROGRESS before its files are written."""
    fail_tables: set[str] = field(default_factory=set)
    """Table names whose exports end FAILED (to exercise failure reporting)."""


settings = Settings()


@dataclass
class LocalExport:
    export_id: str
    arn: str
    table_name: str
    table_arn: str
    table_id: str
    s3_bucket: str
    s3_prefix: str
    s3_bucket_owner: str
    export_format: str
    export_type: str
    client_token: str
    export_time: datetime
    start_time: datetime
    lines: list[bytes]
    account_id: str
    partition: str
    status: str = "IN_PROGRESS"
    end_time: datetime | None = None
    billed_size_bytes: int = 0
    item_count: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    manifest_summary_key: str | None = None
    params: tuple[Any, ...] = ()

    @property
    def base_key(self) -> str:
        prefix = self.s3_prefix.strip("/")
        return f"{prefix}/AWSDynamoDB/{self.export_id}" if prefix else f"AWSDynamoDB/{self.export_id}"

    def response(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": self.start_time,
            "TableArn": self.table_arn,
            "TableId": self.table_id,
            "ExportTime": self.export_time,
            "ClientToken": self.client_token,
            "S3Bucket": self.s3_bucket,
            "S3BucketOwner": self.s3_bucket_owner,
            "S3Prefix": self.s3_prefix,
            "S3SseAlgorithm": "AES256",
            "ExportFormat": self.export_format,
            "ExportType": self.export_type,
        }
        if self.status != "IN_PROGRESS":
            out["EndTime"] = self.end_time
        if self.status == "COMPLETED":
            out.update(
                ExportManifest=self.manifest_summary_key,
                ItemCount=self.item_count,
                BilledSizeBytes=self.billed_size_bytes,
            )
        if self.status == "FAILED":
            out.update(FailureCode=self.failure_code, FailureMessage=self.failure_message)
        return out


_exports: dict[str, LocalExport] = {}
_tokens: dict[str, str] = {}


def reset() -> None:
    with _lock:
        _exports.clear()
        _tokens.clear()


def configure(**kwargs: Any) -> None:
    """Change the settings of exports requested from now on."""
    for name, value in kwargs.items():
        if not hasattr(settings, name):
            raise TypeError(f"unknown export layout setting {name!r}")
        setattr(settings, name, value)


def install(**kwargs: Any) -> None:
    """Replace moto's export handlers in this process (idempotent)."""
    global _installed
    configure(**kwargs)
    with _lock:
        if _installed:
            return
        from moto.dynamodb.responses import DynamoHandler

        DynamoHandler.export_table_to_point_in_time = _export_table_to_point_in_time  # type: ignore[method-assign]
        DynamoHandler.describe_export = _describe_export  # type: ignore[method-assign]
        DynamoHandler.list_exports = _list_exports  # type: ignore[method-assign]
        _installed = True


# --- wire format --------------------------------------------------------------------------------


def marshal(value: Any) -> dict[str, Any]:
    """A moto DynamoType as the low-level wire JSON (``{"S": ...}``, binary as base64 text)."""
    kind, raw = value.type, value.value
    if kind == "B":
        return {"B": raw if isinstance(raw, str) else base64.b64encode(raw).decode("ascii")}
    if kind == "BS":
        return {"BS": [v if isinstance(v, str) else base64.b64encode(v).decode("ascii") for v in raw]}
    if kind == "L":
        return {"L": [marshal(v) for v in raw]}
    if kind == "M":
        return {"M": {k: marshal(v) for k, v in raw.items()}}
    return {kind: raw}


def export_line(item: Any) -> bytes:
    """One item as AWS writes it in a DYNAMODB_JSON data file (compact, one line)."""
    attrs = {name: marshal(attr) for name, attr in item.attrs.items()}
    return json.dumps({"Item": attrs}, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _new_export_id(now: datetime) -> str:
    return f"{int(now.timestamp() * 1000):014d}-{secrets.token_hex(4)}"


def _random_name() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


# --- request handlers (bound as methods of moto's DynamoHandler) ---------------------------------


def _export_table_to_point_in_time(self: Any) -> Any:
    from moto.core.common_types import TYPE_RESPONSE  # noqa: F401  (moto import order)
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult
    from moto.dynamodb.exceptions import PointInTimeRecoveryUnavailable, TableNotFoundException
    from moto.utilities.utils import get_partition

    body = self.body
    backend = self.dynamodb_backend
    table_arn = body["TableArn"]
    export_format = body.get("ExportFormat", "DYNAMODB_JSON")
    export_type = body.get("ExportType", "FULL_EXPORT")
    bucket = body["S3Bucket"]
    prefix = body.get("S3Prefix", "")
    token = body.get("ClientToken") or secrets.token_hex(16)
    params = (table_arn, bucket, prefix, export_format, export_type, body.get("S3BucketOwner"))

    with _lock:
        if token in _tokens:
            existing = _exports[_tokens[token]]
            if existing.params != params:
                raise JsonRESTError(
                    "ExportConflictException",
                    "An export with this ClientToken was requested with different parameters",
                )
            return ActionResult({"ExportDescription": existing.response()})

    table = next((t for t in backend.tables.values() if t.table_arn == table_arn), None)
    if table is None:
        raise TableNotFoundException(name=table_arn)
    pitr = table.continuous_backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    if pitr != "ENABLED":
        raise PointInTimeRecoveryUnavailable(name=table.name)
    if export_format not in ("DYNAMODB_JSON", "ION") or export_type != "FULL_EXPORT":
        raise JsonRESTError(
            "ValidationException",
            "The local endpoint emulates FULL_EXPORT in DYNAMODB_JSON or ION only",
        )

    now = datetime.now(UTC)
    requested_time = body.get("ExportTime")
    export_time = datetime.fromtimestamp(float(requested_time), UTC) if requested_time else now
    export_id = _new_export_id(now)
    partition = get_partition(backend.region_name)
    account_id = body.get("S3BucketOwner") or backend.account_id
    export = LocalExport(
        export_id=export_id,
        arn=f"arn:{partition}:dynamodb:{backend.region_name}:{backend.account_id}:table/{table.name}/export/{export_id}",
        table_name=table.name,
        table_arn=table_arn,
        table_id=getattr(table, "table_id", None) or str(uuid.uuid5(uuid.NAMESPACE_URL, table_arn)),
        s3_bucket=bucket,
        s3_prefix=prefix,
        s3_bucket_owner=account_id,
        export_format=export_format,
        export_type=export_type,
        client_token=token,
        export_time=export_time,
        start_time=now,
        # The snapshot is taken now: later writes to the table are not in this export.
        lines=[export_line(item) for item in table.all_items()],
        account_id=backend.account_id,
        partition=partition,
        params=params,
    )
    with _lock:
        _exports[export.arn] = export
        _tokens[token] = export.arn
    threading.Thread(target=_run_export, args=(export, Settings(**vars(settings))), daemon=True).start()
    return ActionResult({"ExportDescription": export.response()})


def _describe_export(self: Any) -> Any:
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult

    export = _exports.get(self.body["ExportArn"])
    if export is None:
        raise JsonRESTError("ExportNotFoundException", f"Export not found: {self.body['ExportArn']}")
    return ActionResult({"ExportDescription": export.response()})


def _list_exports(self: Any) -> Any:
    from moto.core.responses import ActionResult

    table_arn = self.body.get("TableArn")
    summaries = [
        {"ExportArn": e.arn, "ExportStatus": e.status, "ExportType": e.export_type}
        for e in list(_exports.values())
        if table_arn in (None, e.table_arn)
    ]
    return ActionResult({"ExportSummaries": summaries})


# --- writing the files --------------------------------------------------------------------------


def _put(s3: Any, bucket: str, key: str, data: bytes) -> None:
    s3.put_object(bucket_name=bucket, key_name=key, value=data)


def _run_export(export: LocalExport, cfg: Settings) -> None:
    from moto.s3.models import s3_backends

    if cfg.delay_seconds:
        time.sleep(cfg.delay_seconds)
    try:
        s3 = s3_backends[export.account_id][export.partition]
        if export.s3_bucket not in s3.buckets:
            raise LookupError("S3NoSuchBucket")
        if export.table_name in cfg.fail_tables:
            raise RuntimeError("UNKNOWN")
        _write_export(s3, export, cfg)
    except LookupError:
        _finish(export, "FAILED", "S3NoSuchBucket", "The specified bucket does not exist")
    except Exception as exc:  # the emulated export fails as AWS's would: with a code and a message
        _finish(export, "FAILED", "UNKNOWN", f"Export failed: {exc}")


def _finish(export: LocalExport, status: str, code: str | None = None, message: str | None = None) -> None:
    with _lock:
        export.end_time = datetime.now(UTC)
        export.failure_code, export.failure_message = code, message
        export.status = status


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _write_export(s3: Any, export: LocalExport, cfg: Settings) -> None:
    base = export.base_key
    _put(s3, export.s3_bucket, f"{base}/_started", b"")

    per_file = max(1, int(cfg.items_per_file))
    ion = export.export_format == "ION"
    lines = [ion_export.ion_line(line) for line in export.lines] if ion else export.lines
    chunks = [lines[i : i + per_file] for i in range(0, len(lines), per_file)]
    chunks.extend([] for _ in range(max(0, int(cfg.empty_files))))
    manifest_lines = []
    billed = 0
    for chunk in chunks:
        raw = b"".join(chunk)
        billed += len(raw)
        data = gzip.compress(raw, compresslevel=6, mtime=0)
        key = f"{base}/data/{_random_name()}.{'ion' if ion else 'json'}.gz"
        _put(s3, export.s3_bucket, key, data)
        manifest_lines.append(
            json.dumps(
                {
                    "itemCount": len(chunk),
                    "md5Checksum": base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
                    "etag": hashlib.md5(data).hexdigest(),
                    "dataFileS3Key": key,
                },
                separators=(",", ":"),
            )
        )
    files_body = ("\n".join(manifest_lines) + "\n").encode("utf-8")
    files_key = f"{base}/manifest-files.json"
    _put(s3, export.s3_bucket, files_key, files_body)
    _put(
        s3, export.s3_bucket, f"{base}/manifest-files.checksum", hashlib.md5(files_body).hexdigest().encode()
    )

    end = datetime.now(UTC)
    summary = {
        "version": "2020-06-30",
        "exportArn": export.arn,
        "startTime": _iso(export.start_time),
        "endTime": _iso(end),
        "tableArn": export.table_arn,
        "tableId": export.table_id,
        "exportTime": _iso(export.export_time),
        "s3Bucket": export.s3_bucket,
        "s3Prefix": export.s3_prefix or None,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": files_key,
        "billedSizeBytes": billed,
        "itemCount": len(export.lines),
        "outputFormat": "ION" if ion else "DYNAMODB_JSON",
        "outputView": "NEW_IMAGE",
        "exportType": "FULL_EXPORT",
    }
    summary_body = json.dumps(summary, separators=(",", ":")).encode("utf-8")
    summary_key = f"{base}/manifest-summary.json"
    _put(s3, export.s3_bucket, summary_key, summary_body)
    _put(
        s3,
        export.s3_bucket,
        f"{base}/manifest-summary.checksum",
        hashlib.md5(summary_body).hexdigest().encode(),
    )

    with _lock:
        export.item_count = len(export.lines)
        export.billed_size_bytes = billed
        export.manifest_summary_key = summary_key
        export.lines = []  # the snapshot is on S3 now
    _finish(export, "COMPLETED")
