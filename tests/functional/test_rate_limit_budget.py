"""capacity_budget reads the DescribeTable response a real endpoint returns; write tasks share a
table's budget through its progress folder in S3."""

from __future__ import annotations

import time

import boto3

from dynamodb_dr.restore.rate_limit import capacity_budget
from dynamodb_dr.restore.write_rate import SharedBudget, clear_finished_tasks, task_ceiling


def test_capacity_budget_from_a_real_describe_table(aws):
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="budget-provisioned",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 400},
    )
    ddb.create_table(
        TableName="budget-on-demand",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert capacity_budget(ddb.describe_table(TableName="budget-provisioned"), 50) == 200
    assert (
        capacity_budget(ddb.describe_table(TableName="budget-on-demand"), 50) == 2000
    )  # WarmThroughput 4,000 write units/s, as AWS reports for a new table


def test_the_share_of_a_finished_task_flows_to_the_tasks_still_writing(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="progress")
    ceilings: dict[int, list[float]] = {0: [], 1: [], 2: []}
    budgets = [
        SharedBudget(
            s3, "progress", "restore-progress/r/t/", "run-1", index=i, tasks=3, budget=300.0,
            set_ceiling=ceilings[i].append, interval=0.05,
        )
        for i in range(3)
    ]  # fmt: skip
    other_run = SharedBudget(
        s3, "progress", "restore-progress/r/t/", "run-0", index=1, tasks=3, budget=300.0,
        set_ceiling=lambda c: None,
    )  # fmt: skip
    other_run.finished(4)  # an earlier attempt's task: not this run's
    for budget in budgets:
        budget.start()
    time.sleep(0.5)
    assert ceilings == {0: [], 1: [], 2: []}  # nobody finished: every share stays a third

    budgets[2].finished(3)
    _until(lambda: ceilings[0] and ceilings[1])
    assert ceilings[0] == ceilings[1] == [task_ceiling(150)]  # two left: half each
    budgets[1].finished(2)
    _until(lambda: len(ceilings[0]) == 2)
    assert ceilings[0] == [task_ceiling(150), task_ceiling(300)]  # alone: the whole budget
    budgets[0].finished(1)
    assert ceilings[1] == [task_ceiling(150)] and ceilings[2] == []  # a finished task is not raised
    assert sorted(
        o["Key"]
        for o in s3.list_objects_v2(Bucket="progress", Prefix="restore-progress/r/t/write-tasks/run-1/")[
            "Contents"
        ]
    ) == [f"restore-progress/r/t/write-tasks/run-1/{i}.finished" for i in range(3)]
    clear_finished_tasks(s3, "progress", "restore-progress/r/t/", "run-1")
    remaining = s3.list_objects_v2(Bucket="progress", Prefix="restore-progress/r/t/")["Contents"]
    assert [o["Key"] for o in remaining] == [
        "restore-progress/r/t/write-tasks/run-0/1.finished"
    ]  # another run's


def test_a_lone_task_writes_no_marker_and_runs_no_thread(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="progress")
    lone = SharedBudget(
        s3, "progress", "p/", "run-1", index=0, tasks=1, budget=300.0, set_ceiling=lambda c: None
    )
    lone.start()
    assert lone._thread is None
    lone.finished(5)
    assert "Contents" not in s3.list_objects_v2(Bucket="progress")


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the share did not change in time"
        time.sleep(0.02)
