"""DynamoDB ``ImportTable`` / ``DescribeImport`` served by the local endpoint from its S3.

What stock moto 5.2.1 does (``moto/dynamodb/models/table_import.py``): it creates the table with
key schema, billing mode, throughput and GSIs only (no SSE, no LSIs), even when a table of that
name exists (it replaces it); lists every object under ``S3KeyPrefix`` and parses each with
py_partiql_parser's JSON reader (gzip or none; no ION, no ZSTD); counts ``ProcessedSizeBytes`` as the
number of keys of each parsed object; ends ``FAILED`` at the first error count above zero; and
answers only ``ImportArn``, ``ImportStatus``, ``TableArn``, the counts and the failure, without
``ClientToken`` idempotency, times, ``S3BucketSource``, ``InputFormat`` or
``TableCreationParameters``.

What this module serves instead, as AWS does:

- an existing table name is refused with ``ResourceInUseException`` (and a name being imported with
  ``ImportConflictException``); a ``ClientToken`` seen before returns the same import (different
  parameters: ``IdempotentParameterMismatchException``);
- the table is created from ``TableCreationParameters`` with its GSIs, billing mode, throughput and
  ``SSESpecification`` (the KMS key recorded as given);
- every object under the prefix is read: ``GZIP`` (multi-member too) or ``NONE``; ``DYNAMODB_JSON``
  lines ``{"Item": {...}}`` and ``ION`` lines ``$ion_1_0 {Item:{...}}`` (turned into DynamoDB JSON by
  the restore's own ``dynamodb_dr.restore.ion_lines``); numbers keep their exact text (the items go
  through moto's item model with the exact-number fixes of ``moto_fixes``);
- a line that is not an item, or an item DynamoDB refuses (``moto_fixes`` rules), counts in
  ``ErrorCount`` and the import goes on; it ends ``COMPLETED`` with ``ProcessedItemCount``,
  ``ImportedItemCount``, ``ErrorCount``, ``ProcessedSizeBytes`` (uncompressed bytes), or ``FAILED``
  with ``FailureCode``/``FailureMessage`` when the bucket is missing or nothing under the prefix
  can be read;
- the import stays ``IN_PROGRESS`` for at least ``Settings.delay_seconds`` before it completes, so a
  caller sees the transition; ``CloudWatchLogGroupArn`` names ``/aws-dynamodb/imports``.

Where it still differs from AWS: the table is visible (ACTIVE) while the import runs (AWS shows it
CREATING); ``ZSTD`` and ``CSV`` are refused with a ValidationException; ``InputFormatOptions`` and
``OnDemandThroughput`` are ignored; nothing is written to CloudWatch Logs; error lines are not
sampled anywhere; an import never ends ``CANCELLED``. A FAILED import deletes the table it created.
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
_installed = False
LOG_GROUP = "/aws-dynamodb/imports"


@dataclass
class Settings:
    delay_seconds: float = 0.2
    """How long an import stays IN_PROGRESS at least."""
    fail_tables: set[str] = field(default_factory=set)
    """Table names whose imports end FAILED (to exercise failure reporting)."""


settings = Settings()


@dataclass
class LocalImport:
    arn: str
    table_name: str
    table_arn: str
    table_id: str
    client_token: str
    source: dict[str, Any]
    input_format: str
    compression: str
    creation: dict[str, Any]
    log_group_arn: str
    account_id: str
    region: str
    partition: str
    params: str
    start_time: datetime
    status: str = "IN_PROGRESS"
    end_time: datetime | None = None
    processed_items: int = 0
    processed_bytes: int = 0
    imported_items: int = 0
    errors: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    error_samples: list[str] = field(default_factory=list)
    """The first errors (AWS writes them to CloudWatch Logs): ``error_samples(import_arn)``."""

    def response(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ImportArn": self.arn,
            "ImportStatus": self.status,
            "TableArn": self.table_arn,
            "TableId": self.table_id,
            "ClientToken": self.client_token,
            "S3BucketSource": self.source,
            "ErrorCount": self.errors,
            "CloudWatchLogGroupArn": self.log_group_arn,
            "InputFormat": self.input_format,
            "InputCompressionType": self.compression,
            "TableCreationParameters": self.creation,
            "StartTime": self.start_time,
            "ProcessedSizeBytes": self.processed_bytes,
            "ProcessedItemCount": self.processed_items,
            "ImportedItemCount": self.imported_items,
        }
        if self.end_time is not None:
            out["EndTime"] = self.end_time
        if self.failure_code:
            out.update(FailureCode=self.failure_code, FailureMessage=self.failure_message)
        return out


_imports: dict[str, LocalImport] = {}
_tokens: dict[str, str] = {}


def reset() -> None:
    with _lock:
        _imports.clear()
        _tokens.clear()


def configure(**kwargs: Any) -> None:
    for name, value in kwargs.items():
        if not hasattr(settings, name):
            raise TypeError(f"unknown table import setting {name!r}")
        setattr(settings, name, value)


def install() -> None:
    """Replace moto's ImportTable / DescribeImport handlers in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.responses import DynamoHandler

        DynamoHandler.import_table = _import_table  # type: ignore[method-assign]
        DynamoHandler.describe_import = _describe_import  # type: ignore[method-assign]
        _installed = True


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _import_table(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.utilities.utils import get_partition

    body = self.body
    backend = self.dynamodb_backend
    source = dict(body["S3BucketSource"])
    input_format = body.get("InputFormat") or ""
    compression = body.get("InputCompressionType") or "NONE"
    creation = body["TableCreationParameters"]
    if input_format not in ("DYNAMODB_JSON", "ION"):
        raise _error(
            "ValidationException",
            f"The local endpoint emulates InputFormat DYNAMODB_JSON and ION, not {input_format!r}",
        )
    if compression not in ("GZIP", "NONE"):
        raise _error(
            "ValidationException",
            f"The local endpoint emulates InputCompressionType GZIP and NONE, not {compression!r}",
        )
    token = body.get("ClientToken") or secrets.token_hex(16)
    params = json.dumps([source, input_format, compression, creation], sort_keys=True)
    name = creation["TableName"]
    with _lock:
        if token in _tokens:
            existing = _imports[_tokens[token]]
            if existing.params != params:
                raise _error(
                    "IdempotentParameterMismatchException",
                    "An import with this ClientToken was requested with different parameters",
                )
            return ActionResult({"ImportTableDescription": existing.response()})
        if any(i.table_name == name and i.status == "IN_PROGRESS" for i in _imports.values()):
            raise _error("ImportConflictException", f"There is an ongoing import to table {name}")
        if name in backend.tables:
            raise _error("ResourceInUseException", f"Table already exists: {name}")
        partition = get_partition(backend.region_name)
        now = datetime.now(UTC)
        import_id = f"{int(now.timestamp() * 1000):014d}-{secrets.token_hex(4)}"
        table = backend.create_table(
            name=name,
            billing_mode=creation.get("BillingMode") or "PROVISIONED",
            throughput=creation.get("ProvisionedThroughput"),
            schema=creation["KeySchema"],
            global_indexes=creation.get("GlobalSecondaryIndexes"),
            indexes=None,
            attr=creation["AttributeDefinitions"],
            sse_specification=creation.get("SSESpecification"),
            streams=None,
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        table_arn = table.table_arn
        job = LocalImport(
            arn=f"{table_arn}/import/{import_id}",
            table_name=name,
            table_arn=table_arn,
            table_id=getattr(table, "table_id", None) or str(uuid.uuid5(uuid.NAMESPACE_URL, table_arn)),
            client_token=token,
            source=source,
            input_format=input_format,
            compression=compression,
            creation=creation,
            log_group_arn=f"arn:{partition}:logs:{backend.region_name}:{backend.account_id}:log-group:{LOG_GROUP}:*",
            account_id=backend.account_id,
            region=backend.region_name,
            partition=partition,
            params=params,
            start_time=now,
        )
        _imports[job.arn] = job
        _tokens[token] = job.arn
    threading.Thread(target=_run_import, args=(job, table, Settings(**vars(settings))), daemon=True).start()
    return ActionResult({"ImportTableDescription": job.response()})


def _describe_import(self: Any) -> Any:
    from moto.core.responses import ActionResult

    job = _imports.get(self.body["ImportArn"])
    if job is None:
        raise _error("ImportNotFoundException", f"Import not found: {self.body['ImportArn']}")
    return ActionResult({"ImportTableDescription": job.response()})


def error_samples(import_arn: str) -> list[str]:
    """The first item errors of an import (what AWS would log to ``/aws-dynamodb/imports``)."""
    return list(_imports[import_arn].error_samples)


def _finish(job: LocalImport, status: str, code: str | None = None, message: str | None = None) -> None:
    if status == "FAILED":  # a failed import leaves no table behind
        from moto.dynamodb.models import dynamodb_backends

        dynamodb_backends[job.account_id][job.region].tables.pop(job.table_name, None)
    with _lock:
        job.end_time = datetime.now(UTC)
        job.failure_code, job.failure_message = code, message
        job.status = status


def _decompress(data: bytes, compression: str) -> bytes:
    if compression == "NONE":
        return data
    out, rest = [], data
    while rest:  # multi-member gzip: one decompressor per member
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(inflater.decompress(rest))
        out.append(inflater.flush())
        rest = inflater.unused_data
    return b"".join(out) if out else gzip.decompress(data)


def _wire(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as moto holds one parsed from a request: binary as bytes, not base64."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(raw, validate=True)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v, validate=True) for v in raw]}
    if kind == "L":
        return {"L": [_wire(v) for v in raw]}
    if kind == "M":
        return {"M": {k: _wire(v) for k, v in raw.items()}}
    return value


def _item(line: bytes, input_format: str) -> dict[str, Any]:
    if input_format == "ION":
        from dynamodb_dr.restore.ion_lines import json_line

        line = json_line(line)
    parsed = json.loads(line)
    if not isinstance(parsed, dict) or set(parsed) != {"Item"} or not isinstance(parsed["Item"], dict):
        raise ValueError("not an item line")
    return {name: _wire(value) for name, value in parsed["Item"].items()}


def _run_import(job: LocalImport, table: Any, cfg: Settings) -> None:
    from moto.s3.models import s3_backends

    started = time.monotonic()
    try:
        s3 = s3_backends[job.account_id][job.partition]
        bucket = s3.buckets.get(job.source["S3Bucket"])
        if bucket is None:
            _finish(job, "FAILED", "S3NoSuchBucket", "The specified bucket does not exist")
            return
        if job.table_name in cfg.fail_tables:
            _finish(job, "FAILED", "UNKNOWN", "Import failed (local endpoint: fail_tables)")
            return
        keys, _, _, _ = s3.list_objects(
            bucket, prefix=job.source.get("S3KeyPrefix") or "", delimiter=None, marker=None, max_keys=None
        )
        readable = 0
        for key in keys:
            try:
                text = _decompress(key.value, job.compression)
            except (OSError, zlib.error, EOFError):
                job.errors += 1
                continue
            readable += 1
            job.processed_bytes += len(text)
            for line in text.splitlines():
                if not line.strip():
                    continue
                job.processed_items += 1
                try:
                    table.put_item(_item(line, job.input_format))
                except Exception as exc:  # a line AWS would log to CloudWatch and count as an error
                    job.errors += 1
                    if len(job.error_samples) < 10:
                        job.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    job.imported_items += 1
        if keys and not readable:
            _finish(job, "FAILED", "InvalidInput", "No object under the prefix could be read")
            return
    except Exception as exc:  # the emulated import fails as AWS's would: with a code and a message
        _finish(job, "FAILED", "UNKNOWN", f"Import failed: {exc}")
        return
    left = cfg.delay_seconds - (time.monotonic() - started)
    if left > 0:
        time.sleep(left)
    _finish(job, "COMPLETED")
