"""A table's data files split among its write tasks by item count, so the tasks end together."""

from __future__ import annotations

from dynamodb_dr.restore import job
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.export_reader import DataFile, Export, ExportSummary
from dynamodb_dr.restore.plan import TableSelection
from dynamodb_dr.restore.report import TableResult
from dynamodb_dr.restore.write_rate import balance, task_ceiling


def _items(lists: list[list[int]]) -> list[int]:
    return [sum(group) for group in lists]


def test_equal_files_are_dealt_evenly():
    assert balance([500] * 18, 2, int) == [[500] * 9, [500] * 9]
    assert balance([100] * 7, 3, int) == [[100] * 3, [100] * 2, [100] * 2]


def test_a_mix_of_sizes_ends_within_one_small_file():
    mixed = [4000, 2000, 1000, 700, 500, 300, 200, 100, 100, 50, 25, 1, 0, 0, 0]
    lists = balance(mixed, 2, int)
    assert sorted(f for group in lists for f in group) == sorted(mixed)  # every file once
    assert _items(lists) == [4525, 4451]  # 74 items apart, under one batch's worth of weight per file
    assert [group.count(0) for group in lists] == [1, 2]  # empty files spread, not piled on one task
    assert all(group == sorted(group, reverse=True) for group in lists)  # largest first


def test_no_more_lists_than_files():
    assert balance([3, 2], 8, int) == [[3], [2]]
    assert balance([], 4, int) == []


def test_the_write_stage_builds_one_task_per_list_with_the_budget_and_its_share():
    files = tuple(DataFile(f"data/{i}.json.gz", n, f"md5{i}") for i, n in enumerate([900, 100, 500, 500, 0]))
    export = Export(
        "bucket",
        ExportSummary("arn:aws:dynamodb:x:1:table/t/export/e", 2000, "m.json", "DYNAMODB_JSON"),
        files,
    )
    result = TableResult("orders", "orders-restored")
    result.write_tasks, result.write_rate_budget = 2, 300.0
    table = job._Table(
        selection=TableSelection("orders", "orders-restored", backup=None),  # type: ignore[arg-type]
        result=result,
        export=export,
        to_write=files,
        write_rate=task_ceiling(150),
    )
    args = parse_args(["--backup_date", "2026-11-01", "--BACKUP_BUCKET", "bucket"], env={})
    tasks = job._write_tasks([table], "bucket", args, "run-1")
    assert [(t.index, t.tasks, t.budget, t.write_rate) for t in tasks] == [
        (0, 2, 300.0, task_ceiling(150)),
        (1, 2, 300.0, task_ceiling(150)),
    ]
    assert [[f.data_file.key for f in t.files] for t in tasks] == [
        ["data/0.json.gz", "data/1.json.gz", "data/4.json.gz"],  # 1,000 items
        ["data/2.json.gz", "data/3.json.gz"],  # 1,000 items
    ]
