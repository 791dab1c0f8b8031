"""The write-rate budget on a real clock, with a counting sink in place of DynamoDB (phase 2 runs the
same check through the restore job against the local endpoint).

``tasks`` tasks write one table, each with its own ``AdaptiveRateLimiter`` at ``task_share(budget,
tasks)`` and ``threads`` writer threads sending batches of 25. Printed:

* held: items/s achieved over the whole run as a share of the budget (goal >= 90%), and the most
  items in any 5-second window as a share of 5 s of budget (goal <= 105%);
* through the job's writer: ``BatchWriter`` + ``AdaptiveRateLimiter`` per task against the local
  endpoint (``run_endpoint_budget``; the budget must stay below what moto can take, ~1k items/s);
* throttled: the same, against a simulated table that accepts only ``accept_percent`` of the budget
  (its own token bucket, shared by all tasks; a batch it cannot take is "throttled": the writer calls
  ``on_throttled`` and re-sends it). The achieved rate should settle just under what the table takes.

    python -m benchmarks.bench_rate_limit --budget 2000 --seconds 30
"""

from __future__ import annotations

import argparse
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass

from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter, task_share

BATCH = 25


class SimulatedTable:
    """A table that accepts ``rate`` items/s with up to 1 s of burst. It starts with no saved-up
    capacity, so what the writers achieve is compared with what it really took."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = 0.0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def write(self, n: int) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= n:
                self._tokens -= n
                return True
            return False


@dataclass(frozen=True)
class RateRun:
    name: str
    budget: float
    seconds: float
    written: int
    throttled_calls: int
    max_5s_window: int
    table_accepts: float | None
    per_second: tuple[int, ...] = ()
    """Items per second from the first write (runs counted at the wire)."""

    @property
    def achieved_share(self) -> float:
        return self.written / self.seconds / self.budget

    @property
    def max_window_share(self) -> float:
        return self.max_5s_window / (5 * self.budget)


def max_in_window(times: list[float], counts: list[int], window: float) -> int:
    prefix = [0]
    for n in counts:
        prefix.append(prefix[-1] + n)
    return max((prefix[bisect_right(times, t + window)] - prefix[i] for i, t in enumerate(times)), default=0)


def run_budget(
    budget: float,
    *,
    tasks: int = 2,
    threads: int = 4,
    seconds: float = 30.0,
    table_accepts: float | None = None,
) -> RateRun:
    table = SimulatedTable(table_accepts) if table_accepts else None
    events: list[tuple[float, int]] = []
    throttled = [0]
    lock = threading.Lock()
    start = time.monotonic()
    stop = start + seconds

    def writer(limiter: AdaptiveRateLimiter) -> None:
        while True:
            limiter.acquire(BATCH)
            now = time.monotonic()
            if now >= stop:
                return
            if table is not None and not table.write(BATCH):
                limiter.on_throttled()
                with lock:
                    throttled[0] += 1
                continue
            with lock:
                events.append((now, BATCH))
            limiter.on_success(BATCH)

    limiters = [AdaptiveRateLimiter(task_share(budget, tasks)) for _ in range(tasks)]
    workers = [threading.Thread(target=writer, args=(lim,)) for lim in limiters for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    events.sort()
    times, counts = [t for t, _ in events], [n for _, n in events]
    name = f"{tasks} tasks x {threads} threads, budget {budget:,.0f} items/s"
    if table_accepts:
        name += f", table accepts {table_accepts:,.0f}"
    return RateRun(
        name, budget, seconds, sum(counts), throttled[0], max_in_window(times, counts, 5.0), table_accepts
    )


class _Recording:
    """The task's limiter, recording when each batch is released to the wire."""

    def __init__(
        self, limiter: AdaptiveRateLimiter, events: list[tuple[float, int]], lock: threading.Lock
    ) -> None:
        self.limiter, self.events, self.lock = limiter, events, lock
        self.throttled = 0

    def acquire(self, n_items: int) -> None:
        self.limiter.acquire(n_items)
        with self.lock:
            self.events.append((time.monotonic(), n_items))

    def on_throttled(self) -> None:
        self.throttled += 1
        self.limiter.on_throttled()

    def on_success(self, n_items: int) -> None:
        self.limiter.on_success(n_items)


def run_endpoint_budget(budget: float, *, tasks: int = 2, threads: int = 2, seconds: float = 30.0) -> RateRun:
    """The job's writer (``BatchWriter``, one per task with its own ``AdaptiveRateLimiter`` at
    ``task_share``) against the endpoint in ``AWS_ENDPOINT_URL``, into a fresh table; the items that
    landed are counted in the table. The budget must be below what the endpoint can take."""
    from benchmarks.baseline_seed import count_items
    from dynamodb_dr.clients import client_config, make_client
    from dynamodb_dr.restore.writer import BatchWriter

    table_name = "bench-rate"
    ddb = make_client("dynamodb")
    if table_name in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table_name)
    ddb.create_table(
        TableName=table_name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    events: list[tuple[float, int]] = []
    lock = threading.Lock()
    reported = [0]
    pad = "x" * 900
    stop = time.monotonic() + seconds

    def write(writer: BatchWriter, task: int, thread: int) -> None:
        n = 0
        while time.monotonic() < stop:
            lines = [
                b'{"Item":{"pk":{"S":"r-%d-%d-%d"},"pad":{"S":"%s"}}}' % (task, thread, n + i, pad.encode())
                for i in range(BATCH)
            ]
            n += BATCH
            done = writer.write_lines(lines, source=f"rate-task-{task}")
            with lock:
                reported[0] += done

    recorders = [
        _Recording(AdaptiveRateLimiter(task_share(budget, tasks)), events, lock) for _ in range(tasks)
    ]
    writers = [
        BatchWriter(make_client("dynamodb", config=client_config(max_pool_connections=threads + 2)), table_name,
                    rate_limiter=rec)
        for rec in recorders
    ]  # fmt: skip
    workers = [
        threading.Thread(target=write, args=(writers[t], t, k)) for t in range(tasks) for k in range(threads)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    events.sort()
    times, counts = [t for t, _ in events], [n for _, n in events]
    written = count_items(ddb, table_name)
    if written != reported[0]:
        raise SystemExit(
            f"rate run: the writers reported {reported[0]:,} items written but the table holds {written:,}"
        )
    name = f"{tasks} tasks x {threads} threads, BatchWriter into the local endpoint, budget {budget:,.0f} items/s"
    throttled = sum(r.throttled for r in recorders)
    return RateRun(name, budget, elapsed, written, throttled, max_in_window(times, counts, 5.0), None)


def report(runs: list[RateRun]) -> str:
    rows = [
        "| run | seconds | written | achieved / budget | max 5 s window / budget | throttled calls "
        "| achieved / what the table accepts |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        of_table = f"{r.written / r.seconds / r.table_accepts:.1%}" if r.table_accepts else "-"
        rows.append(
            f"| {r.name} | {r.seconds:.0f} | {r.written:,} | {r.achieved_share:.1%} | {r.max_window_share:.1%} | "
            f"{r.throttled_calls:,} | {of_table} |"
        )
    return "\n".join(rows)


def run(budget: float = 2000, *, seconds: float = 30.0, accept_percent: float = 60.0) -> list[RateRun]:
    return [
        run_budget(budget, seconds=seconds),
        run_budget(budget, seconds=seconds, table_accepts=budget * accept_percent / 100),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=2000, help="items/s for the table")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--accept-percent", type=float, default=60.0, help="what the throttling table takes")
    args = parser.parse_args(argv)
    print(report(run(args.budget, seconds=args.seconds, accept_percent=args.accept_percent)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --- through the restore job ---------------------------------------------------------------------


class CountingProxy:
    """A forwarding HTTP endpoint between the job and DynamoDB (the local endpoint) that records when
    each BatchWriteItem arrived and how many PutRequests it carried: the rate the table really saw."""

    def __init__(self, upstream: str) -> None:
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        self.events: list[tuple[float, int]] = []
        lock = threading.Lock()
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target", "").endswith(".BatchWriteItem"):
                    with lock:
                        events.append((time.monotonic(), body.count(b'"PutRequest"')))
                upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                    }
                    upstream_connection.request("POST", self.path, body=body, headers=headers)
                    response = upstream_connection.getresponse()
                    out = response.read()
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in ("content-length", "connection", "server", "date"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                finally:
                    upstream_connection.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def per_second(times: list[float], counts: list[int]) -> tuple[int, ...]:
    """Items in each whole second from the first event (the last, partial second included)."""
    if not times:
        return ()
    bins = [0] * (int(times[-1] - times[0]) + 1)
    for t, n in zip(times, counts, strict=True):
        bins[int(t - times[0])] += n
    return tuple(bins)


def run_job_budget(export_root: object, endpoint: object, budget: float, *, label: str = "") -> RateRun:
    """``glue_jobs/restore_job.py --max_write_rate BUDGET`` (Spark local[*]: 2 tasks at once here)
    restoring ``export_root`` into the local endpoint through ``CountingProxy``. Achieved = items the
    table received over the span from the first to the last write; the worst 5-second window."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from benchmarks.baseline_seed import backup_manifest, count_items, create_table
    from benchmarks.bench_job import ROOT, upload_export
    from benchmarks.generate_export import DEFAULT_BUCKET, DEFAULT_DATE, DEFAULT_PREFIX
    from dynamodb_dr.clients import make_client

    root = Path(str(export_root))
    manifest = backup_manifest(root)
    ((table_name, backup),) = manifest.tables.items()
    upload_export(root, make_client("s3"))
    ddb = make_client("dynamodb")
    create_table(ddb, table_name, backup.table_definition or {})
    proxy = CountingProxy(endpoint.url)  # type: ignore[attr-defined]
    command = [
        sys.executable, str(ROOT / "glue_jobs" / "restore_job.py"), "--backup_date", DEFAULT_DATE,
        "--BACKUP_BUCKET", DEFAULT_BUCKET, "--S3_EXPORTS_PREFIX", DEFAULT_PREFIX, "--max_write_rate", f"{budget:g}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "glue_jobs")]),
           "AWS_ENDPOINT_URL_DYNAMODB": proxy.url, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}  # fmt: skip
    try:
        with open(root.parent / "restore_job_rate.log", "w") as log:
            finished = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        proxy.stop()
    if finished.returncode != 0:
        raise SystemExit(
            f"the restore job failed (exit {finished.returncode}); see {root.parent / 'restore_job_rate.log'}"
        )
    events = sorted(proxy.events)
    times, counts = [t for t, _ in events], [n for _, n in events]
    span = max(times[-1] - times[0], 1e-9)
    restored = count_items(ddb, table_name)
    if restored != backup.item_count:
        raise SystemExit(f"the rate-limited job restored {restored:,} items of {backup.item_count:,}")
    files = f", {label}" if label else ""
    name = (
        f"restore job --max_write_rate {budget:,.0f} (Spark local[*], {backup.item_count:,} items{files}, "
        "at the wire)"
    )
    return RateRun(
        name, budget, span, sum(counts), 0, max_in_window(times, counts, 5.0), None, per_second(times, counts)
    )
