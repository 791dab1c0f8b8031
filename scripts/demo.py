"""make demo: a bad day, end to end, on an embedded local AWS endpoint (no AWS account).

1. start a local AWS endpoint (moto server on 127.0.0.1, real HTTP; exports in the real AWS layout)
2. create the three seed tables with a few thousand items of every DynamoDB type
3. run the scheduled export Lambda, then the export monitor until the backup is COMPLETE
4. damage the tables: delete items, overwrite items, insert junk
5. restore one table through the Restore Lambda's handler (threads, no Spark; prints the time from
   the invocation to the last item written), the others with the Glue restore job (on local Spark),
   both with backup_date latest and clear_existing_data
6. prove every table equals its pre-damage state, item by item and type by type
7. stream recovery: a user delete repaired in seconds, a mass delete answered by one PITR restore at
   its point (started by the scheduled follow-up), a busy table whose legitimate writes are kept
8. time travel: a bad job's window undone in place from incremental exports, later writes kept
9. a DR drill of one table: restored into a scratch table, verified, RTO and RPO printed, deleted

Exits 0 only if everything was proven.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dynamodb_dr.clients import make_client  # noqa: E402
from local_aws import start_local_aws  # noqa: E402
from local_aws.demo_data import DEMO_TABLES, demo_items  # noqa: E402
from local_aws.lambda_context import LocalLambdaContext  # noqa: E402

BUCKET = "dynamodb-dr-demo-backups"
ENVIRONMENT = "demo"
# A few thousand items: the local emulator writes ~300 items/s, and the demo should finish in < 3 min.
ITEMS_PER_TABLE = {
    "mfa-api_demo_u2f_global": 1500,
    "mfa-api_demo_totp_global": 1200,
    "mfa-api_demo_api-key_global": 1300,
}
LAMBDA_TABLE = "mfa-api_demo_api-key_global"
"""Restored through the Restore Lambda; the other tables through the Glue job."""
DRILL_TABLE = "mfa-api_demo_totp_global"
"""The table of the closing DR drill (the smallest)."""
GLUE_JOB = "dynamodb-dr-demo-restore"
START = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


def load_handler(name: str) -> Callable[[dict, Any], dict]:
    path = ROOT / "lambdas" / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"demo_{name}_handler", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def batch_write(ddb: Any, table: str, requests: list[dict]) -> None:
    for i in range(0, len(requests), 25):
        pending = {table: requests[i : i + 25]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def batch_put(ddb: Any, table: str, items: list[dict]) -> None:
    batch_write(ddb, table, [{"PutRequest": {"Item": item}} for item in items])


def key_of(item: dict, key_names: list[str]) -> tuple:
    return tuple(json.dumps(item[k], default=lambda b: b.hex(), sort_keys=True) for k in key_names)


def normalized(item: dict) -> Any:
    """DynamoDB sets are unordered: compare them as sorted lists; everything else exactly."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((kind, inner),) = value.items()
                if kind in ("SS", "NS", "BS"):
                    return {kind: sorted(inner)}
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    return norm(item)


def snapshot(ddb: Any, table: str) -> dict[tuple, Any]:
    key_names = [k["AttributeName"] for k in DEMO_TABLES[table]["KeySchema"]]
    items: dict[tuple, Any] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[key_of(item, key_names)] = normalized(item)
    return items


def damage(ddb: Any, table: str, rng: random.Random) -> str:
    key_names = [k["AttributeName"] for k in DEMO_TABLES[table]["KeySchema"]]
    items = [i for p in ddb.get_paginator("scan").paginate(TableName=table) for i in p["Items"]]
    rng.shuffle(items)
    n_delete, n_overwrite = len(items) // 10, len(items) // 20
    batch_write(
        ddb, table, [{"DeleteRequest": {"Key": {k: i[k] for k in key_names}}} for i in items[:n_delete]]
    )
    corrupted = [
        {**{k: i[k] for k in key_names}, "label": {"S": "CORRUPTED by bad deploy"}}
        for i in items[n_delete : n_delete + n_overwrite]
    ]
    batch_put(ddb, table, corrupted)
    junk = dict(items[-1])
    junk.update(
        {k: {"S": "junk-0001"} if v.get("S") is not None else v for k, v in junk.items() if k in key_names}
    )
    if table.endswith("api-key_global"):
        junk["api_key_id"] = {"N": "999999999"}
    elif table.endswith("u2f_global"):
        junk["credential_id"] = {"B": b"junk"}
    ddb.put_item(TableName=table, Item=junk)
    return f"deleted {n_delete}, overwrote {n_overwrite}, inserted 1 junk item"


def run_lambda_restore(table: str) -> tuple[int, dict]:
    """The Restore Lambda's handler, invoked in-process with a 15-minute context, as Lambda would."""
    event = {"backup_date": "latest", "tables": [table], "clear_existing_data": True}
    say(f"$ aws lambda invoke --function-name restore --payload '{json.dumps(event)}'")
    invoked = time.monotonic()
    response = load_handler("restore")(
        event, LocalLambdaContext(function_name="restore", remaining_ms=900_000)
    )
    answered = time.monotonic() - invoked
    body = response["body"]
    timings = body.get("timings") or {}
    result = body.get("tables", {}).get(table, {})
    say(
        f"  Restore Lambda: statusCode {response['statusCode']}; {result.get('items_written')} items written, "
        f"{result.get('extras_removed')} junk removed; invocation -> first write "
        f"{timings.get('seconds_to_first_write')}s, -> last item written {timings.get('seconds_to_last_write')}s, "
        f"answered in {answered:.1f}s (no Spark)"
    )
    return response["statusCode"], body


def run_restore(local_env: dict[str, str], tables: list[str]) -> tuple[int, dict | None, str]:
    cmd = [
        sys.executable, str(ROOT / "glue_jobs" / "restore_job.py"),
        "--backup_date", "latest",
        "--BACKUP_BUCKET", BUCKET,
        "--ENVIRONMENT", ENVIRONMENT,
        "--tables", ",".join(tables),
        "--clear_existing_data", "true",
        "--max_workers", "4",
    ]  # fmt: skip
    say(
        f"$ python glue_jobs/restore_job.py --backup_date latest --tables {','.join(tables)} --clear_existing_data true ..."
    )
    env = {**os.environ, **local_env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    report = None
    with contextlib.suppress(ValueError):  # the job prints its JSON report on stdout
        report = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{") :])[0]
    return proc.returncode, report, proc.stderr


def run_drill_scene(table: str) -> bool:
    """The weekly DR drill, on one table: the latest backup restored into a scratch table, verified
    item by item, RTO and RPO recorded (CloudWatch metrics, a report in the bucket), the scratch table
    deleted. The same stages as ``restore_job.py --drill true`` on Glue, here on threads in this
    process (the demo keeps no Spark session of its own; starting one would double the scene)."""
    from dynamodb_dr.restore import drill
    from dynamodb_dr.restore.args import parse_args
    from dynamodb_dr.restore.runner import ThreadRunner

    say(
        f"$ python glue_jobs/restore_job.py --drill true --backup_date latest --tables {table}  (the weekly drill)"
    )
    args = parse_args(
        ["--backup_date", "latest", "--BACKUP_BUCKET", BUCKET, "--ENVIRONMENT", ENVIRONMENT,
         "--drill", "true", "--tables", table]
    )  # fmt: skip
    report = drill.run_drill(
        args,
        s3=make_client("s3"),
        dynamodb=make_client("dynamodb"),
        cloudwatch=make_client("cloudwatch"),
        sns=None,
        runner=ThreadRunner(4),
        progress_seconds=2.0,
    )
    for t in report.tables:
        rto = f"{t.rto_seconds:.1f}s" if t.rto_seconds is not None else "-"
        rpo = f"{t.rpo_seconds:.0f}s" if t.rpo_seconds is not None else "-"
        say(
            f"  drill {t.table} -> {t.scratch_table}: {t.status}; RTO {rto} (request to verified), "
            f"RPO {rpo} (age of the data restored); {t.items_restored} items at {t.items_per_second} items/s, "
            f"{drill.cost_text(t)}; scratch table "
            f"{'deleted' if t.scratch_table_deleted else 'NOT deleted'}; report s3://{BUCKET}/{t.report_key}"
        )
        for error in t.errors:
            say(f"    {error}")
    return report.ok


def main() -> int:
    say("starting the local AWS endpoint (moto server on 127.0.0.1, exports in the AWS layout)")
    local = start_local_aws(export_settings={"items_per_file": 400, "delay_seconds": 2.0})
    say(f"endpoint {local.endpoint_url}; every client reaches it through AWS_ENDPOINT_URL")
    ddb, s3 = make_client("dynamodb"), make_client("s3")
    proven: list[tuple[str, bool]] = []

    s3.create_bucket(Bucket=BUCKET)
    for table, spec in DEMO_TABLES.items():
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **spec)
        ddb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        batch_put(ddb, table, demo_items(table, ITEMS_PER_TABLE[table]))
    before = {table: snapshot(ddb, table) for table in DEMO_TABLES}
    say("created " + ", ".join(f"{t} ({len(before[t])} items)" for t in DEMO_TABLES))

    os.environ.update(
        BACKUP_BUCKET=BUCKET,
        ENVIRONMENT=ENVIRONMENT,
        DYNAMODB_TABLES=json.dumps(list(DEMO_TABLES)),
        RESTORE_GLUE_JOB_NAME=GLUE_JOB,
        # The Lambdas log JSON per invocation and per table; the demo tells the story in short lines.
        POWERTOOLS_LOG_LEVEL=os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    )
    event = {
        "version": "0", "id": "demo", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": local.account_id, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": local.region, "resources": [], "detail": {},
    }  # fmt: skip
    started = load_handler("export_backup")(event, LocalLambdaContext(function_name="export-backup"))
    body = started["body"] if isinstance(started["body"], dict) else json.loads(started["body"])
    say(
        f"export Lambda: statusCode {started['statusCode']}, {body['successful_exports']} exports started, "
        f"manifest s3://{BUCKET}/{body['manifest_s3_key']}"
    )

    monitor = load_handler("export_monitor")
    for _ in range(60):
        result = monitor(
            {"backup_date": body["backup_date"]}, LocalLambdaContext(function_name="export-monitor")
        )
        mbody = result["body"] if isinstance(result["body"], dict) else json.loads(result["body"])
        say(
            f"export monitor: backup {mbody['backup_status']}, {mbody['total_items_exported']} items exported"
        )
        if mbody["backup_status"] != "IN_PROGRESS":
            break
        time.sleep(1.0)
    proven.append(("backup COMPLETE", mbody["backup_status"] == "COMPLETE"))

    rng = random.Random(2026)
    for table in DEMO_TABLES:
        say(f"damaging {table}: {damage(ddb, table, rng)}")

    # The Glue job the Restore Lambda would hand a restore too large for it to.
    make_client("glue").create_job(
        Name=GLUE_JOB,
        Role=f"arn:aws:iam::{local.account_id}:role/{GLUE_JOB}-role",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/glue-artifacts/restore_job.py"},
    )
    status, _ = run_lambda_restore(LAMBDA_TABLE)
    proven.append(("Restore Lambda statusCode 200", status == 200))

    code, report, log = run_restore(local.env, [t for t in DEMO_TABLES if t != LAMBDA_TABLE])
    if report is None or code != 0:
        say(f"restore job failed (exit {code}); last log lines:")
        print("\n".join(log.splitlines()[-25:]))
    else:
        for name, result in report.get("tables", {}).items():
            say(
                f"  {name}: {result.get('status')}, {result.get('items_written')} items written from "
                f"{result.get('files')} files in {result.get('seconds')}s; safety backup {result.get('backup_arn')}"
            )
    proven.append(("restore job exit 0", code == 0))

    for table in DEMO_TABLES:
        after = snapshot(ddb, table)
        equal = after == before[table]
        missing = len(before[table].keys() - after.keys())
        extra = len(after.keys() - before[table].keys())
        changed = sum(1 for k in before[table].keys() & after.keys() if before[table][k] != after[k])
        say(
            f"verify {table}: {len(after)} items; missing {missing}, extra {extra}, different {changed} -> "
            + ("EXACT" if equal else "NOT EQUAL")
        )
        proven.append((f"{table} restored exactly", equal))

    scene = ROOT / "scripts" / "demo_stream_scene.py"
    if scene.exists():
        spec = importlib.util.spec_from_file_location("demo_stream_scene", scene)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        say("stream recovery scene")
        proven.append(("stream recovery scene", bool(module.run_stream_recovery_scene(say))))

    scene = ROOT / "scripts" / "demo_time_travel_scene.py"
    if scene.exists():  # last: it moves the endpoint's clock forward, a window at a time
        spec = importlib.util.spec_from_file_location("demo_time_travel_scene", scene)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        proven.append(("time travel scene", bool(module.run_time_travel_scene(say, BUCKET))))

    proven.append(("DR drill of " + DRILL_TABLE, run_drill_scene(DRILL_TABLE)))

    local.stop()
    print()
    print("Summary")
    for what, ok in proven:
        print(f"  {'PROVEN' if ok else 'FAILED'}  {what}")
    ok = all(ok for _, ok in proven)
    print(f"\n{'All proven' if ok else 'NOT proven'} in {time.monotonic() - START:.1f}s.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
