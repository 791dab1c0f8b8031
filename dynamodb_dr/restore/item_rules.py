"""What DynamoDB would refuse, found before anything is written: each export line checked against the
target table's keys and indexes and DynamoDB's item size rule.

A backup can pass its MD5 and item count and still hold lines DynamoDB refuses: a line that is not
valid JSON inside its ``{"Item":{...}}`` frame, an item without the table's key (or with a key of
another type, or an empty one), an item over 400 KB, an item whose attribute is a key of one of the
target's indexes with another type than the index's. Written with ``--clear_existing_data``, such a
table used to end cleared and half restored; now the validation stage fails the table, naming the
data file, the line and the reason, and nothing is written.

The fast path: ``msgspec`` decodes the frame into its top-level attributes, keeping each value as
raw bytes while checking the whole line's JSON syntax (about 2 µs per 1 KB line; ``json.loads`` takes
14), and only the key and index attributes are decoded. Without ``msgspec`` the standard library's
``json`` parses the line. A line shorter than 400 KB cannot hold an item over 400 KB (its JSON is
never smaller than DynamoDB's size of the item), so only longer lines are sized, by DynamoDB's rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
"""DynamoDB's item size limit (attribute names and values, by its own size rule)."""

try:  # the fast path
    import msgspec

    class _Frame(msgspec.Struct, forbid_unknown_fields=True):
        Item: dict[str, msgspec.Raw]

    _FRAME = msgspec.json.Decoder(_Frame)
    _VALUE = msgspec.json.Decoder(dict[str, Any])
    _DecodeError: type[Exception] = msgspec.DecodeError
    PARSER = "msgspec"
except ImportError:  # pragma: no cover - exercised where msgspec is not installed
    msgspec = None  # type: ignore[assignment]
    _DecodeError = ValueError
    PARSER = "json"


@dataclass(frozen=True)
class ItemRules:
    """The attributes DynamoDB checks on every write to one table."""

    keys: tuple[tuple[str, str], ...]
    """(name, type) of the table's key attributes: always present, of this type, not empty."""
    index_keys: tuple[tuple[str, str, str], ...] = ()
    """(index, name, type) of the indexes' key attributes: when present, of this type, not empty."""

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> ItemRules:
        """From a ``DescribeTable`` ``Table`` (or a recorded table definition of the same shape)."""
        types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        keys = tuple((k["AttributeName"], types[k["AttributeName"]]) for k in table["KeySchema"])
        index_keys: list[tuple[str, str, str]] = []
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for index in table.get(kind) or []:
                for key in index["KeySchema"]:
                    name = key["AttributeName"]
                    if name in types and (name, types[name]) not in keys:
                        index_keys.append((index["IndexName"], name, types[name]))
        return cls(keys=keys, index_keys=tuple(index_keys))

    def describe(self) -> str:
        return ", ".join(f"{n}:{t}" for n, t in self.keys)


def _key_problem(name: str, wanted: str, value: Any, what: str) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return f"its {what} attribute {name!r} is not a DynamoDB attribute value ({_short(value)})"
    ((kind, raw),) = value.items()
    if kind != wanted:
        return f"its {what} attribute {name!r} is of type {kind}, the table's {what} needs {wanted}"
    if not isinstance(raw, str):
        return f"its {what} attribute {name!r} has a {kind} value that is not a string ({_short(raw)})"
    if raw == "":
        return f"its {what} attribute {name!r} is an empty {kind}, which DynamoDB refuses for a key"
    if kind == "N":
        try:
            Decimal(raw)
        except InvalidOperation:
            return f"its {what} attribute {name!r} is not a number ({raw[:40]!r})"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, bytes) else value.decode("utf-8", "replace")
    return text if len(text) <= 60 else text[:57] + "..."


def line_problem(line: bytes, rules: ItemRules) -> str | None:
    """Why DynamoDB would refuse the item on ``line`` (None: it would not, as far as this checks)."""
    if msgspec is not None:
        try:
            attributes: Mapping[str, Any] = _FRAME.decode(line).Item
        except _DecodeError as exc:
            return f'is not a valid {{"Item":{{...}}}} JSON object ({exc})'

        def value_of(name: str) -> Any:
            return _VALUE.decode(attributes[name])
    else:
        try:
            whole = json.loads(line)
        except ValueError as exc:
            return f'is not a valid {{"Item":{{...}}}} JSON object ({exc})'
        if not isinstance(whole, dict) or set(whole) != {"Item"} or not isinstance(whole["Item"], dict):
            return 'is not a valid {"Item":{...}} JSON object'
        attributes = whole["Item"]

        def value_of(name: str) -> Any:
            return attributes[name]

    try:
        for name, wanted in rules.keys:
            if name not in attributes:
                return f"has no key attribute {name!r} (the table's key is {rules.describe()})"
            problem = _key_problem(name, wanted, value_of(name), "key")
            if problem:
                return problem
        for index, name, wanted in rules.index_keys:
            if name in attributes:
                problem = _key_problem(name, wanted, value_of(name), f"index {index} key")
                if problem:
                    return problem
    except _DecodeError as exc:  # pragma: no cover - the frame decode checked the syntax already
        return f"is not valid JSON ({exc})"
    if len(line) > MAX_ITEM_BYTES:
        size = item_size(json.loads(line)["Item"])
        if size > MAX_ITEM_BYTES:
            return f"holds an item of {size:,} bytes by DynamoDB's size rule; the limit is {MAX_ITEM_BYTES:,}"
    return None


# --- DynamoDB's item size rule ----------------------------------------------------------------------


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros do not count)."""
    digits = text.lstrip("+-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value by DynamoDB's rule (names not included)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return _number_size(raw)
    if kind == "B":
        return len(raw) * 3 // 4 - raw.count("=")  # base64 text -> bytes
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) * 3 // 4 - b.count("=") for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size by DynamoDB's rule: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def key_values(line: bytes, names: tuple[str, ...]) -> dict[str, Any]:
    """The key attributes of the item on a (validated) export line: ``{name: {type: value}}``."""
    if msgspec is not None:
        attributes = _FRAME.decode(line).Item
        return {name: _VALUE.decode(attributes[name]) for name in names}
    item = json.loads(line)["Item"]
    return {name: item[name] for name in names}


def is_item_object(line: bytes) -> bool:
    """The line is one valid JSON ``{"Item":{...}}`` object, whatever its whitespace."""
    if msgspec is not None:
        try:
            _FRAME.decode(line)
        except _DecodeError:
            return False
        return True
    try:
        whole = json.loads(line)
    except ValueError:
        return False
    return isinstance(whole, dict) and set(whole) == {"Item"} and isinstance(whole["Item"], dict)
