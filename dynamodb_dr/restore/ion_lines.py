"""ION export lines turned into the DYNAMODB_JSON lines the rest of the restore reads.

An export written with ``ExportFormat=ION`` has one Ion text value per line, e.g.::

    $ion_1_0 {Item:{Authors:$dynamodb_SS::["Author1","Author2"],Id:103.,PageCount:6d2,Title:"Book 103 Title"}}

Each line becomes ``{"Item":{...}}`` (incremental lines: ``Keys``, ``NewImage``, ``OldImage``,
``Metadata``, each a map of attributes) in DynamoDB's low-level JSON, so the same line checks, item
rules and writer apply to both formats:

* ``decimal`` (and ``int``) → ``N``, its digits and exponent kept (``Decimal``, never a float);
* ``blob`` → ``B`` (base64); ``string`` → ``S``; ``bool`` → ``BOOL``; ``null`` → ``NULL``;
* ``list`` → ``L``; ``struct`` → ``M``; a list annotated ``$dynamodb_SS`` / ``$dynamodb_NS`` /
  ``$dynamodb_BS`` → that set.

Anything else (``float``, ``timestamp``, ``clob``, ``sexp``, another annotation) is no DynamoDB type:
the line is refused with the reason, as a damaged DYNAMODB_JSON line is. Parsing is ``amazon.ion``'s
``simpleion`` (its C extension where it is built); no hand-written Ion parser.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from amazon.ion import simpleion
from amazon.ion.core import IonType

ION_FORMAT = "ION"
ION_LINE_PREFIX = b"$ion_1_0"
SET_ANNOTATIONS = {"$dynamodb_SS": "SS", "$dynamodb_NS": "NS", "$dynamodb_BS": "BS"}
TEXT_BUFFER_LIMIT = 4 * 1024 * 1024
"""The C extension refuses a text value (string, blob) over its ``text_buffer_size_limit``, 4,096
bytes by default (IERR_LOOKAHEAD_OVERFLOW); an item holds up to 400 KB, ~540 KB as a blob's base64,
so the limit is raised to this, or to the line's own length if that is longer."""
C_EXTENSION: bool = bool(getattr(simpleion, "c_ext", False))
"""Whether amazon.ion parses with its C extension (several times faster than pure Python)."""


class IonLineError(ValueError):
    """An ION export line that is not a DynamoDB item (the message says why)."""


def _annotations(value: Any) -> list[str]:
    return [getattr(a, "text", a) for a in getattr(value, "ion_annotations", ()) or ()]


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    return str(int(value))


def attribute(value: Any) -> dict[str, Any]:
    """One Ion value as a DynamoDB attribute value (``{"S": ...}``, binary as base64 text)."""
    kind = getattr(value, "ion_type", None)
    annotations = _annotations(value)
    if annotations:
        set_kind = SET_ANNOTATIONS.get(annotations[0]) if len(annotations) == 1 else None
        if set_kind is None or kind != IonType.LIST:
            raise IonLineError(f"annotation {'::'.join(annotations)} on a {kind} is not a DynamoDB set")
        return {set_kind: [_set_member(set_kind, v) for v in value]}
    if kind is None or value is None or kind == IonType.NULL or getattr(value, "is_null", False):
        return {"NULL": True}
    if kind == IonType.BOOL:
        return {"BOOL": bool(value)}
    if kind in (IonType.DECIMAL, IonType.INT):
        return {"N": _number(value)}
    if kind in (IonType.STRING, IonType.SYMBOL):
        return {"S": str(value)}
    if kind == IonType.BLOB:
        return {"B": base64.b64encode(bytes(value)).decode("ascii")}
    if kind == IonType.LIST:
        return {"L": [attribute(v) for v in value]}
    if kind == IonType.STRUCT:
        return {"M": {str(k): attribute(v) for k, v in value.items()}}
    raise IonLineError(f"an Ion {kind.name.lower()} is not a DynamoDB type")


def _set_member(set_kind: str, value: Any) -> str:
    expected = {
        "SS": (IonType.STRING, IonType.SYMBOL),
        "NS": (IonType.DECIMAL, IonType.INT),
        "BS": (IonType.BLOB,),
    }
    kind = getattr(value, "ion_type", None)
    if kind not in expected[set_kind]:
        raise IonLineError(f"a {set_kind} holds an Ion {getattr(kind, 'name', kind)}")
    if set_kind == "NS":
        return _number(value)
    if set_kind == "BS":
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def json_line(line: bytes) -> bytes:
    """One ION export line (``$ion_1_0 {Item:{...}}``) as the compact DYNAMODB_JSON line."""
    try:
        value = simpleion.loads(
            line.decode("utf-8"), single_value=True, text_buffer_size_limit=max(TEXT_BUFFER_LIMIT, len(line))
        )
    except Exception as exc:  # amazon.ion raises IonException, ValueError or others for bad text
        raise IonLineError(f"is not a valid Ion value ({type(exc).__name__}: {str(exc)[:100]})") from exc
    if getattr(value, "ion_type", None) != IonType.STRUCT:
        raise IonLineError("is not an Ion struct like {Item:{...}}")
    record: dict[str, Any] = {}
    for field, images in value.items():
        if getattr(images, "ion_type", None) != IonType.STRUCT:
            raise IonLineError(f"its field {field} is not a struct of attributes")
        record[str(field)] = {str(name): attribute(v) for name, v in images.items()}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
