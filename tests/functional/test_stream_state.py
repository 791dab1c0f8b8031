"""The incident state table on the real local endpoint: the open incident of a table (join, lag, gap,
lifetime, concurrent claims) and the per-window counts behind the baseline, with chosen record times."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery.state import INCIDENT_MAX_SECONDS, IncidentStore, create_state_table

WINDOW = 60


def _store() -> IncidentStore:
    ddb = make_client("dynamodb")
    create_state_table(ddb, "state-test")
    return IncidentStore(ddb, "state-test", WINDOW)


def _fresh(store: IncidentStore) -> IncidentStore:
    """Another invocation: nothing remembered."""
    return IncidentStore(store.dynamodb, "state-test", WINDOW)


def _fields(incident_id: str) -> dict:
    return {
        "reason": "burst",
        "detail": "",
        "created_at": "x",
        "action": "alert_only",
        "action_status": "none",
    }


def test_records_join_the_open_incident_from_any_shard_with_any_lag(aws):
    store = _store()
    first, created = store.claim_or_join("t-a", 1000.0, "100", _fields)
    assert created
    assert _fresh(store).claim_or_join("t-a", 1050.0, "101", _fields) == (first, False)
    # A lagging shard delivers a change from before the incident's first record: it joins too.
    lagging, created = _fresh(store).claim_or_join("t-a", 700.0, "7", _fields)
    assert (lagging.pk, created) == (first.pk, False)


def test_a_gap_of_more_than_one_window_or_the_lifetime_starts_a_new_incident(aws):
    store = _store()
    first, _ = store.claim_or_join("t-b", 1000.0, "1", _fields)
    store.flush(first, {"records_seen": 1}, 1000.0, 1000.0)
    later, created = _fresh(store).claim_or_join("t-b", 1000.0 + WINDOW + 1, "2", _fields)
    assert created and later.pk != first.pk
    # An incident fed without gaps still ends after INCIDENT_MAX_SECONDS.
    t, current = 1000.0 + WINDOW + 1, later
    fresh = _fresh(store)
    while t - later.first_record_time <= INCIDENT_MAX_SECONDS:
        t += WINDOW / 2
        current, created = fresh.claim_or_join("t-b", t, str(int(t)), _fields)
        if created:
            break
    assert created and current.pk != later.pk
    assert t - later.first_record_time > INCIDENT_MAX_SECONDS


def test_concurrent_first_records_open_exactly_one_incident(aws):
    store = _store()

    def claim(n: int):
        return _fresh(store).claim_or_join("t-c", 2000.0 + n, str(n), _fields)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(8)))
    assert len({incident.pk for incident, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_flush_moves_times_and_refreshes_the_expiry(aws):
    store = _store()
    incident, _ = store.claim_or_join("t-d", 5000.0, "1", _fields)
    before = store.dynamodb.get_item(TableName="state-test", Key={"pk": {"S": incident.pk}})["Item"]
    flushed = _fresh(store).flush(incident, {"records_seen": 3}, 4990.0, 5030.0)
    assert (flushed.first_record_time, flushed.last_record_time) == (4990.0, 5030.0)
    assert flushed.counters["records_seen"] == 3
    pointer = store.dynamodb.get_item(TableName="state-test", Key={"pk": {"S": "OPEN#t-d"}})["Item"]
    assert (pointer["first_record_time"]["N"], pointer["last_record_time"]["N"]) == ("4990.0", "5030.0")
    after = store.dynamodb.get_item(TableName="state-test", Key={"pk": {"S": incident.pk}})["Item"]
    assert int(after["expires_at"]["N"]) >= int(before["expires_at"]["N"])


def test_baseline_is_the_median_of_the_previous_windows(aws):
    store = _store()
    for bucket, count in zip(range(90, 100), (40, 50, 0, 45, 60, 55, 48, 52, 47, 500), strict=True):
        store.seed_rate("t-e", bucket, count)
    assert store.baseline("t-e", 100) == 49.0  # the one 500 does not move it, nor does the quiet window
    assert store.count_changes("t-e", 100, 7) == 7
    assert store.count_changes("t-e", 100, 5) == 12
    assert _fresh(store).baseline("t-f", 3) == 0.0  # no history: the floor applies
