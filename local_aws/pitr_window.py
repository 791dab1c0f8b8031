"""The PITR restorable window as AWS reports it, for the local endpoint.

moto fixes both EarliestRestorableDateTime and LatestRestorableDateTime at the moment PITR was
enabled. AWS moves LatestRestorableDateTime with time, typically ~5 minutes behind now, and moves
EarliestRestorableDateTime forward once the table is older than its ``RecoveryPeriodInDays``.
Installed, DescribeContinuousBackups answers, on the endpoint's clock (``local_aws.clock``):

- Earliest = max(when PITR was last enabled, now - RecoveryPeriodInDays);
- Latest = now - ``lag_seconds`` (never before Earliest),

so a test can show a restore waiting for its point and starting once the window has reached it, and
an incremental export chain falling out of the recovery period when the clock moves on. Enabling PITR
stamps Earliest with the endpoint's clock (disabling and re-enabling starts a new window, as on AWS).
``restorable_window`` gives the same answer to the emulation itself (export checks).
"""

from __future__ import annotations

import math
from typing import Any

from local_aws import clock

_lag_seconds = 0.0
_installed = False
_DAY = 86_400.0


def set_lag(seconds: float) -> None:
    """How far LatestRestorableDateTime is behind now (AWS: typically ~300 s)."""
    global _lag_seconds
    _lag_seconds = float(seconds)


def restorable_window(pitr: dict[str, Any]) -> tuple[float, float] | None:
    """(earliest, latest) in epoch seconds for a table's PointInTimeRecoveryDescription, or None.

    Both are whole milliseconds (earliest rounded up, latest down), as the API reports them, so a
    caller may use the reported bounds themselves."""
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        return None
    now = clock.time()
    earliest = float(pitr["EarliestRestorableDateTime"])
    days = pitr.get("RecoveryPeriodInDays")
    if days:
        earliest = max(earliest, now - float(days) * _DAY)
    earliest = math.ceil(round(earliest * 1000, 3)) / 1000
    return earliest, max(earliest, math.floor((now - _lag_seconds) * 1000) / 1000)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.describe_continuous_backups
    original_update = DynamoDBBackend.update_continuous_backups

    def describe_continuous_backups(self: Any, table_name: str) -> dict[str, Any]:
        result = original(self, table_name)
        pitr = result.get("PointInTimeRecoveryDescription") or {}
        window = restorable_window(pitr)
        if window is not None:
            pitr = {**pitr, "EarliestRestorableDateTime": window[0], "LatestRestorableDateTime": window[1]}
            result = {**result, "PointInTimeRecoveryDescription": pitr}
        return result

    def update_continuous_backups(self: Any, table_name: str, spec: dict[str, Any]) -> dict[str, Any]:
        table = self.tables.get(table_name)
        if table is None:
            return original_update(self, table_name, spec)  # type: ignore[no-any-return]  (its error)
        was = table.continuous_backups["PointInTimeRecoveryDescription"].get("PointInTimeRecoveryStatus")
        result = original_update(self, table_name, spec)
        pitr = table.continuous_backups["PointInTimeRecoveryDescription"]
        if was != "ENABLED" and pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            pitr["EarliestRestorableDateTime"] = pitr["LatestRestorableDateTime"] = clock.time()
        return result  # type: ignore[no-any-return]

    DynamoDBBackend.describe_continuous_backups = describe_continuous_backups  # type: ignore[method-assign]
    DynamoDBBackend.update_continuous_backups = update_continuous_backups  # type: ignore[method-assign]
    _installed = True
