"""Points in time: ``--restore_time`` / ``--rewind_to`` / ``--undo_window`` values and the times in
export summaries, parsed strictly.

A point the user gives must be ISO-8601 **with** a UTC designator (``Z`` or ``+00:00``): a local
time read as UTC would restore the wrong hour without a word. Export summaries carry AWS's
``2026-01-15T10:15:00.000Z`` form (or, in some tools' copies, epoch seconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dynamodb_dr.errors import ConfigError

EXAMPLE = "2026-01-15T10:15:00Z"


def parse_point(value: str, *, name: str, now: datetime | None = None) -> datetime:
    """A UTC point in time from the command line: ISO-8601 with ``Z``/``+00:00``; with ``now``, not
    after it (``check_not_future``)."""
    text = value.strip()
    if "T" not in text and " " not in text:
        raise ConfigError(
            f"--{name} {value!r} is not a point in time; expected ISO-8601 UTC with a time of day, "
            f"e.g. --{name} {EXAMPLE}"
        )
    try:
        point = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ConfigError(
            f"--{name} {value!r} is not an ISO-8601 time; expected e.g. --{name} {EXAMPLE}"
        ) from None
    if point.tzinfo is None:
        raise ConfigError(
            f"--{name} {value!r} has no time zone; give the time in UTC with a Z, e.g. --{name} {EXAMPLE}"
        )
    if point.utcoffset() != timedelta(0):
        raise ConfigError(
            f"--{name} {value!r} is not in UTC (offset {point.utcoffset()}); convert it to UTC and end it "
            f"with Z, e.g. --{name} {EXAMPLE}"
        )
    point = point.astimezone(UTC)
    if now is not None:
        check_not_future(point, name=name, now=now)
    return point


def check_not_future(point: datetime, *, name: str, now: datetime) -> None:
    """``now`` is the later of this machine's clock and the newest export's time: an export is never
    from the future, so a clock that runs late here (or an endpoint's clock ahead) refuses nothing
    an export holds."""
    if point > now + timedelta(seconds=60):
        raise ConfigError(
            f"--{name} {iso(point)} is in the future (now is {iso(now)}); give a time that has passed"
        )


def parse_window(value: str, *, name: str = "undo_window") -> tuple[datetime, datetime]:
    """``FROM/TO``, both ISO-8601 UTC, FROM before TO."""
    start, sep, end = value.partition("/")
    if not sep or not start.strip() or not end.strip():
        raise ConfigError(
            f"--{name} {value!r} is not FROM/TO; expected e.g. --{name} 2026-01-15T10:00:00Z/2026-01-15T10:15:00Z"
        )
    first, last = parse_point(start, name=name), parse_point(end, name=name)
    if first >= last:
        raise ConfigError(f"--{name} {value!r}: FROM must be before TO")
    return first, last


def parse_export_time(value: object) -> datetime:
    """A time from a manifest-summary.json (ISO text, or epoch seconds): a ValueError if neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a time: {value!r}")
    point = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if point.tzinfo is None:
        point = point.replace(tzinfo=UTC)
    return point.astimezone(UTC)


def iso(point: datetime) -> str:
    """``2026-01-15T10:15:00Z`` (microseconds only when there are some)."""
    text = point.astimezone(UTC).isoformat(timespec="microseconds" if point.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def seconds_between(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds(), 3)
