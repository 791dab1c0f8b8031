"""Time travel's cost (issue 13), against the local endpoint in its own process (client CPU apart):

1. **Restore to a point** from a full export plus N incremental windows, next to the plain full
   restore of the same full export (the daily-backup path): client CPU per item. Goal: at most 1.5x.
   Both on ``ThreadRunner`` (this process: its CPU is the client's; on Spark the same task functions
   run in Python workers), both writing into the local endpoint.
2. **Rewind** of K changed keys on tables of two sizes: items read (GetItem) and written (conditional
   PutItem/DeleteItem) per changed key, and the exports read. Goal: within 2x the changed keys,
   whatever the table's size (a NEW_AND_OLD_IMAGES chain: no full export is read).

The exports are laid out by hand in AWS's layout (``tests/support/handlaid``): the point restore's
are generated records (no source table needed); the rewind's window holds the real writes of a bad
job to the table. The local endpoint is moto (~1 ms of server CPU per write): the sizes default to
what runs in about two minutes on 2 cores (``--items``, ``--windows``, ``--changes``,
``--rewind-tables``, ``--changed-keys``).

    python -m benchmarks.bench_time_travel [--items 5000 --windows 4 --changes 500]
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.endpoint import local_endpoint  # noqa: E402
from benchmarks.measure import Result, since, snapshot  # noqa: E402
from dynamodb_dr import backup_manifest as mf  # noqa: E402
from dynamodb_dr.clients import make_client  # noqa: E402
from dynamodb_dr.restore.args import parse_args  # noqa: E402
from dynamodb_dr.restore.dispatch import run_restore  # noqa: E402
from dynamodb_dr.restore.runner import ThreadRunner  # noqa: E402
from dynamodb_dr.restore.timetravel.points import iso  # noqa: E402
from tests.support.handlaid import START, WINDOW, Chain, Layout, export_item, micros, write_export  # noqa: E402

BUCKET = "bench-time-travel"
PREFIX = "native-exports"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/bench_orders"
DEFINITION = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def _item(i: int, version: int = 0) -> dict[str, Any]:
    return {
        "pk": {"S": f"order#{i:07d}"},
        "version": {"N": str(version)},
        "total": {"N": f"{i}.{version:02d}"},
        "status": {"S": "PAID" if version % 2 == 0 else "SHIPPED"},
        "lines": {"L": [{"M": {"sku": {"S": f"sku-{i % 97}"}, "qty": {"N": str(1 + i % 5)}}}]},
        "tags": {"SS": ["web", f"region-{i % 3}"]},
        "receipt": {"B": i.to_bytes(4, "big")},
        "note": {"S": "x" * 300},
    }


def _key(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"order#{i:07d}"}}


def _chain_exports(s3: Any, items: int, windows: int, changes: int, layout: Layout) -> tuple[str, int, int]:
    """A full export of ``items`` and ``windows`` windows of ``changes`` changes each (half updates,
    a quarter inserts, a quarter deletes), generated. Returns (full export summary key, lines, final items)."""
    rng = random.Random(13)
    state = {i: _item(i) for i in range(items)}
    full_key = write_export(
        s3, BUCKET, f"{PREFIX}/2026-11-30/bench_orders", table_arn=TABLE_ARN, table_id="bench-id",
        records=[{"Item": export_item(v)} for v in state.values()], layout=layout, export_time=START,
    )  # fmt: skip
    lines = items
    next_key = items
    for w in range(windows):
        start = START + w * WINDOW
        stamp = micros(start)
        records = []
        changed: set[int] = set()
        for n in range(changes):
            stamp += 1
            kind = n % 4
            if kind in (0, 1) and state:  # update
                i = rng.choice(list(state))
            elif kind == 2:  # insert
                i, next_key = next_key, next_key + 1
            else:  # delete
                i = rng.choice(list(state)) if state else next_key
            if i in changed:
                continue
            changed.add(i)
            old = state.get(i)
            new = None if kind == 3 else _item(i, (int(old["version"]["N"]) + 1) if old else 0)
            record: dict[str, Any] = {
                "Metadata": {"WriteTimestampMicros": {"N": str(stamp)}},
                "Keys": export_item(_key(i)),
            }
            if new is not None:
                record["NewImage"] = export_item(new)
                state[i] = new
            else:
                state.pop(i, None)
            if old is not None:
                record["OldImage"] = export_item(old)
            records.append(record)
        write_export(
            s3, BUCKET, f"{PREFIX}/incremental/bench_orders", table_arn=TABLE_ARN, table_id="bench-id",
            records=records, layout=layout, window=(start, start + WINDOW),
        )  # fmt: skip
        lines += len(records)
    return full_key, lines, len(state)


def _manifest(s3: Any, full_key: str, items: int) -> None:
    import json

    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=full_key)["Body"].read())
    manifest = mf.BackupManifest(
        backup_date="2026-11-30", environment="bench", s3_bucket=BUCKET, s3_prefix=PREFIX
    )
    manifest.tables["bench_orders"] = mf.TableBackup(
        table_name="bench_orders", status=mf.COMPLETED, table_arn=TABLE_ARN, export_arn=summary["exportArn"],
        export_time=summary["exportTime"], item_count=items, billed_size_bytes=summary["billedSizeBytes"],
        export_manifest_key=full_key, manifest_files_key=summary["manifestFilesS3Key"], table_definition=DEFINITION,
    )  # fmt: skip
    mf.write_manifest(s3, manifest, etag=None)


def _restore(*argv: str) -> Any:
    args = parse_args(
        ["--BACKUP_BUCKET", BUCKET, "--S3_EXPORTS_PREFIX", PREFIX, "--tables", "bench_orders", *argv], env={}
    )
    report = run_restore(args, s3=make_client("s3"), dynamodb=make_client("dynamodb"), runner=ThreadRunner(2))
    assert report.ok, report.to_json()
    return report


def point_restore(items: int, windows: int, changes: int) -> list[Result]:
    s3 = make_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    full_key, lines, final = _chain_exports(s3, items, windows, changes, Layout(files=4))
    _manifest(s3, full_key, items)
    start = snapshot()
    _restore(
        "--backup_date",
        "2026-11-30",
        "--target_tables",
        "bench_orders:plain",
        "--create_missing_tables",
        "true",
    )
    plain = since(start, "plain full restore (daily backup path)", items, lines_read=items)
    point = START + windows * WINDOW
    start = snapshot()
    report = _restore(
        "--restore_time",
        iso(point),
        "--target_tables",
        "bench_orders:point",
        "--create_missing_tables",
        "true",
    )
    travel = report.tables["bench_orders"].time_travel
    written = travel["puts"]
    result = since(
        start, f"restore to a point: full + {windows} windows", written, lines_read=lines,
        puts=travel["puts"], deletes=travel["deletes"],
    )  # fmt: skip
    assert written == final, (written, final)
    return [plain, result]


@dataclass
class RewindRun:
    table_items: int
    changed_keys: int
    reads: int
    puts: int
    deletes: int
    exports_read: list[str]
    result: Result

    @property
    def per_changed_key(self) -> float:
        return (self.reads + self.puts + self.deletes) / self.changed_keys


def rewind(table_items: int, changed: int, name: str) -> RewindRun:
    ddb, s3 = make_client("dynamodb"), make_client("s3")
    ddb.create_table(TableName=name, **DEFINITION)
    for first in range(0, table_items, 25):
        requests = [{"PutRequest": {"Item": _item(i)}} for i in range(first, min(first + 25, table_items))]
        while requests:
            requests = (
                ddb.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {}).get(name, [])
            )
    chain = Chain(ddb, s3, BUCKET, name, f"rewind/{name}", layout=Layout(files=2))
    chain.boundaries.append(START)
    rng = random.Random(7)
    bad = rng.sample(range(table_items), changed)
    for n, i in enumerate(bad):  # the bad job: updates, and every tenth a delete
        if n % 10 == 9:
            chain.delete(_key(i))
        else:
            chain.put(_item(i, 99))
    chain.close_window()
    start = snapshot()
    args = parse_args(
        ["--export_uri", f"s3://{BUCKET}/rewind/{name}", "--target_tables", name, "--rewind_to", iso(START)],
        env={},
    )
    report = run_restore(args, s3=s3, dynamodb=ddb, runner=ThreadRunner(2))
    assert report.ok, report.to_json()
    travel = report.tables[name].time_travel
    exports = [w["type"] for w in travel["windows"]] + (
        [travel["full_export"]["type"]] if travel.get("full_export") else []
    )
    return RewindRun(
        table_items, changed, travel["reads"], travel["puts"], travel["deletes"], exports,
        since(start, f"rewind {changed} changed keys, table of {table_items}", changed),
    )  # fmt: skip


def report(points: list[Result], rewinds: list[RewindRun]) -> str:
    plain = points[0]
    lines = [
        "| path | items written | lines read | client CPU-s | CPU-ms per item written | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in points:
        per = r.cpu_seconds / r.items * 1000
        lines.append(
            f"| {r.name} | {r.items:,} | {int(r.extra['lines_read']):,} | {r.cpu_seconds:.2f} | {per:.3f} | "
            f"{per / (plain.cpu_seconds / plain.items * 1000):.2f}x |"
        )
    lines += [
        "",
        "| rewind | table items | changed keys | GetItem | PutItem | DeleteItem | (reads+writes) / changed key | exports read | client CPU-s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rewinds:
        lines.append(
            f"| {r.result.name} | {r.table_items:,} | {r.changed_keys:,} | {r.reads:,} | {r.puts:,} | {r.deletes:,} | "
            f"{r.per_changed_key:.2f} | {', '.join(sorted(set(r.exports_read)))} | {r.result.cpu_seconds:.2f} |"
        )
    return "\n".join(lines)


def line_parse(lines: int = 20_000) -> str:
    """CPU per incremental line through ``parse_change``: DYNAMODB_JSON and ION (issue 15), an
    update line (NewImage + OldImage) of ~1.4 KB of JSON."""
    import json
    import time

    from dynamodb_dr.restore.timetravel.records import parse_change
    from local_aws.ion_export import ion_line

    record = {
        "Metadata": {"WriteTimestampMicros": {"N": "1764720000000000"}},
        "Keys": export_item(_key(1)),
        "NewImage": export_item(_item(1, 2)),
        "OldImage": export_item(_item(1, 1)),
    }
    json_line = json.dumps(record, separators=(",", ":")).encode()
    rows = []
    for name, line in (("DYNAMODB_JSON", json_line), ("ION", ion_line(json_line).strip())):
        started = time.process_time()
        for _ in range(lines):
            parse_change(line, ("pk",))
        per = (time.process_time() - started) / lines * 1e6
        rows.append(f"| {name} | {len(line):,} | {per:.1f} |")
    return "\n".join(["| format | line bytes | CPU-µs per line |", "|---|---:|---:|", *rows])


def run(items: int, windows: int, changes: int, rewind_tables: list[int], changed_keys: int) -> str:
    with local_endpoint():
        points = point_restore(items, windows, changes)
        rewinds = [rewind(size, changed_keys, f"bench_rewind_{size}") for size in rewind_tables]
    return report(points, rewinds) + "\n\n" + line_parse()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000, help="items of the full export")
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--changes", type=int, default=500, help="changes per window")
    parser.add_argument("--rewind-tables", default="2000,8000", help="table sizes of the rewind runs")
    parser.add_argument("--changed-keys", type=int, default=1000)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.rewind_tables.split(",") if s.strip()]
    print(run(args.items, args.windows, args.changes, sizes, args.changed_keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
