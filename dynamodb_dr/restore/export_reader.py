"""Read a DynamoDB export in the AWS layout: manifest-summary.json, manifest-files.json, data files.

Only small descriptors (``DataFile``) travel between the driver and Spark tasks. A data file is
streamed in constant memory whatever its size: the S3 body goes to a local spool file in 1 MiB
chunks while its MD5 is computed, then the gzip stream (possibly multi-member) is decompressed
incrementally and split into lines. Item bytes are never parsed here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_condition_failed, is_missing_object
from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore import inflate, malloc
from dynamodb_dr.restore.item_rules import ItemRules, is_item_object, line_problem

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


CHUNK_SIZE = 1024 * 1024
"""Bytes read from S3 / the spool file at a time."""
MAX_DECOMPRESSED_CHUNK = 1024 * 1024
"""Upper bound on the bytes one decompress call may return (keeps memory flat on gzip bombs). 1 MiB:
measured, 4 MiB let peak RSS grow 13% from a 10 MB to a 100 MB file (allocator reuse of larger
buffers), 1 MiB 4%, at the same speed (docs/benchmarks.md)."""
MAX_LINE_BYTES = 2 * 1024 * 1024
"""An item is at most 400 KB; its DynamoDB JSON line is a few times that at worst."""
SUPPORTED_FORMAT = "DYNAMODB_JSON"
SUPPORTED_FORMATS = (SUPPORTED_FORMAT, "ION")
"""ION lines are turned into DYNAMODB_JSON lines as they are read (``ion_lines``), then checked alike."""
ION_LINE_PREFIX = b"$ion_1_0"
ITEM_PREFIX = b'{"Item":{'
ITEM_SUFFIX = b"}}"


@dataclass(frozen=True)
class DataFile:
    """One line of manifest-files.json."""

    key: str
    item_count: int
    md5: str
    """Base64 MD5 of the stored (compressed) object."""
    etag: str | None = None


@dataclass(frozen=True)
class ExportSummary:
    """The parts of manifest-summary.json a restore needs."""

    export_arn: str
    item_count: int
    manifest_files_key: str
    output_format: str
    billed_size_bytes: int | None = None
    export_time: str | None = None
    """The point in time the export holds (``exportTime``, UTC ISO 8601)."""


@dataclass(frozen=True)
class Export:
    bucket: str
    summary: ExportSummary
    files: tuple[DataFile, ...]


@dataclass(frozen=True)
class FileCheck:
    """What streaming one data file found."""

    key: str
    items: int
    compressed_bytes: int
    etag: str | None = None
    """The ETag of the object version checked (the write stage reads that version only)."""


def _get_object(s3: S3Client, bucket: str, key: str, what: str, if_match: str | None = None) -> Any:
    try:
        if if_match:
            return s3.get_object(Bucket=bucket, Key=key, IfMatch=if_match)
        return s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if if_match and is_condition_failed(exc):
            raise ExportDataError(
                f"{what} s3://{bucket}/{key} changed after the validation stage checked it (ETag {if_match} "
                "no longer matches); nothing more is read from it. Find out what is writing into the backup "
                "bucket, then re-run the restore."
            ) from exc
        if is_missing_object(exc):
            raise ExportDataError(
                f"{what} s3://{bucket}/{key} does not exist; the export is incomplete or was deleted. "
                "Restore another backup date."
            ) from exc
        raise


def read_export_summary(s3: S3Client, bucket: str, summary_key: str) -> ExportSummary:
    body = _get_object(s3, bucket, summary_key, "export manifest")["Body"].read()
    try:
        data = json.loads(body)
        summary = ExportSummary(
            export_arn=str(data["exportArn"]),
            item_count=int(data["itemCount"]),
            manifest_files_key=str(data["manifestFilesS3Key"]),
            output_format=str(data.get("outputFormat") or SUPPORTED_FORMAT),
            billed_size_bytes=data.get("billedSizeBytes"),
            export_time=data.get("exportTime"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ExportDataError(
            f"export manifest s3://{bucket}/{summary_key} is not a valid manifest-summary.json ({exc!r}); "
            "the export is damaged. Restore another backup date."
        ) from exc
    if summary.output_format not in SUPPORTED_FORMATS:
        raise ExportDataError(
            f"export {summary.export_arn} is in {summary.output_format} format; the restore reads "
            f"{' and '.join(SUPPORTED_FORMATS)} exports. Export the table again with ExportFormat={SUPPORTED_FORMAT}."
        )
    return summary


def read_data_files(
    s3: S3Client, bucket: str, manifest_files_key: str, export_arn: str
) -> tuple[DataFile, ...]:
    body = _get_object(s3, bucket, manifest_files_key, "export file list")["Body"].read()
    files = []
    for number, raw in enumerate(body.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            files.append(
                DataFile(
                    key=str(entry["dataFileS3Key"]),
                    item_count=int(entry["itemCount"]),
                    md5=str(entry["md5Checksum"]),
                    etag=entry.get("etag"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ExportDataError(
                f"line {number} of s3://{bucket}/{manifest_files_key} (export {export_arn}) is not a valid "
                f"data file entry ({exc!r}); the export is damaged. Restore another backup date."
            ) from exc
    return tuple(files)


def read_export(s3: S3Client, bucket: str, summary_key: str) -> Export:
    """The export's summary and data files, checking that the files add up to its itemCount."""
    summary = read_export_summary(s3, bucket, summary_key)
    files = read_data_files(s3, bucket, summary.manifest_files_key, summary.export_arn)
    listed = sum(f.item_count for f in files)
    if listed != summary.item_count:
        raise ExportDataError(
            f"export {summary.export_arn}: manifest-summary.json says itemCount={summary.item_count} but "
            f"manifest-files.json lists {listed} items in {len(files)} files; the export is damaged. "
            "Restore another backup date."
        )
    return Export(bucket=bucket, summary=summary, files=files)


# --- data files ---------------------------------------------------------------------------------


def _fail(data_file: DataFile, export_arn: str, problem: str) -> ExportDataError:
    return ExportDataError(
        f"data file {data_file.key} of export {export_arn}: {problem}. Nothing is written from a damaged "
        "export; restore another backup date, or export the table again."
    )


@contextmanager
def spooled(
    s3: S3Client,
    bucket: str,
    data_file: DataFile,
    export_arn: str,
    spool_dir: str | None = None,
    *,
    verified_etag: str | None = None,
) -> Iterator[tuple[str, int]]:
    """Download a data file to a temporary spool file, checking its MD5; yields (path, size).

    With ``verified_etag`` (the ETag of the object version the validation stage already checked:
    MD5, gzip, item count), that very version is fetched (``If-Match``; any other fails) and its
    MD5 is not computed a second time; gzip's own CRC-32 still checks every byte decompressed.
    """
    with _spool(s3, bucket, data_file, export_arn, spool_dir, verified_etag) as (path, size, _):
        yield path, size


@contextmanager
def _spool(
    s3: S3Client,
    bucket: str,
    data_file: DataFile,
    export_arn: str,
    spool_dir: str | None,
    verified_etag: str | None,
) -> Iterator[tuple[str, int, str | None]]:
    """``spooled``, also yielding the ETag of the object version read."""
    obj = _get_object(s3, bucket, data_file.key, "data file", if_match=verified_etag)
    digest = None if verified_etag else hashlib.md5()
    size = 0
    fd, path = tempfile.mkstemp(prefix="ddb-export-", suffix=".gz", dir=spool_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in obj["Body"].iter_chunks(CHUNK_SIZE):
                if digest is not None:
                    digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if digest is not None:
            actual = base64.b64encode(digest.digest()).decode("ascii")
            if actual != data_file.md5:
                raise _fail(
                    data_file,
                    export_arn,
                    f"MD5 {actual} does not match md5Checksum {data_file.md5} in manifest-files.json "
                    "(the object was changed or corrupted after the export)",
                )
        yield path, size, obj.get("ETag")
    finally:
        os.unlink(path)


def _decompressed_chunks(path: str, data_file: DataFile, export_arn: str) -> Iterator[bytes]:
    """Decompress a (multi-member) gzip file incrementally, failing on a truncated stream."""
    decompressor = inflate.gzip_decompressor()
    started = False
    with open(path, "rb") as src:
        while True:
            data = src.read(CHUNK_SIZE)
            if not data:
                break
            started = True
            while data:
                try:
                    out = decompressor.decompress(data, MAX_DECOMPRESSED_CHUNK)
                except inflate.ERRORS as exc:
                    raise _fail(data_file, export_arn, f"not a valid gzip stream ({exc})") from exc
                if out:
                    yield out
                if decompressor.eof:
                    rest = decompressor.unused_data
                    if rest.strip(b"\x00"):
                        # Another gzip member follows (concatenated gzip is valid).
                        decompressor = inflate.gzip_decompressor()
                        data = rest
                    else:
                        data = b""
                else:
                    data = decompressor.unconsumed_tail
    if not started:
        if data_file.item_count:
            raise _fail(
                data_file,
                export_arn,
                f"the object is empty but the manifest lists {data_file.item_count} items",
            )
        return
    # Flush whatever the decompressor still holds.
    while not decompressor.eof:
        try:
            out = decompressor.decompress(decompressor.unconsumed_tail, MAX_DECOMPRESSED_CHUNK)
        except inflate.ERRORS as exc:
            raise _fail(data_file, export_arn, f"not a valid gzip stream ({exc})") from exc
        if out:
            yield out
            continue
        raise _fail(
            data_file, export_arn, "the gzip stream is truncated (it ends before its end-of-stream marker)"
        )


def check_line(line: bytes, data_file: DataFile, export_arn: str, number: int) -> bytes:
    """A stripped export line that is one ``{"Item":{...}}`` object: AWS's compact form by a cheap
    check of its ends, any other valid JSON form (spaces; files not written by AWS) by decoding it
    (``item_rules.is_item_object``), sent as it is: any valid JSON object fits in a PutRequest. An
    ION line (``$ion_1_0 {Item:{...}}``) is turned into that DYNAMODB_JSON line first."""
    stripped = line.strip()
    if stripped.startswith(ION_LINE_PREFIX):
        from dynamodb_dr.restore import ion_lines  # amazon.ion is imported only for ION exports

        try:
            stripped = ion_lines.json_line(stripped)
        except ion_lines.IonLineError as exc:
            raise _fail(data_file, export_arn, f"line {number} {exc}") from exc
    if not (stripped.startswith(ITEM_PREFIX) and stripped.endswith(ITEM_SUFFIX)) and not is_item_object(
        stripped
    ):
        preview = stripped[:60].decode("utf-8", "replace")
        raise _fail(
            data_file, export_arn, f'line {number} is not an {{"Item":{{...}}}} object (starts {preview!r})'
        )
    return stripped


def _checked_lines(lines: list[bytes], data_file: DataFile, export_arn: str, number: int) -> list[bytes]:
    """``lines`` stripped and checked one by one, blank ones dropped (``number``: lines before them)."""
    checked = []
    for line in lines:
        if line.strip():
            number += 1
            checked.append(check_line(line, data_file, export_arn, number))
    return checked


_BOUNDARY = ITEM_SUFFIX + b"\n" + ITEM_PREFIX


def iter_batches(path: str, data_file: DataFile, export_arn: str, size: int = 25) -> Iterator[list[bytes]]:
    """The checked item lines of a spooled data file, in lists of ``size`` (the last may be shorter),
    in constant memory.

    The lines of each decompressed chunk are checked at once: when the chunk starts with
    ``{"Item":{``, ends with ``}}`` and every one of its newlines sits between ``}}`` and
    ``{"Item":{`` (one ``bytes.count``, in C), every line has the shape ``check_line`` asks for,
    with nothing to strip. Otherwise (blank lines, CRLF, spaces, a bad line) they are checked one by
    one, which names the first bad line.
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    pending = b""
    number = 0
    carry: list[bytes] = []
    for chunk in _decompressed_chunks(path, data_file, export_arn):
        text = pending + chunk if pending else chunk
        cut = text.rfind(b"\n")
        if cut < 0:
            pending = text
            if len(pending) > MAX_LINE_BYTES:
                raise _fail(data_file, export_arn, f"line {number + 1} is longer than {MAX_LINE_BYTES} bytes")
            continue
        body, pending = text[:cut], text[cut + 1 :]
        if len(pending) > MAX_LINE_BYTES:
            raise _fail(data_file, export_arn, f"line {number + 1} is longer than {MAX_LINE_BYTES} bytes")
        lines = body.split(b"\n")
        if not (
            body.startswith(ITEM_PREFIX)
            and body.endswith(ITEM_SUFFIX)
            and body.count(_BOUNDARY) == len(lines) - 1
        ):
            lines = _checked_lines(lines, data_file, export_arn, number)
        number += len(lines)
        if carry:
            lines = carry + lines
        full = len(lines) - len(lines) % size
        for start in range(0, full, size):
            yield lines[start : start + size]
        carry = lines[full:]
    if pending.strip():
        carry.append(check_line(pending, data_file, export_arn, number + 1))
    if carry:
        yield carry


def iter_items(path: str, data_file: DataFile, export_arn: str) -> Iterator[bytes]:
    """The checked item lines of a spooled data file, one at a time, in constant memory."""
    for batch in iter_batches(path, data_file, export_arn, size=1000):
        yield from batch


def count_mismatch(data_file: DataFile, export_arn: str, items: int) -> ExportDataError:
    return _fail(
        data_file,
        export_arn,
        f"holds {items} items but manifest-files.json says itemCount={data_file.item_count}",
    )


def validate_data_file(
    s3: S3Client,
    bucket: str,
    data_file: DataFile,
    export_arn: str,
    spool_dir: str | None = None,
    *,
    rules: ItemRules | None = None,
) -> FileCheck:
    """Stream one data file end to end: MD5, gzip integrity, line shape and item count, and with
    ``rules`` every item as DynamoDB would check it (``item_rules``)."""
    malloc.tune_for_streaming()
    with _spool(s3, bucket, data_file, export_arn, spool_dir, None) as (path, size, etag):
        items = 0
        for batch in iter_batches(path, data_file, export_arn, size=1000):
            if rules is not None:
                for number, line in enumerate(batch, start=items + 1):
                    problem = line_problem(line, rules)
                    if problem:
                        raise ExportDataError(
                            f"data file {data_file.key} of export {export_arn}: line {number} {problem}. "
                            "DynamoDB would refuse it, so nothing is written to this table; fix the line "
                            "(or the target table's definition), or restore another backup date."
                        )
            items += len(batch)
    if items != data_file.item_count:
        raise count_mismatch(data_file, export_arn, items)
    return FileCheck(key=data_file.key, items=items, compressed_bytes=size, etag=etag)
