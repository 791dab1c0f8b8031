"""The restore job's arguments, parsed once, strictly, into a frozen dataclass.

Glue passes job arguments as ``--name value`` pairs and adds its own (``--JOB_NAME``, ``--TempDir``,
``--job-bookmark-option`` ...), which are accepted and ignored (``GLUE_ARGUMENTS``). Any other name
the job does not know is an error naming the closest known one: a typo such as ``--dry-run`` or
``--tabels`` must never turn a rehearsal into a restore of every table. An argument given twice, or
one of ours given an empty value, is an error too.

Why not argparse or awsglue's ``getResolvedOptions``: ``getResolvedOptions`` treats every named
option as required; argparse prefix-matches abbreviations, exits the process on an error (the job
must answer with its JSON report instead) and has no notion of Glue's own arguments, whose values may
be empty strings. The standard library's ``difflib`` suggests the fix.

``--BACKUP_BUCKET``, ``--ENVIRONMENT`` and ``--S3_EXPORTS_PREFIX`` fall back to the environment
variables of the same names.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dynamodb_dr import config
from dynamodb_dr.backup_manifest import parse_backup_date
from dynamodb_dr.errors import ConfigError, ManifestError

LATEST = "latest"
BATCH_ITEMS = 25
"""Items in one BatchWriteItem call (DynamoDB's limit)."""
MIN_WRITE_RATE = BATCH_ITEMS / 60
"""Items/s at which one batch waits a minute for its tokens: any lower budget is refused."""
MIN_WRITE_RATE_TEXT = f"{math.ceil(MIN_WRITE_RATE * 100) / 100:g}"
DEFAULT_MAX_WORKERS = 4
IMPORT_MODES = ("auto", "import", "write")
"""How a table the restore creates is filled: ``import`` with DynamoDB's ImportTable from the export's
data files, ``write`` with BatchWriteItem, ``auto`` ImportTable where it can take the export."""
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
    "restore_time",
    "rewind_to",
    "undo_window",
    "export_uri",
    "key_schema",
    "allow_chain_gaps",
    "verify",
    "verify_only",
    "verify_timestamp_attribute",
    "drill",
    "keep_drill_tables",
    "drill_topic_arn",
    "import_mode",
    config.BACKUP_BUCKET,
    config.ENVIRONMENT,
    config.S3_EXPORTS_PREFIX,
)

# Arguments AWS Glue itself passes or reads (Glue 5: "Using job parameters in AWS Glue jobs"), plus the
# ones Glue adds to every run. Accepted and ignored.
GLUE_ARGUMENTS = frozenset(
    {
        "JOB_NAME",
        "JOB_ID",
        "JOB_RUN_ID",
        "TempDir",
        "RedshiftTempDir",
        "SECURITY_CONFIGURATION",
        "additional-python-modules",
        "python-modules-installer-option",
        "auto-scale-within-microbatch",
        "class",
        "conf",
        "datalake-formats",
        "disable-proxy-v2",
        "encryption-type",
        "executor-cores",
        "extra-files",
        "extra-jars",
        "extra-py-files",
        "job-language",
        "scriptLocation",
        "spark-event-logs-path",
        "user-jars-first",
        "customer-driver-env-vars",
        "customer-executor-env-vars",
        "write-shuffle-files-to-s3",
        "write-shuffle-spills-to-s3",
        "shuffle-storage-path",
        "glue-spark-ui",
        "job-type",
        "pip-install",
        "python-version",
        "root-log-level",
    }
)
# Families of Glue arguments: --enable-*, --continuous-log-*, --job-bookmark-*, --auto-*, --glue-*.
GLUE_ARGUMENT_PREFIXES = ("enable-", "continuous-log-", "job-bookmark-", "auto-", "glue-")


def is_glue_argument(name: str) -> bool:
    return name in GLUE_ARGUMENTS or name.startswith(GLUE_ARGUMENT_PREFIXES)


USAGE = (
    "restore_job.py --backup_date YYYY-MM-DD|latest --BACKUP_BUCKET <bucket> [--ENVIRONMENT <name>] "
    "[--S3_EXPORTS_PREFIX native-exports] [--tables a,b] [--target_tables a:a_scratch,b:b_tmp] "
    "[--dry_run true|false] [--clear_existing_data true|false] [--create_missing_tables true|false] "
    f"[--max_workers 1-{MAX_MAX_WORKERS}] [--max_write_rate ITEMS_PER_SECOND] [--write_rate_percent 1-100] "
    "[--resume true|false]; time travel instead of --backup_date: --restore_time <ISO-8601 UTC> | "
    "--rewind_to <ISO-8601 UTC> | --undo_window <FROM>/<TO> [--allow_chain_gaps true|false] "
    "[--export_uri s3://BUCKET/PREFIX --target_tables NAME --key_schema pk:S,sk:N] "
    "[--import_mode auto|import|write] [--verify true|false] [--verify_only true|false] "
    "[--verify_timestamp_attribute NAME] [--drill true|false] [--keep_drill_tables true|false] "
    "[--drill_topic_arn SNS_TOPIC_ARN] (--verify, --verify_only and --drill: with --backup_date, --restore_time "
    "or --export_uri; not with --rewind_to or --undo_window)"
)
TIME_TRAVEL = ("restore_time", "rewind_to", "undo_window")
"""The time-travel points (``restore.timetravel``): one at most, instead of ``--backup_date``."""


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
    restore_time: str | None = None
    """Time travel (``restore.timetravel``): restore the state at this UTC point (ISO-8601)."""
    rewind_to: str | None = None
    """Time travel: put back, in place, every item changed after this UTC point."""
    undo_window: str | None = None
    """Time travel: ``FROM/TO``, take back the changes made in that window only."""
    export_uri: str | None = None
    """``s3://BUCKET/PREFIX``: the exports of one table the toolkit did not make (no backup manifest)."""
    export_target: str | None = None
    """With ``export_uri``: the target table (``--target_tables NAME``); None = the exported table's name."""
    key_schema: tuple[tuple[str, str], ...] = ()
    """With ``export_uri``: (name, S|N|B) of the key, hash first, for a target to be created."""
    allow_chain_gaps: bool = False
    """Time travel: go on over a gap in the incremental exports (its changes are lost), reported."""

    verify: bool = False
    """After the restore, compare every target with the backup, item by item (``verify``)."""
    verify_only: bool = False
    """Compare the existing targets with the backup; write nothing."""
    verify_timestamp_attribute: str | None = None
    """An attribute every write sets (epoch seconds/ms or ISO 8601): newer items are live writes."""
    drill: bool = False
    """A DR drill: restore into ``{table}-drill-{drill_date}``, verify, record, delete (``drill``)."""
    drill_date: str | None = None
    """``yyyymmdd`` (UTC) of the drill's scratch table names; set with ``drill``."""
    keep_drill_tables: bool = False
    drill_topic_arn: str | None = None
    """SNS topic that hears each drill's result."""

    @property
    def time_travel(self) -> bool:
        return bool(self.restore_time or self.rewind_to or self.undo_window or self.export_uri)

    import_mode: str = "auto"
    """``auto``, ``import`` or ``write`` (``IMPORT_MODES``): how a missing target is filled."""

    def target_for(self, source: str) -> str:
        if self.drill and self.drill_date:
            return drill_table_name(source, self.drill_date)
        return dict(self.target_tables).get(source, source)


def drill_table_name(source: str, drill_date: str) -> str:
    """The drill's scratch table: ``orders`` -> ``orders-drill-20261203``."""
    return f"{source}-drill-{drill_date}"


def split_argv(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs; a ``--flag`` followed by another option or by
    nothing gets the value ``"true"``. A bare word where an option is expected, or one of our
    arguments given twice, is an error (which one would win is a guess the job does not make)."""
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
        elif i + 1 < len(argv) and (not argv[i + 1].startswith("--") or _glue_value(name, argv[i + 1])):
            value = argv[i + 1]
            i += 2
        else:
            value = "true"
            i += 1
        if name in values and not is_glue_argument(name):
            raise ConfigError(
                f"--{name} is given more than once ({values[name]!r} and {value!r}); give it once"
            )
        values[name] = value
    return values


def _glue_value(name: str, following: str) -> bool:
    """Glue passes its own arguments as pairs, and a value may itself start with ``--``
    (``--python-modules-installer-option --no-index``): it is a value unless it names an argument."""
    if not is_glue_argument(name):
        return False
    after = following[2:].split("=", 1)[0]
    return after not in KNOWN and not is_glue_argument(after)


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").strip("_")


def closest_known(name: str) -> str | None:
    """The known argument a mistyped ``name`` most likely meant (``dry-run`` -> ``dry_run``)."""
    by_normal = {_normalized(k): k for k in KNOWN}
    if _normalized(name) in by_normal:
        return by_normal[_normalized(name)]
    match = difflib.get_close_matches(_normalized(name), list(by_normal), n=1, cutoff=0.6)
    return by_normal[match[0]] if match else None


def check_names(raw: Mapping[str, object], *, prefix: str = "--", glue: bool = True) -> None:
    """Every name is ours or (``glue``) Glue's; anything else is an error that names the closest
    known one."""
    unknown = [n for n in raw if n not in KNOWN and not (glue and is_glue_argument(n))]
    if not unknown:
        return
    problems = []
    for name in unknown:
        guess = closest_known(name)
        hint = f" (did you mean {prefix}{guess}?)" if guess else ""
        problems.append(f"{prefix}{name}{hint}")
    raise ConfigError(
        f"unknown argument{'s' if len(problems) > 1 else ''} {', '.join(problems)}; nothing was started. "
        f"Known arguments: {', '.join(prefix + k for k in KNOWN)}"
    )


def present(raw: Mapping[str, str], name: str) -> str | None:
    """The value of one of our arguments, or None when it is absent. Given but empty is an error: an
    unset shell variable (``--tables "$TABLES"``) must not silently mean "every table"."""
    if name not in raw:
        return None
    value = raw[name].strip()
    if not value:
        raise ConfigError(f"--{name} is given with an empty value; give a value or leave --{name} out")
    return value


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
    raw = split_argv(argv)
    check_names(raw)
    return _parse_raw(raw, os.environ if env is None else env)


def _parse_raw(raw: Mapping[str, str], env: Mapping[str, str]) -> RestoreArgs:
    """The checks every argument goes through, from ``--name value`` strings (the job's command
    line, or an event turned into that form by ``parse_event``)."""
    travel = check_time_travel(raw)
    date = (present(raw, "backup_date") or "") if "backup_date" in raw else ""
    if travel is not None:
        if date:
            raise ConfigError(
                f"--backup_date restores a daily backup and --{travel} a point in time; give one of them"
            )
    elif not date:
        raise ConfigError(f"--backup_date is required: YYYY-MM-DD or 'latest'. Usage: {USAGE}")
    if not date.isascii():
        odd = sorted({c for c in date if not c.isascii()})
        names = ", ".join(f"{c!r} ({unicodedata.name(c, f'U+{ord(c):04X}')})" for c in odd)
        raise ConfigError(
            f"--backup_date {date!r} contains characters other than ASCII digits and '-': {names}; "
            "type the date with the digits 0-9, e.g. --backup_date 2026-01-31"
        )
    if travel is not None:
        pass
    elif date.lower() == LATEST:
        date = LATEST
    else:
        try:
            date = parse_backup_date(date, source="--backup_date")
        except ManifestError as exc:
            raise ConfigError(f"{exc}. Usage: --backup_date 2026-01-31 or --backup_date latest") from exc

    export_uri = present(raw, "export_uri")
    bucket_value = (present(raw, config.BACKUP_BUCKET) or env.get(config.BACKUP_BUCKET) or "").strip()
    if not bucket_value and export_uri is not None:
        bucket_value = export_uri_bucket(export_uri)
    if not bucket_value:
        raise ConfigError(
            f"--{config.BACKUP_BUCKET} is missing (and environment variable {config.BACKUP_BUCKET} is not set); "
            "expected the S3 bucket that holds the backups, e.g. --BACKUP_BUCKET my-dynamodb-backups"
        )
    bucket = config.parse_bucket(bucket_value, source=f"--{config.BACKUP_BUCKET}")
    environment = (present(raw, config.ENVIRONMENT) or env.get(config.ENVIRONMENT) or "").strip() or None
    prefix = config.parse_prefix(
        present(raw, config.S3_EXPORTS_PREFIX)
        or env.get(config.S3_EXPORTS_PREFIX)
        or config.DEFAULT_EXPORTS_PREFIX,
        source=f"--{config.S3_EXPORTS_PREFIX}",
    )

    tables_value, targets_value = present(raw, "tables"), present(raw, "target_tables")
    tables = parse_tables(tables_value, name="tables") if tables_value is not None else None
    export_target = None
    if export_uri is not None and targets_value is not None and ":" not in targets_value:
        export_target = config.parse_table_name(targets_value.strip(), source="--target_tables")
        targets_value = None
    targets = parse_target_tables(targets_value) if targets_value is not None else ()
    if tables is not None:
        outside = [s for s, _ in targets if s not in tables]
        if outside:
            raise ConfigError(
                f"--target_tables maps {', '.join(outside)}, which --tables does not select; "
                "add them to --tables or drop them from --target_tables"
            )

    def flag(name: str, default: bool) -> bool:
        value = present(raw, name)
        return default if value is None else parse_bool(value, name=name)

    workers = present(raw, "max_workers")
    drill_options = _drill_options(raw, flag, targets)
    max_rate, percent = present(raw, "max_write_rate"), present(raw, "write_rate_percent")
    return RestoreArgs(
        backup_date=date,
        backup_bucket=bucket,
        environment=environment,
        exports_prefix=prefix,
        tables=tables,
        target_tables=targets,
        dry_run=flag("dry_run", False),
        clear_existing_data=flag("clear_existing_data", False),
        max_workers=(
            parse_int(workers, name="max_workers", low=1, high=MAX_MAX_WORKERS)
            if workers
            else DEFAULT_MAX_WORKERS
        ),
        max_write_rate=(
            check_useful_rate(
                parse_rate(max_rate, name="max_write_rate", example="1000 (items/s per table)"),
                what=f"--max_write_rate {max_rate}",
            )
            if max_rate is not None
            else None
        ),
        write_rate_percent=(
            parse_rate(
                percent,
                name="write_rate_percent",
                high=100,
                example="50 (percent of each target table's write capacity)",
            )
            if percent is not None
            else None
        ),
        resume=flag("resume", True) and not drill_options["drill"],
        import_mode=parse_import_mode(present(raw, "import_mode")),
        **drill_options,
        **_time_travel_fields(raw, travel, export_uri, export_target, flag),
    )


def check_time_travel(raw: Mapping[str, str]) -> str | None:
    """The one time-travel point given (its name), or None; two of them are an error."""
    given = [name for name in TIME_TRAVEL if name in raw]
    if len(given) > 1:
        raise ConfigError(
            f"{' and '.join('--' + n for n in given)} are given; give one of them (--restore_time restores "
            "a point, --rewind_to puts back what changed after a point, --undo_window takes back one window)"
        )
    if given:
        return given[0]
    return "export_uri" if "export_uri" in raw else None


def export_uri_bucket(uri: str) -> str:
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise ConfigError(f"--export_uri {uri!r} is not an S3 URI; expected s3://BUCKET/PREFIX")
    return uri[5:].split("/", 1)[0]


KEY_TYPES = ("S", "N", "B")


def parse_key_schema(value: str) -> tuple[tuple[str, str], ...]:
    """``pk:S`` or ``pk:S,sk:N``: the partition key, then the sort key, each NAME:TYPE (S, N or B)."""
    example = "e.g. --key_schema pk:S or --key_schema pk:S,sk:N"
    parts = [p.strip() for p in value.split(",")]
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ConfigError(
            f"--key_schema {value!r} is not valid; expected one or two NAME:TYPE (partition key, then sort key), {example}"
        )
    keys = []
    for part in parts:
        name, sep, kind = part.rpartition(":")
        name, kind = name.strip(), kind.strip()
        if not sep or not name:
            raise ConfigError(f"--key_schema: {part!r} is not NAME:TYPE; {example}")
        if kind not in KEY_TYPES:
            raise ConfigError(
                f"--key_schema: {part!r} has type {kind!r}; a key is S (string), N (number) or B (binary), {example}"
            )
        if len(name.encode("utf-8")) > 255:
            raise ConfigError(f"--key_schema: the key name {name[:40]!r}... is longer than 255 bytes")
        keys.append((name, kind))
    if len(keys) == 2 and keys[0][0] == keys[1][0]:
        raise ConfigError(
            f"--key_schema {value!r} names {keys[0][0]!r} twice; the sort key needs its own name"
        )
    return tuple(keys)


def _time_travel_fields(
    raw: Mapping[str, str],
    travel: str | None,
    export_uri: str | None,
    export_target: str | None,
    flag: Callable[[str, bool], bool],
) -> dict[str, Any]:
    """The time-travel arguments, checked (points parsed: ISO-8601 UTC, not in the future)."""
    from dynamodb_dr.restore.timetravel.points import iso, parse_point, parse_window

    key_schema_value = present(raw, "key_schema")
    gaps = present(raw, "allow_chain_gaps")
    if travel is None:
        for name, value in (("key_schema", key_schema_value), ("allow_chain_gaps", gaps)):
            if value is not None:
                raise ConfigError(
                    f"--{name} is for a time-travel restore (--restore_time, --rewind_to, --undo_window or "
                    "--export_uri); leave it out of a restore of a daily backup"
                )
        return {}
    if key_schema_value is not None and export_uri is None:
        raise ConfigError(
            "--key_schema is for --export_uri (exports without a backup manifest); the toolkit's own exports "
            "carry the table definition"
        )
    if travel in ("rewind_to", "undo_window"):
        for name in ("verify", "verify_only", "drill"):
            if flag(name, False):
                raise ConfigError(
                    f"--{name} true is not supported with --{travel}: a rewind or an undo changes only the changed "
                    "keys of the live table, in place, each write only if the item is still as last exported (its "
                    f"report counts puts, deletes and conflicts). Leave --{name} out; --verify, --verify_only and "
                    "--drill work with --restore_time (and --export_uri), e.g. restore the point into a copy: "
                    "--restore_time T --target_tables SOURCE:COPY --create_missing_tables true --verify true"
                )
    if (present(raw, "import_mode") or "").strip().lower() == "import":
        raise ConfigError(
            "--import_mode import loads one full export with ImportTable; a time-travel restore merges the "
            "incremental windows and writes the result. Leave --import_mode out (or use write)"
        )
    fields: dict[str, Any] = {"allow_chain_gaps": flag("allow_chain_gaps", False)}
    restore_time, rewind_to, undo = (present(raw, n) for n in TIME_TRAVEL)
    if restore_time is not None:
        fields["restore_time"] = iso(parse_point(restore_time, name="restore_time"))
    if rewind_to is not None:
        fields["rewind_to"] = iso(parse_point(rewind_to, name="rewind_to"))
    if undo is not None:
        start, end = parse_window(undo)
        fields["undo_window"] = f"{iso(start)}/{iso(end)}"
    if rewind_to is not None or undo is not None:
        what = "--rewind_to" if rewind_to is not None else "--undo_window"
        for name in ("clear_existing_data", "create_missing_tables"):
            if flag(name, False):
                raise ConfigError(
                    f"{what} changes the live table in place, item by item; --{name} does not apply. "
                    "Use --restore_time for a restore into another or a new table"
                )
    if export_uri is not None:
        export_uri_bucket(export_uri)
        fields["export_uri"] = export_uri.rstrip("/")
        fields["export_target"] = export_target
        if key_schema_value is not None:
            fields["key_schema"] = parse_key_schema(key_schema_value)
        if "tables" in raw:
            raise ConfigError(
                "--tables selects tables of a daily backup; --export_uri holds one table's exports: name its "
                "target with --target_tables NAME"
            )
    return fields


def parse_import_mode(value: str | None) -> str:
    if value is None:
        return "auto"
    mode = value.strip().lower()
    if mode not in IMPORT_MODES:
        raise ConfigError(
            f"--import_mode={value!r} is not valid; expected one of {', '.join(IMPORT_MODES)} (auto: ImportTable "
            "for a target the restore creates when the export allows it, else BatchWriteItem)"
        )
    return mode


SNS_TOPIC_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
ATTRIBUTE_NAME_MAX = 255


def _drill_options(
    raw: Mapping[str, str], flag: Callable[[str, bool], bool], targets: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """``--verify*`` and ``--drill*``: the combinations that make no sense are refused by name."""
    verify, verify_only, drill = flag("verify", False), flag("verify_only", False), flag("drill", False)
    attribute = present(raw, "verify_timestamp_attribute")
    if attribute is not None and len(attribute.encode("utf-8")) > ATTRIBUTE_NAME_MAX:
        raise ConfigError(
            f"--verify_timestamp_attribute is {len(attribute.encode('utf-8'))} bytes long; an attribute name "
            f"is at most {ATTRIBUTE_NAME_MAX}"
        )
    if attribute is not None and not (verify or verify_only or drill):
        raise ConfigError(
            "--verify_timestamp_attribute is given without --verify true, --verify_only true or --drill true; "
            "add one of them, or leave it out"
        )
    if verify_only:
        for name in ("dry_run", "clear_existing_data", "create_missing_tables", "drill"):
            if flag(name, False):
                raise ConfigError(
                    f"--verify_only true writes nothing, so --{name} true makes no sense with it; leave one out"
                )
    topic = present(raw, "drill_topic_arn")
    if topic is not None and not SNS_TOPIC_RE.match(topic):
        raise ConfigError(
            f"--drill_topic_arn={topic!r} is not an SNS topic ARN; expected e.g. "
            "arn:aws:sns:us-east-1:123456789012:dr-drills"
        )
    keep = flag("keep_drill_tables", False)
    if not drill and ("keep_drill_tables" in raw or topic is not None):
        raise ConfigError(
            "--keep_drill_tables and --drill_topic_arn go with --drill true; add it or leave them out"
        )
    drill_date = None
    if drill:
        for name in ("dry_run", "clear_existing_data"):
            if flag(name, False):
                raise ConfigError(
                    f"--drill true restores into a new scratch table, so --{name} true makes no sense with it; "
                    "leave it out"
                )
        if targets or "target_tables" in raw:
            raise ConfigError(
                "--drill true names its scratch tables itself ({table}-drill-{yyyymmdd}); leave --target_tables out"
            )
        drill_date = datetime.now(UTC).strftime("%Y%m%d")
    return {
        "verify": verify or drill,
        "verify_only": verify_only,
        "verify_timestamp_attribute": attribute,
        "drill": drill,
        "drill_date": drill_date,
        "keep_drill_tables": keep,
        "drill_topic_arn": topic,
        "create_missing_tables": flag("create_missing_tables", False) or drill,
    }


def check_useful_rate(rate: float, *, what: str) -> float:
    """A write budget so low that one batch would wait longer than a minute for its tokens writes
    nothing visible for minutes and gives no ETA: refuse it, naming the smallest useful value."""
    if rate < MIN_WRITE_RATE:
        raise ConfigError(
            f"{what} is too low: one batch of {BATCH_ITEMS} items would wait {BATCH_ITEMS / rate:,.0f} s for it; "
            f"the smallest useful write rate is {MIN_WRITE_RATE_TEXT} items/s (one batch a minute), "
            f"e.g. --max_write_rate {MIN_WRITE_RATE_TEXT}"
        )
    return rate


# --- the Restore Lambda's event: the same names and checks, with JSON types ----------------------

LAMBDA_DEFAULT_MAX_WORKERS = 5
"""The Restore Lambda's default ``max_workers`` (the event users know says 5; the job's is 4)."""

_EVENT_BOOLEANS = (
    "dry_run",
    "clear_existing_data",
    "create_missing_tables",
    "resume",
    "verify",
    "verify_only",
    "drill",
    "keep_drill_tables",
)
_EVENT_STRINGS = (
    "backup_date",
    "import_mode",
    config.BACKUP_BUCKET,
    config.ENVIRONMENT,
    config.S3_EXPORTS_PREFIX,
    "verify_timestamp_attribute",
    "drill_topic_arn",
)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong_type(name: str, value: object, expected: str) -> ConfigError:
    return ConfigError(
        f"event field {name!r} is {_json_type(value)} ({json.dumps(value, default=str)[:80]}); expected {expected}"
    )


def _event_value(name: str, value: object) -> str:
    """One event field in the job's ``--name value`` string form, after checking its JSON type."""
    if name in _EVENT_STRINGS:
        if not isinstance(value, str):
            raise _wrong_type(
                name,
                value,
                'a string, e.g. "latest" or "2026-01-31"' if name == "backup_date" else "a string",
            )
        return value
    if name in _EVENT_BOOLEANS:
        if not isinstance(value, bool):
            raise _wrong_type(name, value, "true or false (a JSON boolean, not a string)")
        return "true" if value else "false"
    if name == "max_workers":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(name, value, f"a whole number from 1 to {MAX_MAX_WORKERS}")
        return str(value)
    if name in ("max_write_rate", "write_rate_percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(name, value, "a number above 0")
        return repr(value)
    if name == "tables":
        if not isinstance(value, list):
            raise _wrong_type(name, value, 'an array of table names, e.g. ["orders","users"]')
        if not value:
            raise ConfigError(
                "event field 'tables' is an empty array; name at least one table, or leave 'tables' out to "
                "restore every table of the backup"
            )
        for table in value:
            if not isinstance(table, str):
                raise _wrong_type("tables", table, "table names (strings) in the array")
            config.parse_table_name(table, source="tables")
        return ",".join(value)
    if name == "target_tables":
        if not isinstance(value, dict):
            raise _wrong_type(
                name, value, 'an object of source: target names, e.g. {"orders": "orders_scratch"}'
            )
        if not value:
            raise ConfigError(
                "event field 'target_tables' is an empty object; map at least one source table, e.g. "
                '{"orders": "orders_scratch"}, or leave it out'
            )
        for source, target in value.items():
            if not isinstance(target, str):
                raise _wrong_type(f"target_tables.{source}", target, "a table name (a string)")
            config.parse_table_name(source, source="target_tables")
            config.parse_table_name(target, source="target_tables")
        return ",".join(f"{source}:{target}" for source, target in value.items())
    raise AssertionError(f"event field {name} has no JSON type")  # KNOWN and the branches above agree


def parse_event(event: object, env: Mapping[str, str] | None = None) -> RestoreArgs:
    """The Restore Lambda's event (a JSON object with the job's argument names, JSON-typed:
    ``tables`` an array, ``target_tables`` an object, flags booleans, numbers numbers), through the
    same checks and messages as the job's arguments. Unknown fields, Glue's own arguments included,
    are an error naming the closest known one; ``backup_date`` defaults to ``latest`` and
    ``max_workers`` to ``LAMBDA_DEFAULT_MAX_WORKERS``."""
    if not isinstance(event, Mapping):
        raise ConfigError(
            f"the event is {_json_type(event)}; expected a JSON object such as "
            '{"backup_date": "latest", "tables": ["orders"], "dry_run": true}'
        )
    check_names(event, prefix="", glue=False)
    travel = [n for n in (*TIME_TRAVEL, "export_uri", "key_schema", "allow_chain_gaps") if n in event]
    if travel:
        raise ConfigError(
            f"event field {travel[0]!r} is for a time-travel restore, which runs on the restore job (Glue) or "
            "dynamodb-dr restore, not in the Restore Lambda; restore a daily backup here with backup_date"
        )
    if event.get("drill") is True:
        raise ConfigError(
            "a drill runs on the Glue restore job (it creates, restores, scans and deletes tables: longer than a "
            "Lambda may wait); its schedule starts it, or: aws glue start-job-run --job-name <restore job> "
            '--arguments \'{"--drill":"true","--backup_date":"latest"}\''
        )
    raw = {name: _event_value(name, value) for name, value in event.items()}
    raw.setdefault("backup_date", LATEST)
    raw.setdefault("max_workers", str(LAMBDA_DEFAULT_MAX_WORKERS))
    return _parse_raw(raw, os.environ if env is None else env)


def job_arguments(args: RestoreArgs) -> dict[str, str]:
    """``args`` as the Glue job's ``--name value`` arguments (StartJobRun ``Arguments``): parsing them
    with ``parse_args`` gives ``args`` back."""
    out = {
        f"--{config.BACKUP_BUCKET}": args.backup_bucket,
        f"--{config.S3_EXPORTS_PREFIX}": args.exports_prefix,
        "--dry_run": _flag(args.dry_run),
        "--clear_existing_data": _flag(args.clear_existing_data),
        "--create_missing_tables": _flag(args.create_missing_tables),
        "--max_workers": str(args.max_workers),
        "--resume": _flag(args.resume),
        "--import_mode": args.import_mode,
    }
    if args.backup_date:
        out = {"--backup_date": args.backup_date, **out}
    for name in (*TIME_TRAVEL, "export_uri"):
        if getattr(args, name):
            out[f"--{name}"] = getattr(args, name)
    if args.time_travel:
        out["--allow_chain_gaps"] = _flag(args.allow_chain_gaps)
    if args.export_target:
        out["--target_tables"] = args.export_target
    if args.key_schema:
        out["--key_schema"] = ",".join(f"{n}:{t}" for n, t in args.key_schema)
    if args.environment:
        out[f"--{config.ENVIRONMENT}"] = args.environment
    if args.tables is not None:
        out["--tables"] = ",".join(args.tables)
    if args.target_tables:
        out["--target_tables"] = ",".join(f"{s}:{t}" for s, t in args.target_tables)
    if args.max_write_rate is not None:
        out["--max_write_rate"] = _number(args.max_write_rate)
    if args.write_rate_percent is not None:
        out["--write_rate_percent"] = _number(args.write_rate_percent)
    if args.verify and not args.drill:
        out["--verify"] = "true"
    if args.verify_only:
        out["--verify_only"] = "true"
    if args.verify_timestamp_attribute:
        out["--verify_timestamp_attribute"] = args.verify_timestamp_attribute
    if args.drill:
        out["--drill"] = "true"
        out["--keep_drill_tables"] = _flag(args.keep_drill_tables)
        if args.drill_topic_arn:
            out["--drill_topic_arn"] = args.drill_topic_arn
    return out


def _number(value: float) -> str:
    """``250`` for 250.0, ``0.5`` for 0.5: exact (``repr``), without a trailing ``.0``."""
    return str(int(value)) if value.is_integer() else repr(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"
