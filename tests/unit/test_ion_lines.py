"""ION export lines → DYNAMODB_JSON lines: every type, exactly, and the refusals.

The ION lines are written by the local endpoint's writer (``local_aws.ion_export``, amazon.ion's text
writer) from DYNAMODB_JSON lines of the items in ``tests.support.items``, and by hand as AWS's
documentation shows them."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from dynamodb_dr.restore.ion_lines import IonLineError, json_line
from local_aws.ion_export import ion_line
from tests.support.items import NON_UTF8, every_type_item, large_item, nested, simple_item


def wire(value: dict[str, Any]) -> dict[str, Any]:
    """A low-level attribute value as an export line holds it (binary as base64 text)."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(raw).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode() for v in raw]}
    if kind == "L":
        return {"L": [wire(v) for v in raw]}
    if kind == "M":
        return {"M": {k: wire(v) for k, v in raw.items()}}
    return {kind: raw}


def exact(value: Any) -> Any:
    """Numbers as (sign, digits, exponent): the same digits and exponent, whatever the notation
    ("0.000001" and "1E-6" are one DynamoDB number; "1.50" and "1.5" are not the same digits)."""
    if isinstance(value, dict):
        if set(value) == {"N"}:
            return {"N": Decimal(value["N"]).as_tuple()}
        if set(value) == {"NS"}:
            return {"NS": [Decimal(n).as_tuple() for n in value["NS"]]}
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


@pytest.mark.parametrize(
    "item",
    [
        every_type_item("u1"),
        every_type_item(
            "u2", deep=nested(20), n_trailing_zeros={"N": "1.50"}, n_int={"N": "-0"}, big_s={"S": "é" * 5000}
        ),
        large_item("big"),
        simple_item("s", 7),
        {"pk": {"B": NON_UTF8}, "only_null": {"NULL": True}},
    ],
    ids=["every-type", "deep-and-zeros", "large", "simple", "binary-key"],
)
def test_every_type_round_trips_exactly(item):
    json_text = json.dumps(
        {"Item": {k: wire(v) for k, v in item.items()}}, separators=(",", ":"), ensure_ascii=False
    )
    ion = ion_line(json_text.encode())
    assert ion.startswith(b"$ion_1_0 {Item:{") and ion.count(b"\n") == 1

    back = json.loads(json_line(ion.strip()))

    assert exact(back) == exact(json.loads(json_text))
    assert list(back["Item"]) == list(item)  # attribute order kept too


def test_the_line_aws_documents():
    line = b'$ion_1_0 {Item:{Authors:$dynamodb_SS::["Author1","Author2"],Id:103.,PageCount:6d2,Title:"Book 103 Title"}}'
    assert json.loads(json_line(line)) == {
        "Item": {
            "Authors": {"SS": ["Author1", "Author2"]},
            "Id": {"N": "103"},
            "PageCount": {"N": "6E+2"},
            "Title": {"S": "Book 103 Title"},
        }
    }


def test_sets_blobs_nulls_and_an_incremental_line():
    line = (
        b'$ion_1_0 {Metadata:{WriteTimestampMicros:1700000000123456.},Keys:{pk:"a"},'
        b'NewImage:{pk:"a",ns:$dynamodb_NS::[1.,2.50],bs:$dynamodb_BS::[{{AP8=}}],b:{{}},n:null,t:true,'
        b'l:[1.5e0, "x"]},OldImage:{pk:"a",m:{k:false}}}'
    )
    with pytest.raises(IonLineError, match="float"):
        json_line(line)  # 1.5e0 is an Ion float: no DynamoDB type
    converted = json.loads(json_line(line.replace(b"1.5e0", b"1.5")))
    assert converted == {
        "Metadata": {"WriteTimestampMicros": {"N": "1700000000123456"}},
        "Keys": {"pk": {"S": "a"}},
        "NewImage": {
            "pk": {"S": "a"},
            "ns": {"NS": ["1", "2.50"]},
            "bs": {"BS": ["AP8="]},
            "b": {"B": ""},
            "n": {"NULL": True},
            "t": {"BOOL": True},
            "l": {"L": [{"N": "1.5"}, {"S": "x"}]},
        },
        "OldImage": {"pk": {"S": "a"}, "m": {"M": {"k": {"BOOL": False}}}},
    }


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"$ion_1_0 {Item:{t:2026-01-15T00:00:00Z}}", "timestamp"),
        (b'$ion_1_0 {Item:{c:{{"text"}}}}', "clob"),
        (b"$ion_1_0 {Item:{f:$dynamodb_NS::[1e0]}}", "NS holds an Ion float"),
        (b'$ion_1_0 {Item:{s:$dynamodb_XS::["a"]}}', "not a DynamoDB set"),
        (b'$ion_1_0 {Item:{s:$dynamodb_NS::["a"]}}', "NS holds"),
        (b"$ion_1_0 [1, 2]", "not an Ion struct"),
        (b"$ion_1_0 {Item:5}", "not a struct of attributes"),
        (b"$ion_1_0 {Item:{a:", "not a valid Ion value"),
    ],
)
def test_what_is_no_dynamodb_item_is_refused_with_the_reason(line, reason):
    with pytest.raises(IonLineError, match=reason):
        json_line(line)
