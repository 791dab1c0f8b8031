"""What DynamoDB would refuse, found line by line, with the fast path (msgspec) and without it."""

from __future__ import annotations

import json

import pytest

from dynamodb_dr.restore import item_rules
from dynamodb_dr.restore.item_rules import MAX_ITEM_BYTES, ItemRules, item_size, key_values, line_problem

TABLE = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
        {"AttributeName": "email", "AttributeType": "S"},
        {"AttributeName": "rank", "AttributeType": "N"},
    ],
    "GlobalSecondaryIndexes": [
        {"IndexName": "by-email", "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}]},
        {
            "IndexName": "by-rank",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "rank", "KeyType": "RANGE"},
            ],
        },
    ],
}
RULES = ItemRules.from_table(TABLE)


@pytest.fixture(params=["msgspec", "json"])
def parser(request, monkeypatch):
    if request.param == "json":
        monkeypatch.setattr(item_rules, "msgspec", None)
    return request.param


def test_rules_come_from_the_table_and_its_indexes():
    assert RULES.keys == (("pk", "S"), ("sk", "N"))
    assert RULES.index_keys == (("by-email", "email", "S"), ("by-rank", "rank", "N"))


@pytest.mark.parametrize(
    "line",
    [
        b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"}}}',
        b'{"Item":{"sk":{"N":"-1.5E-130"},"pk":{"S":"\\u00e9"},"email":{"S":"x@y"},"rank":{"N":"3"}}}',
        b'{"Item" : { "pk" : {"S":"a"}, "sk": {"N":"1"} } }',  # whitespace: valid JSON
        b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"m":{"M":{"pk":{"N":"1"}}}}}',  # a nested pk is not the key
    ],
)
def test_items_dynamodb_accepts_pass(parser, line):
    assert line_problem(line, RULES) is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":"\\q"}}}',
            'is not a valid {"Item":{...}} JSON object',
        ),
        (b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"}}', 'is not a valid {"Item":{...}} JSON object'),
        (b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"}},"Extra":1}', 'is not a valid {"Item":{...}} JSON object'),
        (b'{"Item":{"sk":{"N":"1"}}}', "has no key attribute 'pk' (the table's key is pk:S, sk:N)"),
        (b'{"Item":{"pk":{"S":"a"},"m":{"M":{"sk":{"N":"1"}}}}}', "has no key attribute 'sk'"),
        (
            b'{"Item":{"pk":{"B":"AA=="},"sk":{"N":"1"}}}',
            "key attribute 'pk' is of type B, the table's key needs S",
        ),
        (
            b'{"Item":{"pk":{"S":""},"sk":{"N":"1"}}}',
            "key attribute 'pk' is an empty S, which DynamoDB refuses",
        ),
        (b'{"Item":{"pk":{"S":"a"},"sk":{"N":"one"}}}', "key attribute 'sk' is not a number ('one')"),
        (
            b'{"Item":{"pk":{"S":"a","N":"1"},"sk":{"N":"1"}}}',
            "key attribute 'pk' is not a DynamoDB attribute value",
        ),
        (
            b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"email":{"N":"5"}}}',
            "its index by-email key attribute 'email' is of type N, the table's index by-email key needs S",
        ),
        (
            b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"email":{"S":""}}}',
            "its index by-email key attribute 'email' is an empty S",
        ),
    ],
)
def test_items_dynamodb_refuses_are_named(parser, line, problem):
    found = line_problem(line, RULES)
    assert found is not None and problem in found, found


def test_only_lines_over_400_kb_are_sized_and_the_rule_is_dynamodbs(parser):
    # Just under the limit by DynamoDB's rule, though its JSON line is longer than 400 KB.
    body = "x" * (MAX_ITEM_BYTES - len("pk") - 1 - len("sk") - 2 - len("blob"))
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "blob": {"S": body}}
    line = json.dumps({"Item": item}).encode()
    assert len(line) > MAX_ITEM_BYTES and item_size(item) == MAX_ITEM_BYTES
    assert line_problem(line, RULES) is None
    item["blob"]["S"] += "y"
    found = line_problem(json.dumps({"Item": item}).encode(), RULES)
    assert (
        found
        == f"holds an item of {MAX_ITEM_BYTES + 1:,} bytes by DynamoDB's size rule; the limit is 409,600"
    )


def test_item_size_follows_dynamodbs_rule():
    assert item_size({"a": {"S": "héllo"}}) == 1 + 6
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits -> 3 bytes + 1
    assert item_size({"n": {"N": "-0.00100"}}) == 1 + 2  # leading/trailing zeros trimmed
    assert item_size({"b": {"B": "AAEC"}}) == 1 + 3
    assert item_size({"t": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"ss": {"SS": ["a", "bc"]}, "bs": {"BS": ["AA==", "AAE="]}}) == 2 + 3 + 2 + 3


def test_key_values_read_the_key_attributes(parser):
    line = b'{"Item":{"x":{"M":{"pk":{"S":"inner"}}},"pk":{"S":"a"},"sk":{"N":"1.50"}}}'
    assert key_values(line, ("pk", "sk")) == {"pk": {"S": "a"}, "sk": {"N": "1.50"}}
