"""The restore job's arguments, parsed once into a frozen dataclass.

Glue passes job arguments as ``--name value`` pairs and adds its own (``--JOB_NAME``, ``--TempDir``,
``--job-bookmark-option`` ...), which are accepted and ignored. awsglue's ``getResolvedOptions``
treats every named option as required, so this parser is used both in Glue and locally.
``--BACKUP_BUCKET``, ``--ENVIRONMENT`` and ``--S3_EXPORTS_PREFIX`` fall back to the environment
variables of the same names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dynamodb_dr import config
from dynamodb_dr.backup_manifest import parse_backup_date
from dynamodb_dr.errors import ConfigError, ManifestError

LATEST = "latest"
DEFAULT_MAX_WORKERS = 4
MAX_MAX_WORKERS = 64

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}

KNOWN = (
    "backup_date",
    "tables",
    "target_tables",
    "dry_run",
    "clear_existing_data",
    "create_missing_tables",
    "max_workers",
    "max_write_rate",
    "write_rate_percent",
    "resume",
    config.BACKUP_BUCKET,
    config.ENVIRONMENT,
    config.S3_EXPORTS_PREFIX,
)

USAGE = (
    "restore_job.py --backup_date YYYY-MM-DD|latest --BACKUP_BUCKET <bucket> [--ENVIRONMENT <name>] "
    "[--S3_EXPORTS_PREFIX native-exports] [--tables a,b] [--target_tables a:a_scratch,b:b_tmp] "
    "[--dry_run true|false] [--clear_existing_data true|false] [--create_missing_tables true|false] "
    f"[--max_workers 1-{MAX_MAX_WORKERS}] [--max_write_rate ITEMS_PER_SECOND] [--write_rate_percent 1-100] "
    "[--resume true|false]"
)


@dataclass(frozen=True)
class RestoreArgs:
    backup_date: str
    """``YYYY-MM-DD`` or ``latest``."""
    backup_bucket: str
    environment: str | None = None
    exports_prefix: str = config.DEFAULT_EXPORTS_PREFIX
    tables: tuple[str, ...] | None = None
    """Source tables to restore; None = every table of the backup."""
    target_tables: tuple[tuple[str, str], ...] = ()
    """(source, target) pairs; a source not listed is restored into the table of the same name."""
    dry_run: bool = False
    clear_existing_data: bool = False
    create_missing_tables: bool = False
    max_workers: int = DEFAULT_MAX_WORKERS
    max_write_rate: float | None = None
    """Items/s per table (not WCU: an item over 1 KB costs ceil(size/1 KB) WCU); None = no explicit cap."""
    write_rate_percent: float | None = None
    """Percent (0-100] of each target's write capacity; with ``max_write_rate`` the smaller wins."""
    resume: bool = True
    """Skip data files an interrupted run of the same restore already wrote; False starts fresh."""

    def target_for(self, source: str) -> str:
        return dict(self.target_tables).get(source, source)


def split_argv(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs; a ``--flag`` followed by another option or by
    nothing gets the value ``"true"``. A bare word where an option is expected is an error."""
    values: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(
                f"unexpected argument {token!r}; arguments come as --name value. Usage: {USAGE}"
            )
        name = token[2:]
        if "=" in name:
            name, value = name.split("=", 1)
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            value = argv[i + 1]
            i += 2
        else:
            value = "true"
            i += 1
        values[name] = value
    return values


def parse_bool(value: str, *, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"--{name}={value!r} is not a boolean; expected true or false")


def parse_int(value: str, *, name: str, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(f"--{name}={value!r} is not valid; expected a whole number from {low} to {high}")
    return number


def parse_rate(value: str, *, name: str, high: float | None = None, example: str) -> float:
    """A positive finite number (at most ``high``), e.g. ``--max_write_rate 500``."""
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0 or (high is not None and number > high):
        upper = f" and at most {high:g}" if high is not None else ""
        raise ConfigError(
            f"--{name}={value!r} is not valid; expected a number above 0{upper}, e.g. --{name} {example}"
        )
    return number


def parse_tables(value: str, *, name: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    if not names:
        raise ConfigError(f"--{name} is empty; expected a comma list of table names, e.g. orders,users")
    for table in names:
        config.parse_table_name(table, source=f"--{name}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"--{name} names these tables more than once: {', '.join(duplicates)}")
    return names


def parse_target_tables(value: str, *, name: str = "target_tables") -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        source, sep, target = part.partition(":")
        if not sep or not source.strip() or not target.strip():
            raise ConfigError(
                f"--{name}: {part!r} is not a source:target pair; expected e.g. orders:orders_scratch,users:users_tmp"
            )
        pairs.append(
            (
                config.parse_table_name(source.strip(), source=f"--{name}"),
                config.parse_table_name(target.strip(), source=f"--{name}"),
            )
        )
    if not pairs:
        raise ConfigError(f"--{name} is empty; expected e.g. orders:orders_scratch")
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    for label, names in (("source", sources), ("target", targets)):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"--{name} maps the {label} table(s) {', '.join(duplicates)} more than once")
    return tuple(pairs)


def parse_args(argv: Sequence[str], env: Mapping[str, str] | None = None) -> RestoreArgs:
    """Parse the job's arguments (everything after the script name)."""
    env = os.environ if env is None else env
    raw = split_argv(argv)

    date = raw.get("backup_date", "").strip()
    if not date:
        raise ConfigError(f"--backup_date is required: YYYY-MM-DD or 'latest'. Usage: {USAGE}")
    if date.lower() == LATEST:
        date = LATEST
    else:
        try:
            date = parse_backup_date(date, source="--backup_date")
        except ManifestError as exc:
            raise ConfigError(f"{exc}. Usage: --backup_date 2026-01-31 or --backup_date latest") from exc

    bucket_value = (raw.get(config.BACKUP_BUCKET) or env.get(config.BACKUP_BUCKET) or "").strip()
    if not bucket_value:
        raise ConfigError(
            f"--{config.BACKUP_BUCKET} is missing (and environment variable {config.BACKUP_BUCKET} is not set); "
            "expected the S3 bucket that holds the backups, e.g. --BACKUP_BUCKET my-dynamodb-backups"
        )
    bucket = config.parse_bucket(bucket_value, source=f"--{config.BACKUP_BUCKET}")
    environment = (raw.get(config.ENVIRONMENT) or env.get(config.ENVIRONMENT) or "").strip() or None
    prefix = config.parse_prefix(
        raw.get(config.S3_EXPORTS_PREFIX)
        or env.get(config.S3_EXPORTS_PREFIX)
        or config.DEFAULT_EXPORTS_PREFIX,
        source=f"--{config.S3_EXPORTS_PREFIX}",
    )

    tables = parse_tables(raw["tables"], name="tables") if raw.get("tables", "").strip() else None
    targets = parse_target_tables(raw["target_tables"]) if raw.get("target_tables", "").strip() else ()
    if tables is not None:
        outside = [s for s, _ in targets if s not in tables]
        if outside:
            raise ConfigError(
                f"--target_tables maps {', '.join(outside)}, which --tables does not select; "
                "add them to --tables or drop them from --target_tables"
            )

    return RestoreArgs(
        backup_date=date,
        backup_bucket=bucket,
        environment=environment,
        exports_prefix=prefix,
        tables=tables,
        target_tables=targets,
        dry_run=parse_bool(raw.get("dry_run", "false"), name="dry_run"),
        clear_existing_data=parse_bool(raw.get("clear_existing_data", "false"), name="clear_existing_data"),
        create_missing_tables=parse_bool(
            raw.get("create_missing_tables", "false"), name="create_missing_tables"
        ),
        max_workers=parse_int(
            raw.get("max_workers", str(DEFAULT_MAX_WORKERS)), name="max_workers", low=1, high=MAX_MAX_WORKERS
        ),
        max_write_rate=(
            parse_rate(raw["max_write_rate"], name="max_write_rate", example="1000 (items/s per table)")
            if raw.get("max_write_rate", "").strip()
            else None
        ),
        write_rate_percent=(
            parse_rate(
                raw["write_rate_percent"],
                name="write_rate_percent",
                high=100,
                example="50 (percent of each target table's write capacity)",
            )
            if raw.get("write_rate_percent", "").strip()
            else None
        ),
        resume=parse_bool(raw.get("resume", "true"), name="resume"),
    )
