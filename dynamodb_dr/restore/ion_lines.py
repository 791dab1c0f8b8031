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


_BARE = (
    simpleion.IonPyValueModel.MAY_BE_BARE
    | simpleion.IonPyValueModel.SYMBOL_AS_TEXT
    | simpleion.IonPyValueModel.STRUCT_AS_STD_DICT
)
"""Plain Python values (str, Decimal, bytes, list, dict, None, bool) wherever a value carries no
annotation: ~4x faster to parse than IonPy objects; annotated values (the sets) stay IonPy."""
_NAMES = {str: "string", Decimal: "decimal", int: "int", float: "float", bytes: "blob", bool: "bool"}


def _kind_name(value: Any) -> str:
    ion_type = getattr(value, "ion_type", None)
    if ion_type is not None:
        return str(ion_type.name).lower()
    return _NAMES.get(type(value), type(value).__name__.lower())


def _member(set_kind: str, value: Any) -> str:
    """One member of an annotated set (bare or IonPy), as its DynamoDB text."""
    if set_kind == "SS" and isinstance(value, str):
        return str(value)
    if set_kind == "NS" and isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value) if isinstance(value, Decimal) else str(int(value))
    if set_kind == "BS" and isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise IonLineError(f"a {set_kind} holds an Ion {_kind_name(value)}")


def attribute(value: Any) -> dict[str, Any]:
    """One Ion value as a DynamoDB attribute value (``{"S": ...}``, binary as base64 text)."""
    annotations = getattr(value, "ion_annotations", None)
    if annotations:
        names = [getattr(a, "text", a) for a in annotations]
        set_kind = SET_ANNOTATIONS.get(names[0]) if len(names) == 1 else None
        if set_kind is None or not isinstance(value, list):
            raise IonLineError(
                f"annotation {'::'.join(map(str, names))} on a {_kind_name(value)} is not a DynamoDB set"
            )
        return {set_kind: [_member(set_kind, v) for v in value]}
    ion_type = getattr(value, "ion_type", None)
    if value is None or ion_type == IonType.NULL or getattr(value, "is_null", False):
        return {"NULL": True}
    # Bare values first (what the parser gives), then IonPy ones (a caller's own parse).
    if isinstance(value, bool) or ion_type == IonType.BOOL:
        return {"BOOL": bool(value)}
    if ion_type in (None, IonType.DECIMAL, IonType.INT) and isinstance(value, Decimal | int):
        return {"N": str(value) if isinstance(value, Decimal) else str(int(value))}
    if ion_type in (None, IonType.STRING, IonType.SYMBOL) and isinstance(value, str):
        return {"S": str(value)}
    if ion_type in (None, IonType.BLOB) and isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode("ascii")}
    if ion_type in (None, IonType.LIST) and isinstance(value, list):
        return {"L": [attribute(v) for v in value]}
    if ion_type in (None, IonType.STRUCT) and isinstance(value, dict):
        return {"M": {str(k): attribute(v) for k, v in value.items()}}
    raise IonLineError(f"an Ion {_kind_name(value)} is not a DynamoDB type")


def json_line(line: bytes) -> bytes:
    """One ION export line (``$ion_1_0 {Item:{...}}``) as the compact DYNAMODB_JSON line."""
    try:
        value = simpleion.loads(
            line.decode("utf-8"),
            single_value=True,
            text_buffer_size_limit=max(TEXT_BUFFER_LIMIT, len(line)),
            value_model=_BARE,
        )
    except Exception as exc:  # amazon.ion raises IonException, ValueError or others for bad text
        raise IonLineError(f"is not a valid Ion value ({type(exc).__name__}: {str(exc)[:100]})") from exc
    if not isinstance(value, dict):
        raise IonLineError("is not an Ion struct like {Item:{...}}")
    record: dict[str, Any] = {}
    for field, images in value.items():
        if not isinstance(images, dict):
            raise IonLineError(f"its field {field} is not a struct of attributes")
        record[str(field)] = {str(name): attribute(v) for name, v in images.items()}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
