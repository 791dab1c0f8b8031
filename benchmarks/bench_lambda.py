"""A small table's RTO: the time to the first and to the last written item, through the Restore
Lambda's handler and through the Glue restore job, side by side (same export, same local endpoint).

Each path runs as its own process started by this one, so both pay their start (a Lambda cold start
pays the imports too; the job pays Spark's): the handler invoked by a tiny driver script with a
15-minute ``LocalLambdaContext``, the job as ``glue_jobs/restore_job.py`` on Spark ``local[*]``.
Both restore into the same fresh, empty table; this process polls its ``DescribeTable`` ItemCount
(live on the local endpoint) every ``POLL_SECONDS`` from the moment the process is started: the first
poll that sees an item is the time to the first written item, the first that sees them all the time
to the last. The resolution is one poll (plus its round trip, ~5 ms here). The handler also reports
its own view (``timings`` in its answer: from the call, not the process start).

    python -m benchmarks.bench_lambda [--items 5000] [--items-per-file 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.baseline_seed import backup_manifest, count_items, create_table
from benchmarks.bench_job import upload_export
from benchmarks.endpoint import Endpoint
from benchmarks.generate_export import DEFAULT_BUCKET, DEFAULT_DATE, DEFAULT_PREFIX
from dynamodb_dr.clients import make_client

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.02

# The driver of the handler path: import and invoke the handler as the Lambda runtime would.
_HANDLER = """
import importlib.util, json, sys
from local_aws.lambda_context import LocalLambdaContext
spec = importlib.util.spec_from_file_location("restore_handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
response = module.lambda_handler(json.loads(sys.argv[2]), LocalLambdaContext(function_name="restore", remaining_ms=900_000))
print("RESPONSE " + json.dumps(response, default=str))
"""


@dataclass
class Timing:
    path: str
    items: int
    first_item_seconds: float | None
    last_item_seconds: float | None
    process_seconds: float
    restored: int
    extra: dict[str, Any] = field(default_factory=dict)


def _watch(command: list[str], env: dict[str, str], table: str, items: int, log: Path, path: str) -> Timing:
    ddb = make_client("dynamodb")
    first = last = None
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        while True:
            running = process.poll() is None
            count = count_items(ddb, table)
            now = time.monotonic() - started
            if first is None and count > 0:
                first = now
            if last is None and count >= items:
                last = now
            if not running:
                break
            time.sleep(POLL_SECONDS)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"{path} failed (exit {process.returncode}); see {log}")
    return Timing(path, items, first, last, seconds, count_items(ddb, table))


def _fresh_target(export_root: Path) -> tuple[str, int]:
    manifest = backup_manifest(export_root)
    ((table, backup),) = manifest.tables.items()
    upload_export(export_root, make_client("s3"))
    create_table(make_client("dynamodb"), table, backup.table_definition or {})
    return table, backup.item_count


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "glue_jobs")])}
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env.update(
        BACKUP_BUCKET=DEFAULT_BUCKET,
        S3_EXPORTS_PREFIX=DEFAULT_PREFIX,
        RESTORE_GLUE_JOB_NAME="bench-restore",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    return env


def through_handler(export_root: Path, endpoint: Endpoint, *, max_workers: int = 5) -> Timing:
    endpoint.reset()
    table, items = _fresh_target(export_root)
    event = {"backup_date": DEFAULT_DATE, "max_workers": max_workers}
    log = export_root.parent / "restore_lambda.log"
    command = [
        sys.executable,
        "-c",
        _HANDLER,
        str(ROOT / "lambdas" / "restore" / "handler.py"),
        json.dumps(event),
    ]
    timing = _watch(command, _env(), table, items, log, "the Restore Lambda's handler")
    timing.path = f"Restore Lambda handler (threads, 1 data file at a time, {max_workers} requests in flight)"
    response = next(
        json.loads(line[len("RESPONSE ") :])
        for line in log.read_text().splitlines()
        if line.startswith("RESPONSE ")
    )
    if response["statusCode"] != 200:
        raise SystemExit(f"the Restore Lambda answered {response['statusCode']}; see {log}")
    timing.extra = {"in_function": response["body"]["timings"], "estimate": response["body"]["estimate"]}
    return timing


def through_job(export_root: Path, endpoint: Endpoint, *, max_workers: int = 4) -> Timing:
    endpoint.reset()
    table, items = _fresh_target(export_root)
    command = [
        sys.executable, str(ROOT / "glue_jobs" / "restore_job.py"), "--backup_date", DEFAULT_DATE,
        "--BACKUP_BUCKET", DEFAULT_BUCKET, "--S3_EXPORTS_PREFIX", DEFAULT_PREFIX, "--max_workers", str(max_workers),
    ]  # fmt: skip
    timing = _watch(
        command, _env(), table, items, export_root.parent / "restore_job_small.log", "the restore job"
    )
    timing.path = f"Glue restore job (Spark local[*], {max_workers} requests in flight a task)"
    return timing


def report(timings: list[Timing]) -> str:
    def s(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    rows = [
        "| path | items | to the first written item (s) | to the last written item (s) | process ended (s) | restored |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        rows.append(
            f"| {t.path} | {t.items:,} | {s(t.first_item_seconds)} | {s(t.last_item_seconds)} | "
            f"{s(t.process_seconds)} | {t.restored:,} |"
        )
    handler = next((t for t in timings if "in_function" in t.extra), None)
    if handler:
        inside = handler.extra["in_function"]
        rows.append(
            f"\nTimes from the start of each process (imports, and for the job Spark's start-up, included), "
            f"observed by polling the target's item count every {POLL_SECONDS * 1000:.0f} ms. Inside the "
            f"function, from the handler's call: first data file's write started at "
            f"{inside['seconds_to_first_write']} s, last item written at {inside['seconds_to_last_write']} s, "
            f"answered at {inside['seconds']} s (its estimate before starting: "
            f"{handler.extra['estimate']['seconds']} s of work)."
        )
    return "\n".join(rows)


def run(export_root: Path, endpoint: Endpoint) -> list[Timing]:
    return [through_handler(export_root, endpoint), through_job(export_root, endpoint)]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.endpoint import local_endpoint
    from benchmarks.run_all import export_for

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--items-per-file", type=int, default=1000)
    parser.add_argument("--exports", type=Path, default=Path(".bench/exports"))
    args = parser.parse_args(argv)
    export = export_for(args.items, args.items_per_file, args.exports)
    with local_endpoint() as endpoint:
        print(report(run(export, endpoint)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
