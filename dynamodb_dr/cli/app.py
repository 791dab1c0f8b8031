"""The ``dynamodb-dr`` commands: parse the command line, build the clients, call one library
function, print its result (a table, or JSON with ``--json``) and return the exit code.

Exit codes are the restore job's: 0 ok, 1 failed (a check found a bad file, a restore failed, AWS
answered an error), 2 bad input, nothing started (an unknown argument or date, no such bucket,
table or incident, no credentials or region). Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import boto3
import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from rich.table import Table

from dynamodb_dr import __version__, config
from dynamodb_dr.aws_errors import describe, error_code, is_missing_bucket
from dynamodb_dr.cli import backups as backups_lib
from dynamodb_dr.cli import diff as diff_lib
from dynamodb_dr.cli import incidents as incidents_lib
from dynamodb_dr.cli import restore as restore_lib
from dynamodb_dr.cli.output import (
    ProgressView,
    console,
    duration,
    emit_json,
    error_line,
    note,
    size,
)
from dynamodb_dr.clients import make_client
from dynamodb_dr.errors import BackupNotFoundError, ConfigError, DynamoDBDRError
from dynamodb_dr.restore.args import check_names, parse_args, split_argv
from dynamodb_dr.restore.dispatch import check_restore
from dynamodb_dr.restore.timetravel.summary import summary_lines

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

REFUSED_CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)

F = TypeVar("F", bound=Callable[..., Any])


class BadInput(Exception):
    """Raised by a command for input it refuses (mapped to exit 2)."""


def _one_line(exc: BaseException) -> tuple[str, int]:
    """The message and exit code of an error that ends a command."""
    if isinstance(exc, ConfigError | BackupNotFoundError | BadInput):
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or run where an IAM role provides them",
            EXIT_BAD_INPUT,
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)", EXIT_BAD_INPUT
    if isinstance(exc, ClientError):
        if error_code(exc) in REFUSED_CREDENTIALS:
            return (
                f"AWS refused the credentials ({describe(exc)}); check AWS_PROFILE / the keys",
                EXIT_BAD_INPUT,
            )
        if is_missing_bucket(exc):
            return f"the bucket does not exist ({describe(exc)})", EXIT_BAD_INPUT
        return f"{exc.operation_name} failed: {describe(exc)}", EXIT_FAILED
    if isinstance(exc, DynamoDBDRError):
        return str(exc), EXIT_FAILED
    return f"{type(exc).__name__}: {exc}", EXIT_FAILED


def handled(func: F) -> F:
    """Errors become one line on stderr (and with ``--json`` an object on stdout) and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return int(func(*args, **kwargs) or 0)
        except (DynamoDBDRError, BadInput, ClientError, BotoCoreError) as exc:
            message, code = _one_line(exc)
            error_line(message)
            if kwargs.get("as_json"):
                emit_json({"ok": False, "exit_code": code, "error": message})
            return code

    return wrapper  # type: ignore[return-value]


def _session() -> boto3.session.Session:
    """One session for the command; no credentials is bad input before any call is made."""
    session = boto3.session.Session()
    if session.get_credentials() is None:
        raise NoCredentialsError()
    return session


def _clients(*services: str) -> list[Any]:
    session = _session()
    return [make_client(service, session=session) for service in services]


def _bucket(bucket: str | None, prefix: str) -> tuple[str, str]:
    if not bucket:
        raise ConfigError(
            "no backup bucket: pass --bucket or set BACKUP_BUCKET, e.g. --bucket my-dynamodb-backups"
        )
    return (
        config.parse_bucket(bucket, source="--bucket"),
        config.parse_prefix(prefix, source="--prefix"),
    )


def _quiet_logs(verbose: bool) -> None:
    """The library logs JSON lines; the CLI shows its own output and only the library's warnings
    (``--verbose``: every log line, as the job writes them)."""
    if verbose:
        from dynamodb_dr.logs import configure_json_logging

        configure_json_logging()
        return
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for noisy in ("py4j", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")


def bucket_options(func: F) -> F:
    func = click.option(
        "--prefix",
        envvar=config.S3_EXPORTS_PREFIX,
        default=config.DEFAULT_EXPORTS_PREFIX,
        show_default=True,
        help="Key prefix of the backups (env S3_EXPORTS_PREFIX).",
    )(func)
    return click.option(
        "--bucket", envvar=config.BACKUP_BUCKET, help="The backup bucket (env BACKUP_BUCKET)."
    )(func)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  dynamodb-dr backups list --bucket my-dynamodb-backups
  dynamodb-dr backups check latest --tables orders
  dynamodb-dr diff latest --tables orders
  dynamodb-dr restore --backup_date latest --tables orders --dry_run true
  dynamodb-dr restore --on glue --job-name dynamodb-dr-prod-restore --backup_date 2026-01-15
  dynamodb-dr incidents list --state-table dynamodb-dr-prod-incidents
  dynamodb-dr drills list --table orders

Exit codes: 0 ok, 1 failed, 2 bad input (nothing started), as the restore job's.
AWS credentials, region and endpoint come from the standard AWS variables and profiles.""",
)
@click.version_option(__version__, prog_name="dynamodb-dr")
def cli() -> None:
    """Operate DynamoDB backups: look at them, check them, compare them, restore them."""


# --- backups -----------------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def backups() -> None:
    """The backups in the backup bucket (one manifest per date)."""


@backups.command(
    "list",
    epilog="""\b
Examples:
  dynamodb-dr backups list --bucket my-dynamodb-backups
  BACKUP_BUCKET=my-dynamodb-backups dynamodb-dr backups list --limit 7 --json""",
)
@bucket_options
@click.option("--limit", type=click.IntRange(1), default=30, show_default=True, help="Newest dates to read.")
@json_option
@handled
def backups_list(bucket: str | None, prefix: str, limit: int, as_json: bool) -> int:
    """Backup dates, newest first: status, tables, items, size, age."""
    bucket, prefix = _bucket(bucket, prefix)
    (s3,) = _clients("s3")
    rows = backups_lib.list_backups(s3, bucket, prefix, limit=limit)
    if as_json:
        emit_json([asdict(r) for r in rows])
        return EXIT_OK
    if not rows:
        note(f"no backups under s3://{bucket}/{prefix}/")
        return EXIT_OK
    table = Table(title=f"backups in s3://{bucket}/{prefix}/")
    for column in ("date", "status", "tables", "items", "size", "age"):
        table.add_column(column, justify="right" if column in ("items", "size", "age") else "left")
    for r in rows:
        table.add_row(
            r.backup_date,
            r.status,
            ", ".join(r.tables) if r.tables else (r.error or ""),
            f"{r.items:,}",
            size(r.size_bytes),
            duration(r.age_seconds),
        )
    console().print(table)
    return EXIT_OK


@backups.command(
    "show",
    epilog="""\b
Examples:
  dynamodb-dr backups show latest
  dynamodb-dr backups show 2026-01-15 --json""",
)
@click.argument("date")
@bucket_options
@json_option
@handled
def backups_show(date: str, bucket: str | None, prefix: str, as_json: bool) -> int:
    """One backup (DATE = YYYY-MM-DD or latest): per table its export, counts and definition."""
    bucket, prefix = _bucket(bucket, prefix)
    (s3,) = _clients("s3")
    detail = backups_lib.show_backup(s3, bucket, prefix, date)
    if as_json:
        emit_json(asdict(detail))
        return EXIT_OK
    out = console()
    out.print(
        f"backup {detail.backup_date} ({detail.environment}): {detail.status}, "
        f"s3://{detail.bucket}/{detail.manifest_key}, updated {detail.updated_at}",
        markup=False,
    )
    table = Table()
    for column in ("table", "status", "items", "size", "files", "keys", "billing", "indexes", "export"):
        table.add_column(column)
    for t in detail.tables:
        table.add_row(
            t.table,
            t.status,
            f"{t.items:,}" if t.items is not None else "-",
            size(t.size_bytes),
            str(t.data_files) if t.data_files is not None else "-",
            t.key_schema or "-",
            t.billing_mode or "-",
            ", ".join(t.indexes) or "-",
            t.problem or f"{t.export_type or '-'} {t.output_format or ''} {t.export_arn or ''}".strip(),
        )
    out.print(table)
    out.print("chain: full exports only (no incremental exports yet)", markup=False)
    return EXIT_OK


def _tables_option(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError("--tables is empty; expected a comma list of table names, e.g. orders,users")
    return [config.parse_table_name(n, source="--tables") for n in names]


@backups.command(
    "check",
    epilog="""\b
Examples:
  dynamodb-dr backups check latest
  dynamodb-dr backups check 2026-01-15 --tables orders,users --threads 8 --json""",
)
@click.argument("date")
@bucket_options
@click.option("--tables", help="Comma list of tables (default: every table of the backup).")
@click.option(
    "--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Files checked at once."
)
@json_option
@handled
def backups_check(
    date: str, bucket: str | None, prefix: str, tables: str | None, threads: int, as_json: bool
) -> int:
    """Stream every data file: MD5, gzip and item count against the export's manifest. No Spark, no
    write. Exit 1 on any mismatch."""
    bucket, prefix = _bucket(bucket, prefix)
    chosen = _tables_option(tables)
    (s3,) = _clients("s3")
    result, data_bucket, jobs = backups_lib.plan_check(s3, bucket, prefix, date, chosen)
    done = 0

    with ProgressView() as view:

        def on_file(r: backups_lib.FileResult) -> None:
            nonlocal done
            done += 1
            verdict = f"ok, {r.items:,} items" if r.ok else f"FAILED: {r.error}"
            view.update(
                "check", f"checked {done}/{len(jobs)}", done, len(jobs), f"{r.table} {r.key}: {verdict}"
            )

        backups_lib.run_check(s3, data_bucket, result, jobs, threads=threads, on_file=on_file)
    if as_json:
        emit_json(
            {
                "ok": result.ok,
                "backup_date": result.backup_date,
                "tables": {name: {**asdict(t), "ok": t.ok} for name, t in result.tables.items()},
            }
        )
    else:
        table = Table(title=f"check of backup {result.backup_date}")
        for column in ("table", "result", "files", "items", "bytes"):
            table.add_column(column)
        for name, t in result.tables.items():
            bad = [r for r in t.results if not r.ok]
            verdict = "ok" if t.ok else (t.problem or f"{len(bad)} bad file(s)")
            table.add_row(
                name,
                verdict,
                f"{sum(r.ok for r in t.results)}/{t.files}",
                f"{sum(r.items for r in t.results):,}/{t.items_expected:,}",
                size(sum(r.bytes for r in t.results)),
            )
        console().print(table)
        for t in result.tables.values():
            for r in t.results:
                if not r.ok:
                    error_line(f"{t.table}: {r.error}")
    return EXIT_OK if result.ok else EXIT_FAILED


# --- restore -------------------------------------------------------------------------------------------


def _progress_detail(fields: dict[str, Any]) -> str:
    eta = fields.get("eta_seconds")
    return (
        f"{fields.get('items_done', 0):,}/{fields.get('items_total', 0):,} items  "
        f"files {fields.get('files_done', 0)}/{fields.get('files_total', 0)}  "
        f"{fields.get('items_per_second', 0):,.1f} items/s  ETA {duration(eta) if eta is not None else '?'}"
    )


def _show_progress(view: ProgressView) -> Callable[[dict[str, Any]], None]:
    def show(fields: dict[str, Any]) -> None:
        source, target = fields.get("table", "?"), fields.get("target_table", "?")
        label = f"restore {source}" + (f" -> {target}" if target != source else "")
        view.update(
            str(target),
            label,
            fields.get("items_done", 0),
            fields.get("items_total", 0),
            _progress_detail(fields),
        )

    return show


def _print_summary(report: dict[str, Any]) -> None:
    out = console()
    out.print(
        f"restore of backup {report.get('backup_date') or report.get('requested_date')}: "
        f"statusCode {report.get('statusCode')}" + (" (dry run)" if report.get("dry_run") else ""),
        markup=False,
    )
    table = Table()
    for column in (
        "table",
        "target",
        "status",
        "items",
        "skipped",
        "files",
        "seconds",
        "items/s",
        "target now",
    ):
        table.add_column(column)
    for name, r in report.get("tables", {}).items():
        seconds = r.get("seconds") or 0.0
        items = (
            f"{r.get('would_write')} (dry run)"
            if r.get("would_write") is not None
            else f"{r['items_written'] + r['items_skipped']:,}/{r['items_in_export']:,}"
        )
        table.add_row(
            name,
            r["target_table"],
            r["status"],
            items,
            f"{r['items_skipped']:,}",
            f"{r['files_written'] + r['files_skipped']}/{r['files']}",
            f"{seconds:.1f}",
            f"{r['items_written'] / seconds if seconds else 0.0:,.1f}",
            r.get("target_state", ""),
        )
    out.print(table)
    for name, r in report.get("tables", {}).items():
        v = r.get("verification")
        if v:
            out.print(
                f"verify {name} -> {v['target_table']}: {'OK' if v['ok'] else 'FAILED'}; {v['same']:,} same, "
                f"{v['missing']:,} missing, {v['extra']:,} extra, {v['different']:,} different, "
                f"{v['written_after_start']:,} written after the start, {v.get('extra_kept', 0):,} extra kept"
                + (f" ({v['extra_deleted']:,} deleted in the chain)" if v.get("extra_deleted") else "")
                + f"; {v['read_capacity_units']:g} RCU",
                markup=False,
            )
    for message in report.get("errors", []):
        error_line(message)
    for name, r in report.get("tables", {}).items():
        for message in r.get("errors", []):
            error_line(f"{name}: {message}")
    for message in report.get("warnings", []):
        note(f"warning: {message}")
    for line in summary_lines(report):  # time travel: effective point, windows, puts/deletes/conflicts
        note(line)
    if report.get("report_key"):
        note(f"report: {report['report_key']}")


@cli.command(
    context_settings={**CONTEXT, "ignore_unknown_options": True},
    epilog="""\b
JOB_ARGS are the restore job's own arguments, checked by the job's parser (a typo is an error):
  --backup_date YYYY-MM-DD|latest   --tables a,b   --target_tables a:a_scratch
  --dry_run true   --clear_existing_data true   --create_missing_tables true
  --max_workers N   --max_write_rate ITEMS_PER_S   --write_rate_percent P   --resume false
  --verify true   --verify_only true   --verify_timestamp_attribute updated_at   --drill true (--on glue)
  (verify, verify_only and drill: with --backup_date, --restore_time or --export_uri; not a rewind/undo)
  --import_mode auto|import|write  (a missing target: ImportTable or writes; default auto)
  --BACKUP_BUCKET b   --ENVIRONMENT e   --S3_EXPORTS_PREFIX p  (default: the environment variables)
  time travel, instead of --backup_date (incremental exports; docs/restore.md):
  --restore_time 2026-01-15T10:15:00Z   --rewind_to 2026-01-15T10:00:00Z   --undo_window FROM/TO
  --allow_chain_gaps true   --export_uri s3://BUCKET/PREFIX --target_tables NAME --key_schema pk:S,sk:N

\b
Examples:
  dynamodb-dr restore --backup_date latest --tables orders --dry_run true
  dynamodb-dr restore --backup_date 2026-01-15 --target_tables orders:orders_inspect --create_missing_tables true
  dynamodb-dr restore --on glue --job-name dynamodb-dr-prod-restore --backup_date latest --tables orders
  dynamodb-dr restore --rewind_to 2026-01-15T10:00:00Z --tables orders --dry_run true
  dynamodb-dr restore --BACKUP_BUCKET backups-replica-eu-west-1 --backup_date latest --create_missing_tables true""",
)
@click.option(
    "--on",
    "where",
    type=click.Choice(["spark", "glue"]),
    default="spark",
    show_default=True,
    help="spark: a local Spark session in this process; glue: a run of the deployed Glue job, followed to its end.",
)
@click.option(
    "--job-name",
    envvar="DYNAMODB_DR_RESTORE_JOB",
    help="The Glue job (--on glue; env DYNAMODB_DR_RESTORE_JOB).",
)
@click.option(
    "--progress-seconds",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="How often the progress bar moves (local); tasks record items within a file every 2 intervals.",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(0.1),
    default=15.0,
    show_default=True,
    help="GetJobRun interval (--on glue).",
)
@click.option("--verbose", is_flag=True, help="Also print the job's JSON log lines on stderr.")
@json_option
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED)
@handled
def restore(
    where: str,
    job_name: str | None,
    progress_seconds: float,
    poll_seconds: float,
    verbose: bool,
    as_json: bool,
    job_args: tuple[str, ...],
) -> int:
    """Restore a backup with the restore job's arguments (JOB_ARGS), with a live progress bar per
    table (items, rate, ETA), then the summary table. Exit 0 restored, 1 failed, 2 bad input."""
    _quiet_logs(verbose)
    argv = list(job_args)
    check_names(split_argv(argv))  # a typo is refused before credentials or AWS are looked at
    view = ProgressView()
    if where == "glue":
        if not job_name:
            raise ConfigError(
                "--on glue needs --job-name (or DYNAMODB_DR_RESTORE_JOB): the deployed restore job"
            )
        glue, logs, s3, dynamodb = _clients("glue", "logs", "s3", "dynamodb")
        job, run = restore_lib.check_glue(glue, job_name, argv, s3=s3, dynamodb=dynamodb)
        started: list[str] = []

        def on_started(run_id: str) -> None:
            started.append(run_id)
            note(f"started Glue job run {run_id} of {job_name}")

        try:
            with view:
                result = restore_lib.run_on_glue(
                    glue,
                    logs,
                    s3,
                    job,
                    run,
                    argv,
                    poll_seconds=poll_seconds,
                    on_started=on_started,
                    on_state=lambda state: note(f"job run state: {state}"),
                    on_progress=_show_progress(view),
                )
        except KeyboardInterrupt:
            if started:
                note(
                    f"stopped following; job run {started[0]} goes on in Glue. Stop it with: aws glue "
                    f"batch-stop-job-run --job-name {job_name} --job-run-ids {started[0]}"
                )
            raise
        if as_json:
            emit_json(asdict(result))
        else:
            if result.report is not None:
                _print_summary(result.report)
            else:
                note(
                    f"the run stored no report under s3://{run.args.backup_bucket}/ (see log group {result.log_group})"
                )
            if result.error_message:
                error_line(f"job run {result.run_id} {result.state}: {result.error_message}")
        return restore_lib.glue_exit_code(result)

    args = parse_args(argv, dict(os.environ))
    if args.drill:
        raise ConfigError(
            "--drill runs as the restore job (it also records the drill, deletes its scratch tables and announces "
            "the result): dynamodb-dr restore --on glue --job-name <restore job> --drill true, or locally "
            "python glue_jobs/restore_job.py --drill true --backup_date latest"
        )
    restore_lib.require_spark()
    s3, dynamodb = _clients("s3", "dynamodb")
    run = check_restore(args, s3=s3, dynamodb=dynamodb)
    travel = getattr(run, "travel", None)  # time travel (restore.timetravel): its own tables
    note(
        f"{getattr(run, 'mode', '')} {run.report.requested_date} on local Spark: {', '.join(t.source for t in travel)}"
        if travel is not None
        else f"restoring backup {run.report.backup_date} on local Spark: {', '.join(t.source for t in run.tables)}"
    )
    try:
        with view:
            report = restore_lib.run_local(
                run, progress_seconds=progress_seconds, on_progress=_show_progress(view)
            )
    except KeyboardInterrupt:
        note(
            "interrupted; the same command again resumes the restore (data files written in full are skipped)"
        )
        raise
    if as_json:
        emit_json(report)
    else:
        _print_summary(report)
    status = report.get("statusCode")
    return EXIT_OK if status == 200 else EXIT_BAD_INPUT if status == 400 else EXIT_FAILED


# --- diff ------------------------------------------------------------------------------------------------


@cli.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  dynamodb-dr diff latest --tables orders
  dynamodb-dr diff 2026-01-15 --tables orders:orders_inspect,users --json""",
)
@click.argument("date")
@bucket_options
@click.option(
    "--tables", required=True, help="Comma list of tables; source:target compares with another table."
)
@json_option
@handled
def diff(date: str, bucket: str | None, prefix: str, tables: str, as_json: bool) -> int:
    """What restoring DATE (YYYY-MM-DD or latest) would change in the live tables: items missing,
    extra (left unless --clear_existing_data) and different, with sample keys. Read-only."""
    bucket, prefix = _bucket(bucket, prefix)
    pairs = diff_lib.parse_table_pairs(tables)
    for source, target in pairs:
        config.parse_table_name(source, source="--tables")
        config.parse_table_name(target, source="--tables")
    s3, dynamodb = _clients("s3", "dynamodb")
    manifest = backups_lib.resolve(s3, bucket, prefix, date)
    diff_lib.check_tables(manifest, pairs)
    results = [
        diff_lib.diff_table(s3, dynamodb, manifest, source, target, bucket=bucket) for source, target in pairs
    ]
    if as_json:
        emit_json(
            {
                "backup_date": manifest.backup_date,
                "tables": [{**asdict(r), "identical": r.identical} for r in results],
            }
        )
        return EXIT_OK
    out = console()
    table = Table(title=f"backup {manifest.backup_date} vs live tables")
    for column in ("table", "target", "backup items", "live items", "missing", "extra", "different", "same"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.table,
            r.target_table if r.target_exists else f"{r.target_table} (does not exist)",
            f"{r.backup_items:,}",
            f"{r.live_items:,}",
            f"{r.missing:,}",
            f"{r.extra:,}",
            f"{r.different:,}",
            f"{r.same:,}",
        )
    out.print(table)
    for r in results:
        for label, keys in (
            ("missing", r.missing_keys),
            ("extra", r.extra_keys),
            ("different", r.different_keys),
        ):
            if keys:
                out.print(f"{r.table} {label}: " + "; ".join(keys), markup=False)
        if r.identical:
            out.print(f"{r.table}: identical to the backup", markup=False)
    return EXIT_OK


# --- incidents --------------------------------------------------------------------------------------------


def state_table_option(func: F) -> F:
    return click.option(
        "--state-table",
        envvar=incidents_lib.STATE_TABLE_ENV,
        help="The stream recovery state table (env INCIDENT_STATE_TABLE).",
    )(func)


def _state_table(value: str | None) -> str:
    if not value:
        raise ConfigError("no incident state table: pass --state-table or set INCIDENT_STATE_TABLE")
    return config.parse_table_name(value, source="--state-table")


@cli.group(context_settings=CONTEXT)
def incidents() -> None:
    """Stream recovery incidents and the actions taken on them."""


@incidents.command(
    "list",
    epilog="""\b
Examples:
  dynamodb-dr incidents list --state-table dynamodb-dr-prod-incidents
  INCIDENT_STATE_TABLE=dynamodb-dr-prod-incidents dynamodb-dr incidents list --json""",
)
@state_table_option
@json_option
@handled
def incidents_list(state_table: str | None, as_json: bool) -> int:
    """Every incident, newest first: table, reason, action and its status."""
    name = _state_table(state_table)
    (dynamodb,) = _clients("dynamodb")
    found = incidents_lib.read_incidents(dynamodb, name)
    if as_json:
        emit_json(found)
        return EXIT_OK
    if not found:
        note(f"no incidents in {name}")
        return EXIT_OK
    table = Table(title=f"incidents in {name}")
    for column in ("incident", "created", "reason", "action", "status", "target / job"):
        table.add_column(column)
    for i in found:
        table.add_row(
            str(i.get("incident_id", i.get("pk"))),
            str(i.get("created_at", "")),
            str(i.get("reason", "")),
            str(i.get("action", "")),
            str(i.get("action_status", "")),
            str(i.get("target_table") or i.get("restore_job_id") or ""),
        )
    console().print(table)
    return EXIT_OK


@incidents.command(
    "show",
    epilog="""\b
Examples:
  dynamodb-dr incidents show 'orders@20260115T101500Z' --state-table dynamodb-dr-prod-incidents""",
)
@click.argument("incident_id")
@state_table_option
@json_option
@handled
def incidents_show(incident_id: str, state_table: str | None, as_json: bool) -> int:
    """One incident (its id, or its pk), every field it has."""
    name = _state_table(state_table)
    (dynamodb,) = _clients("dynamodb")
    incident = incidents_lib.find_incident(incidents_lib.read_incidents(dynamodb, name), incident_id)
    if as_json:
        emit_json(incident)
        return EXIT_OK
    table = Table(title=f"incident {incident.get('incident_id')}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key in sorted(incident):
        table.add_row(key, str(incident[key]))
    console().print(table)
    return EXIT_OK


# --- drills --------------------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def drills() -> None:
    """The DR drills' results, kept with the backups (the restore job's --drill true)."""


@drills.command(
    "list",
    epilog="""\b
Examples:
  dynamodb-dr drills list
  dynamodb-dr drills list --table orders --json""",
)
@bucket_options
@click.option("--table", help="Only this table's drills.")
@click.option(
    "--limit", type=click.IntRange(1), default=100, show_default=True, help="Newest drills to read."
)
@json_option
@handled
def drills_list(bucket: str | None, prefix: str, table: str | None, limit: int, as_json: bool) -> int:
    """Each drill, oldest first: table, status, RTO (request to verified), RPO (age of the data
    restored), items, cost, whether the scratch table was deleted."""
    from dynamodb_dr.drill_history import drill_rows

    bucket, prefix = _bucket(bucket, prefix)
    (s3,) = _clients("s3")
    rows = drill_rows(s3, bucket, prefix, table=table, limit=limit)
    if as_json:
        emit_json([asdict(r) for r in rows])
        return EXIT_OK
    if not rows:
        note(f"no drill reports under s3://{bucket}/{prefix}/drills/{table + '/' if table else ''}")
        return EXIT_OK
    out = Table(title=f"DR drills in s3://{bucket}/{prefix}/drills/")
    for column in ("requested", "table", "status", "backup", "RTO", "RPO", "items", "WCU", "RCU", "scratch"):
        out.add_column(column, justify="right" if column in ("RTO", "RPO", "items", "WCU", "RCU") else "left")
    for r in rows:
        out.add_row(
            r.requested_at,
            r.table,
            r.status,
            r.backup_date or "",
            duration(r.rto_seconds) if r.rto_seconds is not None else "-",
            duration(r.rpo_seconds) if r.rpo_seconds is not None else "-",
            f"{r.items_restored:,}",
            f"{r.write_capacity_units:,.0f}",
            f"{r.read_capacity_units:,.1f}",
            "deleted" if r.scratch_table_deleted else "NOT deleted",
        )
    console().print(out)
    for r in rows:
        if r.errors:
            note(f"{r.table} {r.requested_at}: {r.errors[0]}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command, exit with its code."""
    try:
        code = cli.main(args=argv, prog_name="dynamodb-dr", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.Abort:
        error_line("aborted")
        code = EXIT_FAILED
    raise SystemExit(code if isinstance(code, int) else EXIT_OK)
