"""``verify.compare_partition``: what one partition of the joined (key, backup, target) rows counts."""

from __future__ import annotations

from dynamodb_dr.item_digest import canonical_key
from dynamodb_dr.restore.verify import CAPACITY_KEY, SAMPLES, compare_partition, timestamp_seconds


def key(pk: str) -> str:
    return canonical_key({"pk": {"S": pk}}, ["pk"])


def test_counts_each_kind_and_keeps_the_smallest_keys_as_samples() -> None:
    rows = [(key(f"m{i:02d}"), "d", None) for i in range(30, 0, -1)]  # missing, seen in reverse order
    rows += [(key("x"), None, ("d", None)), (key("same"), "d", ("d", None)), (key("diff"), "d", ("e", None))]
    rows += [(f"{CAPACITY_KEY}0", None, (3, 1.5)), (f"{CAPACITY_KEY}1", None, (2, 0.5))]

    counts = compare_partition(None, rows)

    assert (counts.missing, counts.extra, counts.different, counts.same) == (30, 1, 1, 1)
    assert counts.backup_items == 32 and (counts.scanned_items, counts.capacity) == (5, 2.0)
    assert counts.missing_keys == [f"pk=m{i:02d}" for i in range(1, SAMPLES + 1)]
    assert counts.extra_keys == ["pk=x"] and counts.different_keys == ["pk=diff"]


def test_live_writes_at_or_after_the_start_are_counted_apart() -> None:
    since = 1_000.0
    rows = [
        (key("new"), None, ("d", 1_000.0)),  # extra, written at the start: apart
        (key("changed"), "d", ("e", 2_000.0)),  # different, newer: apart
        (key("stale"), "d", ("e", 999.0)),  # different, older: a failure
        (key("no-stamp"), None, ("d", None)),  # extra without a timestamp: a failure
    ]
    counts = compare_partition(since, rows)
    assert (counts.after, counts.different, counts.extra) == (2, 1, 1)
    assert counts.after_keys == ["pk=changed", "pk=new"]
    # Without a reference time nothing is told apart.
    assert compare_partition(None, rows).after == 0


def test_timestamps_in_seconds_milliseconds_and_iso_8601() -> None:
    assert timestamp_seconds({"N": "1700000000"}) == 1_700_000_000
    assert timestamp_seconds({"N": "1700000000500"}) == 1_700_000_000.5
    assert timestamp_seconds({"S": "2023-11-14T22:13:20Z"}) == 1_700_000_000
    assert timestamp_seconds({"S": "2023-11-14T22:13:20"}) == 1_700_000_000  # no zone: UTC
    assert timestamp_seconds({"S": "yesterday"}) is None
    assert timestamp_seconds({"BOOL": True}) is None
    assert timestamp_seconds(None) is None


def test_a_chain_state_stands_for_its_digest_and_a_delete_must_be_absent() -> None:
    """Left values from a chain: (position, micros, digest or None); None is a delete at the point."""
    rows = [
        (key("gone"), (2, 7, None), None),  # deleted, absent: not counted at all
        (key("back"), (2, 7, None), ("d", None)),  # deleted, present: extra (and deleted)
        (key("same"), (1, 3, "d"), ("d", None)),
        (key("old"), (0, 0, "d"), ("e", None)),
        (key("lost"), (1, 3, "d"), None),
        (key("mine"), None, ("d", None)),  # the chain never had it
    ]
    counts = compare_partition(None, rows)
    assert (counts.same, counts.different, counts.missing, counts.extra, counts.deleted) == (1, 1, 1, 2, 1)
    assert counts.backup_items == 3
    assert counts.extra_keys == ["pk=back", "pk=mine"] and counts.deleted_keys == ["pk=back"]
    # A live write (timestamp at or after the start) to a deleted key is reported apart.
    live = [(key("back"), (2, 7, None), ("d", 5.0))]
    assert (compare_partition(1.0, live).after, compare_partition(1.0, live).extra) == (1, 0)


def test_the_thread_runner_folds_the_left_side_with_reduce_before_the_join() -> None:
    from dynamodb_dr.restore.runner import ThreadRunner
    from dynamodb_dr.restore.timetravel.tasks import newest

    files = [[("k1", (0, 0, "a")), ("k2", (0, 0, "b"))], [("k1", (1, 5, None)), ("k1", (1, 4, "c"))]]
    rows = ThreadRunner(2).join(
        (files, iter), ([[("k2", "t2"), ("k3", "t3")]], iter), sorted, "t", reduce=newest
    )
    assert rows == [[("k1", (1, 5, None), None), ("k2", (0, 0, "b"), "t2"), ("k3", None, "t3")]]
