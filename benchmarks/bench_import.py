"""A table that is gone, restored two ways on the local endpoint: ImportTable versus the write path.

A table of N items (``tests/support/items.every_type_item`` shapes: every DynamoDB type) is backed
up (a real export in AWS's layout), then restored into a table that does not exist, once with
``--import_mode import`` (ImportTable from the export's data files, waited for with DescribeImport,
settings re-applied) and once with ``--import_mode write`` (CreateTable, then BatchWriteItem). The
job's stages run on threads (``ThreadRunner``, as in the Restore Lambda: no Spark start-up in either
figure). Both targets are checked to hold N items. Printed per path: wall seconds, the client's CPU
seconds (this process) and the endpoint's (its own process).

**The local endpoint is not DynamoDB.** Its ImportTable (``local_aws/table_import.py``) loads the
items in the endpoint's own Python process, without the service's parallel workers and with a
minimum of 0.2 s IN_PROGRESS; on AWS an import takes minutes even for a small table and runs on
DynamoDB's side, using no write capacity. What this shows is the client's side: an import costs the
restore little CPU (the validation stage still reads and checks every data file first), while the
write path spends the client's CPU on every item as well.

    python -m benchmarks.bench_import --items 5000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.endpoint import Endpoint, local_endpoint
from benchmarks.measure import process_cpu_seconds, snapshot

BUCKET = "bench-import"
DATE = "2026-01-01"
CAVEAT = (
    "The local endpoint is moto, not DynamoDB: its ImportTable loads items in the endpoint's own Python "
    "process, while AWS's runs on the service's side (minutes even for a small table, no write capacity "
    "used, billed per GB). Compare the client CPU columns; the wall times say nothing about AWS."
)


@dataclass(frozen=True)
class PathTiming:
    path: str
    items: int
    seconds: float
    client_cpu: float
    server_cpu: float | None


def _seed(ddb: Any, s3: Any, items: int) -> None:
    from tests.support.backups import make_backup
    from tests.support.items import every_type_item

    s3.create_bucket(Bucket=BUCKET)
    ddb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, items, 25):
        ddb.batch_write_item(
            RequestItems={
                "ledger": [
                    {"PutRequest": {"Item": every_type_item(f"t{i:07d}")}}
                    for i in range(start, min(items, start + 25))
                ]
            }
        )
    make_backup(ddb, s3, BUCKET, ["ledger"], DATE)


def _count(ddb: Any, table: str) -> int:
    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
    total = 0
    while True:
        page = ddb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def restore_once(endpoint: Endpoint, mode: str, items: int) -> PathTiming:
    from dynamodb_dr.clients import make_client
    from dynamodb_dr.restore.args import parse_args
    from dynamodb_dr.restore.job import run_restore
    from dynamodb_dr.restore.runner import ThreadRunner

    ddb, s3 = make_client("dynamodb"), make_client("s3")
    target = f"ledger_{mode}"
    args = parse_args(
        [
            "--backup_date", DATE, "--BACKUP_BUCKET", BUCKET, "--create_missing_tables", "true",
            "--target_tables", f"ledger:{target}", "--import_mode", mode, "--resume", "false",
        ],
        env={},
    )  # fmt: skip
    server_before = process_cpu_seconds(endpoint.pid) if endpoint.pid else None
    before = snapshot()
    report = run_restore(args, s3=s3, dynamodb=ddb, runner=ThreadRunner(2), progress_seconds=0.2)
    after = snapshot()
    server_after = process_cpu_seconds(endpoint.pid) if endpoint.pid else None
    result = report.tables["ledger"]
    assert report.ok and result.restore_path == mode, report.to_json()
    assert _count(ddb, target) == items, f"{target} does not hold the {items} items"
    return PathTiming(
        mode,
        items,
        round(after.wall - before.wall, 2),
        round(after.self_cpu - before.self_cpu, 2),
        None if server_before is None or server_after is None else round(server_after - server_before, 2),
    )


def run(items: int, endpoint: Endpoint) -> list[PathTiming]:
    from dynamodb_dr.clients import make_client

    _seed(make_client("dynamodb"), make_client("s3"), items)
    return [restore_once(endpoint, mode, items) for mode in ("import", "write")]


def report(timings: list[PathTiming]) -> str:
    lines = [
        "| path | items | wall s | client CPU s | client CPU ms / 1k items | endpoint CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        per_k = 1e6 * t.client_cpu / max(t.items, 1)  # ms of CPU per 1,000 items
        server = "n/a" if t.server_cpu is None else f"{t.server_cpu:.2f}"
        lines.append(
            f"| {t.path} | {t.items:,} | {t.seconds:.2f} | {t.client_cpu:.2f} | {per_k:.1f} | {server} |"
        )
    return "\n".join(lines) + "\n\n" + CAVEAT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5_000)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with local_endpoint() as endpoint:
        timings = run(args.items, endpoint)
    print(f"a missing table of {args.items:,} items, ImportTable vs writes, local endpoint:")
    print(report(timings))
    print(f"(total {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
