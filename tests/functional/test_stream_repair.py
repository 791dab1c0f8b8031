"""Item repair of an unwanted INSERT (a conditional DeleteItem), against the real local endpoint.

Detection never calls INSERTs incidents; this path is used when an incident's record is an INSERT,
so it is driven here directly with real stream records."""

from __future__ import annotations

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery.records import parse_record
from dynamodb_dr.stream_recovery.repair import repair_item
from dynamodb_dr.stream_recovery.state import IncidentStore, create_state_table
from dynamodb_dr.stream_recovery.stream_reader import StreamReader

TABLE = "inserts-table"
JUNK = {
    "pk": {"S": "junk#1"},
    "blob": {"B": b"\x00\xff"},
    "nested": {"M": {"l": {"L": [{"N": "1.5"}, {"NULL": True}, {"BS": [b"\x01"]}]}}},
    "tags": {"SS": ["b", "a"]},
    "flag": {"BOOL": True},
}


def _setup():
    ddb = make_client("dynamodb")
    create_state_table(ddb, "repair-state")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    reader = StreamReader(
        make_client("dynamodbstreams"), ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    )
    return ddb, reader, IncidentStore(ddb, "repair-state", 60)


def test_unwanted_insert_is_deleted_only_while_unchanged(aws):
    ddb, reader, store = _setup()
    ddb.put_item(TableName=TABLE, Item=JUNK)
    ddb.put_item(TableName=TABLE, Item={**JUNK, "pk": {"S": "junk#2"}})
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "junk#2"}},
        UpdateExpression="SET reviewed = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    inserts = [parse_record(r) for r in reader.read_new_event()["Records"] if r["eventName"] == "INSERT"]

    results = [repair_item(ddb, store, change) for change in inserts]

    assert [r.outcome for r in results] == ["repaired", "skipped"]
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "junk#1"}}, ConsistentRead=True)
    kept = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "junk#2"}}, ConsistentRead=True)["Item"]
    assert kept["reviewed"] == {"BOOL": True}
    # Delivered again: the item is already gone, which is what the repair wanted.
    assert repair_item(ddb, store, inserts[0]).outcome == "already_repaired"
