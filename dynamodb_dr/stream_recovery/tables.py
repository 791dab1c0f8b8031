"""What the Lambda needs to know about a protected table: its TTL attribute and whether it is a global
table (replicas). Read with DescribeTable / DescribeTimeToLive, kept for ``FACTS_SECONDS``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import error_code
from dynamodb_dr.stream_recovery.config import TablePolicy
from dynamodb_dr.stream_recovery.errors import RecoveryActionError

FACTS_SECONDS = 300


@dataclass(frozen=True)
class TableFacts:
    ttl_attribute: str | None
    replica_regions: tuple[str, ...]

    @property
    def is_global(self) -> bool:
        return bool(self.replica_regions)


@dataclass
class TableFactsCache:
    dynamodb: Any
    _facts: dict[str, tuple[float, TableFacts]] = field(default_factory=dict)

    def get(self, table: str) -> TableFacts:
        cached = self._facts.get(table)
        if cached and time.monotonic() - cached[0] < FACTS_SECONDS:
            return cached[1]
        try:
            description = self.dynamodb.describe_table(TableName=table)["Table"]
            ttl = self.dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        except ClientError as exc:
            raise RecoveryActionError(
                f"could not describe {table} ({error_code(exc)}); the record will be retried"
            ) from exc
        facts = TableFacts(
            ttl_attribute=ttl.get("AttributeName")
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
            else None,
            replica_regions=tuple(sorted(r["RegionName"] for r in description.get("Replicas") or [])),
        )
        self._facts[table] = (time.monotonic(), facts)
        return facts


def repair_refusal(policy: TablePolicy, facts: TableFacts, region: str | None) -> str | None:
    """Why item repair must not run here, or None. In a global table every replica's Lambda sees the
    same changes (replicated): repairs from two regions would undo each other, so only the table's
    ``home_region`` repairs."""
    if not facts.is_global:
        return None
    if policy.home_region is None:
        return (
            f"{policy.table_name} is a global table (replicas in {', '.join(facts.replica_regions)}); item repair "
            "is refused until its policy names the one region that repairs (home_region)"
        )
    if policy.home_region != region:
        return f"{policy.table_name} is repaired in its home region {policy.home_region}, not here ({region})"
    return None
