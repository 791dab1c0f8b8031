"""The type-exact writer against the local endpoint: every type lands exactly as exported.

moto never throttles and never returns UnprocessedItems, so two tests make it do what DynamoDB
does under load with an ``after-call`` hook on the writer's client: the real call went through and
wrote the items; the hook then deletes some of them (through another client) and lists them in
``UnprocessedItems``, exactly as DynamoDB reports items it did not write.
"""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from dynamodb_dr.batch_writer import BatchWriter
from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.errors import WriteError
from dynamodb_dr.export_reader import iter_items, read_export, spooled
from dynamodb_dr.restore.tasks import write_data_file
from local_aws import export_layout
from tests.support.backups import create_table, export_table, put_items
from tests.support.items import (
    HASH_TABLE_ATTRS,
    HASH_TABLE_KEYS,
    NON_UTF8,
    RANGE_TABLE_ATTRS,
    RANGE_TABLE_KEYS,
    every_type_item,
    large_item,
    scan_all,
)

BUCKET = "writer-bucket"


def _export_lines(ddb, s3, table: str) -> list[bytes]:
    backup = export_table(ddb, s3, BUCKET, table, "2026-01-15")
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    lines = []
    for data_file in export.files:
        with spooled(s3, BUCKET, data_file, export.summary.export_arn) as (path, _):
            lines += list(iter_items(path, data_file, export.summary.export_arn))
    return lines


@pytest.fixture
def setup(aws):
    export_layout.configure(items_per_file=7)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return ddb, s3


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = self.succeeded = self.throttled = 0

    def acquire(self, n_items: int) -> None:
        self.acquired += n_items

    def on_throttled(self) -> None:
        self.throttled += 1

    def on_success(self, n_items: int) -> None:
        self.succeeded += n_items


def test_every_type_round_trips_exactly(setup):
    ddb, s3 = setup
    items = [every_type_item(f"e{i}", sk={"B": bytes([0xFF, i])}) for i in range(30)]
    items.append(large_item("big", 390_000) | {"sk": {"B": NON_UTF8}})
    create_table(ddb, "src", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    create_table(ddb, "dst", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "src", items)
    lines = _export_lines(ddb, s3, "src")
    assert len(lines) == 31

    limiter = CountingLimiter()
    writer = BatchWriter(make_client("dynamodb"), "dst", rate_limiter=limiter)
    written = sum(writer.write_lines(lines[i : i + 25], source="test-file") for i in range(0, len(lines), 25))
    assert written == 31
    source, restored = scan_all(ddb, "src"), scan_all(ddb, "dst")
    assert restored.keys() == source.keys() and len(restored) == 31
    for key, item in source.items():
        assert restored[key] == item, key
    big = ddb.get_item(TableName="dst", Key={"pk": {"S": "big"}, "sk": {"B": NON_UTF8}})["Item"]
    assert len(big["blob"]["B"]) == 390_000
    assert restored[("e3", bytes([0xFF, 3]))]["n_neg_exp"] == {"N": "-1.2345678901234567890123456789012345678E-130"}
    assert limiter.acquired == 31 and limiter.succeeded == 31 and limiter.throttled == 0


def _report_unprocessed(client, ddb, table: str, items_by_pk: dict, how_many: int, times: int | None):
    """After a real BatchWriteItem, delete ``how_many`` of its items again and list them as unprocessed."""
    state: dict = {"calls": 0, "body": b""}

    def capture(request, **_):
        state["body"] = request.body

    def hook(parsed, **_):
        state["calls"] += 1
        if times is not None and state["calls"] > times:
            return
        body = json.loads(state["body"])
        pks = [r["PutRequest"]["Item"]["pk"]["S"] for r in body["RequestItems"][table]][:how_many]
        for pk in pks:
            ddb.delete_item(TableName=table, Key={"pk": {"S": pk}})
        if pks:
            parsed["UnprocessedItems"] = {table: [{"PutRequest": {"Item": items_by_pk[pk]}} for pk in pks]}

    client.meta.events.register("before-send.dynamodb.BatchWriteItem", capture)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", hook)
    return state


def test_unprocessed_items_are_resent_exactly(setup):
    ddb, s3 = setup
    items = {f"u{i}": every_type_item(f"u{i}") for i in range(10)}
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", list(items.values()))
    lines = _export_lines(ddb, s3, "src")

    client = make_client("dynamodb")
    # The unprocessed items must be re-sent from what DynamoDB returns (parsed), so the hook keeps
    # reporting from the source scan's exact values.
    source = {k[0]: v for k, v in scan_all(ddb, "src").items()}
    state = _report_unprocessed(client, ddb, "dst", source, how_many=4, times=1)
    limiter = CountingLimiter()
    writer = BatchWriter(client, "dst", rate_limiter=limiter, base_delay=0.01)
    assert writer.write_lines(lines, source="file-u") == 10
    assert state["calls"] >= 2  # the raw call, then the re-send of the 4 unprocessed items
    assert limiter.throttled >= 1
    assert {k[0]: v for k, v in scan_all(ddb, "dst").items()} == source


def test_items_still_unprocessed_at_the_deadline_fail_loudly(setup):
    ddb, s3 = setup
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item(f"d{i}") for i in range(5)])
    lines = _export_lines(ddb, s3, "src")
    source = {k[0]: v for k, v in scan_all(ddb, "src").items()}

    client = make_client("dynamodb")
    _report_unprocessed(client, ddb, "dst", source, how_many=2, times=None)
    writer = BatchWriter(client, "dst", deadline_seconds=0.5, base_delay=0.01, max_delay=0.05)
    with pytest.raises(WriteError, match=r"2 items for table dst from data file file-d were still unprocessed") as err:
        writer.write_lines(lines, source="file-d")
    assert err.value.failed_items == 2
    assert len(scan_all(ddb, "dst")) == 3


def test_validation_error_names_the_table_and_the_file(setup):
    ddb, s3 = setup
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "other-keys", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item("v1")])
    lines = _export_lines(ddb, s3, "src")
    writer = BatchWriter(make_client("dynamodb"), "other-keys")
    with pytest.raises(WriteError, match=r"DynamoDB rejected a batch of 1 items for table other-keys from data file f-v") as err:
        writer.write_lines(lines, source="f-v")
    assert err.value.failed_items == 1
    assert scan_all(ddb, "other-keys") == {}


def test_write_data_file_sends_batches_concurrently_and_has_resume_seams(setup):
    ddb, s3 = setup
    export_layout.configure(items_per_file=200)
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item(f"w{i:03d}") for i in range(130)])
    backup = export_table(ddb, s3, BUCKET, "src", "2026-01-15")
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    data_file = next(f for f in export.files if f.item_count)

    client = make_client("dynamodb", config=client_config(max_pool_connections=8))
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def slow_send(**_):  # keeps each request in flight a little, so overlap is observable
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1

    client.meta.events.register("before-send.dynamodb.BatchWriteItem", slow_send)
    done_calls = []
    writer = BatchWriter(client, "dst")
    skipped = write_data_file(
        s3, writer, BUCKET, data_file, export.summary.export_arn, table="dst", max_workers=4,
        completed_files={data_file.key}, on_file_done=lambda *a: done_calls.append(a),
    )
    assert skipped.skipped and scan_all(ddb, "dst") == {} and done_calls == []

    result = write_data_file(
        s3, writer, BUCKET, data_file, export.summary.export_arn, table="dst", max_workers=4,
        on_file_done=lambda *a: done_calls.append(a),
    )
    assert (result.items_read, result.items_written) == (130, 130)
    assert done_calls == [("dst", data_file.key, 130)]
    assert state["max"] >= 2  # batches really were in flight together
    assert scan_all(ddb, "dst") == scan_all(ddb, "src")


def test_an_unreachable_endpoint_fails_the_batch_with_its_count(setup):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{port}",
        config=client_config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )
    writer = BatchWriter(client, "dst", deadline_seconds=0.3, base_delay=0.01, max_delay=0.05)
    line = b'{"Item":{"pk":{"S":"a"}}}'
    with pytest.raises(WriteError, match=r"3 items for table dst from data file f-net could not be sent") as err:
        writer.write_lines([line, line, line], source="f-net")
    assert err.value.failed_items == 3
