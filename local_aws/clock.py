"""The local endpoint's clock: real time plus an offset the tests (and the demo) move forward.

Incremental exports cover windows of 15 minutes to 24 hours that must lie inside the PITR window and
end in the past. A test cannot wait 15 minutes, so the emulation reads every "now" from here:

- the timestamp of each recorded write (``write_history``, ``WriteTimestampMicros`` in exports);
- ``EarliestRestorableDateTime`` when PITR is enabled and ``LatestRestorableDateTime`` in
  ``DescribeContinuousBackups`` (``pitr_window``), and the end of a ``RecoveryPeriodInDays``;
- an export's ``StartTime``/``EndTime``/ExportId, and the checks of ``ExportTime``,
  ``ExportFromTime`` and ``ExportToTime`` (``export_layout``).

``advance(900)`` makes 15 minutes pass at once for all of these; the 15 minutes to 24 hours rule itself is kept.
The clock only moves forward (an advance is never undone except by ``reset()``, which the endpoint's
``reset()`` calls before each test). Product code never imports this module: it sees the moved time
only through the AWS API, exactly as it would see AWS's time.
"""

from __future__ import annotations

import threading
import time as _time
from datetime import UTC, datetime

_lock = threading.Lock()
_offset_seconds = 0.0


def time() -> float:
    """Now, in epoch seconds, on the endpoint's clock."""
    return _time.time() + _offset_seconds


def now() -> datetime:
    """Now, as an aware UTC datetime, on the endpoint's clock."""
    return datetime.fromtimestamp(time(), UTC)


def micros() -> int:
    """Now, in epoch microseconds (the unit of ``WriteTimestampMicros``)."""
    return int(time() * 1_000_000)


def advance(seconds: float) -> float:
    """Move the clock forward by ``seconds`` (> 0); returns the new total offset."""
    global _offset_seconds
    if seconds < 0:
        raise ValueError("the local clock only moves forward")
    with _lock:
        _offset_seconds += float(seconds)
        return _offset_seconds


def offset() -> float:
    """How far the endpoint's clock is ahead of real time, in seconds."""
    return _offset_seconds


def reset() -> None:
    """Back to real time (the endpoint's ``reset()`` does this before each test)."""
    global _offset_seconds
    with _lock:
        _offset_seconds = 0.0
