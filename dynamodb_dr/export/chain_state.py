"""The state of a table's export chain: ``{S3_EXPORTS_PREFIX}/incremental/{table}/chain.json``.

A chain is one full export (its ``base``) followed by contiguous incremental exports (its
``windows``): each window's ``from`` is the previous window's ``to``, the first one's the base's
``export_time``. Restoring to a point = the base plus the COMPLETED windows up to it. Every export of
a chain (the windows, and the full export that starts a new chain after a break) is written with
``S3Prefix = {S3_EXPORTS_PREFIX}/incremental/{table}``, so the windows share that prefix's
``AWSDynamoDB/data/`` folder as DynamoDB lays them out; a chain's first base may instead be the
daily backup's full export (under its date's prefix; the backup manifest records it).

``chain.json`` (schema_version 1)::

    {
      "schema_version": 1,
      "table_name": "orders",
      "chain_id": "orders-3f1c...",            one id per chain; a new one after every break
      "status": "ACTIVE" | "BROKEN",           BROKEN: a break was found and no new chain could start
      "table_arn": "...", "table_id": "...",   DescribeTable's TableArn and TableId when the chain began
      "s3_bucket": "...", "s3_prefix": "{S3_EXPORTS_PREFIX}/incremental/orders",
      "window_minutes": 60, "export_view_type": "NEW_AND_OLD_IMAGES", "export_format": "DYNAMODB_JSON",
      "base": {"export_arn", "export_time", "manifest_summary_key", "status", "s3_prefix",
               "source": "daily_backup" | "chain_start", "backup_date", "client_token",
               "item_count", "billed_size_bytes", "failure_code", "failure_message"},
      "windows": [{"from", "to", "export_arn", "status", "manifest_summary_key", "item_count",
                   "billed_size_bytes", "client_token", "failure_code", "failure_message"}],
      "breaks": [{"at", "reason", "detail", "previous_chain_id", "new_chain_id",
                  "previous_covered_until", "previous_windows"}],
      "created_at": "...", "updated_at": "..."
    }

Times are ISO 8601 UTC with milliseconds (``2026-12-03T01:00:00.000Z``), the precision of the API.
``status`` of the base and of each window is DynamoDB's ExportStatus (IN_PROGRESS, COMPLETED,
FAILED). ``reason`` of a break is one of ``BREAK_REASONS``.

The object is replaced whole, always with a conditional write (``If-Match`` on the ETag read,
``If-None-Match: *`` when there is none yet), like the backup manifest: two runs never overwrite
each other's windows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_condition_failed, is_missing_object
from dynamodb_dr.errors import ConcurrentUpdateError, ManifestError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCHEMA_VERSION = 1
CHAIN_NAME = "chain.json"

ACTIVE = "ACTIVE"
BROKEN = "BROKEN"

# Why a chain ended and a new one began (``breaks[].reason``).
PITR_DISABLED = "pitr_disabled"
RECOVERY_PERIOD_PASSED = "recovery_period_passed"
TABLE_RECREATED = "table_recreated"
WINDOW_FAILED = "window_failed"
BASE_FAILED = "base_export_failed"
NO_FULL_EXPORT = "no_full_export"
BREAK_REASONS = (
    PITR_DISABLED,
    RECOVERY_PERIOD_PASSED,
    TABLE_RECREATED,
    WINDOW_FAILED,
    BASE_FAILED,
    NO_FULL_EXPORT,
)

# base.source
DAILY_BACKUP = "daily_backup"
CHAIN_START = "chain_start"


def iso(value: datetime) -> str:
    """A time as chain.json writes it: UTC, milliseconds, ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class ChainExport:
    """What DescribeExport said of one export of the chain (the base or a window)."""

    export_arn: str
    status: str
    client_token: str | None = None
    manifest_summary_key: str | None = None
    item_count: int | None = None
    billed_size_bytes: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass
class ChainBase(ChainExport):
    export_time: str = ""
    s3_prefix: str | None = None
    source: str = CHAIN_START
    backup_date: str | None = None


@dataclass
class ChainWindow(ChainExport):
    # "from" is a Python keyword: the JSON names are "from" and "to" (see to_dict / from_dict).
    start: str = ""
    end: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"from": data.pop("start"), "to": data.pop("end"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainWindow:
        return cls(start=data["from"], end=data["to"], **_known(cls, data))


@dataclass
class ChainBreak:
    at: str
    reason: str
    detail: str
    previous_chain_id: str | None
    new_chain_id: str | None
    previous_covered_until: str | None = None
    previous_windows: int = 0


@dataclass
class Chain:
    table_name: str
    chain_id: str
    table_arn: str
    table_id: str
    s3_bucket: str
    s3_prefix: str
    window_minutes: int
    export_view_type: str
    export_format: str
    base: ChainBase
    windows: list[ChainWindow] = field(default_factory=list)
    breaks: list[ChainBreak] = field(default_factory=list)
    status: str = ACTIVE
    created_at: str = ""
    updated_at: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> str:
        return f"{self.s3_prefix}/{CHAIN_NAME}"

    @property
    def next_start(self) -> str:
        """Where the next window starts: the last window's end, or the base's export time."""
        return self.windows[-1].end if self.windows else self.base.export_time

    def covered_until(self) -> str | None:
        """The end of the contiguous COMPLETED part of the chain (the newest point a restore can
        reach from it), or None while its base is not COMPLETED."""
        if self.base.status != "COMPLETED":
            return None
        until = self.base.export_time
        for window in self.windows:
            if window.status != "COMPLETED":
                break
            until = window.end
        return until

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "table_name": self.table_name,
            "chain_id": self.chain_id,
            "status": self.status,
            "table_arn": self.table_arn,
            "table_id": self.table_id,
            "s3_bucket": self.s3_bucket,
            "s3_prefix": self.s3_prefix,
            "window_minutes": self.window_minutes,
            "export_view_type": self.export_view_type,
            "export_format": self.export_format,
            "covered_until": self.covered_until(),
            "base": asdict(self.base),
            "windows": [w.to_dict() for w in self.windows],
            "breaks": [asdict(b) for b in self.breaks],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2).encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "chain.json") -> Chain:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ManifestError(
                f"{source} has schema_version {version!r}; this toolkit reads version {SCHEMA_VERSION}. "
                "Use the toolkit release that wrote it, or upgrade."
            )
        try:
            plain = _known(cls, data)
            plain["base"] = ChainBase(**_known(ChainBase, data["base"]))
            plain["windows"] = [ChainWindow.from_dict(w) for w in data.get("windows", [])]
            plain["breaks"] = [ChainBreak(**_known(ChainBreak, b)) for b in data.get("breaks", [])]
            return cls(**plain)
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"{source} is missing or has a malformed field: {exc!r}") from None


# --- S3 store -------------------------------------------------------------------------------------


def chain_key(incremental_prefix: str) -> str:
    return f"{incremental_prefix}/{CHAIN_NAME}"


@dataclass(frozen=True)
class StoredChain:
    chain: Chain
    etag: str


def read_chain(s3: S3Client, bucket: str, incremental_prefix: str) -> StoredChain | None:
    """The chain stored under ``incremental_prefix``, or None when there is none yet."""
    key = chain_key(incremental_prefix)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing_object(exc):
            return None
        raise
    try:
        data = json.loads(obj["Body"].read())
    except ValueError as exc:
        raise ManifestError(
            f"s3://{bucket}/{key} is not valid JSON ({exc}); move it aside and the next run starts a new chain"
        ) from None
    return StoredChain(Chain.from_dict(data, source=f"s3://{bucket}/{key}"), obj["ETag"])


def write_chain(s3: S3Client, chain: Chain, *, etag: str | None) -> str:
    """Replace chain.json whole if it is still the version read (``etag``), or create it if there
    is none (``etag=None``); ConcurrentUpdateError otherwise. Returns the new ETag."""
    chain.updated_at = iso(datetime.now(UTC))
    chain.created_at = chain.created_at or chain.updated_at
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        response = s3.put_object(
            Bucket=chain.s3_bucket,
            Key=chain.key,
            Body=chain.to_json(),
            ContentType="application/json",
            **condition,  # type: ignore[arg-type]
        )
    except ClientError as exc:
        if is_condition_failed(exc):
            raise ConcurrentUpdateError(
                f"s3://{chain.s3_bucket}/{chain.key} changed while it was being updated"
            ) from None
        raise
    return str(response["ETag"])
