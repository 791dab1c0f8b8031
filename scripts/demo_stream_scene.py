"""Demo scene: stream-triggered recovery on the local endpoint.

A user deletes an item from a protected table: the stream Lambda puts it back within seconds. Then a
mass delete hits another protected table: the Lambda starts exactly one PITR restore into a new table
once the restore point (first change - 1 s) is restorable, even though the records are delivered in
several batches and one batch twice; the scheduled follow-up finishes it. Last, a busy table: hundreds
of legitimate updates (a burst over the floor, announced) are never reverted, while the one bad
change of a protected attribute among them is.

``run_stream_recovery_scene(say)`` expects the local endpoint to be up and ``AWS_ENDPOINT_URL`` set
(``scripts/demo.py`` calls it). Run alone, ``python scripts/demo_stream_scene.py`` starts its own
local endpoint; ``python scripts/demo_stream_scene.py --measure 200`` times one batch of 200 user
deletes through the handler instead.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dynamodb_dr.clients import make_client  # noqa: E402
from dynamodb_dr.stream_recovery import config as cfg  # noqa: E402
from dynamodb_dr.stream_recovery.processor import logger, runtime_from_env  # noqa: E402
from dynamodb_dr.stream_recovery.state import create_state_table  # noqa: E402
from dynamodb_dr.stream_recovery.stream_reader import StreamReader  # noqa: E402
from local_aws import pitr_window  # noqa: E402
from local_aws.lambda_context import LocalLambdaContext  # noqa: E402

ORDERS = "demo-stream-orders"  # action item_repair
LEDGER = "demo-stream-ledger"  # action pitr_restore
BUSY = "demo-stream-busy"  # action item_repair, protected attribute "price", busy with legitimate updates
BUSY_ITEMS, BUSY_UPDATES = 50, 300
STATE_TABLE = "demo-stream-recovery-state"
MASS_DELETE = 60
SCHEDULED = ROOT / "tests" / "events" / "scheduled_event.json"

CUSTOMER = {
    "pk": {"S": "customer#1001"},
    "sk": {"N": "1"},
    "name": {"S": "Zoë Example"},
    "balance": {"N": "1234.5600000000000000000000000000000001"},
    "avatar": {"B": bytes([0, 159, 146, 150, 255])},
    "active": {"BOOL": True},
    "referrer": {"NULL": True},
    "roles": {"SS": ["admin", "billing"]},
    "limits": {"NS": ["10", "99.5"]},
    "keys": {"BS": [b"\x01\x02", b"\xfe"]},
    "history": {"L": [{"S": "signup"}, {"M": {"at": {"N": "1763776800"}, "raw": {"B": b"\x00"}}}]},
}


def _load_handler() -> Callable[[dict, Any], dict]:
    path = ROOT / "lambdas" / "stream_recovery" / "handler.py"
    spec = importlib.util.spec_from_file_location("demo_stream_recovery_handler", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def _table(ddb: Any, name: str, *, pitr: bool) -> StreamReader:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "owner", "Value": "demo"}],
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return StreamReader(
        make_client("dynamodbstreams"), ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    )


def _same_item(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def norm(item: dict[str, Any]) -> dict[str, Any]:
        return {
            k: ({t: frozenset(v)} if t in ("SS", "NS", "BS") else {t: v})
            for k, tv in item.items()
            for t, v in tv.items()
        }

    return norm(a) == norm(b)


def run_stream_recovery_scene(say: Callable[[str], None]) -> bool:
    saved = {name: os.environ.get(name) for name in (*cfg.ENV_NAMES, "POWERTOOLS_METRICS_DISABLED")}
    os.environ.update(
        {
            "POWERTOOLS_METRICS_DISABLED": "true",  # no metric lines in the demo's output
            cfg.PROTECTED_TABLES: json.dumps(
                {
                    ORDERS: {"action": "item_repair"},
                    LEDGER: {"action": "pitr_restore"},
                    BUSY: {"action": "item_repair", "protected_attributes": ["price"], "burst_threshold": 10},
                }
            ),
            cfg.INCIDENT_STATE_TABLE: STATE_TABLE,
            cfg.INCIDENT_WINDOW_SECONDS: "60",
        }
    )
    logger.setLevel("ERROR")  # the demo says what happened; the announcements are checked, not printed
    pitr_window.install()  # LatestRestorableDateTime moves with time, as in AWS
    try:
        return _scene(say)
    finally:
        pitr_window.set_lag(0)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _scene(say: Callable[[str], None]) -> bool:
    proven: list[bool] = []
    ddb = make_client("dynamodb")
    handler = _load_handler()
    create_state_table(ddb, STATE_TABLE)
    orders, ledger = _table(ddb, ORDERS, pitr=False), _table(ddb, LEDGER, pitr=True)
    pitr_enabled = time.monotonic()
    say(
        f"stream: protected tables {ORDERS} (item_repair) and {LEDGER} (pitr_restore), NEW_AND_OLD_IMAGES streams"
    )

    # 1. A user deletes one item; the Lambda puts it back.
    key = {"pk": CUSTOMER["pk"], "sk": CUSTOMER["sk"]}
    ddb.put_item(TableName=ORDERS, Item=CUSTOMER)
    orders.read_new()  # the INSERT that created the item: normal traffic
    ddb.delete_item(TableName=ORDERS, Key=key)
    deleted_at = time.monotonic()
    say(f"stream: a user deleted {CUSTOMER['pk']['S']} from {ORDERS}")
    response = handler(orders.read_new_event(), LocalLambdaContext(function_name="stream-recovery"))
    back = ddb.get_item(TableName=ORDERS, Key=key, ConsistentRead=True).get("Item")
    elapsed = time.monotonic() - deleted_at
    repaired = back is not None and _same_item(back, CUSTOMER) and response == {"batchItemFailures": []}
    say(
        f"stream: item {'back, every attribute and type equal,' if repaired else 'NOT repaired'} "
        f"{elapsed:.2f}s after the delete"
    )
    proven.append(repaired)

    # 2. A mass delete; the records arrive in three batches, the first one twice.
    for i in range(0, MASS_DELETE, 25):
        ddb.batch_write_item(
            RequestItems={
                LEDGER: [
                    {
                        "PutRequest": {
                            "Item": {"pk": {"S": f"entry#{n}"}, "sk": {"N": "1"}, "amount": {"N": str(n)}}
                        }
                    }
                    for n in range(i, min(i + 25, MASS_DELETE))
                ]
            }
        )
    ledger.read_new()
    # PITR must have been on for more than a second, or the earliest restorable time is later than the
    # restore point (the incident would say so, and restore from that later time at once).
    time.sleep(max(0.0, 1.5 - (time.monotonic() - pitr_enabled)))
    for i in range(0, MASS_DELETE, 25):
        ddb.batch_write_item(
            RequestItems={
                LEDGER: [
                    {"DeleteRequest": {"Key": {"pk": {"S": f"entry#{n}"}, "sk": {"N": "1"}}}}
                    for n in range(i, min(i + 25, MASS_DELETE))
                ]
            }
        )
    say(f"stream: a bad job deleted all {MASS_DELETE} items of {LEDGER}")
    records = ledger.read_new_event()["Records"]
    restores: list[dict[str, Any]] = []
    runtime_from_env().clients.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.RestoreTableToPointInTime",
        lambda params, **_: restores.append(dict(params)),
    )
    batches = [records[:20], records[:20], records[20:40], records[40:]]
    pitr_window.set_lag(300)  # AWS: LatestRestorableDateTime is ~5 minutes behind now
    failures = [
        handler({"Records": copy.deepcopy(b)}, LocalLambdaContext(function_name="stream-recovery"))
        for b in batches
    ]
    waited = restores == []
    say(
        f"stream: {len(records)} REMOVE records in {len(batches)} deliveries (one repeated) -> one incident; "
        f"{'its restore waits' if waited else 'a restore started too early'} until the restore point "
        "(first change - 1 s) is restorable"
    )
    pitr_window.set_lag(0)  # five minutes later: the scheduled follow-up, no further records
    followup = handler(json.loads(SCHEDULED.read_text()), LocalLambdaContext(function_name="stream-recovery"))
    recovery_tables = [t for t in ddb.list_tables()["TableNames"] if t.startswith(f"{LEDGER}-recovery-")]
    first_change = min(r["dynamodb"]["ApproximateCreationDateTime"] for r in records)
    one_restore = (
        waited
        and len(records) == MASS_DELETE
        and all(f == {"batchItemFailures": []} for f in failures)
        and len(restores) == 1
        and recovery_tables == [restores[0]["TargetTableName"]]
        and abs(restores[0]["RestoreDateTime"].timestamp() - (first_change - 1)) < 0.002
        and len(followup["finished"]) == 1
    )
    if one_restore:
        target = restores[0]["TargetTableName"]
        restored = ddb.describe_table(TableName=target)["Table"]
        say(
            f"stream: the follow-up started exactly one PITR restore: {target} at "
            f"{restores[0]['RestoreDateTime'].isoformat()} (first change - 1 s), status {restored['TableStatus']}, "
            f"stream {restored.get('StreamSpecification', {}).get('StreamViewType')}; incident closed and announced"
        )
        one_restore = restored["RestoreSummary"]["SourceTableArn"].endswith(f":table/{LEDGER}")
    else:
        say(
            f"stream: expected exactly one PITR restore at first change - 1 s, saw {restores} and tables "
            f"{recovery_tables}"
        )
    proven.append(one_restore)
    proven.append(_busy_scene(say, ddb, handler))
    return all(proven)


def _busy_scene(say: Callable[[str], None], ddb: Any, handler: Callable[[dict, Any], dict]) -> bool:
    """A busy table: legitimate updates far over the burst floor are never reverted; the one change of
    a protected attribute among them is."""
    busy = _table(ddb, BUSY, pitr=False)
    keys = [{"pk": {"S": f"order#{n}"}, "sk": {"N": "1"}} for n in range(BUSY_ITEMS)]
    for key in keys:
        ddb.put_item(TableName=BUSY, Item={**key, "price": {"N": "10"}, "status": {"S": "new"}})
    busy.read_new()
    expected = {}
    for n in range(BUSY_UPDATES):
        key = keys[n % BUSY_ITEMS]
        expected[key["pk"]["S"]] = status = f"step-{n}"
        ddb.update_item(
            TableName=BUSY,
            Key=key,
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )
        if n == BUSY_UPDATES - 10:  # a bad write among them (item 7's last write)
            ddb.update_item(
                TableName=BUSY,
                Key=keys[7],
                UpdateExpression="SET price = :p",
                ExpressionAttributeValues={":p": {"N": "0"}},
            )
    records = busy.read_new_event()["Records"]
    failures = [
        handler({"Records": records[i : i + 100]}, LocalLambdaContext(function_name="stream-recovery"))
        for i in range(0, len(records), 100)
    ]
    items = {i["pk"]["S"]: i for i in ddb.scan(TableName=BUSY, ConsistentRead=True)["Items"]}
    kept = sum(items[pk]["status"] == {"S": status} for pk, status in expected.items())
    price_back = items["order#7"]["price"] == {"N": "10"}
    ok = all(f == {"batchItemFailures": []} for f in failures) and kept == BUSY_ITEMS and price_back
    say(
        f"stream: busy table {BUSY}: {BUSY_UPDATES} legitimate status updates (a burst over the floor of 10, "
        f"announced, never answered by item repair): {kept} of {BUSY_ITEMS} items keep their latest status; "
        f"the one bad price change {'was put back' if price_back else 'was NOT put back'}"
    )
    return ok


def measure_batch(records: int) -> None:
    """Time one batch of ``records`` user deletes through the handler on the local endpoint, for each
    action that touches every record (item_repair) or one per incident (pitr_restore); then one batch
    of ``records`` ordinary updates (no incident)."""
    ddb = make_client("dynamodb")
    handler = _load_handler()
    logger.setLevel("ERROR")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    pitr_window.install()
    create_state_table(ddb, STATE_TABLE)
    for action in ("item_repair", "pitr_restore"):
        table = f"measure-{action.replace('_', '-')}"
        reader = _table(ddb, table, pitr=True)
        os.environ.update(
            {
                cfg.PROTECTED_TABLES: json.dumps({table: {"action": action}}),
                cfg.INCIDENT_STATE_TABLE: STATE_TABLE,
            }
        )
        items = [
            {"pk": {"S": f"item#{i}"}, "sk": {"N": "1"}, "payload": {"S": "x" * 200}} for i in range(records)
        ]
        for i in range(0, records, 25):
            ddb.batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]}
            )
        reader.read_new()
        for i in range(0, records, 25):
            ddb.batch_write_item(
                RequestItems={
                    table: [
                        {"DeleteRequest": {"Key": {"pk": it["pk"], "sk": it["sk"]}}}
                        for it in items[i : i + 25]
                    ]
                }
            )
        event = reader.read_new_event()
        started = time.perf_counter()
        response = handler(event, LocalLambdaContext(function_name="stream-recovery"))
        elapsed = time.perf_counter() - started
        back = ddb.scan(TableName=table, Select="COUNT")["Count"]
        print(
            f"{action:13s} {len(event['Records'])} REMOVE records in one batch: {elapsed:.2f}s "
            f"({1000 * elapsed / len(event['Records']):.1f} ms/record), failures "
            f"{len(response['batchItemFailures'])}, items in table afterwards {back}"
        )
    # Ordinary traffic on a protected table: updates that are no incident (the cost every record pays).
    table = "measure-traffic"
    reader = _table(ddb, table, pitr=False)
    os.environ[cfg.PROTECTED_TABLES] = json.dumps(
        {table: {"action": "item_repair", "protected_attributes": ["price"], "burst_threshold": 5000}}
    )
    for i in range(0, records, 25):
        ddb.batch_write_item(
            RequestItems={
                table: [
                    {
                        "PutRequest": {
                            "Item": {"pk": {"S": f"item#{n}"}, "sk": {"N": "1"}, "price": {"N": "1"}}
                        }
                    }
                    for n in range(i, min(i + 25, records))
                ]
            }
        )
    reader.read_new()
    for n in range(records):
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": f"item#{n}"}, "sk": {"N": "1"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "paid"}},
        )
    event = reader.read_new_event()
    started = time.perf_counter()
    response = handler(event, LocalLambdaContext(function_name="stream-recovery"))
    elapsed = time.perf_counter() - started
    print(
        f"{'traffic':13s} {len(event['Records'])} ordinary MODIFY records in one batch: {elapsed:.2f}s "
        f"({1000 * elapsed / len(event['Records']):.1f} ms/record), failures {len(response['batchItemFailures'])}"
    )


if __name__ == "__main__":
    from local_aws import start_local_aws

    local = start_local_aws()
    start = time.monotonic()
    try:
        if sys.argv[1:2] == ["--measure"]:
            measure_batch(int(sys.argv[2]) if len(sys.argv) > 2 else 200)
            sys.exit(0)
        ok = run_stream_recovery_scene(lambda m: print(f"[{time.monotonic() - start:6.1f}s] {m}", flush=True))
    finally:
        local.stop()
    print("PROVEN" if ok else "NOT proven")
    sys.exit(0 if ok else 1)
