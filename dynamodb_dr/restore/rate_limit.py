"""A write-rate budget that the restore's writers hold together: an adaptive token bucket.

Units: the budget is in **items per second** (one ``PutRequest`` = one item), not WCU. An item of up
to 1 KB costs 1 WCU; a larger one costs ``ceil(size / 1 KB)`` WCU, so a budget derived from a
table's capacity (``capacity_budget``) takes ``wcu_per_item`` to convert (e.g. the export's
``billedSizeBytes / itemCount`` rounded up to whole KB).

How a table's budget is held across a Spark job: every task writing a table gets an equal share
(``task_share(budget, tasks)``) and runs one ``AdaptiveRateLimiter`` with that share as its
ceiling. The writer's protocol is::

    limiter.acquire(len(batch))          # blocks until the batch may be sent
    response = client.batch_write_item(...)
    if throttled or response["UnprocessedItems"]:
        limiter.on_throttled()           # multiplicative decrease
    else:
        limiter.on_success(len(batch))   # additive increase back toward the ceiling

* Token bucket with a small burst: tokens accrue at the current rate up to ``burst_seconds`` worth
  of them, so after an idle spell at most that much is sent at once. A batch larger than the bucket
  is let through by going into debt (later callers wait it off), so in any window of ``W`` seconds at
  most ``rate * (W + burst_seconds) + largest_batch`` items are released. With the defaults (0.1 s,
  batches of 25) that is within 5% of ``rate`` over 5 s once ``rate`` >= ~170 items/s; a caller that
  must never exceed a share over 5 s sets the ceiling to ``(share * 5 - 25) / 5.1``, as the restore
  job does (``dynamodb_dr.restore.write_rate``).
* AIMD: ``on_throttled`` multiplies the rate by ``decrease_factor`` (at most once per
  ``decrease_interval_seconds``, so a burst of throttled calls that were in flight together counts
  as one congestion signal) and empties the bucket; ``on_success`` raises it by
  ``increase_fraction`` of the ceiling per second's worth of items written, never above the ceiling.
  The rate never drops below ``floor`` (> 0), so a restore always makes progress.
* Thread-safe: a reservation is taken under a lock and the wait happens outside it; callers are
  served in the order they reserved.
* The clock is injectable (``monotonic`` + ``sleep``) so tests are deterministic.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dynamodb_dr.errors import ConfigError

# DynamoDB's default per-table write quota, which on-demand tables are treated as (AWS_FACTS.md).
DEFAULT_ON_DEMAND_WRITE_UNITS = 40_000


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class RateLimiterStats:
    rate: float
    """Current allowed rate, items/s."""
    ceiling: float
    floor: float
    items_acquired: int
    throttle_events: int
    """Calls to ``on_throttled``."""
    decreases: int
    """Multiplicative decreases applied (throttle events closer together than the interval count once)."""


def _positive_finite(value: float, name: str, fix: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number; {fix}") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive finite number; {fix}")
    return number


class AdaptiveRateLimiter:
    """An AIMD token bucket, in items/s, shared by the threads of one writer (one Spark task)."""

    def __init__(
        self,
        ceiling: float,
        *,
        floor: float | None = None,
        initial_rate: float | None = None,
        burst_seconds: float = 0.1,
        decrease_factor: float = 0.5,
        decrease_interval_seconds: float = 1.0,
        increase_fraction: float = 0.05,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._ceiling = _positive_finite(
            ceiling, "ceiling", "pass the task's share of the write budget in items/s"
        )
        floor = self._ceiling / 100 if floor is None else floor
        self._floor = _positive_finite(floor, "floor", "pass a minimum rate in items/s above 0")
        if self._floor > self._ceiling:
            raise ConfigError(f"floor={floor!r} is above ceiling={ceiling!r}; pass a floor <= the ceiling")
        if not 0 < decrease_factor < 1:
            raise ConfigError(
                f"decrease_factor={decrease_factor!r} must be between 0 and 1 (exclusive), e.g. 0.5"
            )
        if burst_seconds < 0 or not math.isfinite(burst_seconds):
            raise ConfigError(f"burst_seconds={burst_seconds!r} must be >= 0, e.g. 0.1")
        if increase_fraction <= 0 or not math.isfinite(increase_fraction):
            raise ConfigError(f"increase_fraction={increase_fraction!r} must be > 0, e.g. 0.05")
        if decrease_interval_seconds < 0:
            raise ConfigError(
                f"decrease_interval_seconds={decrease_interval_seconds!r} must be >= 0, e.g. 1.0"
            )
        rate = self._ceiling if initial_rate is None else float(initial_rate)
        self._rate = min(self._ceiling, max(self._floor, rate))
        self._burst_seconds = float(burst_seconds)
        self._decrease_factor = float(decrease_factor)
        self._decrease_interval = float(decrease_interval_seconds)
        self._increase_step = self._ceiling * float(increase_fraction)
        self._clock = clock
        self._lock = threading.Lock()
        self._last = clock.monotonic()
        self._tokens = self._capacity()  # a fresh bucket is full: at most one burst at start
        self._last_decrease: float | None = None
        self._items_acquired = 0
        self._throttle_events = 0
        self._decreases = 0

    # --- the writer's protocol --------------------------------------------------------------------

    def acquire(self, n_items: int) -> None:
        """Block until ``n_items`` may be sent at the current rate."""
        if n_items <= 0:
            return
        with self._lock:
            now = self._clock.monotonic()
            self._refill(now)
            self._tokens -= n_items
            self._items_acquired += n_items
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._clock.sleep(wait)

    def on_throttled(self) -> None:
        """A call was throttled or returned UnprocessedItems: slow down (multiplicative decrease)."""
        with self._lock:
            now = self._clock.monotonic()
            self._refill(now)
            self._throttle_events += 1
            if self._last_decrease is not None and now - self._last_decrease < self._decrease_interval:
                return
            self._last_decrease = now
            self._decreases += 1
            self._rate = max(self._floor, self._rate * self._decrease_factor)
            # No burst right after a throttle: the table just said it is full.
            self._tokens = min(self._tokens, 0.0)

    def on_success(self, n_items: int) -> None:
        """``n_items`` were written without throttling: climb back toward the ceiling (additive)."""
        if n_items <= 0:
            return
        with self._lock:
            self._refill(self._clock.monotonic())
            # ``increase_step`` items/s per second's worth of items written at the current rate.
            self._rate = min(self._ceiling, self._rate + self._increase_step * n_items / self._rate)

    def set_ceiling(self, ceiling: float) -> None:
        """A new ceiling (a task's share of the table's budget changed: another task finished). The
        current rate moves with it in proportion, so a limiter backed off by throttling stays backed
        off relative to its ceiling; the floor stays."""
        ceiling = _positive_finite(ceiling, "ceiling", "pass the task's share of the write budget in items/s")
        with self._lock:
            self._refill(self._clock.monotonic())
            scale = ceiling / self._ceiling
            self._ceiling = ceiling
            self._increase_step *= scale
            self._rate = min(ceiling, max(self._floor, self._rate * scale))

    # --- introspection ----------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        with self._lock:
            return self._rate

    def stats(self) -> RateLimiterStats:
        with self._lock:
            return RateLimiterStats(
                rate=self._rate,
                ceiling=self._ceiling,
                floor=self._floor,
                items_acquired=self._items_acquired,
                throttle_events=self._throttle_events,
                decreases=self._decreases,
            )

    # --- internals (call with the lock held) -------------------------------------------------------

    def _capacity(self) -> float:
        return self._rate * self._burst_seconds

    def _refill(self, now: float) -> None:
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self._capacity(), self._tokens + elapsed * self._rate)
            self._last = now


def task_share(budget: float, tasks: int) -> float:
    """Each task's share (items/s) of a table's budget when ``tasks`` tasks write it concurrently."""
    budget = _positive_finite(budget, "max_write_rate", "pass the table's write budget in items/s, e.g. 1000")
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise ConfigError(
            f"tasks={tasks!r} must be a whole number >= 1 (the tasks writing the table at once)"
        )
    return budget / tasks


def _units(value: Any) -> float | None:
    """A positive capacity figure, or None when unset (absent, 0 or AWS's -1 'no limit')."""
    if value is None:
        return None
    number = float(value)
    return number if number > 0 else None


def capacity_budget(
    describe_table_response: Mapping[str, Any], percent: float, *, wcu_per_item: float = 1.0
) -> float:
    """Items/s for ``--write_rate_percent``: ``percent`` (0-100] of the table's write capacity.

    * Provisioned: the smallest ``WriteCapacityUnits`` of the table and of its global secondary
      indexes (a write to the table is also a write to each GSI that projects the item, and a GSI
      short of capacity throttles the table's writes).
    * On demand: the smallest of ``OnDemandThroughput.MaxWriteRequestUnits`` and
      ``WarmThroughput.WriteUnitsPerSecond`` that is set, else the default table quota of
      40,000 write units.

    ``wcu_per_item`` converts write units to items: 1 for items up to 1 KB, ``ceil(KB)`` above.
    Takes DescribeTable's response (``{"Table": ...}``) or its ``Table`` alone.
    """
    table = describe_table_response.get("Table", describe_table_response)
    pct = _positive_finite(percent, "write_rate_percent", "pass a percentage in (0, 100], e.g. 50")
    if pct > 100:
        raise ConfigError(
            f"write_rate_percent={percent!r} is above 100; pass a percentage in (0, 100] of the table's "
            "write capacity, or an explicit --max_write_rate in items/s"
        )
    per_item = _positive_finite(wcu_per_item, "wcu_per_item", "pass the write units one item costs, e.g. 1")
    name = table.get("TableName", "the table")
    billing = (table.get("BillingModeSummary") or {}).get("BillingMode")
    provisioned = _units((table.get("ProvisionedThroughput") or {}).get("WriteCapacityUnits"))
    if billing == "PAY_PER_REQUEST" or (billing is None and provisioned is None):
        candidates = [
            _units((table.get("OnDemandThroughput") or {}).get("MaxWriteRequestUnits")),
            _units((table.get("WarmThroughput") or {}).get("WriteUnitsPerSecond")),
        ]
        set_units = [c for c in candidates if c is not None]
        units = min(set_units) if set_units else float(DEFAULT_ON_DEMAND_WRITE_UNITS)
    else:
        if provisioned is None:
            raise ConfigError(
                f"{name} is PROVISIONED but DescribeTable shows no WriteCapacityUnits; pass --max_write_rate "
                "in items/s instead of --write_rate_percent"
            )
        gsi_units = [
            _units((index.get("ProvisionedThroughput") or {}).get("WriteCapacityUnits"))
            for index in table.get("GlobalSecondaryIndexes") or []
        ]
        units = min([provisioned, *(u for u in gsi_units if u is not None)])
    return units * pct / 100 / per_item
