"""The PITR restorable window as AWS reports it, for the local endpoint.

moto fixes both EarliestRestorableDateTime and LatestRestorableDateTime at the moment PITR was
enabled. AWS moves LatestRestorableDateTime with time, typically ~5 minutes behind now. Installed,
DescribeContinuousBackups answers Latest = now - ``lag_seconds`` (never before Earliest), so a test
can show a restore waiting for its point and starting once the window has reached it.
"""

from __future__ import annotations

import time
from typing import Any

_lag_seconds = 0.0
_installed = False


def set_lag(seconds: float) -> None:
    """How far LatestRestorableDateTime is behind now (AWS: typically ~300 s)."""
    global _lag_seconds
    _lag_seconds = float(seconds)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.describe_continuous_backups

    def describe_continuous_backups(self: Any, table_name: str) -> dict[str, Any]:
        result = original(self, table_name)
        pitr = result.get("PointInTimeRecoveryDescription") or {}
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            earliest = pitr["EarliestRestorableDateTime"]
            pitr = {**pitr, "LatestRestorableDateTime": max(earliest, time.time() - _lag_seconds)}
            result = {**result, "PointInTimeRecoveryDescription": pitr}
        return result

    DynamoDBBackend.describe_continuous_backups = describe_continuous_backups  # type: ignore[method-assign]
    _installed = True
