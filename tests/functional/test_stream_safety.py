"""Stream recovery never harms good data (issue 12), through the Lambda handler with real stream
records read from the local endpoint: busy tables, chains of bad changes, lagging shards, replicated
TTL deletes, re-created items, duplicate deliveries, the PITR restore point, the scheduled follow-up,
global tables and the dry run."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery import config as cfg
from dynamodb_dr.stream_recovery.processor import runtime_from_env
from dynamodb_dr.stream_recovery.state import IncidentStore, bucket_of, create_state_table
from local_aws import global_tables, pitr_window
from tests.support.stream_tables import (
    STATE_TABLE,
    follow_up,
    incidents,
    invoke,
    make_table,
    state_items,
    topic_with_inbox,
)

TABLE = "orders-table"


@pytest.fixture
def env(aws, monkeypatch):
    ddb = make_client("dynamodb")
    create_state_table(ddb, STATE_TABLE)
    pitr_window.install()
    global_tables.install()
    monkeypatch.setattr(pitr_window, "_lag_seconds", 0.0)

    def configure(tables: dict[str, Any], **extra: str) -> None:
        monkeypatch.setenv(cfg.PROTECTED_TABLES, json.dumps(tables))
        monkeypatch.setenv(cfg.INCIDENT_STATE_TABLE, STATE_TABLE)
        monkeypatch.setenv(cfg.INCIDENT_WINDOW_SECONDS, extra.pop("window", "60"))
        for name, value in extra.items():
            monkeypatch.setenv(name, value)

    return configure


def key(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"order#{n}"}, "sk": {"N": "1"}}


def get(ddb, k: dict[str, Any]) -> dict[str, Any] | None:
    return ddb.get_item(TableName=TABLE, Key=k, ConsistentRead=True).get("Item")


def set_attr(ddb, k: dict[str, Any], name: str, value: str) -> None:
    ddb.update_item(
        TableName=TABLE,
        Key=k,
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": name},
        ExpressionAttributeValues={":v": {"S": value}},
    )


def restore_requests() -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    runtime_from_env().clients.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.RestoreTableToPointInTime",
        lambda params, **_: sent.append(dict(params)),
    )
    return sent


# -- finding 1: ordinary traffic ----------------------------------------------------------------------
def test_legitimate_updates_over_the_threshold_are_announced_as_a_burst_but_never_reverted(env):
    """The issue's reproduction: 15 legitimate status updates, threshold 10, on an item_repair table."""
    topic, received = topic_with_inbox()
    env(
        {TABLE: {"action": "item_repair", "protected_attributes": ["price"], "burst_threshold": 10}},
        **{cfg.SNS_TOPIC_ARN: topic},
    )
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    for n in range(15):
        ddb.put_item(TableName=TABLE, Item={**key(n), "status": {"S": "new"}, "price": {"N": "10"}})
    reader.read_new()
    for n in range(15):
        set_attr(ddb, key(n), "status", "shipped")
    records = reader.read_new_event()["Records"]
    for part in (records[:5], records[5:]):
        assert invoke({"Records": part}) == {"batchItemFailures": []}

    assert [get(ddb, key(n))["status"] for n in range(15)] == [{"S": "shipped"}] * 15
    [incident] = incidents(ddb)
    assert incident["reason"]["S"] == "burst"
    assert "items_repaired" not in incident
    [announcement] = received()
    assert (announcement["event"], announcement["action"]) == ("burst", "item_repair")
    assert state_items(ddb, "REPAIR#") == []  # not one repair was even prepared


def test_a_busy_table_at_its_usual_rate_has_no_incident_and_nothing_reverted(env):
    env({TABLE: {"action": "pitr_restore", "user_deletes_are_incidents": False, "burst_threshold": 10}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    store = IncidentStore(ddb, STATE_TABLE, 60)
    now_bucket = bucket_of(time.time(), 60)
    for bucket in range(now_bucket - 12, now_bucket + 2):  # its history: about 40 changes a minute
        store.seed_rate(TABLE, bucket, 40)
    for n in range(60):
        ddb.put_item(TableName=TABLE, Item={**key(n), "status": {"S": "new"}})
    reader.read_new()
    for n in range(60):
        set_attr(ddb, key(n), "status", "paid")
    for n in range(50, 60):
        ddb.delete_item(TableName=TABLE, Key=key(n))
    sent = restore_requests()

    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}

    assert incidents(ddb) == []
    assert sent == []
    assert [get(ddb, key(n))["status"] for n in range(50)] == [{"S": "paid"}] * 50
    # Ten times the usual rate is a burst: one restore.
    for n in range(200):
        ddb.put_item(TableName=TABLE, Item={**key(1000 + n), "v": {"N": "1"}})
    reader.read_new()
    for n in range(200):
        ddb.delete_item(TableName=TABLE, Key=key(1000 + n))
    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}
    [incident] = incidents(ddb)
    assert incident["reason"]["S"] == "burst"
    assert len(sent) == 1


# -- finding 2: chains of bad changes -----------------------------------------------------------------
def _chain(ddb, reader) -> dict[str, Any]:
    k = key(1)
    ddb.put_item(TableName=TABLE, Item={**k, "price": {"S": "A"}, "note": {"S": "n"}})
    reader.read_new()
    set_attr(ddb, k, "price", "B")
    set_attr(ddb, k, "price", "C")
    return k


def test_a_chain_of_bad_changes_in_one_batch_ends_at_the_first_state(env):
    env({TABLE: {"action": "item_repair", "protected_attributes": ["price"]}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    k = _chain(ddb, reader)

    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}

    assert get(ddb, k) == {**k, "price": {"S": "A"}, "note": {"S": "n"}}
    [incident] = incidents(ddb)
    assert incident["items_repaired"]["N"] == "1"
    assert "conflict_keys" not in incident
    echo = reader.read_new_event()  # the repair's own MODIFY C -> A is not a new bad change
    assert invoke(echo) == {"batchItemFailures": []}
    assert get(ddb, k)["price"] == {"S": "A"}


def test_a_chain_of_bad_changes_across_batches_ends_at_the_first_state(env):
    env({TABLE: {"action": "item_repair", "protected_attributes": ["price"]}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    k = _chain(ddb, reader)
    first, second = reader.read_new_event()["Records"]

    assert invoke({"Records": [first]}) == {"batchItemFailures": []}
    assert get(ddb, k)["price"] == {"S": "C"}  # the item is not B any more: nothing written yet, not B
    assert invoke({"Records": [second]}) == {"batchItemFailures": []}
    assert get(ddb, k)["price"] == {"S": "A"}

    # The writer comes back after the repair: A -> D is repaired to A again.
    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}  # the repair's echo
    set_attr(ddb, k, "price", "D")
    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}
    assert get(ddb, k) == {**k, "price": {"S": "A"}, "note": {"S": "n"}}
    [incident] = incidents(ddb)
    assert "conflict_keys" not in incident
    assert incident["conflicts"]["N"] == "0"  # listed while the item was C, unlisted by the repair


def test_a_legitimate_write_between_two_bad_changes_is_a_conflict_never_written(env):
    env({TABLE: {"action": "item_repair", "protected_attributes": ["price"]}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    k = key(1)
    ddb.put_item(TableName=TABLE, Item={**k, "price": {"S": "A"}, "note": {"S": "n"}})
    reader.read_new()
    set_attr(ddb, k, "price", "B")
    set_attr(ddb, k, "note", "legitimate")  # not a bad change
    set_attr(ddb, k, "price", "C")
    records = reader.read_new_event()["Records"]
    assert invoke({"Records": records[:1]}) == {"batchItemFailures": []}
    assert invoke({"Records": records[1:]}) == {"batchItemFailures": []}

    assert get(ddb, k) == {**k, "price": {"S": "C"}, "note": {"S": "legitimate"}}  # neither B nor A
    [incident] = incidents(ddb)
    assert [json.loads(c) for c in incident["conflict_keys"]["SS"]] == [k]
    assert incident["conflicts"]["N"] == "1"
    assert "items_repaired" not in incident


# -- finding 3: lagging shards --------------------------------------------------------------------------
def test_a_lagging_shard_joins_the_open_incident_and_moves_its_restore_point(env, monkeypatch):
    env({TABLE: {"action": "pitr_restore"}})
    monkeypatch.setattr(pitr_window, "_lag_seconds", 300.0)  # AWS: LatestRestorableDateTime ~5 min behind
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    for n in range(2):
        ddb.put_item(TableName=TABLE, Item={**key(n), "v": {"N": "1"}})
    reader.read_new()
    time.sleep(1.1)
    ddb.delete_item(TableName=TABLE, Key=key(0))  # on a shard that lags
    time.sleep(1.1)
    ddb.delete_item(TableName=TABLE, Key=key(1))
    early, late = reader.read_new_event()["Records"]
    sent = restore_requests()

    assert invoke({"Records": [late]}) == {"batchItemFailures": []}
    assert invoke({"Records": [early]}) == {"batchItemFailures": []}  # delivered later, happened earlier

    [incident] = incidents(ddb)
    first_change = early["dynamodb"]["ApproximateCreationDateTime"]
    assert float(incident["first_record_time"]["N"]) == pytest.approx(first_change)
    assert float(incident["restore_time"]["N"]) == pytest.approx(first_change - 1)
    assert incident["records_seen"]["N"] == "2"
    assert sent == []  # LatestRestorableDateTime has not reached the restore point yet
    monkeypatch.setattr(pitr_window, "_lag_seconds", 0.0)
    follow_up()
    [request] = sent
    assert request["RestoreDateTime"].timestamp() == pytest.approx(first_change - 1, abs=0.001)


# -- findings 5 and 7: the restore point and the follow-up of a quiet table --------------------------------
def test_the_follow_up_starts_the_restore_at_first_change_minus_one_second_and_finishes_it(env, monkeypatch):
    topic, received = topic_with_inbox()
    env({TABLE: {"action": "pitr_restore"}}, **{cfg.SNS_TOPIC_ARN: topic})
    monkeypatch.setattr(pitr_window, "_lag_seconds", 300.0)
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    ddb.update_continuous_backups(
        TableName=TABLE,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7},
    )
    ddb.tag_resource(
        ResourceArn=ddb.describe_table(TableName=TABLE)["Table"]["TableArn"],
        Tags=[{"Key": "owner", "Value": "dr"}, {"Key": "aws:cloudformation:stack-name", "Value": "x"}],
    )  # users cannot set aws: tags (AWS rejects them): copied, they would fail the follow-up forever
    ddb.update_table(TableName=TABLE, DeletionProtectionEnabled=True)
    scaling = make_client("application-autoscaling")
    for dimension in ("dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"):
        scaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId=f"table/{TABLE}",
            ScalableDimension=dimension,
            MinCapacity=5,
            MaxCapacity=500,
        )
    scaling.put_scaling_policy(
        PolicyName="write-at-70",
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{TABLE}",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBWriteCapacityUtilization"},
        },
    )
    for n in range(3):
        ddb.put_item(TableName=TABLE, Item={**key(n), "v": {"N": "1"}})
    reader.read_new()
    time.sleep(1.2)  # the earliest restorable time (PITR enabled) lies before first change - 1 s
    for n in range(3):
        ddb.delete_item(TableName=TABLE, Key=key(n))
    records = reader.read_new_event()["Records"]
    first_change = min(r["dynamodb"]["ApproximateCreationDateTime"] for r in records)
    sent = restore_requests()

    assert invoke({"Records": records}) == {"batchItemFailures": []}
    assert sent == []
    assert incidents(ddb)[0]["action_status"]["S"] == "pending"
    [started] = received()
    assert (started["event"], started["action_status"]) == ("user_delete", "pending")
    follow_up()  # latest restorable time still behind: it waits, no sleeping Lambda
    assert sent == []

    monkeypatch.setattr(pitr_window, "_lag_seconds", 0.0)  # five minutes later, no more traffic
    summary = follow_up()

    [request] = sent
    assert request["RestoreDateTime"].timestamp() == pytest.approx(first_change - 1, abs=0.001)
    target = request["TargetTableName"]
    [incident] = incidents(ddb)
    assert summary["finished"] == [incident["incident_id"]["S"]]
    assert (incident["action_status"]["S"], incident["settings_status"]["S"]) == ("done", "done")
    assert "note" not in incident  # no earliest-restorable-time adjustment was needed
    restored = ddb.describe_table(TableName=target)["Table"]
    assert restored["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert restored["DeletionProtectionEnabled"] is True
    # Auto scaling: the same scalable targets (min/max) and target-tracking policy on the recovery table.
    copied = scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[f"table/{target}"])
    assert sorted(
        (t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in copied["ScalableTargets"]
    ) == [
        ("dynamodb:table:ReadCapacityUnits", 5, 500),
        ("dynamodb:table:WriteCapacityUnits", 5, 500),
    ]
    [policy] = [
        p
        for p in scaling.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=f"table/{target}")[
            "ScalingPolicies"
        ]
        if p["ResourceId"] == f"table/{target}"
    ]
    assert (policy["PolicyName"], policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]) == (
        "write-at-70",
        70.0,
    )
    pitr = ddb.describe_continuous_backups(TableName=target)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    assert (pitr["PointInTimeRecoveryStatus"], pitr["RecoveryPeriodInDays"]) == ("ENABLED", 7)
    assert sorted(t["Key"] for t in ddb.list_tags_of_resource(ResourceArn=restored["TableArn"])["Tags"]) == [
        "owner",
        "team",
    ]
    [end] = received()
    assert (end["event"], end["action_status"], end["table"], end["target_table"]) == (
        "end",
        "done",
        TABLE,
        target,
    )
    assert state_items(ddb, "FOLLOWUP#")[0].get("pending") is None
    assert follow_up()["followups"] == 0


def test_an_earliest_restorable_time_after_the_change_is_reported(env):
    env({TABLE: {"action": "pitr_restore"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    ddb.put_item(TableName=TABLE, Item={**key(1), "v": {"N": "1"}})
    ddb.delete_item(TableName=TABLE, Key=key(1))
    ddb.update_continuous_backups(  # PITR enabled only after the change
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    sent = restore_requests()
    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}
    [request] = sent
    [incident] = incidents(ddb)
    assert "the earliest restorable time forces a later point" in incident["note"]["S"]
    assert float(incident["restore_time"]["N"]) == pytest.approx(request["RestoreDateTime"].timestamp())


# -- finding 4: TTL deletes replicated from another region -------------------------------------------------
def test_a_replicated_ttl_delete_is_ignored_and_a_user_delete_is_not(env):
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, ttl_attribute="expires")
    now = int(time.time())
    ddb.put_item(TableName=TABLE, Item={**key(1), "expires": {"N": str(now - 100)}})  # expired
    ddb.put_item(TableName=TABLE, Item={**key(2), "expires": {"N": str(now + 3600)}})  # not yet
    reader.read_new()
    for n in (1, 2):  # both arrive as plain REMOVEs without userIdentity (replicated / user)
        ddb.delete_item(TableName=TABLE, Key=key(n))
    event = reader.read_new_event()
    assert all("userIdentity" not in r for r in event["Records"])

    assert invoke(event) == {"batchItemFailures": []}

    assert get(ddb, key(1)) is None  # expired: TTL's delete, not put back
    assert get(ddb, key(2))["expires"] == {"N": str(now + 3600)}  # a user delete: repaired
    [incident] = incidents(ddb)
    assert incident["items_repaired"]["N"] == "1"


# -- re-created items and duplicate delivery -------------------------------------------------------------
def test_a_re_created_item_is_never_clobbered(env):
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    for n in (1, 2):
        ddb.put_item(TableName=TABLE, Item={**key(n), "v": {"S": "old"}})
    reader.read_new()
    for n in (1, 2):
        ddb.delete_item(TableName=TABLE, Key=key(n))
        ddb.put_item(TableName=TABLE, Item={**key(n), "v": {"S": "re-created"}})
    records = reader.read_new_event()["Records"]
    # key 1: the REMOVE and the INSERT in one batch; key 2: the REMOVE alone, the INSERT later.
    assert invoke({"Records": records[:2] + records[2:3]}) == {"batchItemFailures": []}
    assert invoke({"Records": records[3:]}) == {"batchItemFailures": []}

    for n in (1, 2):
        assert get(ddb, key(n))["v"] == {"S": "re-created"}
    [incident] = incidents(ddb)
    assert sorted(json.loads(c)["pk"]["S"] for c in incident["conflict_keys"]["SS"]) == ["order#1", "order#2"]


def test_duplicate_delivery_makes_one_incident_and_one_repair_per_item(env):
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    for n in range(4):
        ddb.put_item(TableName=TABLE, Item={**key(n), "v": {"N": str(n)}})
    reader.read_new()
    for n in range(4):
        ddb.delete_item(TableName=TABLE, Key=key(n))
    event = reader.read_new_event()

    for delivery in (event, event, {"Records": event["Records"][2:]}, {"Records": event["Records"][:3]}):
        assert invoke(copy.deepcopy(delivery)) == {"batchItemFailures": []}

    [incident] = incidents(ddb)
    assert incident["items_repaired"]["N"] == "4"
    assert incident["repairs_repeated"]["N"] == "9"
    assert "conflict_keys" not in incident
    assert [get(ddb, key(n))["v"] for n in range(4)] == [{"N": str(n)} for n in range(4)]


# -- finding 4: global tables ---------------------------------------------------------------------------
def test_item_repair_on_a_global_table_needs_its_home_region(env, monkeypatch):
    topic, received = topic_with_inbox()
    env({TABLE: {"action": "item_repair"}}, **{cfg.SNS_TOPIC_ARN: topic})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    ddb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    ddb.put_item(TableName=TABLE, Item={**key(1), "v": {"S": "x"}})
    reader.read_new()
    ddb.delete_item(TableName=TABLE, Key=key(1))
    event = reader.read_new_event()

    assert invoke(copy.deepcopy(event)) == {"batchItemFailures": []}
    assert get(ddb, key(1)) is None  # refused: another region's Lambda could undo it or redo it
    [announcement] = received()
    assert "global table" in announcement["note"] and "home_region" in announcement["note"]

    monkeypatch.setenv(
        cfg.PROTECTED_TABLES, json.dumps({TABLE: {"action": "item_repair", "home_region": "eu-west-1"}})
    )
    assert invoke(copy.deepcopy(event)) == {"batchItemFailures": []}
    assert get(ddb, key(1)) is None  # this is not its home region

    monkeypatch.setenv(
        cfg.PROTECTED_TABLES, json.dumps({TABLE: {"action": "item_repair", "home_region": "us-east-1"}})
    )
    assert invoke(copy.deepcopy(event)) == {"batchItemFailures": []}
    assert get(ddb, key(1))["v"] == {"S": "x"}


# -- dry run ------------------------------------------------------------------------------------------
def test_dry_run_announces_the_repairs_and_the_restore_it_would_make_and_writes_nothing(env):
    topic, received = topic_with_inbox()
    ledger = "ledger-table"
    env(
        {
            TABLE: {"action": "item_repair", "dry_run": True},
            ledger: {"action": "pitr_restore", "dry_run": True},
        },
        **{cfg.SNS_TOPIC_ARN: topic},
    )
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    ledger_reader = make_table(ddb, ledger, pitr=True)
    ddb.put_item(TableName=TABLE, Item={**key(1), "v": {"S": "x"}})
    ddb.put_item(TableName=ledger, Item={**key(1), "v": {"S": "y"}})
    reader.read_new()
    ledger_reader.read_new()
    ddb.delete_item(TableName=TABLE, Key=key(1))
    ddb.delete_item(TableName=ledger, Key=key(1))
    sent = restore_requests()

    for event in (reader.read_new_event(), ledger_reader.read_new_event()):  # one mapping per stream
        assert invoke(event) == {"batchItemFailures": []}
    follow_up()

    assert get(ddb, key(1)) is None
    assert sent == []
    assert [t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{ledger}-recovery-")] == []
    messages = received()
    [dry] = [m for m in messages if m["event"] == "dry_run"]
    assert dry["would_repair"] == [
        {"key": json.dumps(key(1), sort_keys=True), "before": None, "after": {**key(1), "v": {"S": "x"}}}
    ]
    [ledger_start] = [m for m in messages if m["table"] == ledger and m["event"] == "user_delete"]
    assert (ledger_start["action_status"], ledger_start["dry_run"]) == ("dry_run", True)
    assert ledger_start["target_table"].startswith(f"{ledger}-recovery-")


# -- finding 8: failures kept and replayable ----------------------------------------------------------
def test_a_batch_kept_by_the_s3_on_failure_destination_is_replayed(env, capsys):
    from dynamodb_dr.stream_recovery import replay

    env({TABLE: {"action": "item_repair"}})
    ddb, s3 = make_client("dynamodb"), make_client("s3")
    reader = make_table(ddb, TABLE)
    ddb.put_item(TableName=TABLE, Item={**key(1), "v": {"S": "x"}})
    reader.read_new()
    ddb.delete_item(TableName=TABLE, Key=key(1))
    event = reader.read_new_event()
    s3.create_bucket(Bucket="stream-failures")
    # What Lambda writes for a discarded batch: metadata and, for S3 only, the invocation record.
    failure_record = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "DDBStreamBatchInfo": {"batchSize": 1, "streamArn": reader.stream_arn},
        "payload": json.dumps(event),
    }
    s3.put_object(
        Bucket="stream-failures", Key="aws/lambda/esm/shard-1/0001", Body=json.dumps(failure_record)
    )
    s3.put_object(
        Bucket="stream-failures", Key="aws/lambda/esm/shard-1/0002", Body=json.dumps({"version": "1.0"})
    )

    assert (
        replay.main(["--bucket", "stream-failures", "--prefix", "aws/lambda/esm/shard-1/0001", "--dry-run"])
        == 0
    )
    assert get(ddb, key(1)) is None
    assert replay.main(["--bucket", "stream-failures", "--prefix", "aws/lambda/esm/shard-1/0001"]) == 0
    assert get(ddb, key(1))["v"] == {"S": "x"}
    assert replay.main(["--bucket", "stream-failures", "--prefix", "aws/lambda/"]) == 2  # SQS-style record
    out = capsys.readouterr()
    assert '"status": "would_replay"' in out.out and '"status": "replayed"' in out.out
    assert "Only an S3 on-failure destination keeps the records" in out.err


def test_a_quiet_item_repair_incident_is_closed_and_its_end_lists_the_conflicts(env, monkeypatch):
    from dynamodb_dr.stream_recovery import followup

    topic, received = topic_with_inbox()
    env({TABLE: {"action": "item_repair"}}, window="1", **{cfg.SNS_TOPIC_ARN: topic})
    monkeypatch.setattr(
        followup, "QUIET_MARGIN_SECONDS", 0
    )  # instead of waiting 5 minutes for lagging shards
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    for n in (1, 2):
        ddb.put_item(TableName=TABLE, Item={**key(n), "v": {"S": "old"}})
    reader.read_new()
    for n in (1, 2):
        ddb.delete_item(TableName=TABLE, Key=key(n))
    ddb.put_item(TableName=TABLE, Item={**key(2), "v": {"S": "re-created"}})
    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}
    assert follow_up()["finished"] == []  # still within its window

    time.sleep(1.2)
    summary = follow_up()

    [incident] = incidents(ddb)
    assert summary["finished"] == [incident["incident_id"]["S"]]
    assert incident["closed"]["BOOL"] is True
    start, end = received()
    assert (start["event"], end["event"], end["table"]) == ("user_delete", "end", TABLE)
    assert end["counters"] == {"conflicts": 1, "items_repaired": 1, "records_seen": 2}
    assert end["conflict_keys"] == [key(2)]
    assert get(ddb, key(1))["v"] == {"S": "old"} and get(ddb, key(2))["v"] == {"S": "re-created"}
