"""Items covering every DynamoDB type, as low-level (client) attribute values."""

from __future__ import annotations

import random
from typing import Any

HASH_TABLE_KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}]
HASH_TABLE_ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}]
RANGE_TABLE_KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
RANGE_TABLE_ATTRS = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "B"},
]

NON_UTF8 = bytes([0xFF, 0xFE, 0x00, 0x80, 0xC3, 0x28])


def nested(depth: int) -> dict[str, Any]:
    """A map nested ``depth`` deep, with a value of every kind at each level."""
    inner: dict[str, Any] = {
        "M": {"leaf": {"S": "bottom"}, "bs": {"BS": [b"\x00\xff", b"\x01"]}, "n": {"N": "-0.5"}}
    }
    for level in range(depth - 1, 0, -1):
        inner = {
            "M": {f"level{level}": inner, "l": {"L": [{"N": str(level)}, {"B": NON_UTF8}]}, "e": {"S": ""}}
        }
    return inner


def every_type_item(pk: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": pk},
        "s": {"S": 'héllo ✓ "quoted" \\ back\nline'},
        "empty_s": {"S": ""},
        "empty_b": {"B": b""},
        "n_neg_exp": {"N": "-1.2345678901234567890123456789012345678E-130"},
        "n_tiny": {"N": "0.000000000000000000000000000000000001"},
        "n_38_digits": {"N": "12345678901234567890123456789012345678"},
        "n_big_exp": {"N": "9.9999999999999999999999999999999999999E+125"},
        "b": {"B": NON_UTF8},
        "bool_t": {"BOOL": True},
        "bool_f": {"BOOL": False},
        "null": {"NULL": True},
        "ss": {"SS": ["a", "b", "ü", " "]},
        "ns": {
            "NS": [
                "1",
                "-2.5",
                "0.000000000000000000000000000000000001",
                "12345678901234567890123456789012345678",
            ]
        },
        "bs": {"BS": [NON_UTF8, b"\x00", b"\x80\x81"]},
        "l": {
            "L": [
                {"S": "x"},
                {"N": "1"},
                {"B": NON_UTF8},
                {"NULL": True},
                {"L": []},
                {"M": {}},
                {"SS": ["z"]},
            ]
        },
        "m": nested(5),
        "empty_l": {"L": []},
        "empty_m": {"M": {}},
    }
    item.update(extra)
    return item


def simple_item(pk: str, n: int, **extra: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "n": {"N": str(n)}, "b": {"B": bytes([255 - n % 256, n % 256])}, **extra}


def large_item(pk: str, size: int = 390_000) -> dict[str, Any]:
    """An item near the 400 KB limit (non-UTF-8 binary, so base64 in the export)."""
    blob = random.Random(pk).randbytes(size)  # incompressible, like real binary payloads
    return {"pk": {"S": pk}, "blob": {"B": blob}, "note": {"S": "large"}}


def normalized(item: dict[str, Any]) -> dict[str, Any]:
    """The same item with set members sorted (DynamoDB sets have no order); nothing else changes."""

    def norm(value: dict[str, Any]) -> dict[str, Any]:
        ((kind, raw),) = value.items()
        if kind in ("SS", "NS", "BS"):
            return {kind: sorted(raw)}
        if kind == "L":
            return {"L": [norm(v) for v in raw]}
        if kind == "M":
            return {"M": {k: norm(v) for k, v in raw.items()}}
        return {kind: raw}

    return {name: norm(value) for name, value in item.items()}


def scan_all(dynamodb: Any, table: str) -> dict[tuple, dict[str, Any]]:
    """Every item of ``table`` as the low-level client returns it, keyed by its key values."""
    keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
    items: dict[tuple, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page["Items"]:
            items[tuple(next(iter(item[k].values())) for k in keys)] = normalized(item)
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
