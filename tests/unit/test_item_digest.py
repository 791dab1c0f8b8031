"""The one item digest of the toolkit (verify, diff, --clear_existing_data): DynamoDB's equality."""

from __future__ import annotations

import base64

from dynamodb_dr.item_digest import canonical_key, canonical_number, item_digest
from tests.support.items import NON_UTF8


def test_item_digest_follows_dynamodb_equality():
    base = {"pk": {"S": "a"}, "n": {"N": "1"}, "ns": {"NS": ["1", "2.50"]}, "b": {"B": NON_UTF8}}
    same = [
        {**base, "n": {"N": "1.0"}},  # DynamoDB normalizes numbers
        {**base, "n": {"N": "1E0"}},
        {**base, "ns": {"NS": ["2.5", "1"]}},  # sets are unordered, their numbers normalized
        {**base, "b": {"B": base64.b64encode(NON_UTF8).decode()}},  # export text = bytes
    ]
    different = [
        {**base, "n": {"S": "1"}},  # S "1" is not N "1"
        {**base, "n": {"N": "1.01"}},
        {**base, "ns": {"SS": ["1", "2.50"]}},
        {**base, "b": {"B": NON_UTF8[:-1]}},
        {**base, "extra": {"NULL": True}},
        {**base, "l": {"L": [{"N": "1"}, {"N": "2"}]}},
    ]
    assert all(item_digest(item) == item_digest(base) for item in same)
    assert len({item_digest(item) for item in different} | {item_digest(base)}) == len(different) + 1
    assert item_digest({"l": {"L": [{"N": "1"}, {"N": "2"}]}}) != item_digest(
        {"l": {"L": [{"N": "2"}, {"N": "1"}]}}
    )
    assert canonical_key({"pk": {"N": "1.50"}}, ["pk"]) == canonical_key({"pk": {"N": "1.5"}}, ["pk"])
    assert canonical_key({"pk": {"S": "1"}}, ["pk"]) != canonical_key({"pk": {"N": "1"}}, ["pk"])


def test_numbers_keep_all_38_digits():
    # Decimal's default context (28 digits) would round both to the same value.
    assert canonical_number("12345678901234567890123456789012345678") != canonical_number(
        "12345678901234567890123456789012345677"
    )
    assert canonical_number("-0") == canonical_number("0.000") == "0"
    assert (
        canonical_number("1.2345678901234567890123456789012345678E-130")
        == "1.2345678901234567890123456789012345678E-130"
    )
