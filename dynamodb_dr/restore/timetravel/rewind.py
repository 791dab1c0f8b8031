"""A rewind (``--rewind_to``) or an undo (``--undo_window``), in place, touching only what changed.

From the windows' lines, per changed key (``plan_actions``):

* ``before``: its state at the start of the first window used: the first line's ``OldImage``
  (absent for an insert: the item did not exist), or, for NEW_IMAGE chains, the state the chain
  gives (the caller fills it from the full export and the windows before, for these keys only);
* ``expected``: its last exported state: the last line's ``NewImage`` in the windows taken back
  (absent for a delete);
* ``later``: an undo's key that a later window changed again: a conflict, never touched.

Then each key (``apply_actions``): a strongly consistent GetItem, compared exactly with
``expected`` (sets as sets, numbers normalized, binaries as bytes); equal, a conditional PutItem of
``before`` (or DeleteItem when it did not exist) whose ``ConditionExpression`` pins every attribute
of ``expected`` (or ``attribute_not_exists`` of the key when it is absent), so a write racing the
rewind is caught too (all but a write that only adds an attribute between the read and the write:
DynamoDB has no condition for "no other attribute"). A live item that differs is a conflict: reported with its key, never
overwritten. A live item already equal to ``before`` is unchanged. Reads and writes follow the
changed keys, never the table's size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import describe, error_code
from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore import malloc
from dynamodb_dr.restore.export_reader import spooled
from dynamodb_dr.restore.item_rules import item_size
from dynamodb_dr.restore.rate_limit import AdaptiveRateLimiter
from dynamodb_dr.restore.timetravel.catalog import CatalogExport
from dynamodb_dr.restore.timetravel.points import iso
from dynamodb_dr.restore.timetravel.records import (
    canonical_item,
    canonical_key,
    image,
    item_client,
    iter_changes,
    to_client,
)
from dynamodb_dr.restore.timetravel.tasks import SourceFile, shared_client
from dynamodb_dr.restore.write_rate import BURST_SECONDS

ChangeRow = tuple[str, int, int, bytes, bytes | None, bytes | None]
"""(canonical key, position of its window, WriteTimestampMicros, key JSON, OldImage, NewImage)."""


def read_changes(source: SourceFile) -> list[ChangeRow]:
    """Every change of one incremental data file (windows hold changed keys only: small)."""
    malloc.tune_for_streaming()
    s3 = shared_client("s3")
    rows: list[ChangeRow] = []
    with spooled(
        s3, source.bucket, source.data_file, source.export_arn, verified_etag=source.verified_etag
    ) as (
        path,
        _,
    ):
        for change in iter_changes(path, source.data_file, source.export_arn, source.key_names):
            ckey = canonical_key(json.loads(change.keys), source.key_names)
            rows.append(
                (ckey, source.position, change.micros, change.keys, change.old_image, change.new_image)
            )
    return rows


@dataclass(frozen=True)
class Action:
    ckey: str
    keys: bytes
    before: bytes | None
    expected: bytes | None
    later: str | None = None
    """An undo: the window that changed the key again after the undone ones (a conflict)."""


def plan_actions(
    rows: Sequence[ChangeRow], *, in_range: int, windows: Sequence[CatalogExport]
) -> list[Action]:
    """One action per key changed in positions 1..``in_range`` (later positions: changed again)."""
    by_key: dict[str, list[ChangeRow]] = {}
    for row in rows:
        by_key.setdefault(row[0], []).append(row)
    actions = []
    for ckey, changes in by_key.items():
        changes.sort(key=lambda r: (r[1], r[2]))
        inside = [r for r in changes if r[1] <= in_range]
        if not inside:
            continue  # changed only after the undone windows: not this undo's business
        after = [r for r in changes if r[1] > in_range]
        later = None
        if after:
            window = windows[after[0][1] - 1]
            later = f"changed again in the window {iso(window.start)} to {iso(window.end)}"
        actions.append(Action(ckey, inside[0][3], inside[0][4], inside[-1][5], later))
    actions.sort(key=lambda a: a.ckey)
    return actions


def chunk(actions: Sequence[Action], slots: int, size: int = 500) -> list[tuple[Action, ...]]:
    """Actions in lists of at most ``size``, at least one per slot when there are enough."""
    if not actions:
        return []
    per = max(1, min(size, -(-len(actions) // max(1, slots))))
    return [tuple(actions[i : i + per]) for i in range(0, len(actions), per)]


@dataclass(frozen=True)
class RewindSettings:
    table: str
    key_names: tuple[str, ...]
    dry_run: bool = False
    write_rate: float | None = None


@dataclass
class RewindResult:
    puts: int = 0
    deletes: int = 0
    conflicts: int = 0
    conflict_samples: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    reads: int = 0
    write_units: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @classmethod
    def combine(cls, results: Sequence[RewindResult]) -> RewindResult:
        total = cls()
        for r in results:
            total.puts += r.puts
            total.deletes += r.deletes
            total.conflicts += r.conflicts
            total.conflict_samples.extend(r.conflict_samples)
            total.unchanged += r.unchanged
            total.reads += r.reads
            total.write_units += r.write_units
            total.failed += r.failed
            total.errors.extend(r.errors)
        return total


SAMPLES = 50


def _key_text(action: Action) -> str:
    return action.keys.decode("utf-8")


def pin(expected: bytes | None, key_names: tuple[str, ...]) -> dict[str, object]:
    """The ConditionExpression (and its names and values) that holds only while the item is in the
    state ``expected``: every attribute equal, or the item absent."""
    if expected is None:
        return {
            "ConditionExpression": "attribute_not_exists(#k0)",
            "ExpressionAttributeNames": {"#k0": key_names[0]},
        }
    parsed = image(expected) or {}
    names, values, terms = {}, {}, []
    for i, (name, value) in enumerate(sorted(parsed.items())):
        names[f"#a{i}"] = name
        values[f":v{i}"] = to_client(value)
        terms.append(f"#a{i} = :v{i}")
    return {
        "ConditionExpression": " AND ".join(terms),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _units(raw: bytes | None) -> int:
    parsed = image(raw)
    return 1 if not parsed else max(1, -(-item_size(parsed) // 1024))


def apply_actions(settings: RewindSettings, actions: Sequence[Action], counts: Any = None) -> RewindResult:
    """Each action: read, compare, write conditionally (see the module docstring). ``counts`` (the
    runner's progress counter) gets ``{table: [1, keys]}`` when the list is done."""
    result = _apply_actions(settings, actions)
    if counts is not None:
        counts.add({settings.table: [1, len(actions)]})
    return result


def _apply_actions(settings: RewindSettings, actions: Sequence[Action]) -> RewindResult:
    dynamodb = shared_client("dynamodb")
    limiter = (
        AdaptiveRateLimiter(settings.write_rate, burst_seconds=BURST_SECONDS)
        if settings.write_rate is not None and not settings.dry_run
        else None
    )
    out = RewindResult()

    def conflict(action: Action, reason: str) -> None:
        out.conflicts += 1
        if len(out.conflict_samples) < SAMPLES:
            out.conflict_samples.append((_key_text(action), reason))

    for number, action in enumerate(actions):
        if action.later is not None:
            conflict(action, action.later)
            continue
        before, expected = canonical_item(image(action.before)), canonical_item(image(action.expected))
        if before == expected:
            out.unchanged += 1
            continue
        key = item_client(action.keys)
        assert key is not None
        try:
            live = dynamodb.get_item(TableName=settings.table, Key=key, ConsistentRead=True).get("Item")
            out.reads += 1
            state = canonical_item(live)
            if state == before:
                out.unchanged += 1
                continue
            if state != expected:
                conflict(action, "written since the last export (its live state is not the exported one)")
                continue
            units = _units(action.before if action.before is not None else action.expected)
            if settings.dry_run:
                out.write_units += units
                if action.before is None:
                    out.deletes += 1
                else:
                    out.puts += 1
                continue
            if limiter is not None:
                limiter.acquire(1)
            condition = pin(action.expected, settings.key_names)
            try:
                if action.before is None:
                    dynamodb.delete_item(TableName=settings.table, Key=key, **condition)
                    out.deletes += 1
                else:
                    dynamodb.put_item(TableName=settings.table, Item=item_client(action.before), **condition)
                    out.puts += 1
                out.write_units += units
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    conflict(action, "changed while the rewind ran (its conditional write was refused)")
                    continue
                if error_code(exc) == "ValidationException":  # this key only (e.g. a 4 KB expression)
                    out.failed += 1
                    out.errors.append(f"{_key_text(action)}: {describe(exc)}")
                    continue
                raise
        except (ClientError, ExportDataError) as exc:  # the table or the service: stop, count the rest
            out.failed += len(actions) - number
            out.errors.append(
                f"{_key_text(action)}: {describe(exc) if isinstance(exc, ClientError) else exc}"
            )
            return out
    return out
