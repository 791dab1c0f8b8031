"""Time travel over the chain the export side builds (tests/support/chains.py: the export Lambda's
daily full export, then the export chain Lambda's incremental windows, all on the local endpoint from
real writes): restored exactly to each window boundary, then a rewind and an undo in place."""

from __future__ import annotations

import boto3
import pytest

from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.dispatch import run_restore
from dynamodb_dr.restore.runner import ThreadRunner
from dynamodb_dr.restore.timetravel.points import iso
from tests.support.backups import create_table
from tests.support.chains import build_chain
from tests.support.items import NON_UTF8, every_type_item, scan_all

BUCKET = "chain-restore"
KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "B"}]


def item(pk: str, **extra):
    return every_type_item(pk, sk={"B": NON_UTF8 + pk.encode()}, **extra)


def key(pk: str):
    return {"pk": {"S": pk}, "sk": {"B": NON_UTF8 + pk.encode()}}


@pytest.fixture
def built(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "orders", KEYS, ATTRS)
    for i in range(6):
        ddb.put_item(TableName="orders", Item=item(f"a{i}"))
    put = lambda i: ddb.put_item(TableName="orders", Item=i)  # noqa: E731
    delete = lambda k: ddb.delete_item(TableName="orders", Key=k)  # noqa: E731
    windows = [
        lambda: (put(item("b0")), put(item("a0", v={"N": "1"})), delete(key("a1"))),
        lambda: (
            put(item("a1", back={"BOOL": True})),
            put(item("a0", v={"N": "2"})),
            delete(key("b0")),
            put(item("a2", v={"N": "1"})),
            put(item("a2", v={"N": "2"})),
        ),
        lambda: (put(item("a0", v={"N": "3"}, ns={"NS": ["7", "-0.5"]})), put(item("c0")), delete(key("a3"))),
        lambda: (put(item("a0", v={"N": "4"})), put(item("c1")), delete(key("c0"))),
    ]
    return build_chain(
        ddb, s3, bucket=BUCKET, table="orders", windows=len(windows), write=lambda i: windows[i]()
    )


def restore(*argv: str):
    args = parse_args(
        ["--BACKUP_BUCKET", BUCKET, "--S3_EXPORTS_PREFIX", "native-exports", "--tables", "orders", *argv],
        env={},
    )
    return run_restore(args, s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"), runner=ThreadRunner(2))


def test_the_export_sides_chain_restores_to_each_boundary_then_rewinds_and_undoes(built):
    ddb = boto3.client("dynamodb")
    for number, (point, state) in enumerate(zip(built.boundaries, built.states, strict=True)):
        report = restore(
            "--restore_time",
            iso(point),
            "--target_tables",
            f"orders:orders_at_{number}",
            "--create_missing_tables",
            "true",
        )
        assert report.ok, report.to_json()
        assert report.tables["orders"].time_travel["effective_point"] == iso(point)
        assert scan_all(ddb, f"orders_at_{number}") == state, number
    # A later legitimate write to a key the last windows changed, then a rewind to boundary 2.
    ddb.put_item(TableName="orders", Item=item("c1", v={"N": "5"}))
    report = restore("--rewind_to", iso(built.boundaries[2]))
    assert report.ok, report.to_json()
    travel = report.tables["orders"].time_travel
    assert travel["conflicts"] == 1 and '"c1"' in travel["conflict_keys"][0]["key"]
    expected = dict(built.states[2])
    c1 = (next(iter(item("c1")["pk"].values())), next(iter(item("c1")["sk"].values())))
    expected[c1] = scan_all(ddb, "orders")[c1]
    assert scan_all(ddb, "orders") == expected
    # Undo window 1 (between boundaries 1 and 2): b0 back, a1 gone again, a2 as before; a0 was
    # changed again later (now rewound to boundary 2's state, which window 1 made): a conflict.
    undo = restore("--undo_window", f"{iso(built.boundaries[1])}/{iso(built.boundaries[2])}")
    assert undo.ok, undo.to_json()
    travel = undo.tables["orders"].time_travel
    assert (travel["puts"], travel["deletes"], travel["conflicts"]) == (2, 1, 1)
