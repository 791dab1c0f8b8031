"""Every write to every table of the local endpoint, with its time, key, old image and new image.

AWS keeps a table's changes for PITR; an incremental export reads them back for a window, and a full
export with an ``ExportTime`` in the past reads the table as it was then. moto keeps neither (its
stream records exist only while a stream is on, and only for 24 hours), so, installed, this module
records each write wherever moto computes the old and new item for its stream
(``stream_shard.add(old, new)``): ``Table.put_item`` (PutItem, BatchWriteItem puts, transaction puts,
and UpdateItem's creation of a missing item), ``Table.delete_item`` (DeleteItem, batch and
transaction deletes) and ``DynamoDBBackend.update_item`` (UpdateItem, transaction updates) —
whether or not the table has a stream — but only while the table has PITR enabled, as AWS keeps
changes only then (and exports need PITR): a table loaded without PITR, like the benchmarks' restore
targets, costs no memory and no time here. A write that fails (a condition, a validation, a cancelled
transaction) records nothing: a transaction's writes are kept aside and recorded only when it commits.
The local endpoint has no TTL deletions, so none are recorded.

Each ``Write`` holds the images in the low-level wire form (``{"S": ...}``, binary as base64 text,
numbers as their exact text), taken at the moment of the write (moto updates items in place), and a
timestamp in epoch microseconds from ``local_aws.clock``, strictly increasing per table.

History is kept per ``TableId``: installed, every table gets a random ``TableId`` at creation, shown
by DescribeTable as AWS shows it (moto has none), so a table deleted and created again under the same
name has a new id and a new, empty history, as on AWS. ``reset()`` (called by the endpoint's
``reset()``) forgets all history.
"""

from __future__ import annotations

import bisect
import functools
import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from local_aws import clock

Image = dict[str, Any]


@dataclass(frozen=True)
class Write:
    """One successful write: ``old`` is None for an insert, ``new`` None for a delete."""

    micros: int
    keys: Image
    old: Image | None
    new: Image | None


@dataclass(frozen=True)
class Change:
    """The net change of one item over a window: its state at the window's start (``old``) and at its
    end (``new``), and the time of its last write in the window."""

    micros: int
    keys: Image
    old: Image | None
    new: Image | None


_lock = threading.Lock()
_history: dict[str, list[Write]] = {}
_local = threading.local()
_installed = False


def reset() -> None:
    with _lock:
        _history.clear()


def key_text(keys: Image) -> str:
    """One string per primary key (its attributes in the wire form, sorted)."""
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


def table_id(table: Any) -> str:
    tid = getattr(table, "table_id", None)
    if tid is None:  # a table made before install(): give it an id now
        tid = table.table_id = str(uuid.uuid4())
    return str(tid)


def image(item: Any) -> Image:
    """A moto Item as the wire JSON of its attributes (a snapshot: later changes to it do not show)."""
    from local_aws.export_layout import marshal

    return {name: marshal(value) for name, value in item.attrs.items()}


def writes(tid: str, from_micros: int | None = None, to_micros: int | None = None) -> list[Write]:
    """The writes of one table with ``from_micros <= micros < to_micros``, oldest first."""
    with _lock:
        table_writes = list(_history.get(tid, ()))
    stamps = [w.micros for w in table_writes]
    lo = 0 if from_micros is None else bisect.bisect_left(stamps, from_micros)
    hi = len(stamps) if to_micros is None else bisect.bisect_left(stamps, to_micros)
    return table_writes[lo:hi]


def changes(window: Iterable[Write]) -> list[Change]:
    """Compacted to one net change per item: first write's old image, last write's new image."""
    first: dict[str, Write] = {}
    last: dict[str, Write] = {}
    for write in window:
        key = key_text(write.keys)
        first.setdefault(key, write)
        last[key] = write
    return [
        Change(micros=last[key].micros, keys=last[key].keys, old=first[key].old, new=last[key].new)
        for key in first
    ]


def state_at(table: Any, at_micros: int) -> list[Image]:
    """The table's items as they were just before ``at_micros`` (writes at or after it undone).

    The live items are read first and the history after, so a write landing in between is undone
    from its own old image (which is what the live read saw)."""
    keys = table.table_key_attrs
    items = {key_text({k: img[k] for k in keys}): img for img in (image(i) for i in table.all_items())}
    undone: set[str] = set()
    for write in writes(table_id(table), from_micros=at_micros):
        key = key_text(write.keys)
        if key in undone:
            continue
        undone.add(key)
        if write.old is None:
            items.pop(key, None)
        else:
            items[key] = write.old
    return list(items.values())


# --- recording ------------------------------------------------------------------------------------


def _append(table: Any, old: Image | None, new: Image | None) -> None:
    if old is None and new is None:
        return
    source = new if new is not None else old
    assert source is not None
    keys = {k: source[k] for k in table.table_key_attrs}
    tid = table_id(table)
    with _lock:
        table_writes = _history.setdefault(tid, [])
        stamp = clock.micros()
        if table_writes and stamp <= table_writes[-1].micros:
            stamp = table_writes[-1].micros + 1
        table_writes.append(Write(stamp, keys, old, new))


def _recording(table: Any) -> bool:
    """Whether writes to ``table`` are recorded now: PITR enabled, and not inside UpdateItem's own
    put of a missing item (UpdateItem records the whole change itself)."""
    if getattr(_local, "suppress", 0) or table is None:
        return False
    pitr = table.continuous_backups.get("PointInTimeRecoveryDescription") or {}
    return bool(pitr.get("PointInTimeRecoveryStatus") == "ENABLED")


def _record(table: Any, old: Image | None, new: Image | None) -> None:
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending.append((table, old, new))
    else:
        _append(table, old, new)


def _current(table: Any, key_attrs: dict[str, Any]) -> Image | None:
    """The stored item with the key in ``key_attrs`` (wire form), without moto's defaultdict side
    effects; None when absent or when the key is malformed (moto then refuses the write itself)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_value = DynamoType(key_attrs[table.hash_key_attr])
        if table.range_key_attr is None:
            item = table.items.get(hash_value)
        else:
            item = table.items.get(hash_value, {}).get(DynamoType(key_attrs[table.range_key_attr]))
    except (KeyError, TypeError, AttributeError):
        return None
    return image(item) if item is not None else None


def install() -> None:
    """Record writes in this process (idempotent). Install before ``moto_fixes`` so that its write
    lock is outermost: the old image is then read under the same lock as the write."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original_init = Table.__init__
    original_describe = Table.describe
    original_put = Table.put_item
    original_delete = Table.delete_item
    original_update = DynamoDBBackend.update_item
    original_transact = DynamoDBBackend.transact_write_items

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.table_id = str(uuid.uuid4())

    @functools.wraps(original_describe)
    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original_describe(self, base_key)
        result[base_key]["TableId"] = table_id(self)
        return result

    @functools.wraps(original_put)
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if not _recording(self):
            return original_put(self, item_attrs, *args, **kwargs)
        old = _current(self, item_attrs)
        item = original_put(self, item_attrs, *args, **kwargs)
        _record(self, old, image(item))
        return item

    @functools.wraps(original_delete)
    def delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_delete(self, *args, **kwargs)
        if item is not None and _recording(self):
            _record(self, image(item), None)
        return item

    @functools.wraps(original_update)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(table_name)
        if not _recording(table):
            return original_update(self, table_name, key, *args, **kwargs)
        old = _current(table, key)
        _local.suppress = getattr(_local, "suppress", 0) + 1  # UpdateItem's own put of a new item
        try:
            item = original_update(self, table_name, key, *args, **kwargs)
        finally:
            _local.suppress -= 1
        _record(self.get_table(table_name), old, image(item) if item is not None else None)
        return item

    @functools.wraps(original_transact)
    def transact_write_items(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "pending", None) is not None:
            return original_transact(self, *args, **kwargs)
        _local.pending = []
        try:
            result = original_transact(self, *args, **kwargs)
            committed = _local.pending
        finally:
            _local.pending = None
        for table, old, new in committed:
            _append(table, old, new)
        return result

    Table.__init__ = __init__  # type: ignore[method-assign]
    Table.describe = describe  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
