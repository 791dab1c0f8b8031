"""Varied DynamoDB items for the demo: every attribute type, in the low-level wire form."""

from __future__ import annotations

import random
from typing import Any

DEMO_TABLES: dict[str, dict[str, Any]] = {
    # name: CreateTable arguments (the seed's naming: {service}_{environment}_{kind}_global)
    "mfa-api_demo_u2f_global": {
        "KeySchema": [
            {"AttributeName": "user_id", "KeyType": "HASH"},
            {"AttributeName": "credential_id", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "credential_id", "AttributeType": "B"},
        ],
    },
    "mfa-api_demo_totp_global": {
        "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "user_id", "AttributeType": "S"}],
    },
    "mfa-api_demo_api-key_global": {
        "KeySchema": [{"AttributeName": "api_key_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "api_key_id", "AttributeType": "N"},
            {"AttributeName": "owner", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-owner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    },
}


def _nested(depth: int, rng: random.Random) -> dict[str, Any]:
    if depth == 0:
        return {"S": f"leaf-{rng.randrange(10**6)}"}
    return {"M": {f"level{depth}": _nested(depth - 1, rng), "n": {"N": str(rng.randrange(-999, 999))}}}


def common_attributes(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "label": {"S": f"item {i} — ünïcødé ✓"},
        "empty": {"S": ""},
        "counter": {"N": str(rng.randrange(0, 10**12))},
        "precise": {
            "N": "-1.2345678901234567890123456789012345678E-130"
            if i % 7 == 0
            else f"{i}.{rng.randrange(10**9):09d}"
        },
        "secret": {"B": bytes([0xFF, 0xFE, 0x00, i % 256]) + rng.randbytes(12)},
        "enabled": {"BOOL": i % 2 == 0},
        "deleted_at": {"NULL": True},
        "tags": {"SS": sorted({f"tag{rng.randrange(20)}" for _ in range(3)})},
        "scores": {"NS": sorted({str(rng.randrange(1000)) for _ in range(3)})},
        "blobs": {"BS": [bytes([0x80 + k, i % 256]) for k in range(2)]},
        "history": {
            "L": [{"S": "created"}, {"N": str(i)}, {"BOOL": False}, {"NULL": True}, {"B": b"\xc3\x28"}]
        },
        "profile": _nested(5, rng),
    }


def demo_items(table: str, count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(f"{table}-{seed}")
    items = []
    for i in range(count):
        item = common_attributes(i, rng)
        if table.endswith("u2f_global"):
            item["user_id"] = {"S": f"user-{i // 3:05d}"}
            item["credential_id"] = {"B": i.to_bytes(4, "big") + b"\xff"}
        elif table.endswith("totp_global"):
            item["user_id"] = {"S": f"user-{i:05d}"}
        else:
            item["api_key_id"] = {"N": str(100000 + i)}
            item["owner"] = {"S": f"team-{i % 17}"}
        items.append(item)
    return items
