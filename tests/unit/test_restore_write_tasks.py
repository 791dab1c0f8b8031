"""The write stage's tasks carry the ETag of the version the validation stage checked, and split a
table's files into lists balanced by item count."""

from __future__ import annotations

from dynamodb_dr.restore import job
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.export_reader import DataFile, Export, ExportSummary
from dynamodb_dr.restore.plan import TableSelection
from dynamodb_dr.restore.report import TableResult


def test_each_write_task_reads_the_version_its_validation_checked():
    files = (DataFile("data/a.json.gz", 3, "md5a"), DataFile("data/b.json.gz", 2, "md5b"))
    export = Export(
        "bucket", ExportSummary("arn:aws:dynamodb:x:1:table/t/export/e", 5, "m.json", "DYNAMODB_JSON"), files
    )
    table = job._Table(
        selection=TableSelection("orders", "orders-restored", backup=None),  # type: ignore[arg-type]
        result=TableResult("orders", "orders-restored"),
        export=export,
        to_write=files,
        verified={"data/a.json.gz": '"etag-a"'},
    )
    args = parse_args(
        ["--backup_date", "2026-11-01", "--BACKUP_BUCKET", "bucket", "--max_workers", "6"], env={}
    )
    table.result.write_tasks = 1
    (task,) = job._write_tasks([table], "bucket", args, "run-1")
    assert (task.max_workers, task.target, task.tasks) == (6, "orders-restored", 1)
    assert [(f.data_file.key, f.verified_etag) for f in task.files] == [
        ("data/a.json.gz", '"etag-a"'),
        ("data/b.json.gz", None),  # not validated here: MD5 checked on read
    ]
