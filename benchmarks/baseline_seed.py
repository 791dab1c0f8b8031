"""Baseline (2): the seed's restore approach, against the local endpoint.

One process, a ``ThreadPoolExecutor`` of workers; each worker takes whole data files, decompresses
them (gzip), ``json.loads`` each line, decodes B/BS from base64, deserializes the item to Python (``TypeDeserializer``: Decimal,
set, Binary) and writes it with boto3's resource ``Table.batch_writer()``, which serializes it back.

Data files are read from the generated export's local directory (the same files every path reads),
so S3 GETs are in no path's numbers. CPU counted: this client process (all its threads), and the
endpoint's server process separately (never added to the client's figure). The restored item count is
checked against the export's (DescribeTable's ItemCount, live on the local endpoint), so a path that drops items fails loudly.

    python -m benchmarks.baseline_seed --export .bench/exports/items-50000 --workers 8
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from benchmarks.bench_read_floor import binary_as_bytes, data_files
from benchmarks.endpoint import Endpoint, local_endpoint
from benchmarks.measure import Result, since, snapshot, table
from dynamodb_dr.backup_manifest import BackupManifest
from dynamodb_dr.clients import DEFAULT_CONFIG, client_config, make_client


def backup_manifest(export_root: Path) -> BackupManifest:
    found = sorted(export_root.rglob("manifest.json"))
    if not found:
        raise SystemExit(
            f"no manifest.json under {export_root}; generate one with benchmarks.generate_export"
        )
    return BackupManifest.from_dict(json.loads(found[0].read_text()), source=str(found[0]))


def create_table(ddb: Any, table_name: str, definition: dict[str, Any]) -> None:
    """A fresh on-demand table with the backup's keys (dropped first if a previous run left it)."""
    if table_name in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table_name)
        ddb.get_waiter("table_not_exists").wait(TableName=table_name)
    ddb.create_table(
        TableName=table_name,
        KeySchema=definition["KeySchema"],
        AttributeDefinitions=definition["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table_name)


def count_items(ddb: Any, table_name: str, *, scan: bool = False) -> int:
    """Items in the table. DescribeTable's ItemCount is live on the local endpoint but refreshed only
    about every 6 hours on AWS: pass ``scan=True`` there (a Scan with Select=COUNT; slow on moto)."""
    if not scan:
        return int(ddb.describe_table(TableName=table_name)["Table"]["ItemCount"])
    total = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table_name, Select="COUNT"):
        total += page["Count"]
    return total


def restore_like_the_seed(files: list[Path], table_name: str, workers: int) -> int:
    local = threading.local()
    deserializer = TypeDeserializer()

    def table_for_thread() -> Any:
        if not hasattr(local, "table"):
            # boto3 resources are not thread-safe: one session and resource per worker thread.
            resource = boto3.session.Session().resource(
                "dynamodb", config=client_config(max_pool_connections=4)
            )
            local.table = resource.Table(table_name)
        return local.table

    def restore_file(path: Path) -> int:
        written = 0
        with gzip.open(path, "rb") as lines, table_for_thread().batch_writer() as batch:
            for line in lines:
                # The export's B/BS are base64 text; TypeDeserializer takes bytes (as botocore parses them).
                marshalled = binary_as_bytes(json.loads(line)["Item"])
                batch.put_item(Item={k: deserializer.deserialize(v) for k, v in marshalled.items()})
                written += 1
        return written

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(restore_file, files))


def run(export_root: Path, endpoint: Endpoint, *, workers: int = 8, verify_scan: bool = False) -> Result:
    manifest = backup_manifest(export_root)
    ((table_name, backup),) = manifest.tables.items()
    files = data_files(export_root)
    ddb = make_client("dynamodb", config=DEFAULT_CONFIG)
    create_table(ddb, table_name, backup.table_definition or {})
    server_before = endpoint.cpu_seconds()
    start = snapshot()
    sent = restore_like_the_seed(files, table_name, workers)
    result = since(start, f"seed: boto3 batch_writer, {workers} threads", sent)
    result.extra["server_cpu_seconds"] = endpoint.cpu_seconds() - server_before
    restored = count_items(ddb, table_name, scan=verify_scan)
    if restored != backup.item_count:
        raise SystemExit(
            f"the seed path restored {restored:,} items of {backup.item_count:,}: the baseline lost items, "
            "its numbers are not comparable"
        )
    result.extra["restored_items"] = restored
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, required=True, help="directory written by generate_export")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--verify-scan", action="store_true", help="count restored items with a Scan")
    args = parser.parse_args(argv)
    with local_endpoint() as endpoint:
        result = run(args.export, endpoint, workers=args.workers, verify_scan=args.verify_scan)
    print(table([result]))
    print(f"server CPU-s per 1M items: {result.extra['server_cpu_seconds'] / result.items * 1e6:,.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
