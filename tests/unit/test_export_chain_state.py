"""chain.json round trip, the chain's restorable end, and which state of a table breaks a chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dynamodb_dr.errors import ManifestError
from dynamodb_dr.export.chain import TableState, find_break
from dynamodb_dr.export.chain_state import Chain, ChainBase, ChainBreak, ChainWindow, iso, parse_time

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


def _chain(*statuses: str, base_status: str = "COMPLETED") -> Chain:
    windows = [
        ChainWindow(
            export_arn=f"arn:window{i}",
            status=status,
            start=iso(T0 + timedelta(minutes=15 * i)),
            end=iso(T0 + timedelta(minutes=15 * (i + 1))),
        )
        for i, status in enumerate(statuses)
    ]
    return Chain(
        table_name="orders",
        chain_id="orders-abc",
        table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        table_id="id-1",
        s3_bucket="bucket",
        s3_prefix="native-exports/incremental/orders",
        window_minutes=15,
        export_view_type="NEW_AND_OLD_IMAGES",
        export_format="DYNAMODB_JSON",
        base=ChainBase(export_arn="arn:full", status=base_status, export_time=iso(T0)),
        windows=windows,
    )


def _state(**changes: object) -> TableState:
    values: dict[str, object] = {
        "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        "table_id": "id-1",
        "pitr_enabled": True,
        "earliest": T0 - timedelta(days=1),
        "latest": T0 + timedelta(hours=2),
    }
    values.update(changes)
    return TableState(**values)  # type: ignore[arg-type]


def test_chain_json_round_trip_uses_from_and_to():
    chain = _chain("COMPLETED", "IN_PROGRESS")
    chain.breaks.append(
        ChainBreak(at=iso(T0), reason="window_failed", detail="x", previous_chain_id="a", new_chain_id="b")
    )
    data = json.loads(chain.to_json())
    assert (
        data["windows"][0]["from"] == "2026-12-03T01:00:00.000Z"
        and data["windows"][0]["to"] == "2026-12-03T01:15:00.000Z"
    )
    assert "start" not in data["windows"][0] and data["covered_until"] == "2026-12-03T01:15:00.000Z"
    assert data["base"]["export_time"] == "2026-12-03T01:00:00.000Z" and data["schema_version"] == 1
    again = Chain.from_dict(data)
    assert again == chain
    assert chain.key == "native-exports/incremental/orders/chain.json"


def test_unknown_schema_version_or_missing_field_is_refused():
    data = json.loads(_chain().to_json())
    with pytest.raises(ManifestError, match="schema_version 2"):
        Chain.from_dict({**data, "schema_version": 2})
    del data["base"]
    with pytest.raises(ManifestError, match="missing or has a malformed field"):
        Chain.from_dict(data)


def test_covered_until_is_the_end_of_the_contiguous_completed_windows():
    assert _chain().covered_until() == iso(T0)
    assert _chain("COMPLETED", "COMPLETED").covered_until() == iso(T0 + timedelta(minutes=30))
    assert _chain("COMPLETED", "IN_PROGRESS", "COMPLETED").covered_until() == iso(T0 + timedelta(minutes=15))
    assert _chain("COMPLETED", base_status="IN_PROGRESS").covered_until() is None
    assert _chain("COMPLETED", "IN_PROGRESS").next_start == iso(T0 + timedelta(minutes=30))
    assert parse_time(iso(T0)) == T0


def test_what_breaks_a_chain_and_in_which_order():
    assert find_break(_chain("COMPLETED"), _state()) is None
    reason, detail = find_break(_chain("COMPLETED"), _state(table_id="id-2", pitr_enabled=False))  # type: ignore[misc]
    assert reason == "table_recreated" and "id-2" in detail
    reason, detail = find_break(_chain(), _state(pitr_enabled=False, earliest=None, latest=None))  # type: ignore[misc]
    assert reason == "pitr_disabled" and "update-continuous-backups --table-name orders" in detail
    assert find_break(_chain(base_status="FAILED"), _state())[0] == "base_export_failed"  # type: ignore[index]
    reason, detail = find_break(_chain("COMPLETED", "FAILED"), _state())  # type: ignore[misc]
    assert reason == "window_failed" and "arn:window1" in detail
    late = _state(earliest=T0 + timedelta(minutes=16))
    reason, detail = find_break(_chain("COMPLETED"), late)  # type: ignore[misc]
    assert reason == "recovery_period_passed" and "2026-12-03T01:15:00.000Z" in detail
    assert (
        find_break(_chain("COMPLETED"), _state(earliest=T0 + timedelta(minutes=15))) is None
    )  # exactly at it


def test_a_chain_older_than_the_recovery_period_goes_on():
    """Only the next window must lie inside the PITR window: a chain running longer than the recovery
    period (its base export now outside it) is not broken (a known failure of naive chains)."""
    chain = _chain("COMPLETED", "COMPLETED", "COMPLETED")
    state = _state(earliest=T0 + timedelta(minutes=40))  # after the base and two windows
    assert find_break(chain, state) is None
