"""Baseline (3): ``dynamodump`` (from PyPI) restoring the same items into the same local endpoint.

``dynamodump`` is installed into its own virtualenv, ``.venv-bench`` (created here, idempotent), so
its dependencies never touch the project's. The generated export is converted (untimed) into its dump
directory format::

    DUMP/TABLE/schema.json          {"Table": <DescribeTable's Table>}
    DUMP/TABLE/data/0001.json       {"Items": [...marshalled...], "Count": n, "ScannedCount": n}

then ``dynamodump -m restore`` runs as a child process (one thread, BatchWriteItem of 25, as the tool
does for one table). CPU counted: the dynamodump process (``RUSAGE_CHILDREN``), including its start-up
and table creation; the endpoint's server process separately. The restored item count is checked
(dynamodump logs "Max retries reached ... Ignoring and continuing" and drops items it could not write).

    python -m benchmarks.baseline_dynamodump --export .bench/exports/items-50000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.baseline_seed import backup_manifest, count_items
from benchmarks.bench_read_floor import data_files, iter_lines
from benchmarks.endpoint import Endpoint, local_endpoint
from benchmarks.measure import Result, since, snapshot, table
from dynamodb_dr.clients import make_client

DYNAMODUMP_VERSION = "1.11.1"
BENCH_VENV = Path(".venv-bench")
ITEMS_PER_DUMP_FILE = 1000  # about one 1 MB Scan page of ~1 KB items, as dynamodump's backup writes them


def ensure_dynamodump(venv: Path = BENCH_VENV) -> Path:
    """``.venv-bench/bin/dynamodump``, installing it first when missing."""
    exe = venv / "bin" / "dynamodump"
    if exe.exists():
        return exe
    base_python = getattr(sys, "_base_executable", sys.executable)
    print(f"creating {venv} with dynamodump=={DYNAMODUMP_VERSION} (once)", file=sys.stderr, flush=True)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"dynamodump=={DYNAMODUMP_VERSION}"],
        check=True,
    )
    if not exe.exists():
        raise SystemExit(f"pip installed dynamodump but {exe} does not exist; remove {venv} and retry")
    return exe


def write_dump(export_root: Path, dump_root: Path) -> tuple[str, int]:
    """Convert the generated export into dynamodump's dump directory. Returns (table, items)."""
    manifest = backup_manifest(export_root)
    ((table_name, backup),) = manifest.tables.items()
    definition = backup.table_definition or {}
    if dump_root.exists():
        shutil.rmtree(dump_root)
    data_dir = dump_root / table_name / "data"
    data_dir.mkdir(parents=True)
    schema = {
        "Table": {
            "TableName": table_name,
            "KeySchema": definition["KeySchema"],
            "AttributeDefinitions": definition["AttributeDefinitions"],
            "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        }
    }
    (dump_root / table_name / "schema.json").write_text(json.dumps(schema))
    page: list[dict] = []
    number = total = 0

    def flush() -> None:
        nonlocal number, page
        number += 1
        body = {"Items": page, "Count": len(page), "ScannedCount": len(page)}
        (data_dir / f"{number:04d}.json").write_text(json.dumps(body, separators=(",", ":")))
        page = []

    for path in data_files(export_root):
        for line in iter_lines(path):
            page.append(json.loads(line)["Item"])
            total += 1
            if len(page) == ITEMS_PER_DUMP_FILE:
                flush()
    if page:
        flush()
    return table_name, total


def run(export_root: Path, endpoint: Endpoint, *, work_dir: Path = Path(".bench/dynamodump")) -> Result:
    exe = ensure_dynamodump()
    table_name, items = write_dump(export_root, work_dir / "dump")
    url = urlparse(endpoint.url)
    command = [
        str(exe), "-m", "restore", "-r", "us-east-1", "--host", url.hostname or "127.0.0.1", "--port", str(url.port),
        "--accessKey", "testing", "--secretKey", "testing", "-s", table_name, "-d", table_name,
        "--dumpPath", str((work_dir / "dump").resolve()), "--billingMode", "PAY_PER_REQUEST",
        "--skipThroughputUpdate", "--noConfirm", "--log", "WARNING",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ddb = make_client("dynamodb")
    if table_name in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table_name)
    server_before = endpoint.cpu_seconds()
    start = snapshot()
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    result = since(start, f"dynamodump {DYNAMODUMP_VERSION} restore (1 thread)", items, children=True)
    result.extra["server_cpu_seconds"] = endpoint.cpu_seconds() - server_before
    if finished.returncode != 0:
        raise SystemExit(
            f"dynamodump failed with exit code {finished.returncode}:\n{finished.stderr[-3000:]}"
        )
    restored = count_items(ddb, table_name)
    if restored != items:
        raise SystemExit(
            f"dynamodump restored {restored:,} items of {items:,} (it drops what it cannot write); its numbers "
            f"are not comparable. Its log:\n{finished.stderr[-3000:]}"
        )
    result.extra["restored_items"] = restored
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, required=True, help="directory written by generate_export")
    args = parser.parse_args(argv)
    with local_endpoint() as endpoint:
        result = run(args.export, endpoint)
    print(table([result]))
    print(f"server CPU-s per 1M items: {result.extra['server_cpu_seconds'] / result.items * 1e6:,.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
