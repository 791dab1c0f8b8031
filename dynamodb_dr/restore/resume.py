"""Resumable restores: which data files of a table an interrupted restore already wrote.

The store is S3, beside the backup and its restore reports::

    {prefix}/{date}/restore-progress/{restore_id}/{target}/restore.json          the table's state
    {prefix}/{date}/restore-progress/{restore_id}/{target}/files/{sha1(key)}.done one per written file
    {prefix}/{date}/restore-progress/{restore_id}/{target}/files/{sha1(key)}.live one per file being written

``restore_id`` is derived from the backup date, the source table, the target table and the export
ARN, so re-running "the same restore" finds the same folder, and any other backup, source or target
gets a folder of its own.

Why S3 objects rather than a DynamoDB item or one progress file: each Spark task writes the marker of
the file it just finished (after the last batch was written and the item count checked), so there
is no contention and no read-modify-write; a marker is written at most a few thousand times per
restore and S3 is where the backup and the job's permissions already are (no table to create). A
marker PUT is idempotent, so a Spark task retry of a file is safe: it writes the same items again
(puts of the same items) and the same marker. The driver lists the ``files/`` folder once at start
(1,000 markers per call), maps each name back to its data file through the export's manifest, and
skips those files.

``restore.json`` holds what must happen once per restore and not once per attempt: the safety
backup's ARN and whether the target was already cleared (``--clear_existing_data``), and whether the
first attempt created the target (PITR is turned on at the end). Its ``status`` decides what the
next run does:

* ``IN_PROGRESS`` (an attempt started and did not finish the table) and ``--resume true``: resume.
* missing, ``SUCCEEDED`` or ``--resume false``: a fresh restore; markers left from before are
  deleted first. So a second bad day restoring the same backup is a full restore, not a no-op.
  Only "an earlier attempt created the target" is kept (PITR is still to be turned on for it).

A resumed run whose target no longer exists starts the table fresh (the markers describe items that
are gone); a run that clears the target discards the markers first (clearing deletes those items).
``--dry_run`` only reads this store.

``.live`` objects are progress only, never resume state: while a task writes a file it overwrites
the file's ``.live`` object with the items written so far (every ``LIVE_SECONDS``), so the driver's
progress log moves within a file too (an export's data file holds up to a partition, ~10 GB, which
can take hours at a modest budget). ``LiveProgress`` lists the folder (1 LIST per 1,000 files) and
GETs only the ``.live`` objects whose ETag changed. They are deleted with the markers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_missing_object
from dynamodb_dr.backup_manifest import utc_now_iso
from dynamodb_dr.restore.export_reader import DataFile

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


logger = logging.getLogger(__name__)

PROGRESS_FOLDER = "restore-progress"
IN_PROGRESS = "IN_PROGRESS"
SUCCEEDED = "SUCCEEDED"
_DELETE_BATCH = 1000
DONE_SUFFIX = ".done"
LIVE_SUFFIX = ".live"
LIVE_SECONDS = 10.0
"""How often a task writing a file records its items written so far (``write_live``)."""


def restore_id(backup_date: str, source: str, target: str, export_arn: str) -> str:
    """The same for every attempt of one restore (backup, source, target, export); 16 hex digits."""
    return hashlib.sha1(f"{backup_date}\n{source}\n{target}\n{export_arn}".encode()).hexdigest()[:16]


def marker_name(data_file_key: str) -> str:
    return hashlib.sha1(data_file_key.encode()).hexdigest() + DONE_SUFFIX


@dataclass(frozen=True)
class ProgressLocation:
    """Where one table's restore progress lives."""

    bucket: str
    folder: str
    """``{prefix}/{date}/restore-progress/{restore_id}/{target}/``"""

    @classmethod
    def for_table(
        cls, bucket: str, exports_prefix: str, backup_date: str, source: str, target: str, export_arn: str
    ) -> ProgressLocation:
        rid = restore_id(backup_date, source, target, export_arn)
        return cls(bucket, f"{exports_prefix}/{backup_date}/{PROGRESS_FOLDER}/{rid}/{target}/")

    @property
    def state_key(self) -> str:
        return self.folder + "restore.json"

    @property
    def files_folder(self) -> str:
        return self.folder + "files/"

    def marker_key(self, data_file_key: str) -> str:
        return self.files_folder + marker_name(data_file_key)

    def live_key(self, data_file_key: str) -> str:
        return _live_of(self.marker_key(data_file_key))


def _live_of(marker_key: str) -> str:
    """The ``.live`` key of the file whose ``.done`` key is ``marker_key``."""
    return marker_key[: -len(DONE_SUFFIX)] + LIVE_SUFFIX


@dataclass
class TableProgress:
    """What the driver knows about one table's restore when the write stage starts."""

    location: ProgressLocation
    state: dict[str, Any] = field(default_factory=dict)
    done: frozenset[str] = frozenset()
    """Data file keys already written by an earlier attempt."""
    resumed: bool = False


def read_state(s3: S3Client, location: ProgressLocation) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.state_key)["Body"].read()
    except ClientError as exc:
        if is_missing_object(exc):
            return None
        raise
    try:
        state = json.loads(body)
    except ValueError:
        logger.warning(
            "unreadable restore state, starting the table fresh", extra={"key": location.state_key}
        )
        return None
    return state if isinstance(state, dict) else None


def save_state(s3: S3Client, location: ProgressLocation, state: dict[str, Any]) -> None:
    state["updated_at"] = utc_now_iso()
    s3.put_object(
        Bucket=location.bucket,
        Key=location.state_key,
        Body=json.dumps(state, indent=2).encode(),
        ContentType="application/json",
    )


def _listing(s3: S3Client, location: ProgressLocation) -> dict[str, str]:
    """``{key: ETag}`` of everything in the ``files/`` folder."""
    objects: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=location.bucket, Prefix=location.files_folder
    ):
        objects.update((obj["Key"], obj.get("ETag", "")) for obj in page.get("Contents", []))
    return objects


def _marker_keys(s3: S3Client, location: ProgressLocation) -> list[str]:
    return list(_listing(s3, location))


def completed_files(
    s3: S3Client, location: ProgressLocation, data_files: Sequence[DataFile]
) -> frozenset[str]:
    """Keys of ``data_files`` whose marker exists (markers of files not in the list are ignored)."""
    by_marker = {location.marker_key(f.key): f.key for f in data_files}
    return frozenset(by_marker[k] for k in _marker_keys(s3, location) if k in by_marker)


def delete_markers(s3: S3Client, location: ProgressLocation) -> int:
    keys = _marker_keys(s3, location)
    for i in range(0, len(keys), _DELETE_BATCH):
        chunk = keys[i : i + _DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=location.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )
        if response.get("Errors"):
            first = response["Errors"][0]
            raise ClientError(
                {
                    "Error": {
                        "Code": first.get("Code", "DeleteFailed"),
                        "Message": first.get("Message", f"could not delete {first.get('Key')}"),
                    }
                },
                "DeleteObjects",
            )
    return len(keys)


def inspect(
    s3: S3Client, location: ProgressLocation, data_files: Sequence[DataFile], *, resume: bool
) -> TableProgress:
    """What a run would do, without writing anything (used by ``--dry_run`` too)."""
    state = read_state(s3, location)
    if resume and state is not None and state.get("status") == IN_PROGRESS:
        return TableProgress(location, state, completed_files(s3, location, data_files), resumed=True)
    return TableProgress(location, {}, frozenset(), resumed=False)


def start_fresh(s3: S3Client, location: ProgressLocation, run_id: str, **facts: Any) -> TableProgress:
    """Forget earlier attempts: delete their markers, record a new IN_PROGRESS state."""
    deleted = delete_markers(s3, location)
    if deleted:
        logger.info(
            "discarded earlier restore progress", extra={"folder": location.folder, "markers": deleted}
        )
    state = {"status": IN_PROGRESS, "started_at": utc_now_iso(), "run_id": run_id, **facts}
    save_state(s3, location, state)
    return TableProgress(location, state, frozenset(), resumed=False)


def begin(
    s3: S3Client,
    location: ProgressLocation,
    data_files: Sequence[DataFile],
    *,
    resume: bool,
    run_id: str,
    target_exists: bool,
) -> TableProgress:
    """Resume the table's restore when an earlier attempt left it IN_PROGRESS (and ``resume``), else
    start fresh. A missing target cannot be resumed: what the markers describe is gone."""
    previous = read_state(s3, location) or {}
    if resume and target_exists and previous.get("status") == IN_PROGRESS:
        previous.setdefault("attempts", []).append(run_id)
        save_state(s3, location, previous)
        return TableProgress(location, previous, completed_files(s3, location, data_files), resumed=True)
    # An unfinished attempt that created the target (still there) is remembered: PITR is turned on
    # for it when this restore succeeds, as for a table created now.
    created = bool(target_exists and previous.get("created") and previous.get("status") == IN_PROGRESS)
    return start_fresh(s3, location, run_id, attempts=[run_id], **({"created": True} if created else {}))


def write_marker(
    s3: S3Client, location: ProgressLocation, data_file_key: str, items: int, run_id: str
) -> None:
    """Called by the Spark task after every item of the file was written and the count checked."""
    body = {"data_file": data_file_key, "items": items, "run_id": run_id, "written_at": utc_now_iso()}
    s3.put_object(
        Bucket=location.bucket, Key=location.marker_key(data_file_key), Body=json.dumps(body).encode()
    )


def write_live(s3: S3Client, location: ProgressLocation, data_file_key: str, items: int, run_id: str) -> None:
    """Called by the Spark task every ``LIVE_SECONDS`` while it writes a file: items written so far."""
    body = {"data_file": data_file_key, "items": items, "run_id": run_id, "at": utc_now_iso()}
    s3.put_object(
        Bucket=location.bucket, Key=location.live_key(data_file_key), Body=json.dumps(body).encode()
    )


class LiveProgress:
    """The driver's view of one table's write stage from its progress folder: data files this run
    has finished (their ``.done`` markers; files an earlier attempt wrote are not counted) and the
    items written so far in the files being written (``.live`` objects of this run, for files with
    no marker yet). One listing gives both, so a file is never counted twice or missed as it
    finishes."""

    def __init__(
        self, s3: S3Client, location: ProgressLocation, to_write: list[DataFile], run_id: str
    ) -> None:
        self.s3, self.location, self.run_id = s3, location, run_id
        self._done: dict[str, DataFile] = {}
        """``.done`` key: its data file, for the files this run writes."""
        self._live: dict[str, str] = {}
        """``.live`` key: the ``.done`` key of the same file."""
        for f in to_write:
            marker = location.marker_key(f.key)
            self._done[marker] = f
            self._live[_live_of(marker)] = marker
        self._seen: dict[str, tuple[str, int]] = {}
        """``.live`` key: (ETag, items of this run) as last read."""

    def poll(self) -> tuple[int, int]:
        """(files finished, items written) by this run so far."""
        listing = _listing(self.s3, self.location)
        files = items = 0
        for key, etag in listing.items():
            if key in self._done:
                files += 1
                items += self._done[key].item_count
                continue
            marker = self._live.get(key)
            if marker is None or marker in listing:  # not this run's file, or finished: counted whole
                continue
            seen = self._seen.get(key)
            if seen is None or seen[0] != etag:
                seen = (etag, self._read_live(key))
                self._seen[key] = seen
            items += seen[1]
        return files, items

    def _read_live(self, key: str) -> int:
        try:
            body = json.loads(self.s3.get_object(Bucket=self.location.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if is_missing_object(exc):  # deleted since the listing
                return 0
            raise
        except ValueError:
            return 0
        if not isinstance(body, dict) or body.get("run_id") != self.run_id:
            return 0  # left by an earlier attempt: its items are written again by this one
        items = body.get("items")
        return items if isinstance(items, int) and items >= 0 else 0


def finish(s3: S3Client, progress: TableProgress) -> None:
    """The table was restored in full: record it, then delete its markers, so the next identical
    run is a fresh restore. A crash in between is harmless: a SUCCEEDED state means fresh anyway."""
    progress.state["status"] = SUCCEEDED
    progress.state["finished_at"] = utc_now_iso()
    save_state(s3, progress.location, progress.state)
    delete_markers(s3, progress.location)
