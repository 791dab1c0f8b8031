"""A table's write budget and how it is shared among the Spark tasks that write the table.

* ``--max_write_rate`` is in **items/s** per table (an item over 1 KB costs ``ceil(size / 1 KB)``
  WCU, so in WCU a budget of N items/s costs more for large items).
* ``--write_rate_percent`` is a percentage of the target's write capacity (``capacity_budget``:
  provisioned WCU, the smallest of its GSIs' included; on demand its max/warm throughput or the
  40,000 default), converted to items/s with the export's average item size.
* Both given: the smaller wins. Neither: the table's default write quota, 40,000 items/s, is the
  ceiling, i.e. no limit of our own below what DynamoDB allows a table by default; the writers still
  back off on throttling (AIMD) and climb again, so they settle just under what the table accepts.

How many tasks write one table at once: ``concurrent_writers``, i.e. the files still to write, at
most the cluster's task slots. Each write task takes a list of data files (``balance``: by item
count, largest first, so the tasks end together) and keeps one rate limiter and one writer (its
kept-alive connections) across them, fetching the next file while it writes the current one. Each
starts with an equal share of the budget; when a task has written all its files it says so in the
table's progress folder, and the tasks still writing raise their share to the budget divided among
those left (``SharedBudget``), so the budget a finished task leaves flows to the others. A task not
started yet counts as writing: the table gets less than its budget then, never more.

A task's rate limiter does not run at its share exactly: a token bucket at rate ``c`` with a burst
of ``b`` seconds releases up to ``c * (W + b) + one batch`` items in a window of ``W`` seconds
(measured through the job: 105.5% of the budget in the busiest 5-s window when ``c`` = the share).
So the ceiling is ``(share * 5 - 25) / (5 + 0.1)`` (``task_ceiling``): no window of 5 s or more
gets more than the budget, and the long-run rate is 93% (share 100 items/s) to 99.5% (share
5,000 items/s) of it. Below 10 items/s per task one batch of 25 is already half a window's
budget; the ceiling is then half the share.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from dynamodb_dr.restore.args import MIN_WRITE_RATE, RestoreArgs, check_useful_rate
from dynamodb_dr.restore.rate_limit import DEFAULT_ON_DEMAND_WRITE_UNITS, capacity_budget
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS

logger = logging.getLogger(__name__)

KB = 1024
HOLD_WINDOW_SECONDS = 5.0
"""The shortest window over which a table's budget is held."""
BURST_SECONDS = 0.1
"""The rate limiter's bucket: at most this many seconds' worth of items at once after an idle spell."""


def task_slots(default_parallelism: int, conf: Mapping[str, str]) -> int:
    """Tasks the cluster runs at once: ``defaultParallelism``, or, when Spark may add executors
    (dynamic allocation, as Glue auto scaling does), ``maxExecutors x cores / task.cpus`` if larger.
    ``conf`` is the Spark configuration (``dict(sc.getConf().getAll())``)."""
    slots = int(default_parallelism)
    if (conf.get("spark.dynamicAllocation.enabled") or "false").strip().lower() == "true":
        max_executors = (conf.get("spark.dynamicAllocation.maxExecutors") or "").strip()
        cores = (conf.get("spark.executor.cores") or "1").strip()
        task_cpus = (conf.get("spark.task.cpus") or "1").strip()
        if max_executors.isdigit() and cores.isdigit() and task_cpus.isdigit() and int(task_cpus) > 0:
            slots = max(slots, int(max_executors) * int(cores) // int(task_cpus))
    return max(1, slots)


def wcu_per_item(billed_size_bytes: int | None, item_count: int | None) -> float:
    """Write units per item from the export's average item size, rounded up to whole KB (>= 1)."""
    if not billed_size_bytes or not item_count:
        return 1.0
    return float(max(1, math.ceil(billed_size_bytes / item_count / KB)))


def table_budget(
    args: RestoreArgs, describe_table_response: Mapping[str, Any] | None, *, write_units_per_item: float = 1.0
) -> float:
    """The table's write budget in items/s (see the module docstring)."""
    budgets: list[float] = []
    if args.max_write_rate is not None:
        budgets.append(args.max_write_rate)
    if args.write_rate_percent is not None:
        if describe_table_response is None:
            raise ValueError("write_rate_percent needs the target's DescribeTable response")
        from_capacity = capacity_budget(
            describe_table_response, args.write_rate_percent, wcu_per_item=write_units_per_item
        )
        table = describe_table_response.get("Table", {}).get("TableName", "the target")
        budgets.append(
            check_useful_rate(
                from_capacity,
                what=f"--write_rate_percent {args.write_rate_percent:g} of {table}'s write capacity "
                f"({from_capacity:.3g} items/s)",
            )
        )
    return min(budgets) if budgets else float(DEFAULT_ON_DEMAND_WRITE_UNITS)


def concurrent_writers(files_to_write: int, slots: int, budget: float | None = None) -> int:
    """Tasks of one table that write at once: one per file still to write, at most the cluster's
    slots, and no more than leaves each at least ``MIN_WRITE_RATE`` (a batch a minute) of the budget."""
    writers = max(0, min(files_to_write, slots))
    if budget is not None:
        writers = min(writers, max(1, math.floor(budget / MIN_WRITE_RATE)))
    return writers


def task_ceiling(
    share: float,
    *,
    batch_items: int = MAX_BATCH_ITEMS,
    window: float = HOLD_WINDOW_SECONDS,
    burst_seconds: float = BURST_SECONDS,
) -> float:
    """The rate-limiter ceiling (items/s) that keeps one task within ``share`` over any ``window``."""
    held = (share * window - batch_items) / (window + burst_seconds)
    return max(held, share / 2)


T = TypeVar("T")


def balance(files: Sequence[T], tasks: int, items: Callable[[T], int]) -> list[list[T]]:
    """``files`` split into ``tasks`` lists with item counts as even as possible (largest file first,
    each to the list with the fewest items so far). A file costs its items plus one batch, so empty
    files (one per empty partition) are spread too. Lists are in write order, largest first."""
    tasks = min(max(1, tasks), len(files))
    heap = [(0, i) for i in range(tasks)]
    lists: list[list[T]] = [[] for _ in range(tasks)]
    for f in sorted(files, key=lambda f: -items(f)):
        load, i = heapq.heappop(heap)
        lists[i].append(f)
        heapq.heappush(heap, (load + items(f) + MAX_BATCH_ITEMS, i))
    return lists


def tasks_prefix(folder: str, run_id: str) -> str:
    """Where the write tasks of one run of one table say they have finished (``SharedBudget``)."""
    return f"{folder}write-tasks/{run_id}/"


def clear_finished_tasks(s3: Any, bucket: str, folder: str, run_id: str) -> None:
    """Delete what ``SharedBudget`` wrote for a run (the driver, once the write stage is over)."""
    prefix = tasks_prefix(folder, run_id)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


class SharedBudget:
    """One write task's share of its table's budget, raised as the table's other tasks finish.

    ``tasks`` tasks write the table; this is task ``index``. Each writes ``{folder}write-tasks/
    {run_id}/{index}.finished`` when it has written all its files (``finished``: after its last answer,
    so it sends nothing more). While running, a background thread lists those objects every
    ``interval`` seconds and sets ``set_ceiling(task_ceiling(budget / tasks still writing))``.
    A listing that fails leaves the share as it is (never raises it): the budget is held either way.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        folder: str,
        run_id: str,
        *,
        index: int,
        tasks: int,
        budget: float,
        set_ceiling: Callable[[float], None],
        interval: float = 1.0,
    ) -> None:
        self.s3, self.bucket, self.index, self.tasks, self.budget = s3, bucket, index, tasks, budget
        self.prefix = tasks_prefix(folder, run_id)
        self.set_ceiling, self.interval = set_ceiling, interval
        self.running = tasks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.tasks > 1:
            self._thread = threading.Thread(target=self._watch, name="shared-budget", daemon=True)
            self._thread.start()

    def finished(self, files_written: int) -> None:
        """This task sends nothing more: stop watching and tell the others."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.tasks > 1:
            body = json.dumps({"task": self.index, "files": files_written}).encode()
            try:
                self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}{self.index}.finished", Body=body)
            except Exception as exc:  # the others keep their share: the budget is only under-used
                logger.warning("could not record a finished write task", extra={"error": str(exc)})

    def _finished_others(self) -> int:
        done: set[str] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            done.update(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
        return len(done - {f"{self.index}.finished"})

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                running = max(1, self.tasks - self._finished_others())
            except Exception as exc:  # keep the share as it is
                logger.warning("could not read finished write tasks", extra={"error": str(exc)})
                continue
            if running < self.running:
                self.running = running
                self.set_ceiling(task_ceiling(self.budget / running))
            if running == 1:
                return
