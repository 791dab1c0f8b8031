"""The local endpoint writes INCREMENTAL_EXPORT exports in AWS's layout from the table's real writes.

Every test talks to the endpoint over HTTP with boto3 and reads the files back from its S3 through
each export's manifests, as the restore side will. The endpoint's clock (``local_aws.clock``) is moved
forward so that real 15-minute windows pass in an instant.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from amazon.ion import simpleion
from botocore.exceptions import ClientError

from local_aws import clock, export_layout
from tests.support.items import RANGE_TABLE_ATTRS, RANGE_TABLE_KEYS, every_type_item, normalized

BUCKET = "incremental-test-bucket"
PREFIX = "exports/incremental/orders"
WINDOW = timedelta(minutes=15)


def _table(
    ddb: Any, name: str, *, pitr: bool = True, keys: list | None = None, attrs: list | None = None
) -> str:
    ddb.create_table(
        TableName=name,
        KeySchema=keys or [{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=attrs or [{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def _now() -> datetime:
    """The endpoint's now, to the millisecond (the API's timestamps carry milliseconds)."""
    now = clock.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _wait(ddb: Any, arn: str) -> dict[str, Any]:
    for _ in range(200):
        desc = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        if desc["ExportStatus"] != "IN_PROGRESS":
            return desc
        time.sleep(0.02)
    raise AssertionError("export did not finish")


def _incremental(
    ddb: Any,
    arn: str,
    start: datetime,
    end: datetime,
    *,
    view: str | None = None,
    prefix: str = PREFIX,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"ExportFromTime": start, "ExportToTime": end}
    if view:
        spec["ExportViewType"] = view
    started = ddb.export_table_to_point_in_time(
        TableArn=arn,
        S3Bucket=BUCKET,
        S3Prefix=prefix,
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification=spec,
        **extra,
    )["ExportDescription"]
    desc = _wait(ddb, started["ExportArn"])
    assert desc["ExportStatus"] == "COMPLETED", desc
    return desc


def _body(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _read(s3: Any, desc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """(summary, lines, data file keys) of one export, files chosen only through its manifest, every
    checksum checked."""
    summary_key = desc["ExportManifest"]
    base = summary_key.rsplit("/", 1)[0]
    summary_body = _body(s3, summary_key)
    assert _body(s3, f"{base}/manifest-summary.md5").decode() == hashlib.md5(summary_body).hexdigest()
    summary = json.loads(summary_body)
    files_body = _body(s3, summary["manifestFilesS3Key"])
    assert _body(s3, f"{base}/manifest-files.md5").decode() == hashlib.md5(files_body).hexdigest()
    lines: list[dict[str, Any]] = []
    keys = []
    for entry in (json.loads(line) for line in files_body.decode().splitlines()):
        data = _body(s3, entry["dataFileS3Key"])
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(data).digest()).decode()
        raw = gzip.decompress(data).decode().splitlines()
        assert len(raw) == entry["itemCount"]
        lines.extend(json.loads(line) for line in raw)
        keys.append(entry["dataFileS3Key"])
    assert summary["itemCount"] == len(lines) == desc["ItemCount"]
    return summary, lines, keys


def _by_pk(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["Keys"]["pk"]["S"]: line for line in lines}


def _put(ddb: Any, table: str, pk: str, **attrs: Any) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, **attrs})


def _shape(line: dict[str, Any]) -> tuple[str, ...]:
    return tuple(k for k in ("Metadata", "Keys", "NewImage", "OldImage") if k in line)


def _client_form(image: dict[str, Any]) -> dict[str, Any]:
    """An export image (binary as base64 text) as the low-level client returns items (bytes)."""

    def value(v: dict[str, Any]) -> dict[str, Any]:
        ((kind, raw),) = v.items()
        if kind == "B":
            return {"B": base64.b64decode(raw)}
        if kind == "BS":
            return {"BS": [base64.b64decode(b) for b in raw]}
        if kind == "L":
            return {"L": [value(x) for x in raw]}
        if kind == "M":
            return {"M": {k: value(x) for k, x in raw.items()}}
        return {kind: raw}

    return normalized({name: value(v) for name, v in image.items()})


@pytest.fixture
def clients(aws):
    export_layout.configure(items_per_file=3, empty_files=1)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return boto3.client("dynamodb"), s3


def test_window_lines_compacted_per_item_in_aws_layout(clients):
    ddb, s3 = clients
    arn = _table(ddb, "orders")
    for pk in ("upd", "del", "readd", "multi"):
        _put(ddb, "orders", pk, v={"N": "0"})
    clock.advance(60)
    start = _now()
    _put(ddb, "orders", "ins", v={"N": "1"})  # insert
    ddb.update_item(  # update of an item that existed before the window
        TableName="orders",
        Key={"pk": {"S": "upd"}},
        UpdateExpression="SET v = :v, added = :a",
        ExpressionAttributeValues={":v": {"N": "2"}, ":a": {"SS": ["x", "y"]}},
    )
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "del"}})  # delete
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "readd"}})  # delete, then insert again
    _put(ddb, "orders", "readd", v={"N": "3"})
    _put(ddb, "orders", "brief", v={"N": "4"})  # inserted and deleted inside the window
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "brief"}})
    for n in range(1, 6):  # many writes to one item: one line, its final state
        ddb.update_item(
            TableName="orders",
            Key={"pk": {"S": "multi"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": str(n)}},
        )
    ddb.batch_write_item(
        RequestItems={"orders": [{"PutRequest": {"Item": {"pk": {"S": "batch"}, "v": {"N": "5"}}}}]}
    )
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "orders", "Item": {"pk": {"S": "tx"}, "v": {"N": "6"}}}}]
    )
    with pytest.raises(ClientError):  # a cancelled transaction writes nothing, and records nothing
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "orders", "Item": {"pk": {"S": "cancelled"}, "v": {"N": "7"}}}},
                {
                    "Put": {
                        "TableName": "orders",
                        "Item": {"pk": {"S": "tx"}, "v": {"N": "8"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    with pytest.raises(ClientError):  # a failed condition records nothing either
        ddb.put_item(
            TableName="orders",
            Item={"pk": {"S": "ins"}, "v": {"N": "9"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    clock.advance(WINDOW.total_seconds())
    _put(ddb, "orders", "after", v={"N": "10"})  # after the window's end: not in it
    end = start + WINDOW

    desc = _incremental(ddb, arn, start, end)
    export_id = desc["ExportArn"].rsplit("/", 1)[1]
    assert desc["ExportType"] == "INCREMENTAL_EXPORT" and "ExportTime" not in desc
    spec = desc["IncrementalExportSpecification"]
    assert (spec["ExportFromTime"], spec["ExportToTime"], spec["ExportViewType"]) == (
        start,
        end,
        "NEW_AND_OLD_IMAGES",
    )
    summary, lines, data_keys = _read(s3, desc)
    base = f"{PREFIX}/AWSDynamoDB/{export_id}"
    assert desc["ExportManifest"] == f"{base}/manifest-summary.json"
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {f"{base}/_started", f"{base}/manifest-files.json", f"{base}/manifest-summary.md5"} <= listed
    assert not any(k.startswith(f"{base}/data/") or k.endswith(".checksum") for k in listed)
    assert all(k.startswith(f"{PREFIX}/AWSDynamoDB/data/") and k.endswith(".json.gz") for k in data_keys)
    assert len(data_keys) == 4  # 9 lines at 3 a file, plus one empty file as for an empty partition
    assert summary["version"] == "2023-08-01" and summary["exportType"] == "INCREMENTAL_EXPORT"
    assert summary["outputView"] == "NEW_AND_OLD_IMAGES" and summary["outputFormat"] == "DYNAMODB_JSON"
    assert summary["exportFromTime"] == start.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert summary["exportToTime"] == end.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert "exportTime" not in summary
    assert summary["billedSizeBytes"] == desc["BilledSizeBytes"] == 10_000_000  # the per-export minimum
    assert summary["tableId"] == ddb.describe_table(TableName="orders")["Table"]["TableId"]

    by_pk = _by_pk(lines)
    assert sorted(by_pk) == ["batch", "brief", "del", "ins", "multi", "readd", "tx", "upd"]
    assert all(list(line)[:2] == ["Metadata", "Keys"] for line in lines)  # AWS's field order
    assert by_pk["ins"] == {
        "Metadata": by_pk["ins"]["Metadata"],
        "Keys": {"pk": {"S": "ins"}},
        "NewImage": {"pk": {"S": "ins"}, "v": {"N": "1"}},
    }
    assert _shape(by_pk["upd"]) == ("Metadata", "Keys", "NewImage", "OldImage")
    assert by_pk["upd"]["OldImage"] == {"pk": {"S": "upd"}, "v": {"N": "0"}}
    assert normalized(by_pk["upd"]["NewImage"]) == {
        "pk": {"S": "upd"},
        "v": {"N": "2"},
        "added": {"SS": ["x", "y"]},
    }
    assert by_pk["del"] == {
        "Metadata": by_pk["del"]["Metadata"],
        "Keys": {"pk": {"S": "del"}},
        "OldImage": {"pk": {"S": "del"}, "v": {"N": "0"}},
    }
    # deleted and inserted again: net an update from the window's start to its end
    assert (by_pk["readd"]["OldImage"]["v"], by_pk["readd"]["NewImage"]["v"]) == ({"N": "0"}, {"N": "3"})
    assert _shape(by_pk["brief"]) == ("Metadata", "Keys")  # absent at both ends: a delete, no image
    assert (by_pk["multi"]["OldImage"]["v"], by_pk["multi"]["NewImage"]["v"]) == ({"N": "0"}, {"N": "5"})
    assert by_pk["tx"]["NewImage"]["v"] == {"N": "6"} and "OldImage" not in by_pk["tx"]
    stamps = {pk: int(line["Metadata"]["WriteTimestampMicros"]["N"]) for pk, line in by_pk.items()}
    lo, hi = int(start.timestamp() * 1e6), int(end.timestamp() * 1e6)
    assert all(lo <= s < hi for s in stamps.values())
    assert (
        stamps["ins"] < stamps["upd"] < stamps["multi"] < stamps["batch"] < stamps["tx"]
    )  # last write's time

    # NEW_IMAGE view of the same window: no OldImage anywhere; a delete has Keys only
    new_view = _incremental(ddb, arn, start, end, view="NEW_IMAGE")
    summary, lines, data_keys = _read(s3, new_view)
    assert (
        summary["outputView"] == "NEW_IMAGE" == new_view["IncrementalExportSpecification"]["ExportViewType"]
    )
    assert all(k.startswith(f"{PREFIX}/AWSDynamoDB/data/") for k in data_keys)  # the same shared folder
    by_pk = _by_pk(lines)
    assert not any("OldImage" in line for line in lines)
    assert _shape(by_pk["del"]) == _shape(by_pk["brief"]) == ("Metadata", "Keys")
    assert _shape(by_pk["upd"]) == _shape(by_pk["ins"]) == ("Metadata", "Keys", "NewImage")


def test_consecutive_windows_share_one_data_folder_and_chain_old_to_new(clients):
    ddb, s3 = clients
    arn = _table(ddb, "orders")
    full = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, S3Prefix=PREFIX)[
        "ExportDescription"
    ]
    assert _wait(ddb, full["ExportArn"])["ExportStatus"] == "COMPLETED"
    boundary = full["ExportTime"]
    exports = []
    for n in range(1, 4):
        _put(ddb, "orders", "hot", v={"N": str(n)})  # changed in every window
        _put(ddb, "orders", f"only{n}", v={"N": str(n)})
        clock.advance(WINDOW.total_seconds())
        exports.append(_incremental(ddb, arn, boundary, boundary + WINDOW))
        boundary += WINDOW

    all_keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    shared = {k for k in all_keys if k.startswith(f"{PREFIX}/AWSDynamoDB/data/")}
    full_id = full["ExportArn"].rsplit("/", 1)[1]
    assert any(k.startswith(f"{PREFIX}/AWSDynamoDB/{full_id}/data/") for k in all_keys)  # full: own folder
    hot_images = []
    seen: set[str] = set()
    for n, desc in enumerate(exports, start=1):
        _summary, lines, data_keys = _read(s3, desc)
        assert set(data_keys) <= shared and not (set(data_keys) & seen)  # each its own files, one folder
        seen |= set(data_keys)
        by_pk = _by_pk(lines)
        assert sorted(by_pk) == sorted(["hot", f"only{n}"])
        hot_images.append((by_pk["hot"].get("OldImage"), by_pk["hot"]["NewImage"]))
    assert seen == shared
    assert hot_images[0][0] is None  # inserted after the full export's time
    for (_, new), (old, _) in itertools.pairwise(hot_images):
        assert old == new  # each window's OldImage is the previous window's NewImage


def test_every_attribute_type_exact_and_full_export_at_a_past_time(clients):
    ddb, s3 = clients
    arn = _table(ddb, "types", keys=RANGE_TABLE_KEYS, attrs=RANGE_TABLE_ATTRS)
    first = every_type_item("p1", sk={"B": b"\x00\xff"})
    ddb.put_item(TableName="types", Item=first)
    clock.advance(1)
    start = _now()
    second = every_type_item("p1", sk={"B": b"\x00\xff"}, extra={"NS": ["1E+2", "-0.001"]})
    ddb.put_item(TableName="types", Item=second)
    third = every_type_item("p2", sk={"B": b""[:0] + b"\x01"})
    ddb.put_item(TableName="types", Item=third)
    clock.advance(WINDOW.total_seconds())
    ddb.delete_item(TableName="types", Key={"pk": {"S": "p2"}, "sk": {"B": b"\x01"}})  # after the window

    desc = _incremental(ddb, arn, start, start + WINDOW)
    _, lines, _ = _read(s3, desc)
    by_key = {(line["Keys"]["pk"]["S"], line["Keys"]["sk"]["B"]): line for line in lines}
    updated = by_key[("p1", base64.b64encode(b"\x00\xff").decode())]
    assert _client_form(updated["OldImage"]) == normalized(first)
    assert _client_form(updated["NewImage"]) == normalized(second)
    assert _client_form(updated["Keys"]) == {"pk": {"S": "p1"}, "sk": {"B": b"\x00\xff"}}
    assert _client_form(by_key[("p2", base64.b64encode(b"\x01").decode())]["NewImage"]) == normalized(third)

    # A full export at the window's start holds the table as it was then: only the first item.
    past = ddb.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=BUCKET, S3Prefix="full", ExportTime=start
    )["ExportDescription"]
    past = _wait(ddb, past["ExportArn"])
    assert past["ExportTime"] == start and past["ItemCount"] == 1
    files = json.loads(
        _body(s3, json.loads(_body(s3, past["ExportManifest"]))["manifestFilesS3Key"]).splitlines()[0]
    )
    (line,) = gzip.decompress(_body(s3, files["dataFileS3Key"])).decode().splitlines()
    assert _client_form(json.loads(line)["Item"]) == normalized(first)
    assert past["ExportManifest"].rsplit("/", 1)[0] + "/manifest-summary.checksum" in {
        o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="full/")["Contents"]
    }  # full exports keep the .checksum names


def test_ion_incremental_export_writes_ion_lines_in_the_shared_folder(clients):
    ddb, s3 = clients
    arn = _table(ddb, "orders")
    _put(ddb, "orders", "a", v={"N": "1.50"})
    clock.advance(1)
    start = _now()
    _put(ddb, "orders", "a", v={"N": "2.50"}, b={"B": b"\xff"})
    clock.advance(WINDOW.total_seconds())
    desc = _incremental(ddb, arn, start, start + WINDOW, ExportFormat="ION")
    summary = json.loads(_body(s3, desc["ExportManifest"]))
    assert summary["outputFormat"] == "ION" and summary["version"] == "2023-08-01"
    entries = [json.loads(line) for line in _body(s3, summary["manifestFilesS3Key"]).decode().splitlines()]
    assert all(e["dataFileS3Key"].startswith(f"{PREFIX}/AWSDynamoDB/data/") for e in entries)
    assert all(e["dataFileS3Key"].endswith(".ion.gz") for e in entries)
    (text,) = [t for e in entries if (t := gzip.decompress(_body(s3, e["dataFileS3Key"])).decode())]
    assert text.startswith("$ion_1_0 {Metadata:{WriteTimestampMicros:")
    value = simpleion.loads(text)
    assert str(value["OldImage"]["v"]) == "1.50" and str(value["NewImage"]["v"]) == "2.50"
    assert bytes(value["NewImage"]["b"]) == b"\xff" and value["Keys"]["pk"] == "a"


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_refuses_what_aws_refuses(clients):
    ddb, _ = clients
    arn = _table(ddb, "orders")
    enabled = _now()
    clock.advance(3 * 3600)
    now = _now()

    def export(start: datetime | None, end: datetime | None, **spec: Any) -> tuple[str, str]:
        if start is not None:
            spec["ExportFromTime"] = start
        if end is not None:
            spec["ExportToTime"] = end
        return _error(
            lambda: ddb.export_table_to_point_in_time(
                TableArn=arn,
                S3Bucket=BUCKET,
                S3Prefix=PREFIX,
                ExportType="INCREMENTAL_EXPORT",
                IncrementalExportSpecification=spec,
            )
        )

    hour = timedelta(hours=1)
    code, message = export(now - hour, now - 2 * hour)
    assert code == "ValidationException" and "ExportFromTime must be earlier than ExportToTime" in message
    assert export(now - hour, now - hour)[0] == "ValidationException"
    code, message = export(now - hour, now - hour + timedelta(minutes=14, seconds=59))
    assert code == "ValidationException" and "at least 15 minutes" in message
    code, message = export(enabled, enabled + timedelta(hours=24, seconds=1))
    assert code == "ValidationException" and "24 hours" in message
    code, message = export(enabled - timedelta(minutes=1), enabled + hour)
    assert code == "InvalidExportTimeException" and "earliest restorable time" in message
    code, message = export(now - hour, now + timedelta(minutes=1))
    assert code == "InvalidExportTimeException" and "in the future" in message
    assert export(None, now)[0] == "ValidationException"
    # the limits themselves are allowed: exactly 15 minutes, and from PITR's start
    assert ddb.export_table_to_point_in_time(
        TableArn=arn,
        S3Bucket=BUCKET,
        S3Prefix=PREFIX,
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={"ExportFromTime": enabled, "ExportToTime": enabled + WINDOW},
    )["ExportDescription"]["ExportStatus"] in ("IN_PROGRESS", "COMPLETED")
    # a full export in the future is refused too
    code, _ = _error(
        lambda: ddb.export_table_to_point_in_time(
            TableArn=arn, S3Bucket=BUCKET, ExportTime=now + timedelta(minutes=5)
        )
    )
    assert code == "InvalidExportTimeException"

    # PITR off: refused, as for a full export
    ddb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    assert export(now - hour, now)[0] == "PointInTimeRecoveryUnavailableException"


def test_recreated_table_has_a_new_table_id_and_no_history(clients):
    ddb, s3 = clients
    _table(ddb, "orders")
    first_id = ddb.describe_table(TableName="orders")["Table"]["TableId"]
    _put(ddb, "orders", "old", v={"N": "1"})
    start = _now() - timedelta(seconds=1)
    ddb.delete_table(TableName="orders")
    arn = _table(ddb, "orders")
    assert ddb.describe_table(TableName="orders")["Table"]["TableId"] != first_id
    clock.advance(WINDOW.total_seconds())
    # PITR of the new table starts now: the window before it is refused, a later one is empty
    assert _error(lambda: _incremental(ddb, arn, start, start + WINDOW))[0] == "InvalidExportTimeException"
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    begin = pitr["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"].astimezone(UTC)
    _, lines, _ = _read(s3, _incremental(ddb, arn, begin, begin + WINDOW))
    assert lines == []
