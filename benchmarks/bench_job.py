"""The restore job's own paths, measured with its real code:

* ``read_path``: ``export_reader.iter_batches`` (gunzip, line split, line check, 25 lines a batch)
  → ``batch_body`` into a counting sink, as ``write_data_file`` reads; single-threaded, so items / CPU-second is items/s per core.
* ``write_path``: first the job's validation stage over the files (``validate_data_file``: S3 GET +
  MD5 + gunzip + check + count, its own pass), then ``restore.tasks.write_data_file`` per data file
  as the write stage runs it (S3 GET of the validated version, read, check, batch, ``BatchWriter``
  pipeline with 4 requests in flight, signed requests). S3 is the local endpoint (files
  uploaded untimed); DynamoDB is ``benchmarks.http_sink`` (``AWS_ENDPOINT_URL_DYNAMODB``), so the
  client's own CPU per item is measured without the emulator's cost on the same cores. The same run
  sends the same bodies through botocore's call path (``client.batch_write_item`` with the prepared
  body swapped in, as the writer did before) for the comparison that chose the transport, and the
  seed's approach (boto3 ``batch_writer``) into the same sink: per-item client CPU on equal footing.
* ``restore_job``: ``glue_jobs/restore_job.py`` as a child process (Spark ``local[*]``) against the
  local endpoint. CPU = the whole process tree (driver Python, its JVM, the Python workers): /proc
  is polled every 0.2 s and the last utime+stime seen for every pid of the tree is summed (a process
  living < 0.2 s may be missed; Spark's are long-lived). The Python workers' share (where the items
  are processed) is reported too, since the JVM's start-up is a fixed cost a small run cannot
  amortize.

    python -m benchmarks.bench_job --export .bench/exports/items-1000000 --only read
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.baseline_seed import backup_manifest, count_items, create_table
from benchmarks.bench_read_floor import data_files
from benchmarks.endpoint import Endpoint
from benchmarks.generate_export import DEFAULT_BUCKET, DEFAULT_DATE, DEFAULT_PREFIX
from benchmarks.http_sink import http_sink
from benchmarks.measure import CLK_TCK, Result, since, snapshot
from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.restore import inflate, item_rules, malloc
from dynamodb_dr.restore.export_reader import (
    DataFile,
    iter_batches,
    iter_items,
    read_export,
    validate_data_file,
)
from dynamodb_dr.restore.item_rules import ItemRules
from dynamodb_dr.restore.tasks import write_data_file
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS, BatchWriter, batch_body

ROOT = Path(__file__).resolve().parents[1]


def _local_data_file(path: Path | str) -> DataFile:
    return DataFile(key=str(path), item_count=0, md5="")


def job_reader_lines(path: str) -> Iterator[bytes]:
    """The job's reader over one local gzip data file (for ``bench_memory --reader``), with the
    allocator tuned as the job's tasks tune it."""
    malloc.tune_for_streaming()
    return iter_items(str(path), _local_data_file(path), "benchmark")


def read_path(files: list[Path], engine: str | None = None) -> Result:
    """read → validate → batch into a counting sink, one thread; ``engine`` forces an inflate engine
    (``dynamodb_dr.restore.inflate``), else the job's default."""
    if engine is not None:
        with inflate.engine(engine):
            return read_path(files)
    start = snapshot()
    items = body_bytes = 0
    for path in files:
        for batch in iter_batches(str(path), _local_data_file(path), "benchmark", MAX_BATCH_ITEMS):
            items += len(batch)
            body_bytes += len(batch_body("sink", batch))
    return since(
        start,
        f"job read → validate → batch (counting sink), {inflate.ENGINE.split()[0]} inflate",
        items,
        body_bytes=body_bytes,
    )


# --- the write path into the HTTP sink ---------------------------------------------------------


class BotocoreCallPath(BatchWriter):
    """The same prepared bodies sent through ``client.batch_write_item`` (botocore's whole call
    path: events, endpoint rules, parameter validation of a placeholder, serialization, signing,
    retries, parsing) with the body swapped in before the call: the writer's first transport, kept
    here only as the measured reference. The pipeline runs these calls on its thread pool (as it does
    through a proxy), ``max_in_flight`` at a time."""

    _local = threading.local()
    _placeholder: ClassVar[dict[str, Any]] = {"PutRequest": {"Item": {"_": {"S": "_"}}}}

    def __init__(self, client: Any, table_name: str) -> None:
        super().__init__(client, table_name)

        def swap(params: dict[str, Any], **_: Any) -> None:
            body = getattr(self._local, "body", None)
            if body is not None:
                params["body"] = body

        client.meta.events.register("before-call.dynamodb.BatchWriteItem", swap, unique_id="bench-body-swap")
        self.transport.send = self._send_via_client  # type: ignore[method-assign]
        # As through a proxy: the pipeline hands each body to transport.send on its thread pool.
        self.transport.direct = False

    def _send_via_client(self, body: bytes) -> dict[str, Any]:
        self._local.body = body
        try:
            return self.client.batch_write_item(RequestItems={self.table_name: [self._placeholder]})
        finally:
            self._local.body = None


def upload_export(export_root: Path, s3: Any, bucket: str = DEFAULT_BUCKET) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    for path in sorted(p for p in export_root.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, path.relative_to(export_root).as_posix())


def write_path(
    export_root: Path,
    *,
    max_workers: int = 4,
    max_files: int | None = None,
    seed_workers: int = 8,
    repeats: int = 3,
) -> list[Result]:
    """The job's validation stage, then its per-file writer (real ``write_data_file``) into the HTTP
    sink; S3 from the local endpoint (already in ``AWS_ENDPOINT_URL``, export uploaded by the caller).
    The lean transport's run is repeated ``repeats`` times and the median kept (the machine is shared
    and its kernel time varies run to run); the min and max are in its ``extra``. Then the seed's
    approach into the same sink (``seed_workers`` threads; 0 skips it)."""
    manifest = backup_manifest(export_root)
    ((table_name, backup),) = manifest.tables.items()
    s3 = make_client("s3")
    export = read_export(s3, DEFAULT_BUCKET, backup.export_manifest_key)
    files = [f for f in export.files if f.item_count][:max_files]
    # The job's validation stage first (its own pass: S3 GET + MD5 + gunzip + count, and every line
    # checked against the table's keys as DynamoDB would: item_rules), as the job runs it before any
    # write; the write stage then reads the versions it checked.
    rules = ItemRules.from_table(backup.table_definition or {})
    start = snapshot()
    checks = [
        validate_data_file(s3, DEFAULT_BUCKET, f, export.summary.export_arn, rules=rules) for f in files
    ]
    results = [
        since(
            start,
            f"job validate_data_file (the validation stage, before any write), {inflate.ENGINE.split()[0]} "
            f"inflate, lines checked with {item_rules.PARSER}",
            sum(c.items for c in checks),
        )
    ]
    etags = {c.key: c.etag for c in checks}
    with http_sink() as sink:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = sink.url
        try:
            for name, writer_class, runs, engine in (
                (f"lean signed transport, {inflate.ENGINE.split()[0]} inflate", BatchWriter, repeats, None),
                ("lean signed transport, zlib inflate", BatchWriter, 1, "zlib"),
                ("botocore call path", BotocoreCallPath, 1, None),
            ):
                if engine is not None and inflate.ENGINE.startswith(engine):
                    continue  # the default already is this engine
                ddb = make_client("dynamodb", config=client_config(max_pool_connections=max_workers + 2))
                writer = writer_class(ddb, table_name)
                measured = []
                for _ in range(runs):
                    forced = inflate.engine(engine) if engine else contextlib.nullcontext()
                    before = sink.counts()["items"]
                    start = snapshot()
                    written = 0
                    with forced:
                        for data_file in files:
                            done = write_data_file(
                                s3,
                                writer,
                                DEFAULT_BUCKET,
                                data_file,
                                export.summary.export_arn,
                                table=table_name,
                                max_workers=max_workers,
                                verified_etag=etags[data_file.key],
                            )
                            written += done.items_written
                    measured.append(
                        since(
                            start,
                            f"job write_data_file, {name}, {max_workers} in flight (HTTP sink)",
                            written,
                        )
                    )
                    received = sink.counts()["items"] - before
                    if received != written:
                        raise SystemExit(
                            f"the sink received {received:,} items but the writer reported {written:,}"
                        )
                results.append(median_run(measured))
            if seed_workers:
                results.append(_seed_into_sink(export_root, sink, table_name, len(files), seed_workers))
        finally:
            os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    return results


def median_run(runs: list[Result]) -> Result:
    """The run with the median CPU per item, noting the spread of all of them."""
    ordered = sorted(runs, key=lambda r: r.cpu_seconds_per_million)
    median = ordered[len(ordered) // 2]
    if len(runs) > 1:
        median.extra.update(
            runs=len(runs),
            per_core_min=round(ordered[-1].items_per_cpu_second),
            per_core_max=round(ordered[0].items_per_cpu_second),
        )
    return median


def _seed_into_sink(export_root: Path, sink: Any, table_name: str, n_files: int, workers: int) -> Result:
    """The seed's approach (``baseline_seed``) into the same sink, over the same data files (read
    from the local export: no S3 GET in its number)."""
    from benchmarks.baseline_seed import restore_like_the_seed

    files = data_files(export_root)[:n_files]
    before = sink.counts()["items"]
    start = snapshot()
    sent = restore_like_the_seed(files, table_name, workers)
    result = since(start, f"seed: boto3 batch_writer, {workers} threads (HTTP sink)", sent)
    received = sink.counts()["items"] - before
    if received != sent:
        raise SystemExit(f"the sink received {received:,} items but the seed path sent {sent:,}")
    return result


# --- the real job, end to end ------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _tree_cpu(root: int, seen: dict[int, tuple[float, str]]) -> None:
    """Record the current utime+stime of ``root`` and all its descendants into ``seen``."""
    tree = _children()
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seen[pid] = ((int(fields[11]) + int(fields[12])) / CLK_TCK, cmdline)
        stack.extend(tree.get(pid, []))


def restore_job(export_root: Path, endpoint: Endpoint, *, max_workers: int = 4) -> Result:
    """``glue_jobs/restore_job.py`` end to end into the local endpoint (export uploaded here, untimed)."""
    manifest = backup_manifest(export_root)
    ((table_name, backup),) = manifest.tables.items()
    upload_export(export_root, make_client("s3"))
    ddb = make_client("dynamodb")
    create_table(ddb, table_name, backup.table_definition or {})
    command = [
        sys.executable, str(ROOT / "glue_jobs" / "restore_job.py"), "--backup_date", DEFAULT_DATE,
        "--BACKUP_BUCKET", DEFAULT_BUCKET, "--S3_EXPORTS_PREFIX", DEFAULT_PREFIX, "--max_workers", str(max_workers),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "glue_jobs")])}
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    seen: dict[int, tuple[float, str]] = {}
    server_before = endpoint.cpu_seconds()
    started = time.monotonic()
    with open(export_root.parent / "restore_job.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        while process.poll() is None:
            _tree_cpu(process.pid, seen)
            time.sleep(0.2)
    wall = time.monotonic() - started
    server = endpoint.cpu_seconds() - server_before
    if process.returncode != 0:
        raise SystemExit(
            f"the restore job failed (exit {process.returncode}); see {export_root.parent / 'restore_job.log'}"
        )
    total = sum(cpu for cpu, _ in seen.values())
    workers = sum(
        cpu for cpu, cmd in seen.values() if "pyspark" in cmd and ("daemon" in cmd or "worker" in cmd)
    )
    jvm = sum(cpu for cpu, cmd in seen.values() if "java" in cmd.split(" ", 1)[0])
    restored = count_items(ddb, table_name)
    if restored != backup.item_count:
        raise SystemExit(f"the restore job restored {restored:,} items of {backup.item_count:,}")
    return Result(
        name=f"restore job (Spark local[*], {max_workers} requests in flight a task)",
        items=backup.item_count,
        wall_seconds=wall,
        cpu_seconds=total,
        cpu_counted="process tree: driver + JVM + Python workers",
        extra={
            "server_cpu_seconds": server,
            "python_worker_cpu_seconds": workers,
            "jvm_cpu_seconds": jvm,
            "processes": len(seen),
            "restored_items": restored,
        },
    )


def main(argv: list[str] | None = None) -> int:
    from benchmarks.endpoint import local_endpoint
    from benchmarks.measure import table

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--only", default="read,write,job")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    results = []
    if "read" in only:
        results.append(read_path(data_files(args.export)))
    if only & {"write", "job"}:
        with local_endpoint() as endpoint:
            if "write" in only:
                upload_export(args.export, make_client("s3"))
                results += write_path(args.export)
            if "job" in only:
                endpoint.reset()
                results.append(restore_job(args.export, endpoint))
    print(table(results))
    for r in results:
        if r.extra:
            print(r.name, r.extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
