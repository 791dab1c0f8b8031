"""Where the restore's per-file tasks run: Spark (the Glue job) or threads in this process (the
Restore Lambda, small tables).

The stages hand a runner a list of task descriptors and a task function and get the results back in
the same order; the runner also says how many tasks can run at once (the write budget is split
among them) and gives the progress log its counter. The Spark session is started only when the
first stage needs it: everything that can be checked on the driver (arguments, manifest, tables,
targets) is checked before Spark starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from dynamodb_dr.restore import write_rate
from dynamodb_dr.restore.progress import TABLE_COUNTS, Counts

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")


class Counter(Protocol):
    """``{target: [files, items]}`` added to by tasks and read by the progress log (``.value``)."""

    def add(self, term: Counts) -> None: ...

    @property
    def value(self) -> Counts: ...


class StageRunner(Protocol):
    def run(self, tasks: Sequence[T], func: Callable[[T], R], description: str) -> list[R]: ...

    def task_slots(self) -> int: ...

    def counter(self) -> Counter: ...

    def subtract(
        self,
        left: tuple[Sequence[T], Callable[[T], Iterable[str]]],
        right: tuple[Sequence[U], Callable[[U], Iterable[tuple[str, str]]]],
        act: Callable[[Iterable[str]], R],
        description: str,
    ) -> list[R]:
        """The right side's (key, payload) pairs whose key the left side does not produce, handed to
        ``act`` a partition at a time (its payloads): one result per partition."""
        ...

    def join(
        self,
        left: tuple[Sequence[T], Callable[[T], Iterable[tuple[str, Any]]]],
        right: tuple[Sequence[U], Callable[[U], Iterable[tuple[str, Any]]]],
        act: Callable[[Iterable[tuple[str, Any, Any]]], R],
        description: str,
        *,
        reduce: Callable[[Any, Any], Any] | None = None,
    ) -> list[R]:
        """Both sides' (key, value) pairs met by key (a full outer join: ``None`` for the side
        without the key), handed to ``act`` a partition at a time as (key, left value, right value):
        one result per partition. With ``reduce``, the left side may give a key many values, folded
        into one with it first (e.g. the newest of a key's states in a chain of exports)."""
        ...


class SparkRunner:
    """One Spark task per data file. ``session`` is an existing SparkSession, or a factory that
    makes one when the first stage runs (``started`` says whether it did)."""

    def __init__(self, session: Any = None, *, factory: Callable[[], Any] | None = None) -> None:
        if session is None and factory is None:
            raise ValueError("SparkRunner needs a session or a factory")
        self._session = session
        self._factory = factory
        self.started = False

    @property
    def spark(self) -> Any:
        if self._session is None:
            assert self._factory is not None
            self._session = self._factory()
            self.started = True
        return self._session

    def run(self, tasks: Sequence[T], func: Callable[[T], R], description: str) -> list[R]:
        if not tasks:
            return []
        sc = self.spark.sparkContext
        sc.setJobGroup(f"restore-{description}", f"restore: {description} {len(tasks)} data files")
        return sc.parallelize(list(tasks), numSlices=len(tasks)).map(func).collect()

    def task_slots(self) -> int:
        sc = self.spark.sparkContext
        return write_rate.task_slots(sc.defaultParallelism, dict(sc.getConf().getAll()))

    def counter(self) -> Counter:
        return self.spark.sparkContext.accumulator({}, TABLE_COUNTS)

    def subtract(
        self,
        left: tuple[Sequence[T], Callable[[T], Iterable[str]]],
        right: tuple[Sequence[U], Callable[[U], Iterable[tuple[str, str]]]],
        act: Callable[[Iterable[str]], R],
        description: str,
    ) -> list[R]:
        sc = self.spark.sparkContext
        (left_tasks, left_keys), (right_tasks, right_pairs) = left, right
        if not right_tasks:
            return []
        sc.setJobGroup(f"restore-{description}", f"restore: {description}")
        partitions = max(1, len(right_tasks))
        theirs = sc.parallelize(list(right_tasks), len(right_tasks)).flatMap(right_pairs)
        if left_tasks:
            ours = (
                sc.parallelize(list(left_tasks), len(left_tasks)).flatMap(left_keys).map(lambda k: (k, None))
            )
            theirs = theirs.subtractByKey(ours, numPartitions=partitions)
        return theirs.values().mapPartitions(lambda payloads: [act(payloads)]).collect()

    def join(
        self,
        left: tuple[Sequence[T], Callable[[T], Iterable[tuple[str, Any]]]],
        right: tuple[Sequence[U], Callable[[U], Iterable[tuple[str, Any]]]],
        act: Callable[[Iterable[tuple[str, Any, Any]]], R],
        description: str,
        *,
        reduce: Callable[[Any, Any], Any] | None = None,
    ) -> list[R]:
        sc = self.spark.sparkContext
        (left_tasks, left_pairs), (right_tasks, right_pairs) = left, right
        sc.setJobGroup(f"restore-{description}", f"restore: {description}")
        partitions = max(1, len(left_tasks), len(right_tasks))
        ours = sc.parallelize(list(left_tasks), max(1, len(left_tasks))).flatMap(left_pairs)
        if reduce is not None:  # same partitioner as the join's: the join does not shuffle it again
            ours = ours.reduceByKey(reduce, numPartitions=partitions)
        theirs = sc.parallelize(list(right_tasks), max(1, len(right_tasks))).flatMap(right_pairs)
        joined = ours.fullOuterJoin(theirs, numPartitions=partitions)
        return joined.mapPartitions(
            lambda rows: [act((key, mine, other) for key, (mine, other) in rows)]
        ).collect()


class _LocalCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: Counts = {}

    def add(self, term: Counts) -> None:
        with self._lock:
            self._value = TABLE_COUNTS.addInPlace(self._value, term)

    @property
    def value(self) -> Counts:
        with self._lock:
            return {k: list(v) for k, v in self._value.items()}


class ThreadRunner:
    """Tasks on a pool of ``slots`` threads in this process (no Spark): for small restores, where
    starting Spark would take longer than the restore. Same task functions, same results."""

    def __init__(self, slots: int = 2) -> None:
        self.slots = max(1, slots)

    def run(self, tasks: Sequence[T], func: Callable[[T], R], description: str) -> list[R]:
        if not tasks:
            return []
        with ThreadPoolExecutor(self.slots, thread_name_prefix=f"restore-{description}") as pool:
            return list(pool.map(func, tasks))

    def task_slots(self) -> int:
        return self.slots

    def counter(self) -> Counter:
        return _LocalCounter()

    def subtract(
        self,
        left: tuple[Sequence[T], Callable[[T], Iterable[str]]],
        right: tuple[Sequence[U], Callable[[U], Iterable[tuple[str, str]]]],
        act: Callable[[Iterable[str]], R],
        description: str,
    ) -> list[R]:
        (left_tasks, left_keys), (right_tasks, right_pairs) = left, right
        ours: set[str] = set()
        for keys in self.run(left_tasks, lambda task: list(left_keys(task)), f"{description}-keys"):
            ours.update(keys)
        # Every scan finishes before any delete starts, as on Spark.
        scanned = self.run(right_tasks, lambda task: list(right_pairs(task)), f"{description}-scan")
        partitions = [[payload for key, payload in pairs if key not in ours] for pairs in scanned]
        return self.run(partitions, act, description)

    def join(
        self,
        left: tuple[Sequence[T], Callable[[T], Iterable[tuple[str, Any]]]],
        right: tuple[Sequence[U], Callable[[U], Iterable[tuple[str, Any]]]],
        act: Callable[[Iterable[tuple[str, Any, Any]]], R],
        description: str,
        *,
        reduce: Callable[[Any, Any], Any] | None = None,
    ) -> list[R]:
        (left_tasks, left_pairs), (right_tasks, right_pairs) = left, right
        ours: dict[str, Any] = {}
        for pairs in self.run(left_tasks, lambda task: list(left_pairs(task)), f"{description}-left"):
            if reduce is None:
                ours.update(pairs)
                continue
            for key, value in pairs:
                ours[key] = value if key not in ours else reduce(ours[key], value)
        theirs: dict[str, Any] = {}
        for pairs in self.run(right_tasks, lambda task: list(right_pairs(task)), f"{description}-right"):
            theirs.update(pairs)
        rows = [(key, ours.get(key), theirs.get(key)) for key in ours.keys() | theirs.keys()]
        return [act(rows)]
