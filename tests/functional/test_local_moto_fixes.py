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
