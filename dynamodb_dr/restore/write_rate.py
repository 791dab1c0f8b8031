"""A table's write budget and how it is shared among the Spark tasks that write the table.

* ``--max_write_rate`` is in **items/s** per table (an item over 1 KB costs ``ceil(size / 1 KB)``
  WCU, so in WCU a budget of N items/s costs more for large items).
* ``--write_rate_percent`` is a percentage of the target's write capacity (``capacity_budget``:
  provisioned WCU, the smallest of its GSIs' included; on demand its max/warm throughput or the
  40,000 default), converted to items/s with the export's average item size.
* Both given: the smaller wins. Neither: the table's default write quota, 40,000 items/s, is the
  ceiling, i.e. no limit of our own below what DynamoDB allows a table by default; the writers still
  back off on throttling (AIMD) and climb again, so they settle just under what the table accepts.

How many tasks write one table at once: the write stage runs one Spark task per data file, in
table order, at most ``task_slots`` at a time (the cluster's task slots), so at most
``min(files to write, task_slots)`` tasks of one table are running together. Each gets an equal
share of the budget; when fewer of a table's tasks run at once (the last files, or another table's
tasks sharing the slots) the table gets less than its budget, never more.

A task's rate limiter does not run at its share exactly: a token bucket at rate ``c`` with a burst
of ``b`` seconds releases up to ``c * (W + b) + one batch`` items in a window of ``W`` seconds
(measured through the job: 105.5% of the budget in the busiest 5-s window when ``c`` = the share).
So the ceiling is ``(share * 5 - 25) / (5 + 0.1)`` (``task_ceiling``): no window of 5 s or more
gets more than the budget, and the long-run rate is 93% (share 100 items/s) to 99.5% (share
5,000 items/s) of it. Below 10 items/s per task one batch of 25 is already half a window's
budget; the ceiling is then half the share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dynamodb_dr.restore.args import MIN_WRITE_RATE, RestoreArgs, check_useful_rate
from dynamodb_dr.restore.rate_limit import DEFAULT_ON_DEMAND_WRITE_UNITS, capacity_budget
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS

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
