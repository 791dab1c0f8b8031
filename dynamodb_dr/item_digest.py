"""One canonical form of a DynamoDB item and of its key, for every comparison of a backup with a table.

Used by ``--verify`` (``restore.verify``), ``--clear_existing_data`` (``restore.extras``) and
``dynamodb-dr diff`` alike, so the three agree on what "the same item" means. DynamoDB's own rules:

- a number is its value, not its text: ``N "1.0"``, ``"1"`` and ``"1E0"`` are one number (DynamoDB
  normalizes numbers when it stores them), also inside ``NS``, ``L`` and ``M``;
- the type is part of the value: ``S "1"`` and ``N "1"`` differ, as do ``SS ["a"]`` and ``L [S "a"]``;
- sets are unordered (``SS``/``NS``/``BS`` compare as sets), lists ordered, map keys unordered;
- binary is its bytes, whether read from an export line (base64 text) or a Scan (``bytes``).

The item's digest is SHA-1 over the canonical JSON: 20 bytes per item is what a comparison keeps
(as hex, 40 characters), never the item.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal, InvalidOperation
from typing import Any

_EXACT = Context(prec=100)
"""DynamoDB numbers have up to 38 significant digits; ``Decimal``'s default context keeps 28 and
would round ``normalize()`` (two different 38-digit numbers would compare equal)."""


def canonical_number(text: str) -> str:
    """``"1.50"`` -> ``"1.5"``, ``"100"`` -> ``"1E+2"``, ``"-0"`` -> ``"0"``: one text per value."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text  # not a number DynamoDB would store; compared as written
    return "0" if number.is_zero() else str(number.normalize(_EXACT))


def _bytes_text(value: bytes | bytearray | str) -> str:
    raw = bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(value)
    return base64.b64encode(raw).decode("ascii")


def canonical_value(value: Mapping[str, Any]) -> Any:
    """One attribute value (low-level form, from a Scan or an export line) in canonical form."""
    ((kind, inner),) = value.items()
    if kind == "N":
        return {"N": canonical_number(inner)}
    if kind == "B":
        return {"B": _bytes_text(inner)}
    if kind == "SS":
        return {"SS": sorted(inner)}
    if kind == "NS":
        return {"NS": sorted({canonical_number(v) for v in inner})}
    if kind == "BS":
        return {"BS": sorted(_bytes_text(v) for v in inner)}
    if kind == "L":
        return {"L": [canonical_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: canonical_value(v) for k, v in inner.items()}}
    return {kind: inner}


def item_digest(item: Mapping[str, Mapping[str, Any]]) -> str:
    """SHA-1 (hex) of the item's canonical JSON: equal for equal items, whatever their source."""
    canonical = {name: canonical_value(value) for name, value in item.items()}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def canonical_key(key: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> str:
    """One string per key: the key attributes in key-schema order as ``[[name, type, value], ...]``
    JSON, numbers normalized, binary as base64 of its bytes."""
    parts = []
    for name in names:
        ((kind, value),) = key[name].items()
        if kind == "N":
            value = canonical_number(value)
        elif kind == "B":
            value = _bytes_text(value)
        parts.append([name, kind, value])
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def readable_key(canonical: str) -> str:
    """``pk=u1, sk=AAE=`` for a sample key in a report (binary as base64)."""
    return ", ".join(f"{name}={value}" for name, _, value in json.loads(canonical))
