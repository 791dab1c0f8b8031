"""Stream recovery against the real local endpoint: real tables with NEW_AND_OLD_IMAGES streams, real
writes and deletes, records read back with the Streams API, shaped as the Lambda event, and given to
the Lambda handler. Checks look at what is in DynamoDB / SQS afterwards and at the requests sent."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from dynamodb_dr.clients import make_client
from dynamodb_dr.errors import ConfigError
from dynamodb_dr.stream_recovery import config as cfg
from dynamodb_dr.stream_recovery.processor import runtime_from_env
from dynamodb_dr.stream_recovery.state import create_state_table
from lambdas.stream_recovery.handler import lambda_handler
from local_aws import pitr_window
from local_aws.lambda_context import LocalLambdaContext
from tests.support.stream_tables import make_table

STATE_TABLE = "stream-recovery-state"
TABLE = "orders-table"


@pytest.fixture
def env(aws, monkeypatch):
    """Configure the Lambda's environment; returns a function taking PROTECTED_TABLES (and extras)."""
    ddb = make_client("dynamodb")
    create_state_table(ddb, STATE_TABLE)
    pitr_window.install()
    pitr_window.set_lag(0)  # tests that need AWS's ~5 minute lag set it themselves
    monkeypatch.setattr(pitr_window, "_lag_seconds", 0.0)

    def configure(tables: dict[str, Any], **extra: str) -> None:
        monkeypatch.setenv(cfg.PROTECTED_TABLES, json.dumps(tables))
        monkeypatch.setenv(cfg.INCIDENT_STATE_TABLE, STATE_TABLE)
        monkeypatch.setenv(cfg.INCIDENT_WINDOW_SECONDS, extra.pop("window", "60"))
        for name, value in extra.items():
            monkeypatch.setenv(name, value)

    return configure


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_handler(event, LocalLambdaContext(function_name="stream-recovery"))


SCHEDULED_EVENT = json.loads(
    (
        __import__("pathlib").Path(__file__).resolve().parents[1] / "events" / "scheduled_event.json"
    ).read_text()
)


def follow_up() -> dict[str, Any]:
    """The scheduled follow-up, as the EventBridge rule invokes it."""
    return invoke(copy.deepcopy(SCHEDULED_EVENT))


def state_items(ddb, prefix: str) -> list[dict[str, Any]]:
    items = ddb.scan(TableName=STATE_TABLE, ConsistentRead=True)["Items"]
    return [i for i in items if i["pk"]["S"].startswith(prefix)]


def incident_roots(ddb) -> list[dict[str, Any]]:
    return [i for i in state_items(ddb, "INCIDENT#") if "continues" not in i]


EVERY_TYPE_ITEM = {
    "pk": {"S": "customer#1"},
    "sk": {"N": "7"},
    "name": {"S": "Zoë ünïcode ✓"},
    "amount": {"N": "12345678901234567890.123456789"},
    "negative": {"N": "-0.000001"},
    "blob": {"B": bytes([0, 1, 2, 254, 255])},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "tags": {"SS": ["a", "b", "c"]},
    "scores": {"NS": ["1", "2.5", "-3"]},
    "blobs": {"BS": [b"\x00", b"\xff\xfe"]},
    "list": {
        "L": [{"S": "x"}, {"N": "1"}, {"B": b"\x10"}, {"L": [{"BOOL": True}]}, {"M": {"k": {"NULL": True}}}]
    },
    "map": {"M": {"inner": {"M": {"b": {"B": b"\x80"}, "ss": {"SS": ["z"]}}}, "n": {"N": "0"}}},
}


def _normalise(item: dict[str, Any]) -> dict[str, Any]:
    """Sets are unordered in DynamoDB: compare them as sets (numbers as decimals)."""
    out = {}
    for name, value in item.items():
        ((tag, inner),) = value.items()
        if tag == "NS":
            out[name] = {tag: {Decimal(v) for v in inner}}
        elif tag in ("SS", "BS"):
            out[name] = {tag: set(inner)}
        else:
            out[name] = value
    return out


def test_ttl_deletes_are_ignored(env):
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    for i in range(3):
        ddb.put_item(
            TableName=TABLE, Item={"pk": {"S": f"session#{i}"}, "sk": {"N": "1"}, "expires": {"N": "1"}}
        )
    for i in range(3):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"session#{i}"}, "sk": {"N": "1"}})
    event = reader.read_new_event()
    removes = [r for r in event["Records"] if r["eventName"] == "REMOVE"]
    assert len(removes) == 3
    # The emulator does not run TTL; AWS sends TTL deletions as REMOVE records with this userIdentity,
    # so the real REMOVE records read from the stream get it added here.
    for record in removes:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

    assert invoke(event) == {"batchItemFailures": []}

    assert ddb.scan(TableName=TABLE)["Items"] == []  # nothing was put back
    assert incident_roots(ddb) == []


def topic_with_inbox() -> tuple[str, Callable[[], list[dict[str, Any]]]]:
    """A real SNS topic with an SQS queue subscribed; returns the topic ARN and a reader of the queue."""
    sns, sqs = make_client("sns"), make_client("sqs")
    topic = sns.create_topic(Name="dr-incidents")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="dr-incidents-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]

    return topic, received


def test_user_delete_is_repaired_exactly_and_announced(env):
    ddb = make_client("dynamodb")
    topic, received = topic_with_inbox()
    env({TABLE: {"action": "item_repair"}}, **{cfg.SNS_TOPIC_ARN: topic})
    reader = make_table(ddb, TABLE)
    key = {"pk": EVERY_TYPE_ITEM["pk"], "sk": EVERY_TYPE_ITEM["sk"]}
    ddb.put_item(TableName=TABLE, Item=EVERY_TYPE_ITEM)
    ddb.delete_item(TableName=TABLE, Key=key)

    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}

    restored = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert _normalise(restored) == _normalise(EVERY_TYPE_ITEM)
    assert restored["blob"]["B"] == bytes([0, 1, 2, 254, 255])
    assert restored["amount"]["N"] == "12345678901234567890.123456789"
    [incident] = incident_roots(ddb)
    assert incident["reason"]["S"] == "user_delete"
    assert incident["items_repaired"]["N"] == "1"
    assert incident["announced"]["SS"] == ["user_delete"]

    [announcement] = received()
    assert announcement["table"] == TABLE
    assert announcement["action"] == "item_repair"
    assert announcement["record_count"] == 1
    assert announcement["incident_id"] == incident["incident_id"]["S"]

    # The repair's own INSERT comes through the stream next: it is not a new incident.
    echo = reader.read_new_event()
    assert [r["eventName"] for r in echo["Records"]] == ["INSERT"]
    assert invoke(echo) == {"batchItemFailures": []}
    assert len(incident_roots(ddb)) == 1


def test_modify_of_protected_attribute_is_undone_with_every_type(env):
    env({TABLE: {"action": "item_repair", "protected_attributes": ["amount"]}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    key = {"pk": EVERY_TYPE_ITEM["pk"], "sk": EVERY_TYPE_ITEM["sk"]}
    ddb.put_item(TableName=TABLE, Item=EVERY_TYPE_ITEM)
    ddb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "ordinary update"}},
    )
    ddb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET amount = :a REMOVE flag",
        ExpressionAttributeValues={":a": {"N": "0"}},
    )

    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}

    item = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert _normalise(item) == _normalise({**EVERY_TYPE_ITEM, "note": {"S": "ordinary update"}})
    [incident] = incident_roots(ddb)
    assert incident["reason"]["S"] == "protected_attribute_changed"
    assert "amount" in incident["detail"]["S"]

    # Putting the old image back is itself a MODIFY of "amount": it must not be undone in turn.
    echo = reader.read_new_event()
    assert [r["eventName"] for r in echo["Records"]] == ["MODIFY"]
    assert invoke(echo) == {"batchItemFailures": []}
    item = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert item["amount"] == {"N": "12345678901234567890.123456789"}
    assert state_items(ddb, "INCIDENT#")[0]["items_repaired"]["N"] == "1"


def test_repair_never_overwrites_an_item_written_again(env):
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    key = {"pk": {"S": "order#9"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=TABLE, Item={**key, "status": {"S": "old"}})
    ddb.delete_item(TableName=TABLE, Key=key)
    ddb.put_item(TableName=TABLE, Item={**key, "status": {"S": "written again"}})

    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}

    assert ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["status"] == {
        "S": "written again"
    }
    [incident] = incident_roots(ddb)
    assert incident["conflicts"]["N"] == "1"
    assert [json.loads(k) for k in incident["conflict_keys"]["SS"]] == [
        {"pk": {"S": "order#9"}, "sk": {"N": "1"}}
    ]
    assert "items_repaired" not in incident


def test_mass_delete_starts_exactly_one_pitr_restore(env):
    topic, received = topic_with_inbox()
    env({TABLE: {"action": "pitr_restore"}}, **{cfg.SNS_TOPIC_ARN: topic})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    for i in range(30):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"order#{i}"}, "sk": {"N": "1"}, "v": {"N": str(i)}})
    reader.read_new()  # the INSERTs: normal traffic, not part of the scene
    for i in range(30):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"order#{i}"}, "sk": {"N": "1"}})
    event = reader.read_new_event()
    assert len(event["Records"]) == 30

    handler_ddb = runtime_from_env().clients.dynamodb  # the client the handler uses
    sent: list[dict[str, Any]] = []
    handler_ddb.meta.events.register(
        "before-parameter-build.dynamodb.RestoreTableToPointInTime",
        lambda params, **_: sent.append(dict(params)),
    )
    assert invoke(event) == {"batchItemFailures": []}
    assert invoke(copy.deepcopy(event)) == {"batchItemFailures": []}  # delivered again
    assert invoke({"Records": list(reversed(copy.deepcopy(event["Records"])))}) == {"batchItemFailures": []}

    assert len(sent) == 1
    [request] = sent
    assert request["SourceTableName"] == TABLE
    assert re.fullmatch(rf"{TABLE}-recovery-\d{{8}}T\d{{6}}", request["TargetTableName"])
    earliest_change = min(r["dynamodb"]["ApproximateCreationDateTime"] for r in event["Records"])
    earliest_restorable = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]["EarliestRestorableDateTime"].timestamp()
    # PITR was enabled less than a second before the deletes: the earliest restorable time is later.
    expected = max(earliest_change - 1, earliest_restorable)
    assert request["RestoreDateTime"].timestamp() == pytest.approx(expected, abs=0.001)
    [announcement] = received()  # announced once, after the first delivery
    assert announcement["event"] == "user_delete"
    assert announcement["record_count"] == 30
    assert (announcement["action"], announcement["action_status"]) == ("pitr_restore", "started")
    assert announcement["target_table"] == request["TargetTableName"]

    follow_up()  # the scheduled follow-up: the restored table is ACTIVE, it gets what PITR does not restore

    tables = ddb.list_tables()["TableNames"]
    assert [t for t in tables if t.startswith(f"{TABLE}-recovery-")] == [request["TargetTableName"]]
    restored = ddb.describe_table(TableName=request["TargetTableName"])["Table"]
    assert restored["RestoreSummary"]["SourceTableArn"].endswith(f":table/{TABLE}")
    assert restored["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = ddb.describe_time_to_live(TableName=request["TargetTableName"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    restored_pitr = ddb.describe_continuous_backups(TableName=request["TargetTableName"])
    assert (
        restored_pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"
        ]
        == "ENABLED"
    )
    assert ddb.list_tags_of_resource(ResourceArn=restored["TableArn"])["Tags"] == [
        {"Key": "team", "Value": "payments"}
    ]
    assert ddb.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"  # live table untouched

    [incident] = incident_roots(ddb)
    assert incident["action_status"]["S"] == "done"
    assert incident["settings_status"]["S"] == "done"
    assert incident["target_table"]["S"] == request["TargetTableName"]
    [end] = received()
    assert (end["event"], end["action_status"], end["target_table"]) == (
        "end",
        "done",
        request["TargetTableName"],
    )
    assert end["table"] == TABLE


def test_burst_of_modifies_over_the_threshold_is_one_incident(env):
    env({TABLE: {"action": "pitr_restore", "burst_threshold": 10, "user_deletes_are_incidents": False}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    for i in range(20):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{i}"}, "sk": {"N": "1"}})
    reader.read_new()
    for i in range(9):  # below the threshold: ordinary traffic
        ddb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": f"p{i}"}, "sk": {"N": "1"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "1"}},
        )
    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}
    assert incident_roots(ddb) == []

    for i in range(9, 20):  # a bad deploy: 11 more within the window, in separate deliveries
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"p{i}"}, "sk": {"N": "1"}})
    records = reader.read_new_event()["Records"]
    for part in (records[:1], records[1:6], records[6:], records[3:8]):
        assert invoke({"Records": copy.deepcopy(part)}) == {"batchItemFailures": []}

    [incident] = incident_roots(ddb)
    assert incident["reason"]["S"] == "burst"
    assert incident["action_status"]["S"] == "started"
    recovery = [t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{TABLE}-recovery-")]
    assert recovery == [incident["target_table"]["S"]]


def test_poisoned_record_is_reported_while_the_others_are_repaired(env):
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    keys = [{"pk": {"S": f"item#{i}"}, "sk": {"N": "1"}} for i in range(2)]
    for key in keys:
        ddb.put_item(TableName=TABLE, Item={**key, "b": {"B": b"\x01"}})
    reader.read_new()
    for key in keys:
        ddb.delete_item(TableName=TABLE, Key=key)
    event = reader.read_new_event()
    poisoned = copy.deepcopy(event["Records"][0])
    poisoned["dynamodb"]["SequenceNumber"] = "999999999999999999999999"
    poisoned["dynamodb"]["OldImage"]["b"] = {"B": "this is not base64!"}
    event["Records"].insert(1, poisoned)

    response = invoke(event)

    assert response == {"batchItemFailures": [{"itemIdentifier": "999999999999999999999999"}]}
    for key in keys:
        assert ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["b"] == {"B": b"\x01"}

    # Lambda retries from the failed record on, so repaired records come again: that is no new
    # incident and no false "written again" report.
    del event["Records"][1]
    assert invoke(event) == {"batchItemFailures": []}
    [incident] = incident_roots(ddb)
    assert incident["items_repaired"]["N"] == "2"
    assert incident["repairs_repeated"]["N"] == "2"
    assert "repairs_skipped" not in incident


def test_bad_configuration_fails_at_start_naming_the_variable(env):
    env({TABLE: {"action": "restore_everything"}})
    with pytest.raises(ConfigError, match=r"PROTECTED_TABLES\['orders-table'\]\.action"):
        invoke({"Records": []})


def test_parallel_deliveries_of_one_incident_start_one_restore(env):
    """Several Lambda instances (e.g. shards, or a retry racing the first attempt) handle records of the
    same incident at the same time: the conditional write in the state table lets exactly one start."""
    from concurrent.futures import ThreadPoolExecutor

    from dynamodb_dr.stream_recovery.config import StreamRecoverySettings
    from dynamodb_dr.stream_recovery.processor import Clients, Runtime, process_event

    env({TABLE: {"action": "pitr_restore"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    for i in range(8):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"o{i}"}, "sk": {"N": "1"}})
    reader.read_new()
    for i in range(8):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"o{i}"}, "sk": {"N": "1"}})
    records = reader.read_new_event()["Records"]
    settings = StreamRecoverySettings.from_env()
    sent: list[dict[str, Any]] = []

    def one_instance(record: dict[str, Any]) -> dict[str, Any]:
        client = make_client("dynamodb")
        client.meta.events.register(
            "before-parameter-build.dynamodb.RestoreTableToPointInTime",
            lambda params, **_: sent.append(dict(params)),
        )
        return process_event({"Records": [record]}, None, Runtime(settings, Clients(dynamodb=client)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(one_instance, records))

    assert responses == [{"batchItemFailures": []}] * 8
    assert len(sent) == 1
    assert len(incident_roots(ddb)) == 1
    assert len([t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{TABLE}-recovery-")]) == 1


def test_incident_spanning_window_boundaries_stays_one_incident(env):
    import time

    env({TABLE: {"action": "pitr_restore"}}, window="1")
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    for i in range(3):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"o{i}"}, "sk": {"N": "1"}})
    reader.read_new()
    for i in range(3):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"o{i}"}, "sk": {"N": "1"}})
        time.sleep(0.6)
    records = reader.read_new_event()["Records"]
    buckets = {int(r["dynamodb"]["ApproximateCreationDateTime"]) for r in records}
    assert len(buckets) >= 2  # the deletes fall into consecutive one-second windows
    for record in records:
        assert invoke({"Records": [record]}) == {"batchItemFailures": []}

    [incident] = incident_roots(ddb)
    [pointer] = state_items(ddb, "OPEN#")
    assert pointer["incident_pk"] == incident["pk"]
    assert len([t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{TABLE}-recovery-")]) == 1


def test_table_without_pitr_is_announced_with_the_fix_and_not_retried(env):
    env({TABLE: {"action": "pitr_restore"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=False)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})

    assert invoke(reader.read_new_event()) == {"batchItemFailures": []}

    [incident] = incident_roots(ddb)
    assert incident["action_status"]["S"] == "failed"
    assert "enable it (UpdateContinuousBackups)" in incident["error"]["S"]
    assert incident["announced"]["SS"] == ["user_delete"]
    assert [t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{TABLE}-recovery-")] == []


def test_handler_clients_come_from_the_shared_factory_and_follow_the_environment(env, monkeypatch):
    """Throttled or failed calls are retried with backoff by the shared client config; the clients are
    built at the first invocation, after the environment (and AWS_ENDPOINT_URL) is known."""
    env({TABLE: {"action": "alert_only"}})
    first = runtime_from_env()
    assert first.clients.dynamodb.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}
    assert first.clients.dynamodb.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL"]
    assert runtime_from_env() is first  # reused across invocations
    monkeypatch.setenv(cfg.INCIDENT_WINDOW_SECONDS, "30")
    assert runtime_from_env().settings.incident_window_seconds == 30  # a new environment, new runtime


def test_a_claim_left_by_a_crashed_invocation_is_taken_back_by_the_retry_of_its_record(env):
    """An invocation claimed the restore and died (timeout) before starting it: other records do not
    start a second one while its lease runs, and the retry of the claiming record starts it at once."""
    from dynamodb_dr.stream_recovery.state import IncidentStore

    env({TABLE: {"action": "pitr_restore"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE, pitr=True)
    for i in range(2):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"o{i}"}, "sk": {"N": "1"}})
    reader.read_new()
    for i in range(2):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"o{i}"}, "sk": {"N": "1"}})
    first, second = reader.read_new_event()["Records"]
    changed_at = first["dynamodb"]["ApproximateCreationDateTime"]
    target = f"{TABLE}-recovery-20260101T000000"
    store = IncidentStore(ddb, STATE_TABLE, 60)
    incident, _ = store.claim_or_join(
        TABLE,
        changed_at,
        first["dynamodb"]["SequenceNumber"],
        lambda iid: {
            "reason": "user_delete",
            "detail": "",
            "first_record_time": changed_at,
            "created_at": "2026-01-01T00:00:00+00:00",
            "action": "pitr_restore",
            "action_status": "pending",
            "target_table": target,
            "restore_time": changed_at - 1,
        },
    )
    assert store.claim_action(incident, 300, first["dynamodb"]["SequenceNumber"]) is not None  # then it died

    sent: list[dict[str, Any]] = []
    runtime_from_env().clients.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.RestoreTableToPointInTime",
        lambda params, **_: sent.append(dict(params)),
    )
    assert invoke({"Records": [second]}) == {"batchItemFailures": []}
    assert sent == []  # the lease of the dead claim still runs
    assert invoke({"Records": [first]}) == {"batchItemFailures": []}

    assert [r["TargetTableName"] for r in sent] == [target]
    assert [t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{TABLE}-recovery-")] == [target]
    assert incident_roots(ddb)[0]["action_status"]["S"] == "started"


def test_missing_state_table_fails_the_incident_records_and_says_so(env, monkeypatch, caplog):
    env({TABLE: {"action": "item_repair"}})
    monkeypatch.setenv(cfg.INCIDENT_STATE_TABLE, "no-such-state-table")
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    insert, remove = reader.read_new_event()["Records"]

    response = invoke({"Records": [insert, remove]})

    assert response == {"batchItemFailures": [{"itemIdentifier": remove["dynamodb"]["SequenceNumber"]}]}
    assert "the incident state table 'no-such-state-table' does not exist" in caplog.text
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})


def test_record_without_dynamodb_key_is_reported_by_itself_and_never_raises(env):
    """A record without ``dynamodb`` (or not even an object) is reported alone; the others are handled."""
    env({TABLE: {"action": "item_repair"}})
    ddb = make_client("dynamodb")
    reader = make_table(ddb, TABLE)
    key = {"pk": {"S": "order#1"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=TABLE, Item={**key, "v": {"S": "kept"}})
    reader.read_new()
    ddb.delete_item(TableName=TABLE, Key=key)
    [remove] = reader.read_new_event()["Records"]
    no_body = {k: v for k, v in copy.deepcopy(remove).items() if k != "dynamodb"}
    no_body["eventID"] = "no-dynamodb-key"
    no_sequence = copy.deepcopy(remove)
    del no_sequence["dynamodb"]["SequenceNumber"]
    no_sequence.pop("eventID")

    response = invoke({"Records": [no_body, remove, "not a record", no_sequence]})

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "no-dynamodb-key"},
            {"itemIdentifier": "malformed-record-2"},
            {"itemIdentifier": "malformed-record-3"},
        ]
    }
    assert ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["v"] == {"S": "kept"}
    # Only malformed records: still a response, never an exception.
    assert invoke({"Records": [no_body]}) == {"batchItemFailures": [{"itemIdentifier": "no-dynamodb-key"}]}
