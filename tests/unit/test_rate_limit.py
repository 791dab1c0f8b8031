"""The adaptive write-rate limiter: rate held, burst bounded, AIMD, thread safety, budgets."""

from __future__ import annotations

import threading
import time
from bisect import bisect_right

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter, capacity_budget, task_share


class FakeClock:
    """Time that only moves when someone sleeps. With several threads, a sleeper wakes at the time
    it asked for (``now`` never goes backwards), as on a real clock with instant wake-ups."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._lock = threading.Lock()
        self._read = threading.local()

    def monotonic(self) -> float:
        with self._lock:
            self._read.at = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now = max(self.now, getattr(self._read, "at", self.now) + seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def _max_in_window(events: list[tuple[float, int]], window: float) -> int:
    """The most items released in any ``window``-second interval (starting at any release)."""
    times = [t for t, _ in events]
    prefix = [0]
    for _, n in events:
        prefix.append(prefix[-1] + n)
    return max(prefix[bisect_right(times, t + window - 1e-9)] - prefix[i] for i, t in enumerate(times))


def _run(
    limiter: AdaptiveRateLimiter, clock: FakeClock, seconds: float, batch: int = 25
) -> list[tuple[float, int]]:
    events = []
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        limiter.acquire(batch)
        events.append((clock.monotonic(), batch))
    return events


def test_steady_state_rate_is_held_over_30_seconds_and_every_5_second_window():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(1000, clock=clock)
    events = _run(limiter, clock, 30)
    sent = sum(n for _, n in events)
    elapsed = events[-1][0] - 1000.0
    assert 0.99 * 1000 <= sent / elapsed <= 1.01 * 1000
    assert sent >= 0.9 * 30_000
    assert _max_in_window(events, 5.0) <= 1.05 * 5_000


def test_burst_after_idle_is_bounded_to_burst_seconds():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(1000, burst_seconds=0.1, clock=clock)
    clock.advance(60)  # idle: the bucket must not have filled with a minute of tokens
    start = clock.monotonic()
    released_at_once = 0
    while clock.monotonic() == start:
        limiter.acquire(1)
        if clock.monotonic() == start:
            released_at_once += 1
    assert released_at_once == 100  # 0.1 s at 1000 items/s

    # Idle spells between bursts of activity never let a 5-second window exceed the budget by > 5%.
    events = []
    for _ in range(6):
        events += _run(limiter, clock, 2.0)
        clock.advance(3.0)
    assert _max_in_window(events, 5.0) <= 1.05 * 5_000


def test_batch_larger_than_the_bucket_goes_through_and_later_callers_wait_it_off():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(100, burst_seconds=0.1, clock=clock)  # bucket of 10 items
    start = clock.monotonic()
    limiter.acquire(25)
    limiter.acquire(25)
    limiter.acquire(25)
    # 75 items at 100/s with 10 in the bucket: the third batch is released after 0.65 s.
    assert clock.monotonic() - start == pytest.approx(0.65)


def test_throttling_halves_the_rate_once_per_interval_and_stops_at_the_floor():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(1000, floor=100, decrease_interval_seconds=1.0, clock=clock)
    limiter.on_throttled()
    assert limiter.rate == pytest.approx(500)
    limiter.on_throttled()  # the same congestion event (in-flight calls throttled together)
    assert limiter.rate == pytest.approx(500)
    clock.advance(1.0)
    limiter.on_throttled()
    assert limiter.rate == pytest.approx(250)
    for _ in range(5):
        clock.advance(1.0)
        limiter.on_throttled()
    assert limiter.rate == pytest.approx(100)
    stats = limiter.stats()
    assert (stats.throttle_events, stats.decreases) == (8, 7)


def test_throttling_empties_the_bucket():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(1000, burst_seconds=0.5, clock=clock)
    clock.advance(10)
    limiter.on_throttled()
    before = clock.monotonic()
    limiter.acquire(50)
    assert clock.monotonic() - before == pytest.approx(50 / 500)


def test_success_climbs_back_additively_to_the_ceiling_and_not_above():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(1000, increase_fraction=0.05, clock=clock)
    limiter.on_throttled()
    assert limiter.rate == pytest.approx(500)
    limiter.on_success(500)  # one second's worth of items at 500/s: +5% of the ceiling
    assert limiter.rate == pytest.approx(550)

    rates = []
    start = clock.monotonic()
    while limiter.rate < 1000 and clock.monotonic() - start < 60:
        limiter.acquire(25)
        limiter.on_success(25)
        rates.append(limiter.rate)
    assert rates == sorted(rates) and rates[-1] == 1000
    # From 550 to 1000 at +50 items/s per second: about 9 seconds, not a jump and not a crawl.
    assert 8.0 <= clock.monotonic() - start <= 10.0
    limiter.on_success(10_000)
    assert limiter.rate == 1000


def test_aimd_settles_just_under_what_the_table_accepts():
    """A table that accepts 600 items/s behind a 1000 items/s budget: throttles bring the rate down,
    successes bring it up, and the average sent lands just under what the table accepts."""
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(1000, clock=clock)
    accepted_rate, credit, last = 600.0, 0.0, clock.monotonic()
    sent_ok = 0
    start = clock.monotonic()
    while clock.monotonic() - start < 120:
        limiter.acquire(25)
        now = clock.monotonic()
        credit = min(accepted_rate * 0.2, credit + (now - last) * accepted_rate)  # the table's own bucket
        last = now
        if credit >= 25:
            credit -= 25
            sent_ok += 25
            limiter.on_success(25)
        else:
            limiter.on_throttled()
    achieved = sent_ok / (clock.monotonic() - start)
    assert 0.7 * accepted_rate <= achieved <= accepted_rate


def test_thread_safety_several_threads_share_one_budget():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(2000, clock=clock)
    start = clock.monotonic()
    counts = [0] * 6
    events: list[tuple[float, int]] = []
    events_lock = threading.Lock()

    def writer(index: int) -> None:
        while clock.monotonic() - start < 20:
            limiter.acquire(25)
            with events_lock:
                events.append((clock.monotonic(), 25))
            counts[index] += 25
            limiter.on_success(25)
            if counts[index] % 5000 == 0:
                limiter.on_throttled()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(counts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(counts)
    assert limiter.stats().items_acquired == total  # no reservation lost or double-counted
    stats = limiter.stats()
    assert stats.decreases >= 2 and stats.floor <= stats.rate <= 2000
    elapsed = clock.monotonic() - start
    assert total <= 2000 * elapsed + 2000 * 0.1 + 25 * len(counts)
    assert total >= 0.5 * 2000 * elapsed  # several decreases happened, the rate climbed back


def test_real_clock_several_threads_hold_the_rate():
    limiter = AdaptiveRateLimiter(2000)
    stop = time.monotonic() + 0.8
    counts = [0] * 4

    def writer(index: int) -> None:
        while time.monotonic() < stop:
            limiter.acquire(25)
            counts[index] += 25

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(counts))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert sum(counts) <= 2000 * elapsed + 200 + 25 * len(counts)
    assert sum(counts) >= 0.7 * 2000 * 0.8
    assert all(c > 0 for c in counts)


def test_task_share_divides_the_budget():
    assert task_share(1000, 4) == 250
    assert task_share(90, 4) == 22.5
    with pytest.raises(ConfigError, match="tasks=0 must be a whole number >= 1"):
        task_share(1000, 0)
    with pytest.raises(ConfigError, match="max_write_rate=-5 must be a positive finite number"):
        task_share(-5, 2)


def test_limiter_rejects_bad_settings_with_the_fix():
    with pytest.raises(
        ConfigError, match="ceiling=0 must be a positive finite number; pass the task's share"
    ):
        AdaptiveRateLimiter(0)
    with pytest.raises(ConfigError, match="floor=50 is above ceiling=10"):
        AdaptiveRateLimiter(10, floor=50)
    with pytest.raises(ConfigError, match=r"decrease_factor=1\.5 must be between 0 and 1"):
        AdaptiveRateLimiter(10, decrease_factor=1.5)


PROVISIONED = {
    "Table": {
        "TableName": "orders",
        "ProvisionedThroughput": {"ReadCapacityUnits": 100, "WriteCapacityUnits": 800},
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-customer",
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 600},
            }
        ],
    }
}


def test_capacity_budget_provisioned_uses_the_smallest_of_table_and_gsis():
    assert capacity_budget(PROVISIONED, 50) == 300
    assert capacity_budget(PROVISIONED, 50, wcu_per_item=2) == 150  # items of 1-2 KB cost 2 WCU
    no_gsi = {
        "Table": {
            "BillingModeSummary": {"BillingMode": "PROVISIONED"},
            "ProvisionedThroughput": {"WriteCapacityUnits": 1000},
        }
    }
    assert capacity_budget(no_gsi["Table"], 25) == 250


def test_capacity_budget_on_demand():
    on_demand = {
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
    }
    assert capacity_budget({"Table": on_demand}, 50) == 20_000  # the default 40,000 quota
    capped = {**on_demand, "OnDemandThroughput": {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 3000}}
    assert capacity_budget({"Table": capped}, 50) == 1500
    warm = {**on_demand, "WarmThroughput": {"WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}}
    assert capacity_budget({"Table": warm}, 100) == 4000
    both = {**capped, "WarmThroughput": {"WriteUnitsPerSecond": 12000}}
    assert capacity_budget({"Table": both}, 100) == 3000
    unlimited = {**on_demand, "OnDemandThroughput": {"MaxWriteRequestUnits": -1}}
    assert capacity_budget({"Table": unlimited}, 10) == 4000


def test_capacity_budget_rejects_bad_percent():
    with pytest.raises(ConfigError, match=r"write_rate_percent=150 is above 100.*--max_write_rate"):
        capacity_budget(PROVISIONED, 150)
    with pytest.raises(ConfigError, match="write_rate_percent=0 must be a positive finite number"):
        capacity_budget(PROVISIONED, 0)


def test_a_raised_ceiling_is_held_from_then_on_and_keeps_a_backed_off_rate_in_proportion():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(100, clock=clock)
    before = _run(limiter, clock, 10)
    limiter.set_ceiling(300)  # the table's other task finished: its share flows here
    after = _run(limiter, clock, 10)
    assert sum(n for _, n in before) == pytest.approx(1000, abs=50)
    assert sum(n for _, n in after) == pytest.approx(3000, abs=50)
    assert _max_in_window(after[5:], 5.0) <= 1.05 * 1500

    limiter.on_throttled()  # halved: 150 of 300
    limiter.set_ceiling(600)
    stats = limiter.stats()
    assert (stats.ceiling, stats.rate) == (600, 300)
    limiter.set_ceiling(200)  # lowered too, never above the ceiling
    assert (limiter.stats().ceiling, limiter.rate) == (200, 100)
    with pytest.raises(ConfigError, match="ceiling"):
        limiter.set_ceiling(0)
