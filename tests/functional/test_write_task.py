"""One write task writes a list of data files against the local endpoint: each file reported on its
own, marked only once written in full, a file that cannot be read failing with its key while the
task goes on with the next, and the table's items exact."""

from __future__ import annotations

import json

import boto3

from dynamodb_dr.restore import resume
from dynamodb_dr.restore.export_reader import read_export
from dynamodb_dr.restore.tasks import FileToWrite, WriteTask, write_task
from dynamodb_dr.restore.write_rate import task_ceiling
from local_aws import export_layout
from tests.support.backups import create_table, make_backup, put_items
from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS, every_type_item, scan_all

BUCKET = "write-task-bucket"
DATE = "2026-04-04"


def test_a_write_task_writes_its_files_in_order_and_reports_each(aws):
    export_layout.configure(items_per_file=10, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "orders", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "orders", [every_type_item(f"o{i:03d}") for i in range(40)])
    expected = scan_all(ddb, "orders")
    backup = make_backup(ddb, s3, BUCKET, ["orders"], DATE).tables["orders"]
    export = read_export(s3, BUCKET, backup.export_manifest_key or "")
    files = sorted(export.files, key=lambda f: -f.item_count)  # 4 files of 10 items, then the empty one
    assert [f.item_count for f in files] == [10, 10, 10, 10, 0]
    create_table(ddb, "orders_copy", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    location = resume.ProgressLocation(BUCKET, f"exports/{DATE}/restore-progress/r/orders_copy/")
    stale = files[1]  # the validation stage checked another version of this one: If-Match fails

    writes = write_task(
        WriteTask(
            source="orders",
            target="orders_copy",
            bucket=BUCKET,
            export_arn=export.summary.export_arn,
            files=tuple(FileToWrite(f, '"not-this-version"' if f is stale else None) for f in files),
            write_rate=task_ceiling(200),
            progress=location,
            run_id="run-1",
        )
    )

    assert [(w.key, w.ok, w.items_written, w.failed_items) for w in writes] == [
        (files[0].key, True, 10, 0),
        (stale.key, False, 0, 10),
        (files[2].key, True, 10, 0),
        (files[3].key, True, 10, 0),
        (files[4].key, True, 0, 0),
    ]
    assert stale.key in (writes[1].error or "")
    marked = {
        json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())["data_file"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=location.files_folder)["Contents"]
        if o["Key"].endswith(resume.DONE_SUFFIX)
    }
    assert marked == {f.key for f in files if f is not stale}  # marked only once written in full
    written = scan_all(ddb, "orders_copy")
    assert len(written) == 30 and all(expected[key] == item for key, item in written.items())  # type-exact
