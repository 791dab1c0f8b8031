"""The local endpoint serves projected Scans of items with extreme numbers, as AWS does."""

from __future__ import annotations

from dynamodb_dr.clients import make_client

TINY = "-1.2345678901234567890123456789012345678E-130"


def test_projected_scan_keeps_numbers_exact(aws):
    ddb = make_client("dynamodb")
    ddb.create_table(
        TableName="projection-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {
        "pk": {"S": "a"},
        "n": {"N": TINY},
        "ns": {"NS": [TINY, "1.50"]},
        "m": {"M": {"x": {"N": "1.50"}}},
    }
    ddb.put_item(TableName="projection-table", Item=item)

    keys_only = ddb.scan(TableName="projection-table", ProjectionExpression="pk", Segment=0, TotalSegments=1)
    assert keys_only["Items"] == [{"pk": {"S": "a"}}]
    projected = ddb.scan(TableName="projection-table", ProjectionExpression="n, ns, m.x")["Items"][0]
    assert projected["n"] == {"N": TINY}
    assert sorted(projected["ns"]["NS"]) == sorted([TINY, "1.50"])
    assert projected["m"] == {"M": {"x": {"N": "1.50"}}}


def test_writes_dynamodb_refuses_are_refused_by_the_local_endpoint_too(aws):
    """GSI/LSI key type mismatches, empty index keys and empty sets: moto accepts them, DynamoDB
    does not, and the restore must be tested against DynamoDB's behaviour."""
    import pytest
    from botocore.exceptions import ClientError

    ddb = make_client("dynamodb")
    ddb.create_table(
        TableName="refusals",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    refused = {
        "Type mismatch for Index Key g Expected: N Actual: S IndexName: by-g": {
            "pk": {"S": "a"},
            "g": {"S": "x"},
        },
        "An string set  may not be empty": {"pk": {"S": "b"}, "s": {"SS": []}},
        "An number set  may not be empty": {"pk": {"S": "c"}, "m": {"M": {"l": {"L": [{"NS": []}]}}}},
    }
    for message, item in refused.items():
        with pytest.raises(ClientError, match=message):
            ddb.put_item(TableName="refusals", Item=item)
        with pytest.raises(ClientError, match=message):
            ddb.batch_write_item(RequestItems={"refusals": [{"PutRequest": {"Item": item}}]})
    ddb.put_item(TableName="refusals", Item={"pk": {"S": "ok"}, "g": {"N": "1"}, "s": {"SS": ["x"]}})
    assert [i["pk"]["S"] for i in ddb.scan(TableName="refusals")["Items"]] == ["ok"]
