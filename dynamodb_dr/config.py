"""Configuration read once at the edge (environment variables), typed and validated.

Every environment variable name the toolkit reads lives here. A missing or malformed value fails at
start with a ``ConfigError`` that names the variable and says what it expected.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dynamodb_dr.errors import ConfigError

# Environment variable names (the Terraform modules set exactly these).
BACKUP_BUCKET = "BACKUP_BUCKET"
ENVIRONMENT = "ENVIRONMENT"
DYNAMODB_TABLES = "DYNAMODB_TABLES"
S3_EXPORTS_PREFIX = "S3_EXPORTS_PREFIX"
RESTORE_GLUE_JOB_NAME = "RESTORE_GLUE_JOB_NAME"
"""The Restore Lambda: the Glue restore job hands the restores too large for the function to."""
EXPORT_FORMAT = "EXPORT_FORMAT"
INCREMENTAL_EXPORT_MINUTES = "INCREMENTAL_EXPORT_MINUTES"
"""Length of each incremental export window of the export chain (15-1440 minutes; DynamoDB's limits)."""
INCREMENTAL_EXPORT_VIEW = "INCREMENTAL_EXPORT_VIEW"

DEFAULT_EXPORTS_PREFIX = "native-exports"
EXPORT_FORMATS = ("DYNAMODB_JSON", "ION")
"""DynamoDB's ExportFormat values; the restore reads both."""
DEFAULT_EXPORT_FORMAT = "DYNAMODB_JSON"
INCREMENTAL_EXPORT_VIEWS = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE")
"""DynamoDB's ExportViewType values."""
DEFAULT_INCREMENTAL_EXPORT_VIEW = "NEW_AND_OLD_IMAGES"
MIN_INCREMENTAL_EXPORT_MINUTES = 15
MAX_INCREMENTAL_EXPORT_MINUTES = 1440
INCREMENTAL_FOLDER = "incremental"
"""Under S3_EXPORTS_PREFIX: ``incremental/{table}`` is the S3Prefix of a table's export chain."""

# DynamoDB table names: 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'.
TABLE_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
# S3 bucket names (the practical subset AWS accepts for new buckets).
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def require(env: Mapping[str, str], name: str, expected: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is missing or empty; expected {expected}")
    return value


def parse_bucket(value: str, *, source: str) -> str:
    if not BUCKET_RE.match(value):
        raise ConfigError(
            f"{source}={value!r} is not a valid S3 bucket name (3-63 chars of a-z, 0-9, '.', '-')"
        )
    return value


def parse_prefix(value: str, *, source: str) -> str:
    prefix = value.strip().strip("/")
    if not prefix or "//" in prefix:
        raise ConfigError(f"{source}={value!r} is not a usable S3 key prefix; expected e.g. 'native-exports'")
    return prefix


def parse_export_format(value: str, *, source: str) -> str:
    if value not in EXPORT_FORMATS:
        raise ConfigError(
            f"{source}={value!r} is not an export format; expected {' or '.join(EXPORT_FORMATS)}"
        )
    return value


def parse_incremental_minutes(value: str, *, source: str) -> int:
    """Whole minutes, 15-1440 (DynamoDB's shortest and longest incremental export window)."""
    text = value.strip()
    if not re.fullmatch(r"[1-9][0-9]{0,3}", text) or not (
        MIN_INCREMENTAL_EXPORT_MINUTES <= int(text) <= MAX_INCREMENTAL_EXPORT_MINUTES
    ):
        raise ConfigError(
            f"{source}={value!r} is not a window length DynamoDB accepts; expected whole minutes from "
            f"{MIN_INCREMENTAL_EXPORT_MINUTES} to {MAX_INCREMENTAL_EXPORT_MINUTES} (15 minutes to 24 hours), "
            "e.g. 60"
        )
    return int(text)


def parse_incremental_view(value: str, *, source: str) -> str:
    if value not in INCREMENTAL_EXPORT_VIEWS:
        raise ConfigError(
            f"{source}={value!r} is not an export view; expected {' or '.join(INCREMENTAL_EXPORT_VIEWS)}"
        )
    return value


def parse_table_name(value: str, *, source: str) -> str:
    if not isinstance(value, str) or not TABLE_NAME_RE.match(value):
        raise ConfigError(
            f"{source}: {value!r} is not a valid DynamoDB table name (3-255 characters of a-z, A-Z, 0-9, '_', '-', '.')"
        )
    return value


def parse_table_list(value: str, *, source: str) -> tuple[str, ...]:
    """A JSON array of table names, as Terraform's ``jsonencode(var.table_names)`` writes it."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f'{source} is not valid JSON ({exc.msg}); expected a JSON array of table names, e.g. ["orders","users"]'
        ) from None
    if not isinstance(parsed, list) or not parsed:
        raise ConfigError(f'{source} must be a non-empty JSON array of table names, e.g. ["orders","users"]')
    names = tuple(parse_table_name(v, source=source) for v in parsed)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{source} names these tables more than once: {', '.join(duplicates)}")
    return names


@dataclass(frozen=True)
class BackupSettings:
    """Settings of the export Lambda and the export monitor."""

    backup_bucket: str
    environment: str
    tables: tuple[str, ...]
    exports_prefix: str = DEFAULT_EXPORTS_PREFIX
    export_format: str = DEFAULT_EXPORT_FORMAT
    incremental_export_minutes: int | None = None
    """Window length of the export chain; None when INCREMENTAL_EXPORT_MINUTES is not set."""
    incremental_export_view: str = DEFAULT_INCREMENTAL_EXPORT_VIEW

    def incremental_prefix(self, table_name: str) -> str:
        """The S3Prefix of every export of ``table_name``'s chain (its incremental windows, and the
        full export that starts a chain after a break); ``chain.json`` lies directly under it."""
        return f"{self.exports_prefix}/{INCREMENTAL_FOLDER}/{table_name}"

    def chain_minutes(self) -> int:
        """INCREMENTAL_EXPORT_MINUTES, which the export chain cannot run without."""
        if self.incremental_export_minutes is None:
            raise ConfigError(
                f"environment variable {INCREMENTAL_EXPORT_MINUTES} is missing or empty; the export chain needs "
                f"its window length in whole minutes, {MIN_INCREMENTAL_EXPORT_MINUTES} to "
                f"{MAX_INCREMENTAL_EXPORT_MINUTES}, e.g. 60"
            )
        return self.incremental_export_minutes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BackupSettings:
        env = os.environ if env is None else env
        bucket = parse_bucket(
            require(env, BACKUP_BUCKET, "the S3 bucket that holds the exports"), source=BACKUP_BUCKET
        )
        environment = require(env, ENVIRONMENT, "a name for this deployment, e.g. 'prod'")
        tables = parse_table_list(
            require(env, DYNAMODB_TABLES, 'a JSON array of table names, e.g. ["orders","users"]'),
            source=DYNAMODB_TABLES,
        )
        prefix = parse_prefix(env.get(S3_EXPORTS_PREFIX) or DEFAULT_EXPORTS_PREFIX, source=S3_EXPORTS_PREFIX)
        export_format = parse_export_format(
            env.get(EXPORT_FORMAT, "").strip() or DEFAULT_EXPORT_FORMAT, source=EXPORT_FORMAT
        )
        minutes = env.get(INCREMENTAL_EXPORT_MINUTES, "")
        view = env.get(INCREMENTAL_EXPORT_VIEW, "").strip() or DEFAULT_INCREMENTAL_EXPORT_VIEW
        return cls(
            backup_bucket=bucket,
            environment=environment,
            tables=tables,
            exports_prefix=prefix,
            export_format=export_format,
            incremental_export_minutes=(
                parse_incremental_minutes(minutes, source=INCREMENTAL_EXPORT_MINUTES)
                if minutes.strip()
                else None
            ),
            incremental_export_view=parse_incremental_view(view, source=INCREMENTAL_EXPORT_VIEW),
        )
