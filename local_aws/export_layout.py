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

A full export with an ``ExportTime`` in the past holds the table as it was at that time (the live
items with every later write undone, from ``write_history``); without one, the table as it is now.
An ``ExportTime`` after now or before the PITR window's start is refused (InvalidExportTimeException).

Incremental exports (``ExportType=INCREMENTAL_EXPORT``) are built from the table's real write history
(``write_history``), in AWS's layout for them: every incremental export of one S3Prefix writes its
data files into ONE shared folder, and keeps its own folder for the rest::

    PREFIX/AWSDynamoDB/data/<random>.json.gz                 (shared by all incremental exports)
    PREFIX/AWSDynamoDB/<ExportId>/_started
    PREFIX/AWSDynamoDB/<ExportId>/manifest-summary.json      ("version":"2023-08-01", exportFromTime,
    PREFIX/AWSDynamoDB/<ExportId>/manifest-summary.md5        exportToTime, outputView, exportType)
    PREFIX/AWSDynamoDB/<ExportId>/manifest-files.json
    PREFIX/AWSDynamoDB/<ExportId>/manifest-files.md5         (.md5 as in real exports; full: .checksum)

One line per item changed in [ExportFromTime, ExportToTime) — from inclusive, to exclusive — holding
its net change over the window (AWS: "only the final state of the item from the export period"):
``{"Metadata":{"WriteTimestampMicros":{"N":...}},"Keys":{...},"NewImage":{...},"OldImage":{...}}``,
with ``OldImage`` the item at the window's start and ``WriteTimestampMicros`` its last write's time.

=========================================  ======================  =====================
net change over the window                 NEW_AND_OLD_IMAGES      NEW_IMAGE
=========================================  ======================  =====================
absent → present (insert)                  NewImage                NewImage
present → present (update)                 NewImage + OldImage     NewImage
present → absent (delete)                  OldImage                Keys only
absent → absent (inserted, then deleted)   Keys only               Keys only
=========================================  ======================  =====================

The last row is not documented by AWS (whether such an item appears at all is unknown): the
emulation writes it as a delete with no image, which a reader must treat as "absent at the window's
end" — the safe reading either way. ``billedSizeBytes`` is the uncompressed size of the lines, but at
least 10,000,000 bytes per export (the minimum seen on real small incremental exports).

Refused as AWS refuses them (codes as AWS's; the exact message texts are AWS-like, not confirmed):
PITR off (PointInTimeRecoveryUnavailableException); no ExportFromTime, ExportFromTime not before
ExportToTime, a window shorter than 15 minutes or longer than 24 hours (ValidationException);
ExportFromTime before EarliestRestorableDateTime or ExportToTime after now
(InvalidExportTimeException). Without ExportToTime, the window ends at LatestRestorableDateTime.
Every "now" is the endpoint's clock (``local_aws.clock``), so tests make real 15-minute windows by
advancing it.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_aws import clock, ion_export, pitr_window, write_history

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
    export_from_time: datetime | None = None
    export_to_time: datetime | None = None
    export_view_type: str | None = None

    @property
    def incremental(self) -> bool:
        return self.export_type == "INCREMENTAL_EXPORT"

    @property
    def prefix_root(self) -> str:
        prefix = self.s3_prefix.strip("/")
        return f"{prefix}/AWSDynamoDB" if prefix else "AWSDynamoDB"

    @property
    def base_key(self) -> str:
        return f"{self.prefix_root}/{self.export_id}"

    @property
    def data_folder(self) -> str:
        """Incremental exports of one prefix share one data folder; a full export has its own."""
        return f"{self.prefix_root}/data" if self.incremental else f"{self.base_key}/data"

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
        if self.incremental:
            del out["ExportTime"]
            out["IncrementalExportSpecification"] = {
                "ExportFromTime": self.export_from_time,
                "ExportToTime": self.export_to_time,
                "ExportViewType": self.export_view_type,
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


MIN_WINDOW_SECONDS = 15 * 60
MAX_WINDOW_SECONDS = 24 * 60 * 60
MIN_INCREMENTAL_BILLED_BYTES = 10_000_000
VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE")


def _validation(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationException", message)


def _invalid_time(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("InvalidExportTimeException", message)


def _epoch(value: Any, name: str) -> float:
    if isinstance(value, datetime):  # moto parses the request's timestamps
        return value.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _validation(f"Invalid {name}: {value!r} is not a timestamp") from None


def _incremental_window(
    spec: dict[str, Any], earliest: float, latest: float, now: float
) -> tuple[float, float, str]:
    """(from, to, view) of an IncrementalExportSpecification, refused as AWS refuses it."""
    if spec.get("ExportFromTime") is None:
        raise _validation("IncrementalExportSpecification.ExportFromTime is required for INCREMENTAL_EXPORT")
    start = _epoch(spec["ExportFromTime"], "ExportFromTime")
    end = _epoch(spec["ExportToTime"], "ExportToTime") if spec.get("ExportToTime") is not None else latest
    view = spec.get("ExportViewType") or "NEW_AND_OLD_IMAGES"
    if view not in VIEW_TYPES:
        raise _validation(
            f"1 validation error detected: Value '{view}' at 'incrementalExportSpecification.exportViewType' "
            f"failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(VIEW_TYPES)}]"
        )
    if _ms(start) >= _ms(end):
        raise _validation("ExportFromTime must be earlier than ExportToTime")
    if _ms(end) - _ms(start) < MIN_WINDOW_SECONDS * 1000:
        raise _validation(
            "The incremental export period must be at least 15 minutes "
            f"(ExportToTime - ExportFromTime = {end - start:.0f} seconds)"
        )
    if _ms(end) - _ms(start) > MAX_WINDOW_SECONDS * 1000:
        raise _validation(
            "The incremental export period must not be longer than 24 hours "
            f"(ExportToTime - ExportFromTime = {end - start:.0f} seconds)"
        )
    if _ms(start) < _ms(earliest):
        raise _invalid_time(
            f"ExportFromTime {_iso(_dt(start))} is before the earliest restorable time of the table's "
            f"point in time recovery window ({_iso(_dt(earliest))})"
        )
    if _ms(end) > _ms(now):
        raise _invalid_time(f"ExportToTime {_iso(_dt(end))} is in the future")
    return start, end, view


def _ms(epoch: float) -> int:
    """Epoch seconds as whole milliseconds: times are compared at the API's precision."""
    return round(epoch * 1000)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _micros(epoch: float) -> int:
    return round(epoch * 1_000_000)


def incremental_line(change: write_history.Change, view: str) -> bytes:
    """One item's net change over a window as AWS writes it in an incremental DYNAMODB_JSON file."""
    record: dict[str, Any] = {
        "Metadata": {"WriteTimestampMicros": {"N": str(change.micros)}},
        "Keys": change.keys,
    }
    if change.new is not None:
        record["NewImage"] = change.new
    if change.old is not None and view == "NEW_AND_OLD_IMAGES":
        record["OldImage"] = change.old
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def item_line(attrs: dict[str, Any]) -> bytes:
    """An item (wire JSON of its attributes) as a full DYNAMODB_JSON export line."""
    return json.dumps({"Item": attrs}, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


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
    spec = body.get("IncrementalExportSpecification") or {}
    params = (
        table_arn,
        bucket,
        prefix,
        export_format,
        export_type,
        body.get("S3BucketOwner"),
        str(body.get("ExportTime")),
        json.dumps(spec, sort_keys=True, default=str),
    )

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
    window = pitr_window.restorable_window(table.continuous_backups["PointInTimeRecoveryDescription"])
    if window is None:
        raise PointInTimeRecoveryUnavailable(name=table.name)
    if export_format not in ("DYNAMODB_JSON", "ION") or export_type not in (
        "FULL_EXPORT",
        "INCREMENTAL_EXPORT",
    ):
        raise JsonRESTError(
            "ValidationException",
            "The local endpoint emulates FULL_EXPORT and INCREMENTAL_EXPORT in DYNAMODB_JSON or ION only",
        )

    # Times are kept to the millisecond, as the API answers them: what a caller reads back as
    # ExportTime (the next window's start) is exactly the point the export holds.
    now_epoch = int(clock.time() * 1000) / 1000
    now = _dt(now_epoch)
    earliest, latest = window
    tid = write_history.table_id(table)
    incremental: dict[str, Any] = {}
    if export_type == "INCREMENTAL_EXPORT":
        start, end, view = _incremental_window(spec, earliest, latest, now_epoch)
        window_writes = write_history.writes(tid, _micros(start), _micros(end))
        lines = [incremental_line(change, view) for change in write_history.changes(window_writes)]
        export_time = now
        incremental = dict(export_from_time=_dt(start), export_to_time=_dt(end), export_view_type=view)
    else:
        requested_time = body.get("ExportTime")
        # The snapshot is the table as it was at ExportTime (now by default): writes from then on,
        # including those landing while the export runs, are not in this export.
        at = now_epoch if requested_time is None else _epoch(requested_time, "ExportTime")
        if requested_time is not None:
            if _ms(at) > _ms(now_epoch):
                raise _invalid_time(f"ExportTime {_iso(_dt(at))} is in the future")
            if _ms(at) < _ms(earliest):
                raise _invalid_time(
                    f"ExportTime {_iso(_dt(at))} is before the earliest restorable time of the table's "
                    f"point in time recovery window ({_iso(_dt(earliest))})"
                )
        export_time = _dt(at)
        lines = [item_line(attrs) for attrs in write_history.state_at(table, _micros(at))]

    export_id = _new_export_id(now)
    partition = get_partition(backend.region_name)
    account_id = body.get("S3BucketOwner") or backend.account_id
    export = LocalExport(
        export_id=export_id,
        arn=f"arn:{partition}:dynamodb:{backend.region_name}:{backend.account_id}:table/{table.name}/export/{export_id}",
        table_name=table.name,
        table_arn=table_arn,
        table_id=tid,
        s3_bucket=bucket,
        s3_prefix=prefix,
        s3_bucket_owner=account_id,
        export_format=export_format,
        export_type=export_type,
        client_token=token,
        export_time=export_time,
        start_time=now,
        lines=lines,
        account_id=backend.account_id,
        partition=partition,
        params=params,
        **incremental,
    )
    with _lock:
        _exports[export.arn] = export
        _tokens[token] = export.arn
    # The answer is taken before the export's thread starts: AWS answers IN_PROGRESS, and with no
    # delay a thread scheduled first could otherwise finish the export before the answer is built.
    started = export.response()
    threading.Thread(target=_run_export, args=(export, Settings(**vars(settings))), daemon=True).start()
    return ActionResult({"ExportDescription": started})


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
        export.end_time = clock.now()
        export.failure_code, export.failure_message = code, message
        export.status = status


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _md5_hex(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode()


def _write_export(s3: Any, export: LocalExport, cfg: Settings) -> None:
    base = export.base_key
    _put(s3, export.s3_bucket, f"{base}/_started", b"")
    # Real full exports name their checksum files .checksum (as the docs say), incremental ones .md5.
    checksum_ext = "md5" if export.incremental else "checksum"

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
        key = f"{export.data_folder}/{_random_name()}.{'ion' if ion else 'json'}.gz"
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
    if export.incremental:
        billed = max(billed, MIN_INCREMENTAL_BILLED_BYTES)
    files_body = ("\n".join(manifest_lines) + "\n").encode("utf-8")
    files_key = f"{base}/manifest-files.json"
    _put(s3, export.s3_bucket, files_key, files_body)
    _put(s3, export.s3_bucket, f"{base}/manifest-files.{checksum_ext}", _md5_hex(files_body))

    end = clock.now()
    summary: dict[str, Any] = {
        "version": "2023-08-01" if export.incremental else "2020-06-30",
        "exportArn": export.arn,
        "startTime": _iso(export.start_time),
        "endTime": _iso(end),
        "tableArn": export.table_arn,
        "tableId": export.table_id,
    }
    if export.incremental:
        assert export.export_from_time is not None and export.export_to_time is not None
        summary["exportFromTime"] = _iso(export.export_from_time)
        summary["exportToTime"] = _iso(export.export_to_time)
    else:
        summary["exportTime"] = _iso(export.export_time)
    summary.update(
        {
            "s3Bucket": export.s3_bucket,
            "s3Prefix": export.s3_prefix or None,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": None,
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": billed,
            "itemCount": len(export.lines),
            "outputFormat": "ION" if ion else "DYNAMODB_JSON",
            "outputView": export.export_view_type if export.incremental else "NEW_IMAGE",
            "exportType": export.export_type,
        }
    )
    summary_body = json.dumps(summary, separators=(",", ":")).encode("utf-8")
    summary_key = f"{base}/manifest-summary.json"
    _put(s3, export.s3_bucket, summary_key, summary_body)
    _put(s3, export.s3_bucket, f"{base}/manifest-summary.{checksum_ext}", _md5_hex(summary_body))

    with _lock:
        export.item_count = len(export.lines)
        export.billed_size_bytes = billed
        export.manifest_summary_key = summary_key
        export.lines = []  # the snapshot is on S3 now
    _finish(export, "COMPLETED")
