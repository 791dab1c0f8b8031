"""What a restore would change in a live table: items missing, extra, or different. Read-only.

The backup's items come from its export's data files (each one's MD5 checked as it is read, like the
restore does); the live items from a Scan. Items are compared in one canonical form (sets sorted,
binary as its bytes, numbers as DynamoDB normalizes them: ``item_digest``, the form ``--verify``
uses too), keeping a 20-byte digest per key rather than the items, so memory grows with the number
of keys, not their size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import is_missing_table
from dynamodb_dr.backup_manifest import BackupManifest, TableBackup
from dynamodb_dr.errors import ConfigError, ManifestError
from dynamodb_dr.item_digest import canonical_key, item_digest, readable_key
from dynamodb_dr.restore.export_reader import iter_items, read_export, spooled

SAMPLES = 5


def _key(item: dict[str, Any], names: Sequence[str]) -> str:
    return canonical_key(item, names)


@dataclass(frozen=True)
class TableDiff:
    table: str
    target_table: str
    target_exists: bool
    backup_items: int
    live_items: int
    missing: int
    """In the backup, not in the live table: a restore puts them back."""
    extra: int
    """In the live table, not in the backup: only ``--clear_existing_data`` removes them."""
    different: int
    """Same key, other content: a restore overwrites them."""
    same: int
    missing_keys: tuple[str, ...] = ()
    extra_keys: tuple[str, ...] = ()
    different_keys: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        return self.target_exists and not (self.missing or self.extra or self.different)


def parse_table_pairs(value: str) -> list[tuple[str, str]]:
    """``orders,users:users_scratch`` → ``[("orders", "orders"), ("users", "users_scratch")]``."""
    pairs = []
    for part in (p.strip() for p in value.split(",")):
        if part:
            source, _, target = part.partition(":")
            pairs.append((source.strip(), target.strip() or source.strip()))
    if not pairs:
        raise ConfigError("--tables is empty; expected e.g. orders,users or orders:orders_scratch")
    return pairs


def check_tables(manifest: BackupManifest, pairs: Sequence[tuple[str, str]]) -> None:
    """Every source table is in the backup (before the first, possibly long, read)."""
    unknown = [source for source, _ in pairs if source not in manifest.tables]
    if unknown:
        raise ConfigError(
            f"table(s) {', '.join(unknown)} are not in the backup of {manifest.backup_date}; it holds: "
            f"{', '.join(sorted(manifest.tables)) or '(no tables)'}"
        )


def _backup_digests(s3: Any, bucket: str, backup: TableBackup, names: Sequence[str]) -> dict[str, str]:
    export = read_export(s3, bucket, backup.export_manifest_key or "")
    arn = export.summary.export_arn
    digests: dict[str, str] = {}
    for data_file in export.files:
        with spooled(s3, bucket, data_file, arn) as (path, _):
            for line in iter_items(path, data_file, arn):
                item = json.loads(line)["Item"]
                digests[_key(item, names)] = item_digest(item)
    return digests


def diff_table(
    s3: Any, dynamodb: Any, manifest: BackupManifest, source: str, target: str, *, bucket: str | None = None
) -> TableDiff:
    """``bucket``: where the exports are read (a replica or copy), by default the manifest's."""
    check_tables(manifest, [(source, target)])
    backup = manifest.tables[source]
    definition = backup.table_definition or {}
    if backup.status != "COMPLETED" or "KeySchema" not in definition:
        raise ManifestError(
            f"the backup of {source} has export status {backup.status} or no recorded definition; "
            "there is nothing to compare"
        )
    names = [k["AttributeName"] for k in definition["KeySchema"]]
    ours = _backup_digests(s3, bucket or manifest.s3_bucket, backup, names)
    missing = dict(ours)
    extra: list[str] = []
    different: list[str] = []
    live = same = 0
    try:
        for page in dynamodb.get_paginator("scan").paginate(TableName=target):
            for item in page.get("Items", []):
                live += 1
                key = _key(item, names)
                expected = missing.pop(key, None)
                if expected is None:
                    extra.append(key)
                elif expected != item_digest(item):
                    different.append(key)
                else:
                    same += 1
        exists = True
    except ClientError as exc:
        if not is_missing_table(exc):
            raise
        exists, missing = False, dict(ours)
    return TableDiff(
        table=source,
        target_table=target,
        target_exists=exists,
        backup_items=len(ours),
        live_items=live,
        missing=len(missing),
        extra=len(extra),
        different=len(different),
        same=same,
        missing_keys=_samples(missing),
        extra_keys=_samples(extra),
        different_keys=_samples(different),
    )


def _samples(keys: Any) -> tuple[str, ...]:
    return tuple(readable_key(k) for k in sorted(keys)[:SAMPLES])
