"""Clear-and-restore, before and after "write first, remove extras last", on the same data.

A table of N items is backed up (a real export on the local endpoint, in this process), then damaged: 1% junk items
added, 0.25% overwritten. Then, on the same damaged table each time:

* **before**: the old ``--clear_existing_data``: delete every item (``targets.clear_table``: a
  parallel Scan and batched deletes), then restore every item: the table is partly empty from the
  first delete to the last write;
* **after**: today's: write every backup item, then delete only the items whose keys are not in the
  backup (a Spark join against a Scan): no backed-up item is ever missing.

Both end equal to the backup (checked). Printed: seconds to clear/remove, to write, in total, and
how long the table lacked backed-up items.

    python -m benchmarks.bench_clear --items 20000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _put(ddb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )


def _damaged_table(ddb: Any, items: int) -> None:
    from tests.support.backups import create_table
    from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS

    if "ledger" in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName="ledger")
    create_table(ddb, "ledger", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    _put(ddb, "ledger", [_item(i) for i in range(items)])


def _item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"t{i:07d}"}, "n": {"N": str(i)}, "s": {"S": "x" * 200}, "b": {"B": bytes([i % 256])}}


def _damage(ddb: Any, items: int) -> int:
    junk = max(1, items // 100)
    _put(ddb, "ledger", [{"pk": {"S": f"junk{i:06d}"}} for i in range(junk)])
    _put(ddb, "ledger", [{"pk": {"S": f"t{i:07d}"}, "n": {"N": "-1"}} for i in range(0, items, 400)])
    return junk


def run(items: int, items_per_file: int) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    from dynamodb_dr.clients import make_client
    from dynamodb_dr.restore import targets
    from dynamodb_dr.restore.args import parse_args
    from dynamodb_dr.restore.job import run_restore
    from local_aws import start_local_aws
    from tests.support.backups import make_backup
    from tests.support.items import scan_all

    results: dict[str, Any] = {"items": items}
    local = start_local_aws(export_settings={"items_per_file": items_per_file, "empty_files": 0})
    try:
        ddb, s3 = make_client("dynamodb"), make_client("s3")
        s3.create_bucket(Bucket="bench-clear")
        spark = SparkSession.builder.master("local[2]").appName("bench-clear").getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        try:
            _damaged_table(ddb, items)
            backup = scan_all(ddb, "ledger")
            make_backup(ddb, s3, "bench-clear", ["ledger"], "2026-01-01")
            for path in ("before", "after"):
                _damaged_table(ddb, items)
                junk = _damage(ddb, items)
                started = time.monotonic()
                if path == "before":
                    cleared = targets.clear_table(ddb, "ledger", ("pk",))
                    emptied = time.monotonic()
                    args = parse_args(
                        ["--backup_date", "2026-01-01", "--BACKUP_BUCKET", "bench-clear"], env={}
                    )
                else:
                    args = parse_args(
                        [
                            "--backup_date",
                            "2026-01-01",
                            "--BACKUP_BUCKET",
                            "bench-clear",
                            "--clear_existing_data",
                            "true",
                        ],
                        env={},
                    )
                report = run_restore(args, spark=spark, s3=s3, dynamodb=ddb, progress_seconds=30)
                done = time.monotonic()
                table = report.tables["ledger"]
                assert report.ok, report.to_json()
                assert scan_all(ddb, "ledger") == backup, f"{path}: the table does not equal the backup"
                if path == "before":
                    results[path] = {
                        "clear_seconds": round(emptied - started, 1),
                        "write_seconds": round(done - emptied, 1),
                        "total_seconds": round(done - started, 1),
                        "seconds_missing_backed_up_items": round(done - started, 1),
                        "items_deleted": cleared,
                        "junk": junk,
                    }
                else:
                    results[path] = {
                        "total_seconds": round(done - started, 1),
                        "seconds_missing_backed_up_items": 0.0,
                        "items_deleted": table.extras_removed,
                        "junk": junk,
                    }
        finally:
            spark.stop()
    finally:
        local.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--items-per-file", type=int, default=2_500)
    args = parser.parse_args(argv)
    results = run(args.items, args.items_per_file)
    b, a = results["before"], results["after"]
    print(f"clear-and-restore of {args.items:,} items with {a['junk']:,} junk (1%), local endpoint:")
    print(
        f"  before (clear all, then write): {b['total_seconds']:.1f} s = clear {b['clear_seconds']:.1f} s "
        f"({b['items_deleted']:,} deleted) + write {b['write_seconds']:.1f} s; backed-up items missing for "
        f"{b['seconds_missing_backed_up_items']:.1f} s"
    )
    print(
        f"  after (write, then remove extras): {a['total_seconds']:.1f} s; {a['items_deleted']:,} deleted; "
        "backed-up items missing for 0 s"
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
