"""Exports laid out by hand in AWS's exact layout, from real writes to a local table: a full export
and incremental windows (shared ``AWSDynamoDB/data/`` folder, ``.md5`` or ``.checksum`` files,
``manifest-files.json`` naming every data file), with an emulated clock so each 15-minute window
takes no time.

``Chain`` writes to the table through the client and records each write's before and after image
(read with a consistent GetItem), so each window's export holds, per key, the state at the
window's start (``OldImage``) and at its end (``NewImage``): one final state per item per window,
as AWS's compacted incremental exports do. ``close_window`` writes the export and returns the
table's real state at the boundary (a full Scan), which the tests compare a restore against."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dynamodb_dr import backup_manifest as mf
from dynamodb_dr.restore.timetravel.records import canonical_key
from dynamodb_dr.tables import table_definition
from local_aws import ion_export

START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def to_export(value: dict[str, Any]) -> dict[str, Any]:
    """A client attribute value (binaries as bytes) in an export's form (binaries as base64 text)."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(raw).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in raw]}
    if kind == "L":
        return {"L": [to_export(v) for v in raw]}
    if kind == "M":
        return {"M": {k: to_export(v) for k, v in raw.items()}}
    return {kind: raw}


def export_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: to_export(v) for k, v in item.items()}


def iso_ms(point: datetime) -> str:
    return point.strftime("%Y-%m-%dT%H:%M:%S.") + f"{point.microsecond // 1000:03d}Z"


def micros(point: datetime) -> int:
    return int(point.timestamp()) * 1_000_000 + point.microsecond


def scan_all(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _export_id(point: datetime) -> str:
    return f"{int(point.timestamp() * 1000):014d}-{secrets.token_hex(4)}"


@dataclass
class Layout:
    """How the files are written: format, checksum file names, whitespace in lines, files per export."""

    export_format: str = "DYNAMODB_JSON"
    checksum_ext: str = ".md5"
    spaces: bool = False
    files: int = 2


def _line(record: dict[str, Any], layout: Layout) -> bytes:
    if layout.spaces:
        text = json.dumps(record, separators=(", ", ": "), ensure_ascii=False).encode("utf-8") + b"  \n"
    else:
        text = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
    if layout.export_format == "ION":
        return ion_export.ion_line(text.strip())
    return text


def _put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def write_export(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    table_arn: str,
    table_id: str,
    records: list[dict[str, Any]],
    layout: Layout,
    export_time: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
    view: str = "NEW_AND_OLD_IMAGES",
) -> str:
    """One export in AWS's layout; returns the key of its manifest-summary.json. ``window`` makes it
    incremental (data files in the prefix's shared ``AWSDynamoDB/data/``)."""
    point = window[1] if window else export_time
    assert point is not None
    export_id = _export_id(point)
    base = f"{prefix}/AWSDynamoDB/{export_id}"
    data_folder = f"{prefix}/AWSDynamoDB/data" if window else f"{base}/data"
    _put(s3, bucket, f"{base}/_started", b"")
    lines = [_line(r, layout) for r in records]
    chunks = [lines[i :: layout.files] for i in range(layout.files)]
    entries = []
    billed = 0
    ext = "ion" if layout.export_format == "ION" else "json"
    for chunk in chunks:
        raw = b"".join(chunk)
        billed += len(raw)
        data = gzip.compress(raw, mtime=0)
        key = f"{data_folder}/{secrets.token_hex(8)}.{ext}.gz"
        _put(s3, bucket, key, data)
        entries.append(
            {
                "itemCount": len(chunk),
                "md5Checksum": base64.b64encode(hashlib.md5(data).digest()).decode(),
                "etag": hashlib.md5(data).hexdigest(),
                "dataFileS3Key": key,
            }
        )
    files_body = ("\n".join(json.dumps(e, separators=(",", ":")) for e in entries) + "\n").encode()
    files_key = f"{base}/manifest-files.json"
    _put(s3, bucket, files_key, files_body)
    _put(
        s3,
        bucket,
        f"{base}/manifest-files{layout.checksum_ext}",
        hashlib.md5(files_body).hexdigest().encode(),
    )
    summary: dict[str, Any] = {
        "version": "2023-08-01" if window else "2020-06-30",
        "exportArn": f"{table_arn}/export/{export_id}",
        "startTime": iso_ms(point),
        "endTime": iso_ms(point + timedelta(minutes=2)),
        "tableArn": table_arn,
        "tableId": table_id,
        "s3Bucket": bucket,
        "s3Prefix": prefix,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": files_key,
        "billedSizeBytes": max(billed, 10_000_000) if window else billed,
        "itemCount": len(records),
        "outputFormat": layout.export_format,
    }
    if window:
        summary.update(
            exportFromTime=iso_ms(window[0]),
            exportToTime=iso_ms(window[1]),
            outputView=view,
            exportType="INCREMENTAL_EXPORT",
        )
    else:
        summary.update(exportTime=iso_ms(point), exportType="FULL_EXPORT", outputView="NEW_IMAGE")
    summary_body = json.dumps(summary).encode()
    summary_key = f"{base}/manifest-summary.json"
    _put(s3, bucket, summary_key, summary_body)
    _put(
        s3,
        bucket,
        f"{base}/manifest-summary{layout.checksum_ext}",
        hashlib.md5(summary_body).hexdigest().encode(),
    )
    return summary_key


@dataclass
class _Change:
    micros: int
    keys: dict[str, Any]
    old: dict[str, Any] | None
    new: dict[str, Any] | None


@dataclass
class Chain:
    """Real writes to ``table`` and the exports of its history (see the module docstring)."""

    dynamodb: Any
    s3: Any
    bucket: str
    table: str
    prefix: str
    """The S3Prefix of the incremental exports (and of the full export when ``full_in_prefix``)."""
    layout: Layout = field(default_factory=Layout)
    view: str = "NEW_AND_OLD_IMAGES"
    clock: datetime = START
    window: timedelta = WINDOW
    boundaries: list[datetime] = field(default_factory=list)
    states: list[list[dict[str, Any]]] = field(default_factory=list)
    """The table's real state (a Scan) at each boundary: the full export's time, then each window's end."""
    _changes: list[_Change] = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        description = self.dynamodb.describe_table(TableName=self.table)["Table"]
        self.table_arn = description["TableArn"]
        self.table_id = description.get("TableId") or "00000000-0000-0000-0000-000000000000"
        self.key_names = tuple(k["AttributeName"] for k in description["KeySchema"])
        self.definition = table_definition(description)

    def _key(self, item: dict[str, Any]) -> dict[str, Any]:
        return {n: item[n] for n in self.key_names}

    def _record(self, key: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        self._seq += 1
        self._changes.append(_Change(micros(self.clock) + self._seq, key, old, new))

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.dynamodb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")

    def put(self, item: dict[str, Any]) -> None:
        key = self._key(item)
        old = self._get(key)
        self.dynamodb.put_item(TableName=self.table, Item=item)
        self._record(key, old, self._get(key))

    def delete(self, key: dict[str, Any]) -> None:
        old = self._get(key)
        self.dynamodb.delete_item(TableName=self.table, Key=key)
        if old is not None:
            self._record(key, old, None)

    def full_export(self, prefix: str | None = None) -> str:
        """A full export of the table now (at the clock); returns its manifest-summary.json key."""
        items = scan_all(self.dynamodb, self.table)
        key = write_export(
            self.s3,
            self.bucket,
            prefix or self.prefix,
            table_arn=self.table_arn,
            table_id=self.table_id,
            records=[{"Item": export_item(i)} for i in items],
            layout=self.layout,
            export_time=self.clock,
        )
        self.boundaries.append(self.clock)
        self.states.append(items)
        self._changes = []
        return key

    def daily_backup(self, exports_prefix: str = "native-exports") -> mf.BackupManifest:
        """A full export recorded in the day's backup manifest, as the export Lambda does."""
        date = self.clock.date().isoformat()
        summary_key = self.full_export(prefix=mf.export_prefix(exports_prefix, date, self.table))
        summary = json.loads(self.s3.get_object(Bucket=self.bucket, Key=summary_key)["Body"].read())
        manifest = mf.BackupManifest(
            backup_date=date, environment="test", s3_bucket=self.bucket, s3_prefix=exports_prefix
        )
        manifest.tables[self.table] = mf.TableBackup(
            table_name=self.table,
            status=mf.COMPLETED,
            table_arn=self.table_arn,
            export_arn=summary["exportArn"],
            export_time=summary["exportTime"],
            item_count=summary["itemCount"],
            billed_size_bytes=summary["billedSizeBytes"],
            export_manifest_key=summary_key,
            manifest_files_key=summary["manifestFilesS3Key"],
            table_definition=self.definition,
        )
        mf.write_manifest(self.s3, manifest, etag=None)
        return manifest

    def close_window(self, *, write: bool = True) -> datetime:
        """End the window that started at the last boundary: its export (unless ``write`` is False:
        a window lost, i.e. a gap) and the table's state at its end; the clock moves to the end."""
        start = self.boundaries[-1]
        end = start + self.window
        by_key: dict[str, list[_Change]] = {}
        for change in self._changes:
            by_key.setdefault(canonical_key(change.keys, self.key_names), []).append(change)
        records = []
        for changes in by_key.values():
            first, last = changes[0], changes[-1]
            if first.old is None and last.new is None:
                continue  # created and deleted inside the window: no final state to export
            record: dict[str, Any] = {
                "Metadata": {"WriteTimestampMicros": {"N": str(last.micros)}},
                "Keys": export_item(last.keys),
            }
            if last.new is not None:
                record["NewImage"] = export_item(last.new)
            if first.old is not None and self.view == "NEW_AND_OLD_IMAGES":
                record["OldImage"] = export_item(first.old)
            records.append(record)
        if write:
            write_export(
                self.s3,
                self.bucket,
                self.prefix,
                table_arn=self.table_arn,
                table_id=self.table_id,
                records=records,
                layout=self.layout,
                window=(start, end),
                view=self.view,
            )
        self._changes = []
        self.clock = end
        self.boundaries.append(end)
        self.states.append(scan_all(self.dynamodb, self.table))
        return end

    def tick(self, seconds: float = 1.0) -> None:
        """Move the emulated clock within the current window."""
        self.clock += timedelta(seconds=seconds)


def same_items(
    actual: list[dict[str, Any]], expected: list[dict[str, Any]], key_names: tuple[str, ...]
) -> list[str]:
    """Differences between two item lists, item by item, type-exact (sets as sets); [] when equal."""
    from dynamodb_dr.restore.timetravel.records import canonical_item

    def index(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {canonical_key(i, key_names): i for i in items}

    a, e = index(actual), index(expected)
    problems = [f"missing {k}" for k in sorted(set(e) - set(a))]
    problems += [f"extra {k}" for k in sorted(set(a) - set(e))]
    problems += [
        f"differs {k}: {a[k]} != {e[k]}"
        for k in sorted(set(a) & set(e))
        if canonical_item(a[k]) != canonical_item(e[k])
    ]
    return problems
