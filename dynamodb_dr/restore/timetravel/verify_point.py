"""``--verify`` / ``--verify_only`` of a restore to a point in time (``--restore_time``, also from
``--export_uri``): the target compared, item by item, with the chain's merged state at the
effective point.

The same comparison as the daily backup's (``restore.verify.compare_table``: the same digest, the
same report, the same Scan), with the chain on the left: every data file of the full export and of
the windows used (``tasks.read_states``), each state turned into ``(position, micros, digest or
None)`` under ``item_digest``'s canonical key, and a key's states folded into its newest
(``tasks.newest``: later in the chain, then later written) by the join's ``reduce``, so on Spark
the states meet in a ``reduceByKey`` and never sit on the driver. A key whose newest state is a
delete must be absent from the target.

Extras, as for a daily backup: a restore into an existing table without ``--clear_existing_data``
keeps the target's items the chain does not hold (``extra_kept``); but it deletes the keys the chain
deleted, so one of those still present is an extra that fails the table (``extra_deleted``).

Live writes: ``--verify_timestamp_attribute`` tells apart what was written after the restore
started (for ``--verify_only``: after the effective point).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from dynamodb_dr.item_digest import canonical_key, item_digest
from dynamodb_dr.restore import verify
from dynamodb_dr.restore.timetravel.points import iso
from dynamodb_dr.restore.timetravel.tasks import SourceFile, newest, read_states

if TYPE_CHECKING:
    from dynamodb_dr.restore.runner import StageRunner
    from dynamodb_dr.restore.timetravel.run import TimeTravelRun, TravelTable

logger = logging.getLogger(__name__)

PointState = tuple[int, int, str | None]
"""(position in the chain, WriteTimestampMicros, item digest or None for a delete)."""


def chain_digests(source: SourceFile) -> Iterator[tuple[str, PointState]]:
    """(``item_digest`` canonical key, (position, micros, digest or None)) of every state of one
    data file of the chain (MD5 checked as it is read, or the version the restore checked)."""
    for _, (position, micros, line, key) in read_states(source):
        digest = None if line is None else item_digest(json.loads(line)["Item"])
        yield canonical_key(json.loads(key), source.key_names), (position, micros, digest)


def verify_point(
    run: TimeTravelRun,
    runner: StageRunner,
    table: TravelTable,
    sources: Sequence[SourceFile],
    *,
    verify_only: bool,
) -> None:
    """Compare ``table``'s target with the chain's state at its effective point; a difference fails
    the table with counts and sample keys, a match of a ``--verify_only`` run is VERIFIED."""
    plan = table.point
    assert plan is not None
    result = table.result
    args = run.args
    moment = plan.effective if verify_only else datetime.fromisoformat(run.report.started_at)
    against = f"the state at {iso(plan.effective)}"
    verify.record(
        result,
        lambda: verify.compare_table(
            runner,
            left=(list(sources), chain_digests),
            reduce=newest,
            target=table.target,
            key_names=table.key_names,
            items_hint=result.items_in_export,
            since=moment.timestamp(),
            timestamp_attribute=args.verify_timestamp_attribute,
            extras_allowed=(
                not verify_only
                and table.target_exists
                and not result.created
                and not args.clear_existing_data
            ),
            against=against,
        ),
        target=table.target,
        verify_only=verify_only,
        against=against,
    )
