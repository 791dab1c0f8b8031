"""Detection policy, record parsing and the PITR restore time, without any endpoint."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dynamodb_dr.stream_recovery.config import Action, TablePolicy
from dynamodb_dr.stream_recovery.detection import Reason, Verdict, burst_threshold, classify
from dynamodb_dr.stream_recovery.errors import StreamRecordError
from dynamodb_dr.stream_recovery.pitr import recovery_table_name, restore_time_of
from dynamodb_dr.stream_recovery.records import (
    change_fingerprint,
    client_to_wire,
    parse_record,
    table_name_from_stream_arn,
    wire_to_client,
)
from dynamodb_dr.stream_recovery.repair import repair_fingerprint

EVENTS = Path(__file__).resolve().parents[1] / "events"
POLICY = TablePolicy("orders-table", Action.ITEM_REPAIR, frozenset({"price"}))


def _record(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())["Records"][0]


def test_ttl_delete_is_never_an_incident():
    change = parse_record(_record("stream_ttl_delete.json"))
    assert change.is_ttl_delete
    assert change.old_image["token"] == {"B": bytes([0, 1, 2, 254, 255])}
    assert classify(change, POLICY).verdict is Verdict.TTL_DELETE


def test_user_delete_is_an_incident_unless_the_table_says_otherwise():
    raw = _record("stream_ttl_delete.json")
    del raw["userIdentity"]
    change = parse_record(raw)
    assert classify(change, POLICY).reason is Reason.USER_DELETE
    relaxed = TablePolicy("orders-table", Action.PITR_RESTORE, user_deletes_are_incidents=False)
    assert classify(change, relaxed).verdict is Verdict.BURST_CANDIDATE


def test_other_service_principal_is_a_user_delete():
    raw = _record("stream_ttl_delete.json")
    raw["userIdentity"] = {"type": "Service", "principalId": "backup.amazonaws.com"}
    assert classify(parse_record(raw), POLICY).verdict is Verdict.ITEM_INCIDENT


def test_protected_attribute_change_is_an_incident_and_other_updates_are_not():
    change = parse_record(_record("stream_protected_modify.json"))
    detection = classify(change, POLICY)
    assert (detection.verdict, detection.reason) == (Verdict.ITEM_INCIDENT, Reason.PROTECTED_ATTRIBUTE)
    assert "price" in detection.detail
    # "status" was removed too, but it is not protected; "note" was added.
    other = TablePolicy("orders-table", Action.ITEM_REPAIR, frozenset({"note"}))
    assert classify(change, other).verdict is Verdict.BURST_CANDIDATE


def test_insert_is_normal_traffic():
    raw = _record("stream_protected_modify.json")
    raw["eventName"] = "INSERT"
    del raw["dynamodb"]["OldImage"]
    assert classify(parse_record(raw), POLICY).verdict is Verdict.NORMAL


def test_modify_without_old_image_names_the_stream_view_type():
    raw = _record("stream_protected_modify.json")
    del raw["dynamodb"]["OldImage"]
    with pytest.raises(StreamRecordError, match="NEW_AND_OLD_IMAGES"):
        classify(parse_record(raw), POLICY)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("dynamodb"), "no 'dynamodb' object"),
        (lambda r: r.update(eventName="UPSERT"), "eventName 'UPSERT'"),
        (lambda r: r["dynamodb"].pop("Keys"), "no dynamodb.Keys"),
        (lambda r: r["dynamodb"].update(ApproximateCreationDateTime="yesterday"), "not epoch seconds"),
        (
            lambda r: r.update(eventSourceARN="arn:aws:dynamodb:us-east-1:1:table/x"),
            "not a DynamoDB stream ARN",
        ),
        (
            lambda r: r["dynamodb"]["OldImage"].update(token={"B": "%%%"}),
            r"OldImage\.token.*not valid base64",
        ),
        (lambda r: r["dynamodb"]["OldImage"].update(token={"X": "1"}), "unknown attribute type 'X'"),
    ],
)
def test_malformed_records_are_rejected_with_the_reason(mutate, message):
    raw = copy.deepcopy(_record("stream_ttl_delete.json"))
    mutate(raw)
    with pytest.raises(StreamRecordError, match=message):
        parse_record(raw)


def test_wire_and_client_images_convert_exactly_both_ways():
    wire = {
        "b": {"B": base64.b64encode(b"\x00\xff").decode()},
        "bs": {"BS": [base64.b64encode(b"\x01").decode(), base64.b64encode(b"").decode()]},
        "n": {"N": "-1.000000000000000000000000000000000001"},
        "m": {"M": {"l": {"L": [{"B": base64.b64encode(b"\x80").decode()}, {"NULL": True}, {"SS": ["a"]}]}}},
        "t": {"BOOL": True},
        "ns": {"NS": ["1", "2"]},
    }
    client = wire_to_client(wire)
    assert client["b"] == {"B": b"\x00\xff"}
    assert client["bs"] == {"BS": [b"\x01", b""]}
    assert client["m"]["M"]["l"]["L"][0] == {"B": b"\x80"}
    assert client_to_wire(client) == wire


def test_fingerprint_ignores_set_order_but_not_values():
    keys = {"pk": {"S": "a"}}
    one = change_fingerprint(keys, {"s": {"SS": ["x", "y"]}}, None)
    assert one == change_fingerprint(keys, {"s": {"SS": ["y", "x"]}}, None)
    assert one != change_fingerprint(keys, {"s": {"SS": ["x", "z"]}}, None)
    assert one != change_fingerprint(keys, None, {"s": {"SS": ["x", "y"]}})


def test_the_repair_of_a_modify_is_recognised_by_its_own_stream_record():
    change = parse_record(_record("stream_protected_modify.json"))
    echo = change_fingerprint(change.keys, change.new_image, change.old_image)  # what the repair causes
    assert repair_fingerprint(change.keys, change.new_image, change.old_image) == echo
    assert echo != change_fingerprint(change.keys, change.old_image, change.new_image)


def test_table_name_from_stream_arn():
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders.v2-x/stream/2026-11-22T01:58:28.650"
    assert table_name_from_stream_arn(arn) == "orders.v2-x"


def test_restore_time_is_one_second_before_the_first_change():
    assert restore_time_of(1000.0) == 999.0


def test_a_replicated_ttl_delete_is_recognised_by_the_expiry_in_its_old_image():
    raw = _record("stream_ttl_delete.json")
    del raw["userIdentity"]  # replicated from another region: no userIdentity here
    created = raw["dynamodb"]["ApproximateCreationDateTime"]
    raw["dynamodb"]["OldImage"]["expires_at"] = {"N": str(int(created) - 10)}
    assert classify(parse_record(raw), POLICY, ttl_attribute="expires_at").verdict is Verdict.TTL_DELETE
    raw["dynamodb"]["OldImage"]["expires_at"] = {"N": str(int(created) + 3600)}  # not expired yet
    assert classify(parse_record(raw), POLICY, ttl_attribute="expires_at").reason is Reason.USER_DELETE
    raw["dynamodb"]["OldImage"]["expires_at"] = {"S": "yesterday"}  # TTL ignores non-numbers
    assert classify(parse_record(raw), POLICY, ttl_attribute="expires_at").reason is Reason.USER_DELETE


def test_burst_threshold_follows_the_baseline_with_a_floor():
    policy = TablePolicy("t", Action.PITR_RESTORE, burst_threshold=10, burst_factor=5.0)
    assert burst_threshold(policy, 0.0) == 10  # a quiet table: the floor
    assert burst_threshold(policy, 40.0) == 200  # a busy table: five times its median window
    assert burst_threshold(policy, 2.5) == 13


def test_recovery_table_name_uses_utc():
    now = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)
    assert recovery_table_name("orders", now) == "orders-recovery-20261122T030405"


def test_streams_api_record_becomes_the_lambda_event_record():
    from dynamodb_dr.stream_recovery.records import stream_api_record_to_lambda_record

    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-table/stream/2026-11-22T01:58:28.650"
    api_record = {  # as botocore parses GetRecords: bytes for B, datetime, Streams API identity spelling
        "eventID": "e1",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 11, 22, 2, 0, 0, 500000, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}},
            "OldImage": {"pk": {"S": "a"}, "b": {"B": b"\xff"}},
            "SequenceNumber": "100",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "userIdentity": {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"},
    }
    record = stream_api_record_to_lambda_record(api_record, arn)
    assert record["eventSourceARN"] == arn
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1795312800.5
    assert record["dynamodb"]["OldImage"]["b"] == {"B": "/w=="}
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    json.dumps(record)  # plain JSON, as Lambda delivers it
    assert parse_record(record).is_ttl_delete
