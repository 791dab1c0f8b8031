"""The lines of incremental exports, read and checked, and the values compared by a rewind.

An incremental export line (DYNAMODB_JSON, or ION turned into it by ``ion_lines``)::

    {"Metadata":{"WriteTimestampMicros":{"N":"…"}},"Keys":{…},"NewImage":{…},"OldImage":{…}}

``NewImage`` is missing for a delete; ``OldImage`` for an insert or with view NEW_IMAGE. Any valid
JSON form is accepted (whitespace included). ``msgspec`` decodes the frame and keeps each image as
its raw bytes, so a put sends exactly the exported bytes (``{"Item":`` + image + ``}``: type-exact,
as the full restore's writer) and nothing is parsed that is not needed.

The files go through the same checks as a full export's: MD5 of the stored object against
``manifest-files.json`` (``export_reader.spooled``), the gzip stream, every line's shape, and the
item count.

Keys are compared in a canonical form (``canonical_key``): numbers normalized at 38 digits (``1.50``
and ``1.5`` are one key, as in DynamoDB), binaries as their bytes, attributes in key-schema order.
A rewind compares whole items (``canonical_item``): sets as sets, numbers normalized, binaries as
bytes, whether read from an export (base64 text) or from GetItem (bytes).
"""

from __future__ import annotations

import base64
import decimal
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore.export_reader import ION_LINE_PREFIX, MAX_LINE_BYTES, DataFile, count_mismatch

_NUMBERS = decimal.Context(prec=60)


_FIELDS = frozenset({"Keys", "Metadata", "NewImage", "OldImage"})

try:  # the fast path: images kept as their raw bytes (``item_rules`` has the same fallback)
    import msgspec

    class _Change(msgspec.Struct, forbid_unknown_fields=True):
        Keys: dict[str, dict[str, Any]]
        Metadata: dict[str, Any]
        NewImage: msgspec.Raw = msgspec.Raw(b"")
        OldImage: msgspec.Raw = msgspec.Raw(b"")

    _DECODE_CHANGE = msgspec.json.Decoder(_Change)

    def _decode(line: bytes) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
        try:
            change = _DECODE_CHANGE.decode(line)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None
        return change.Keys, change.Metadata, bytes(change.NewImage), bytes(change.OldImage)

except (
    ImportError
):  # pragma: no cover - exercised where msgspec is not installed (a Glue job without its wheels)

    def _decode(line: bytes) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
        record = json.loads(line)
        if (
            not isinstance(record, dict)
            or not set(record) <= _FIELDS
            or not {"Keys", "Metadata"} <= set(record)
        ):
            raise ValueError("unexpected or missing fields")
        if not isinstance(record["Keys"], dict) or not isinstance(record["Metadata"], dict):
            raise ValueError("Keys and Metadata must be objects")

        def raw(name: str) -> bytes:
            value = record.get(name)
            return b"" if value is None and name not in record else json.dumps(value).encode("utf-8")

        return record["Keys"], record["Metadata"], raw("NewImage"), raw("OldImage")


@dataclass(frozen=True)
class Change:
    """One line of an incremental export: the item's key, when it was written, and its images
    (raw JSON bytes of the attribute map; None when absent)."""

    keys: bytes
    micros: int
    new_image: bytes | None
    old_image: bytes | None

    @property
    def is_delete(self) -> bool:
        return self.new_image is None


def _fail(data_file: DataFile, export_arn: str, problem: str) -> ExportDataError:
    return ExportDataError(
        f"data file {data_file.key} of export {export_arn}: {problem}. Nothing is written from a damaged "
        "export; export the table again, or restore to another point"
    )


def parse_change(line: bytes, key_names: tuple[str, ...]) -> Change:
    """One incremental line (stripped, DYNAMODB_JSON or ION); a ValueError says what is wrong."""
    if line.startswith(ION_LINE_PREFIX):
        from dynamodb_dr.restore import ion_lines  # amazon.ion is imported only for ION exports

        line = ion_lines.json_line(line)
    try:
        keys_of, metadata, new_raw, old_raw = _decode(line)
    except ValueError as exc:
        raise ValueError(
            f'is not an incremental export line {{"Metadata":…,"Keys":…,"NewImage":…,"OldImage":…}} ({exc})'
        ) from None
    for name in key_names:
        value = keys_of.get(name)
        if not isinstance(value, dict) or len(value) != 1 or not isinstance(next(iter(value.values())), str):
            raise ValueError(
                f"has no key attribute {name!r} in its Keys (the table's key: {', '.join(key_names)})"
            )
    stamp = metadata.get("WriteTimestampMicros")
    try:
        micros = int(stamp["N"]) if isinstance(stamp, dict) else -1
    except (KeyError, ValueError):
        micros = -1
    if micros < 0:
        raise ValueError("has no Metadata.WriteTimestampMicros number")
    images = []
    for body in (new_raw, old_raw):
        if body and not body.lstrip().startswith(b"{"):
            if body.strip() == b"null":
                body = b""
            else:
                raise ValueError("has an image that is not a map of attributes")
        images.append(body or None)
    keys = json.dumps(keys_of, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Change(keys=keys, micros=micros, new_image=images[0], old_image=images[1])


def raw_lines(path: str, data_file: DataFile, export_arn: str) -> Iterator[bytes]:
    """The non-blank lines of a spooled gzip data file, stripped, in constant memory."""
    from dynamodb_dr.restore.export_reader import _decompressed_chunks  # the one gzip reader

    pending = b""
    number = 0
    for chunk in _decompressed_chunks(path, data_file, export_arn):
        text = pending + chunk if pending else chunk
        lines = text.split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise _fail(
                data_file, export_arn, f"line {number + len(lines) + 1} is longer than {MAX_LINE_BYTES} bytes"
            )
        for line in lines:
            number += 1
            stripped = line.strip()
            if stripped:
                yield stripped
    if pending.strip():
        yield pending.strip()


def iter_changes(
    path: str, data_file: DataFile, export_arn: str, key_names: tuple[str, ...]
) -> Iterator[Change]:
    """Every change of a spooled incremental data file, checked line by line, then its count."""
    count = 0
    for line in raw_lines(path, data_file, export_arn):
        count += 1
        try:
            yield parse_change(line, key_names)
        except ValueError as exc:
            raise _fail(data_file, export_arn, f"line {count} {exc}") from None
    if count != data_file.item_count:
        raise count_mismatch(data_file, export_arn, count)


# --- keys and items, canonical -------------------------------------------------------------------


def _number(text: str) -> str:
    return str(_NUMBERS.normalize(decimal.Decimal(text)))


def _binary(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(value)


def canonical_value(value: Mapping[str, Any]) -> Any:
    """A hashable form of one attribute value, equal for equal DynamoDB values whether read from an
    export (``B`` as base64 text) or from the client (``B`` as bytes); sets compared as sets."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return ("S", raw)
    if kind == "N":
        return ("N", _number(raw))
    if kind == "B":
        return ("B", _binary(raw))
    if kind == "SS":
        return ("SS", frozenset(raw))
    if kind == "NS":
        return ("NS", frozenset(_number(n) for n in raw))
    if kind == "BS":
        return ("BS", frozenset(_binary(b) for b in raw))
    if kind in ("BOOL", "NULL"):
        return (kind, bool(raw))
    if kind == "L":
        return ("L", tuple(canonical_value(v) for v in raw))
    if kind == "M":
        return ("M", frozenset((k, canonical_value(v)) for k, v in raw.items()))
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def canonical_item(item: Mapping[str, Mapping[str, Any]] | None) -> frozenset[Any] | None:
    if item is None:
        return None
    return frozenset((name, canonical_value(value)) for name, value in item.items())


def canonical_key(key: Mapping[str, Mapping[str, Any]], names: tuple[str, ...]) -> str:
    """One string per key (see the module docstring)."""
    parts = []
    for name in names:
        ((kind, value),) = key[name].items()
        if kind == "N":
            value = _number(value)
        elif kind == "B":
            value = base64.b64encode(_binary(value)).decode("ascii")
        parts.append([name, kind, value])
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def to_client(value: Mapping[str, Any]) -> dict[str, Any]:
    """An export's attribute value (binaries as base64 text) in the low-level client's form (bytes)."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": _binary(raw)}
    if kind == "BS":
        return {"BS": [_binary(b) for b in raw]}
    if kind == "L":
        return {"L": [to_client(v) for v in raw]}
    if kind == "M":
        return {"M": {k: to_client(v) for k, v in raw.items()}}
    return {kind: raw}


def image(raw: bytes | None) -> dict[str, Any] | None:
    """An image's raw JSON as attribute values (export form), or None."""
    return None if raw is None else json.loads(raw)


def item_client(raw: bytes | None) -> dict[str, Any] | None:
    parsed = image(raw)
    return None if parsed is None else {k: to_client(v) for k, v in parsed.items()}
