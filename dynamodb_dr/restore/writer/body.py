"""BatchWriteItem request bodies, built from export lines by byte concatenation."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

MAX_BATCH_ITEMS = 25


@functools.lru_cache(maxsize=64)
def _json_name(table_name: str) -> bytes:
    return json.dumps(table_name).encode()


def batch_body(table_name: str, lines: Sequence[bytes]) -> bytes:
    """The BatchWriteItem request body for up to 25 export lines, by byte concatenation."""
    if not 0 < len(lines) <= MAX_BATCH_ITEMS:
        raise ValueError(f"a BatchWriteItem call takes 1 to {MAX_BATCH_ITEMS} items, got {len(lines)}")
    return b'{"RequestItems":{%s:[{"PutRequest":%s}]}}' % (
        _json_name(table_name),
        b'},{"PutRequest":'.join(lines),
    )


def requests_body(table_name: str, requests: list[dict[str, Any]]) -> bytes:
    """The body re-sending ``UnprocessedItems`` requests exactly as DynamoDB returned them (wire JSON)."""
    return json.dumps({"RequestItems": {table_name: requests}}, separators=(",", ":")).encode()
