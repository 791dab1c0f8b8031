"""The write-rate budget on a real clock, with a counting sink in place of DynamoDB (phase 2 runs the
same check through the restore job against the local endpoint).

``tasks`` tasks write one table, each with its own ``AdaptiveRateLimiter`` at ``task_share(budget,
tasks)`` and ``threads`` writer threads sending batches of 25. Printed:

* held: items/s achieved over the whole run as a share of the budget (goal >= 90%), and the most
  items in any 5-second window as a share of 5 s of budget (goal <= 105%);
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

from dynamodb_dr.rate_limit import AdaptiveRateLimiter, task_share

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
    budget: float, *, tasks: int = 2, threads: int = 4, seconds: float = 30.0, table_accepts: float | None = None
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
    return RateRun(name, budget, seconds, sum(counts), throttled[0], max_in_window(times, counts, 5.0), table_accepts)


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=2000, help="items/s for the table")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--accept-percent", type=float, default=60.0, help="what the throttling table takes")
    args = parser.parse_args(argv)
    print(report(run(args.budget, seconds=args.seconds, accept_percent=args.accept_percent)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
