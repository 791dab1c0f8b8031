"""Items written as AWS writes them in an ION export: ``$ion_1_0 {Item:{...}}``, one a line.

The local endpoint's exports with ``ExportFormat=ION`` go through here: N → decimal (exact digits),
B → blob, SS/NS/BS → lists annotated ``$dynamodb_SS`` / ``$dynamodb_NS`` / ``$dynamodb_BS``, L → list,
M → struct, NULL → null, BOOL → bool, S → string. Written with ``amazon.ion``'s text writer.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from amazon.ion import simpleion
from amazon.ion.core import IonType
from amazon.ion.simple_types import IonPyBytes, IonPyList, IonPyNull


def ion_value(attribute: dict[str, Any]) -> Any:
    """A DynamoDB JSON attribute value (binary as base64 text) as the Ion value AWS exports."""
    ((kind, raw),) = attribute.items()
    if kind == "S":
        return raw
    if kind == "N":
        return Decimal(raw)
    if kind == "B":
        return IonPyBytes.from_value(IonType.BLOB, base64.b64decode(raw))
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return IonPyNull.from_value(IonType.NULL, None)
    if kind == "L":
        return [ion_value(v) for v in raw]
    if kind == "M":
        return {k: ion_value(v) for k, v in raw.items()}
    members = {
        "SS": lambda v: v,
        "NS": Decimal,
        "BS": lambda v: IonPyBytes.from_value(IonType.BLOB, base64.b64decode(v)),
    }[kind]
    return IonPyList.from_value(IonType.LIST, [members(v) for v in raw], annotations=(f"$dynamodb_{kind}",))


def ion_line(json_line: bytes) -> bytes:
    """A DYNAMODB_JSON export line (``{"Item":{...}}``, or an incremental one) as its ION line."""
    record = json.loads(json_line)
    value = {field: {name: ion_value(v) for name, v in attrs.items()} for field, attrs in record.items()}
    text = simpleion.dumps(value, binary=False)
    assert isinstance(text, str)
    return text.encode("utf-8") + b"\n"
