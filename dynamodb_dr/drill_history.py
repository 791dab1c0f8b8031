"""The DR drills' history, as an auditor asks for it: per table, each drill's result, RTO and RPO.

Read only: the drill reports the restore job's ``--drill true`` keeps with the backups
(``{prefix}/drills/{table}/{UTC time}.json``, see ``restore.drill``). Used by ``dynamodb-dr drills
list`` and the backup_history notebook's RTO/RPO plot.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamodb_dr.config import parse_table_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

DRILLS_FOLDER = "drills"


@dataclass(frozen=True)
class DrillRow:
    """One table's drill, from its report."""

    table: str
    requested_at: str
    status: str
    scratch_table: str
    backup_date: str | None
    export_time: str | None
    rto_seconds: float | None
    rpo_seconds: float | None
    items_restored: int
    items_per_second: float | None
    write_capacity_units: float
    read_capacity_units: float
    scratch_table_deleted: bool
    report_key: str
    errors: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def _row(key: str, data: dict[str, Any]) -> DrillRow:
    return DrillRow(
        table=str(data["table"]),
        requested_at=str(data["requested_at"]),
        status=str(data["status"]),
        scratch_table=str(data.get("scratch_table") or ""),
        backup_date=data.get("backup_date"),
        export_time=data.get("export_time"),
        rto_seconds=data.get("rto_seconds"),
        rpo_seconds=data.get("rpo_seconds"),
        items_restored=int(data.get("items_restored") or 0),
        items_per_second=data.get("items_per_second"),
        write_capacity_units=float(data.get("write_capacity_units") or 0.0),
        read_capacity_units=float(data.get("read_capacity_units") or 0.0),
        scratch_table_deleted=bool(data.get("scratch_table_deleted")),
        report_key=key,
        errors=list(data.get("errors") or []),
    )


def drill_rows(
    s3: S3Client, bucket: str, prefix: str, *, table: str | None = None, limit: int | None = None
) -> list[DrillRow]:
    """Every drill report (of ``table``, or of every table), oldest first; the newest ``limit``.
    A report that cannot be read is logged and left out, never guessed at."""
    folder = f"{prefix}/{DRILLS_FOLDER}/"
    if table is not None:
        folder += f"{parse_table_name(table, source='--table')}/"
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json")]
    # {table}/{yyyy-mm-ddTHHMMSSZ}.json: by time across tables.
    keys.sort(key=lambda k: (k.rsplit("/", 1)[-1], k))
    if limit is not None:
        keys = keys[-limit:]
    rows = []
    for key in keys:
        try:
            data = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            rows.append(_row(key, data))
        except (ClientError, ValueError, KeyError, TypeError) as exc:
            logger.warning("drill report not readable", extra={"key": key, "error": str(exc)})
    return rows
