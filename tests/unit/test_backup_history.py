"""Restore throughput over a trailing window, from the report's progress series."""

from __future__ import annotations

from dynamodb_dr.backup_history import TableRestoreRow


def _row(progress):
    return TableRestoreRow("2026-01-01", "r1", "2026-01-02T00:00:00", "t", "t", "SUCCEEDED", 0, 5.0, progress)


def test_rates_use_a_trailing_window_from_the_latest_point_before_it():
    row = _row([(0, 0), (1, 0), (2, 10), (3, 10), (10, 40)])
    assert row.rates(window=2.0) == [(1, 0.0), (2, 5.0), (3, 5.0), (10, 30 / 7)]
    # A window longer than the run measures from the start.
    assert row.rates(window=100.0)[-1] == (10, 4.0)


def test_no_rate_without_two_points_in_time():
    assert _row([]).rates() == [] and _row([(1, 5)]).rates() == [] and _row([(1, 5), (1, 9)]).rates() == []
