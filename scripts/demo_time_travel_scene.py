"""Demo scene: time travel. A bad job corrupts part of a table; ``--undo_window`` takes back exactly
its changes, in place, and leaves the later legitimate writes alone, proven item by item.

The export side's chain runs for real on the local endpoint (the export Lambda's daily full export,
then the export chain Lambda's 15-minute incremental windows, the endpoint's clock moved a window at
a time: ``tests/support/chains.build_chain``). Window 1 holds the bad job: it overwrites 40 items'
``status`` and deletes 10 items. Window 2 holds legitimate work: 5 untouched items updated, one
corrupted item fixed by hand (so the undo must leave it: a conflict, reported). Then the restore job
runs on local Spark with ``--undo_window`` = the bad job's window.

``run_time_travel_scene(say, bucket)`` expects the local endpoint up in this process (the demo's).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dynamodb_dr.clients import make_client  # noqa: E402
from dynamodb_dr.restore.timetravel.points import iso  # noqa: E402

TABLE = "demo-time-travel-orders"
ITEMS = 200


def _item(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "pk": {"S": f"order#{i:04d}"},
        "status": {"S": "PAID"},
        "total": {"N": f"{i}.{i % 100:02d}"},
        "lines": {"L": [{"M": {"sku": {"S": f"sku-{i % 7}"}, "qty": {"N": str(1 + i % 3)}}}]},
        "tags": {"SS": ["web", f"region-{i % 3}"]},
        "receipt": {"B": bytes([i % 256, 0, 255])},
        **extra,
    }


def _key(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"order#{i:04d}"}}


def run_time_travel_scene(say: Callable[[str], None], bucket: str) -> bool:
    from tests.support.chains import build_chain
    from tests.support.items import scan_all

    ddb = make_client("dynamodb")
    s3 = make_client("s3")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(ITEMS):
        ddb.put_item(TableName=TABLE, Item=_item(i))
    corrupted, deleted = list(range(0, 80, 2)), list(range(100, 110))
    legit, fixed = [151, 153, 155, 157, 159], corrupted[0]

    def write(window: int) -> None:
        if window == 0:  # ordinary traffic
            for i in range(190, 200):
                ddb.put_item(TableName=TABLE, Item=_item(i, status={"S": "SHIPPED"}))
        elif window == 1:  # the bad job
            for i in corrupted:
                ddb.put_item(TableName=TABLE, Item=_item(i, status={"S": "#ERROR#"}, total={"N": "0"}))
            for i in deleted:
                ddb.delete_item(TableName=TABLE, Key=_key(i))
        else:  # legitimate work after it, one item fixed by hand
            for i in legit:
                ddb.put_item(TableName=TABLE, Item=_item(i, status={"S": "REFUNDED"}))
            ddb.put_item(
                TableName=TABLE, Item=_item(fixed, status={"S": "PAID"}, note={"S": "fixed by hand"})
            )

    say(f"time travel: {TABLE} ({ITEMS} items); daily full export, then 3 incremental windows of 15 minutes")
    built = build_chain(ddb, s3, bucket=bucket, table=TABLE, windows=3, write=write)
    start, end = built.boundaries[1], built.boundaries[2]
    say(
        f"  window 1 ({iso(start)} to {iso(end)}) holds a bad job: {len(corrupted)} items overwritten, "
        f"{len(deleted)} deleted; window 2 holds {len(legit)} legitimate updates and one hand fix"
    )
    before_undo = scan_all(ddb, TABLE)
    cmd = [
        sys.executable, str(ROOT / "glue_jobs" / "restore_job.py"),
        "--undo_window", f"{iso(start)}/{iso(end)}",
        "--tables", TABLE,
        "--BACKUP_BUCKET", bucket,
    ]  # fmt: skip
    say(f"$ python glue_jobs/restore_job.py --undo_window {iso(start)}/{iso(end)} --tables {TABLE}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    report: dict[str, Any] | None = None
    with contextlib.suppress(ValueError):
        report = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{") :])[0]
    if proc.returncode != 0 or report is None:
        say(f"  undo failed (exit {proc.returncode}):\n" + "\n".join(proc.stderr.splitlines()[-15:]))
        return False
    travel = report["tables"][TABLE]["time_travel"]
    say(
        f"  undo: {travel['puts']} put back, {travel['deletes']} deleted, {travel['conflicts']} conflict(s) left "
        f"as they are ({', '.join(c['key'] for c in travel['conflict_keys'])}), {travel['reads']} items read"
    )
    after = scan_all(ddb, TABLE)
    before_job = built.states[1]

    def k(i: int) -> tuple:
        return (f"order#{i:04d}",)

    bad_back = all(after.get(k(i)) == before_job[k(i)] for i in corrupted + deleted if i != fixed)
    kept = all(after.get(k(i)) == before_undo.get(k(i)) for i in [*legit, fixed])
    others = [key for key in before_undo if key not in {k(i) for i in corrupted + deleted}]
    untouched = all(after.get(key) == before_undo[key] for key in others)
    say(
        f"  verify item by item: {len(corrupted) + len(deleted) - 1} damaged items as before the bad job: "
        f"{'EXACT' if bad_back else 'NOT EQUAL'}; {len(legit)} later updates and the hand fix kept: "
        f"{'EXACT' if kept else 'NOT EQUAL'}; {len(others)} other items untouched: {'EXACT' if untouched else 'NOT EQUAL'}"
    )
    return bad_back and kept and untouched and travel["conflicts"] == 1
