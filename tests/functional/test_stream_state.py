"""The incident state table on the real local endpoint: burst counting across window boundaries and
incident continuation, with chosen record times."""

from __future__ import annotations

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery.state import IncidentStore, create_state_table

WINDOW = 60


def _store() -> IncidentStore:
    ddb = make_client("dynamodb")
    create_state_table(ddb, "state-test")
    return IncidentStore(ddb, "state-test", WINDOW)


def test_burst_count_slides_over_the_bucket_boundary_and_ignores_repeats(aws):
    store = _store()
    assert store.count_burst("t-a", 61.0, "s0", 5) == (1, 61.0)  # more than a window before the last ones
    for n, t in enumerate((118.0, 119.0, 119.5), start=1):
        store.count_burst("t-a", t, f"s{n}", 5)
    assert store.count_burst("t-a", 119.5, "s3", 5) == (4, 61.0)  # the same record again: not counted twice
    # Bucket 2 starts at 120 s: its records see the previous bucket's records of the last 60 s only.
    assert store.count_burst("t-a", 121.0, "s4", 5) == (4, 118.0)  # s0 (61 s) is out of the window
    count, first = store.count_burst("t-a", 122.0, "s5", 5)
    assert (count, first) == (5, 118.0)


def test_burst_counter_stops_growing_at_the_threshold(aws):
    store = _store()
    for n in range(3):
        store.count_burst("t-b", 10.0 + n, f"s{n}", 3)
    assert store.count_burst("t-b", 20.0, "late", 3) == (3, 10.0)  # saturated: still a burst
    item = store.dynamodb.get_item(TableName="state-test", Key={"pk": {"S": "BURST#t-b#0"}})["Item"]
    assert len(item["records"]["SS"]) == 3


def test_incident_continues_into_the_next_bucket_but_not_over_a_gap(aws):
    store = _store()

    def fields(pk: str, incident_id: str) -> dict:
        return {
            "reason": "burst",
            "detail": "",
            "first_record_time": 600.0,
            "created_at": "x",
            "action": "alert_only",
            "action_status": "none",
        }

    first, created = store.claim_or_join("t-c", 10, fields)
    assert created
    fresh = IncidentStore(store.dynamodb, "state-test", WINDOW)  # another invocation, nothing remembered
    assert fresh.claim_or_join("t-c", 10, fields) == (first, False)
    assert fresh.claim_or_join("t-c", 11, fields) == (first, False)  # continues
    assert IncidentStore(store.dynamodb, "state-test", WINDOW).claim_or_join("t-c", 12, fields) == (
        first,
        False,
    )
    later, created = IncidentStore(store.dynamodb, "state-test", WINDOW).claim_or_join("t-c", 14, fields)
    assert created and later.incident_id != first.incident_id  # bucket 13 had nothing: a new incident
    assert first.incident_id == "t-c@19700101T001000Z"
