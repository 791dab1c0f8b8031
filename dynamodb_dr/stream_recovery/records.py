"""Stream records: parse the Lambda event's records, and convert between the two shapes of an image.

The Lambda event carries images in the low-level wire JSON (``B``/``BS`` as base64 strings); a
botocore DynamoDB client takes and returns ``B``/``BS`` as bytes. Repairs write images through
botocore, so every image crosses this module, and the conversion must be exact for every type.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dynamodb_dr.stream_recovery.errors import StreamRecordError

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


@dataclass(frozen=True)
class StreamChange:
    """One stream record, parsed. Images and keys are in botocore's shape (``B`` as bytes)."""

    table_name: str
    event_name: str
    sequence_number: str
    approximate_creation_time: float  # epoch seconds
    keys: dict[str, Any]
    old_image: dict[str, Any] | None
    new_image: dict[str, Any] | None
    is_ttl_delete: bool


def table_name_from_stream_arn(arn: str) -> str:
    """``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`` -> ``NAME``."""
    parts = arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    if len(resource) < 4 or resource[0] != "table" or resource[2] != "stream" or not resource[1]:
        raise StreamRecordError(
            f"eventSourceARN {arn!r} is not a DynamoDB stream ARN (…:table/NAME/stream/LABEL)"
        )
    return resource[1]


def is_ttl_delete(record: dict[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return identity.get("type") == "Service" and identity.get("principalId") == TTL_PRINCIPAL


def parse_record(record: dict[str, Any]) -> StreamChange:
    """A Lambda event record (wire JSON) -> ``StreamChange``; ``StreamRecordError`` when malformed."""
    if not isinstance(record, dict):
        raise StreamRecordError(f"a stream record must be a JSON object, not {type(record).__name__}")
    event_name = record.get("eventName")
    if event_name not in EVENT_NAMES:
        raise StreamRecordError(f"eventName {event_name!r} is not one of {', '.join(EVENT_NAMES)}")
    body = record.get("dynamodb")
    if not isinstance(body, dict):
        raise StreamRecordError("the record has no 'dynamodb' object")
    sequence = body.get("SequenceNumber")
    if not isinstance(sequence, str) or not sequence:
        raise StreamRecordError("the record has no dynamodb.SequenceNumber")
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, bool) or not isinstance(created, int | float):
        raise StreamRecordError(f"dynamodb.ApproximateCreationDateTime {created!r} is not epoch seconds")
    keys = body.get("Keys")
    if not isinstance(keys, dict) or not keys:
        raise StreamRecordError("the record has no dynamodb.Keys")
    return StreamChange(
        table_name=table_name_from_stream_arn(str(record.get("eventSourceARN") or "")),
        event_name=event_name,
        sequence_number=sequence,
        approximate_creation_time=float(created),
        keys=wire_to_client(keys, where="dynamodb.Keys"),
        old_image=wire_to_client(body["OldImage"], where="dynamodb.OldImage") if "OldImage" in body else None,
        new_image=wire_to_client(body["NewImage"], where="dynamodb.NewImage") if "NewImage" in body else None,
        is_ttl_delete=is_ttl_delete(record),
    )


def _b64decode(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise StreamRecordError(f"{where}: a B value must be a base64 string, not {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StreamRecordError(f"{where}: {value[:40]!r} is not valid base64 ({exc})") from exc


def _convert_value(value: Any, where: str, *, to_client: bool) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise StreamRecordError(f"{where}: {value!r} is not one DynamoDB attribute value like {{'S': 'x'}}")
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": _b64decode(inner, where) if to_client else base64.b64encode(inner).decode("ascii")}
    if tag == "BS":
        if to_client:
            return {"BS": [_b64decode(v, where) for v in inner]}
        return {"BS": [base64.b64encode(v).decode("ascii") for v in inner]}
    if tag == "M":
        return {"M": _convert_image(inner, f"{where}.M", to_client=to_client)}
    if tag == "L":
        return {"L": [_convert_value(v, f"{where}.L[{i}]", to_client=to_client) for i, v in enumerate(inner)]}
    if tag in ("S", "N", "BOOL", "NULL", "SS", "NS"):
        return {tag: inner}
    raise StreamRecordError(f"{where}: unknown attribute type {tag!r}")


def _convert_image(image: Any, where: str, *, to_client: bool) -> dict[str, Any]:
    if not isinstance(image, dict):
        raise StreamRecordError(f"{where} must be a map of attribute name -> value")
    return {name: _convert_value(v, f"{where}.{name}", to_client=to_client) for name, v in image.items()}


def wire_to_client(image: dict[str, Any], *, where: str = "image") -> dict[str, Any]:
    """Wire JSON (``B`` as base64 text) -> botocore's shape (``B`` as bytes)."""
    return _convert_image(image, where, to_client=True)


def client_to_wire(image: dict[str, Any], *, where: str = "image") -> dict[str, Any]:
    """botocore's shape (``B`` as bytes) -> wire JSON (``B`` as base64 text)."""
    return _convert_image(image, where, to_client=False)


def _canonical(value: Any) -> Any:
    """A JSON-able form in which equal DynamoDB values are equal (sets sorted, bytes as hex)."""
    if isinstance(value, bytes):
        return {"__b": value.hex()}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            c = _canonical(v)
            if k in ("SS", "NS", "BS"):
                c = sorted(c, key=lambda x: json.dumps(x, sort_keys=True))
            out[k] = c
        return out
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def same_image(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two images (botocore shape) hold the same item; set order does not matter."""
    return json.dumps(_canonical(a), sort_keys=True) == json.dumps(_canonical(b), sort_keys=True)


def change_fingerprint(
    keys: dict[str, Any], old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
) -> str:
    """A digest of (keys, image before, image after): the same change always gives the same digest."""
    text = json.dumps([_canonical(keys), _canonical(old_image), _canonical(new_image)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def stream_api_record_to_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as the Streams API's GetRecords returns it (parsed by botocore) -> the record shape a
    Lambda event source mapping delivers (wire JSON images, epoch-second times, eventSourceARN)."""
    body = dict(record["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = created.timestamp()
    for name in ("Keys", "NewImage", "OldImage"):
        if name in body:
            body[name] = client_to_wire(body[name], where=name)
    out = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", ""),
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:
        # The Streams API spells these PrincipalId/Type; the Lambda event principalId/type.
        out["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return out
