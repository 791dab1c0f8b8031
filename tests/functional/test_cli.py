"""``dynamodb-dr`` as an operator runs it: the console script in a subprocess, against the local
endpoint (a real moto server over HTTP), checking what it prints and its exit code.

The console script is exercised as installed: ``console_script`` writes, from the entry point that
pyproject.toml declares (``[project.scripts]``), the same launcher pip generates for it
(``from dynamodb_dr.cli import main; sys.exit(main())``) and runs that file with this interpreter.
``python -m dynamodb_dr.cli`` is checked to be the same program.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from dynamodb_dr.logs import JsonFormatter
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.job import run_restore
from dynamodb_dr.restore.report import RestoreReport, store_report
from dynamodb_dr.restore.runner import ThreadRunner
from local_aws import export_layout
from tests.support.backups import PREFIX, create_table, data_files, make_backup, put_items
from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS, every_type_item, scan_all, simple_item

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "cli-backups"
DAY1, DAY2, DAY3 = "2026-01-14", "2026-01-15", "2026-01-16"
ERROR = "dynamodb-dr: error: "


@pytest.fixture(scope="module")
def console_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The launcher pip writes for ``[project.scripts] dynamodb-dr``, made from pyproject.toml."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["dynamodb-dr"].split(":")
    path = tmp_path_factory.mktemp("bin") / "dynamodb-dr"
    path.write_text(
        f"#!{sys.executable}\n"
        "import re\nimport sys\n"
        f"from {module} import {function}\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        f"    sys.exit({function}())\n"
    )
    path.chmod(0o755)
    return path


def base_env(**changes: str | None) -> dict[str, str]:
    """This process's environment (the local endpoint's variables, once ``aws`` ran) without any
    bucket or state table of the machine, with ``changes`` applied (None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if k not in ("BACKUP_BUCKET", "INCIDENT_STATE_TABLE")}
    env.update(PYTHONPATH=str(ROOT), AWS_EC2_METADATA_DISABLED="true", COLUMNS="200")
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(
    script: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(script), *args], env=env or base_env(), capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def assert_bad_input(done: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2 and one line on stderr, naming the problem."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1 and lines[0].startswith(ERROR), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture
def backups(aws):
    """``users`` (7 items of every type, 3 data files + an empty one) backed up on DAY1 and DAY2;
    DAY3's backup failed for ``users``."""
    export_layout.configure(items_per_file=3, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "users", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "users", [every_type_item(f"u{i}") for i in range(7)])
    make_backup(ddb, s3, BUCKET, ["users"], DAY1)
    manifest = make_backup(ddb, s3, BUCKET, ["users"], DAY2)
    make_backup(ddb, s3, BUCKET, ["users"], DAY3, statuses={"users": "FAILED"})
    return ddb, s3, manifest


# --- backups -----------------------------------------------------------------------------------------


def test_backups_list_show_and_check(backups, console_script):
    _, s3, manifest = backups
    env = base_env(BACKUP_BUCKET=BUCKET)

    listed = run(console_script, "backups", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    rows = {d: next(line for line in lines if d in line) for d in (DAY1, DAY2, DAY3)}
    assert lines.index(rows[DAY3]) < lines.index(rows[DAY2]) < lines.index(rows[DAY1])  # newest first
    assert "COMPLETE" in rows[DAY2] and "users" in rows[DAY2] and re.search(r"\b7\b", rows[DAY2])
    assert "FAILED" in rows[DAY3]

    as_json = json.loads(run(console_script, "backups", "list", "--json", env=env).stdout)
    assert [(r["backup_date"], r["status"], r["tables"], r["items"]) for r in as_json] == [
        (DAY3, "FAILED", ["users"], 7),
        (DAY2, "COMPLETE", ["users"], 7),
        (DAY1, "COMPLETE", ["users"], 7),
    ]
    assert all(r["age_seconds"] is not None and r["age_seconds"] < 600 for r in as_json)

    shown = run(console_script, "backups", "show", "latest", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["backup_date"] == DAY2 and detail["status"] == "COMPLETE"
    (users,) = detail["tables"]
    files_listed = data_files(s3, BUCKET, manifest.tables["users"])
    assert (users["table"], users["items"], users["data_files"]) == ("users", 7, len(files_listed)) and len(
        files_listed
    ) == 4
    assert users["key_schema"] == "pk (S, HASH)" and users["export_type"] == "FULL_EXPORT"
    human = run(console_script, "backups", "show", DAY1, env=env)
    assert human.returncode == 0 and "pk (S, HASH)" in human.stdout and "PAY_PER_REQUEST" in human.stdout

    checked = run(console_script, "backups", "check", "latest", env=env)
    assert checked.returncode == 0, checked.stderr
    progress = [line for line in checked.stderr.splitlines() if line.startswith("checked ")]
    assert [line.split()[1] for line in progress] == ["1/4", "2/4", "3/4", "4/4"]
    assert progress[-1].startswith("checked 4/4  [####################]")
    assert re.search(r"users\s.*ok\s.*4/4\s.*7/7", checked.stdout), checked.stdout

    # One data file altered after the export: the check names it and exits 1, the others pass.
    bad = files_listed[0]["dataFileS3Key"]
    s3.put_object(Bucket=BUCKET, Key=bad, Body=b"\x1f\x8b not what was exported")
    failed = run(console_script, "backups", "check", DAY2, "--tables", "users", "--json", env=env)
    assert failed.returncode == 1, failed.stderr
    report = json.loads(failed.stdout)
    results = {r["key"]: r for r in report["tables"]["users"]["results"]}
    assert report["ok"] is False and len(results) == 4
    assert not results[bad]["ok"] and "MD5" in results[bad]["error"]
    assert all(r["ok"] for key, r in results.items() if key != bad)
    assert run(console_script, "backups", "check", DAY1, env=env).returncode == 0  # other day untouched


def test_on_a_terminal_the_progress_is_a_live_bar(backups, console_script):
    """On a terminal (a pseudo-terminal here) the bar is drawn in place by rich, not one line per update."""
    import pty

    primary, secondary = pty.openpty()
    env = base_env(BACKUP_BUCKET=BUCKET, TERM="xterm-256color")
    done = subprocess.Popen(
        [str(console_script), "backups", "check", "latest"],
        env=env, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, cwd=ROOT,
    )  # fmt: skip
    os.close(secondary)
    screen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        screen += chunk
    os.close(primary)
    assert done.wait(timeout=60) == 0, screen.decode(errors="replace")
    text = screen.decode("utf-8", errors="replace")
    assert "checked 4/4" in text and "\u2501" in text  # rich's bar ("━"), not the plain "[####...]"
    assert "\x1b[" in text and "[####" not in text


def test_bad_input_is_one_line_and_exit_2(backups, console_script):
    env = base_env(BACKUP_BUCKET=BUCKET)
    assert_bad_input(
        run(console_script, "backups", "show", "2026-03-01", env=env), "no backup manifest for 2026-03-01"
    )
    assert_bad_input(
        run(console_script, "backups", "check", "2026-02-30", env=env), "not a real calendar date"
    )
    assert_bad_input(
        run(console_script, "backups", "check", "latest", "--tables", "orders", env=env), "orders", "users"
    )
    assert_bad_input(run(console_script, "diff", "yesterday", "--tables", "users", env=env), "YYYY-MM-DD")
    assert_bad_input(
        run(console_script, "backups", "list", env=base_env()), "no backup bucket", "BACKUP_BUCKET"
    )
    assert_bad_input(
        run(console_script, "backups", "list", "--bucket", "no-such-bucket-here", env=env),
        "no-such-bucket-here",
        "does not exist",
    )
    no_credentials = base_env(
        BACKUP_BUCKET=BUCKET,
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_SESSION_TOKEN=None,
        AWS_PROFILE=None,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    for command in (
        ["backups", "list"],
        ["restore", "--backup_date", "latest", "--on", "glue", "--job-name", "j"],
    ):
        assert_bad_input(run(console_script, *command, env=no_credentials), "no AWS credentials")
    as_json = run(console_script, "backups", "show", "2026-03-01", "--json", env=env)
    assert json.loads(as_json.stdout) == {
        "ok": False,
        "exit_code": 2,
        "error": as_json.stderr.strip()[len(ERROR) :],
    }


def test_python_m_is_the_same_program(console_script):
    by_module = subprocess.run(
        [sys.executable, "-m", "dynamodb_dr.cli", "--version"], env=base_env(), capture_output=True, text=True
    )
    by_script = run(console_script, "--version")
    assert by_module.returncode == by_script.returncode == 0
    assert by_module.stdout == by_script.stdout and "dynamodb-dr, version" in by_script.stdout
    helped = run(console_script, "restore", "--help")
    assert helped.returncode == 0 and "Examples:" in helped.stdout and "--backup_date" in helped.stdout
    for command in (
        ["backups", "list"],
        ["backups", "show"],
        ["backups", "check"],
        ["diff"],
        ["incidents", "list"],
        ["incidents", "show"],
    ):
        helped = run(console_script, *command, "--help")
        assert helped.returncode == 0 and "Examples:" in helped.stdout and "--json" in helped.stdout, command
        assert f"dynamodb-dr {' '.join(command)} " in helped.stdout, command  # its examples are its own


# --- diff ----------------------------------------------------------------------------------------------


def test_diff_counts_missing_extra_and_different_items_read_only(backups, console_script):
    ddb, _, _ = backups
    env = base_env(BACKUP_BUCKET=BUCKET)
    ddb.delete_item(TableName="users", Key={"pk": {"S": "u1"}})
    ddb.put_item(TableName="users", Item={**every_type_item("u2"), "s": {"S": "changed"}})
    ddb.put_item(TableName="users", Item=every_type_item("junk"))
    before = scan_all(ddb, "users")

    done = run(console_script, "diff", "latest", "--tables", "users,users:users_scratch", "--json", env=env)

    assert done.returncode == 0, done.stderr
    live, scratch = json.loads(done.stdout)["tables"]
    assert (live["backup_items"], live["live_items"]) == (7, 7)
    assert (live["missing"], live["extra"], live["different"], live["same"]) == (1, 1, 1, 5)
    assert (live["missing_keys"], live["extra_keys"], live["different_keys"]) == (
        ["pk=u1"],
        ["pk=junk"],
        ["pk=u2"],
    )
    assert live["identical"] is False
    assert scratch["target_exists"] is False and scratch["missing"] == 7
    assert scan_all(ddb, "users") == before  # read-only

    human = run(console_script, "diff", DAY1, "--tables", "users", env=env)
    assert (
        human.returncode == 0
        and "users missing: pk=u1" in human.stdout
        and "users extra: pk=junk" in human.stdout
    )
    assert_bad_input(
        run(console_script, "diff", "latest", "--tables", "orders", env=env), "orders", "not in the backup"
    )


# --- incidents -----------------------------------------------------------------------------------------


STATE = "cli-incident-state"


def test_incidents_list_and_show_read_the_state_table(aws, console_script):
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=STATE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    items = [  # the layout stream_recovery.state documents
        {
            "pk": {"S": "INCIDENT#orders#29400000"},
            "incident_id": {"S": "orders@20260115T100000Z"},
            "table_name": {"S": "orders"},
            "reason": {"S": "user delete"},
            "detail": {"S": "REMOVE of a protected item"},
            "first_record_time": {"N": "1768471200.5"},
            "created_at": {"S": "2026-01-15T10:00:01Z"},
            "action": {"S": "item_repair"},
            "action_status": {"S": "done"},
            "items_repaired": {"N": "3"},
            "records_seen": {"N": "4"},
        },
        {
            "pk": {"S": "INCIDENT#orders#29400001"},
            "continues": {"S": "INCIDENT#orders#29400000"},
            "incident_id": {"S": "orders@20260115T100000Z"},
        },
        {
            "pk": {"S": "INCIDENT#users#29400500"},
            "incident_id": {"S": "users@20260116T060000Z"},
            "table_name": {"S": "users"},
            "reason": {"S": "burst of deletes"},
            "detail": {"S": "120 REMOVE in 60 s"},
            "first_record_time": {"N": "1768543200"},
            "created_at": {"S": "2026-01-16T06:00:02Z"},
            "action": {"S": "pitr_restore"},
            "action_status": {"S": "started"},
            "target_table": {"S": "users-recovery-20260116T055959"},
            "announced": {"BOOL": True},
            "escalated_to": {"SS": ["oncall", "dba"]},  # a field this CLI does not know
        },
        {"pk": {"S": "BURST#users#29400500"}, "records": {"SS": ["1768543200000#1"]}},
        {"pk": {"S": "REPAIR#orders#abc"}},
        {"pk": {"S": "FOLLOWUP#restored-table-settings"}, "pending": {"SS": ["INCIDENT#users#29400500"]}},
    ]
    for item in items:
        ddb.put_item(TableName=STATE, Item=item)
    env = base_env(INCIDENT_STATE_TABLE=STATE)

    listed = run(console_script, "incidents", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert [i["incident_id"] for i in found] == ["users@20260116T060000Z", "orders@20260115T100000Z"]
    assert found[1]["items_repaired"] == 3 and found[1]["first_record_time"] == 1768471200.5
    assert found[0]["escalated_to"] == ["dba", "oncall"]
    human = run(console_script, "incidents", "list", env=env)
    assert (
        human.returncode == 0
        and "pitr_restore" in human.stdout
        and "users-recovery-20260116T055959" in human.stdout
    )

    shown = run(console_script, "incidents", "show", "users@20260116T060000Z", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "escalated_to" in shown.stdout and "started" in shown.stdout
    assert (
        json.loads(
            run(console_script, "incidents", "show", "INCIDENT#orders#29400000", "--json", env=env).stdout
        )["action_status"]
        == "done"
    )

    assert_bad_input(run(console_script, "incidents", "show", "nope", env=env), "no incident 'nope'")
    assert_bad_input(run(console_script, "incidents", "list", env=base_env()), "INCIDENT_STATE_TABLE")
    assert_bad_input(
        run(console_script, "incidents", "list", "--state-table", "no-such-state", env=env), "does not exist"
    )


# --- restore -------------------------------------------------------------------------------------------


def test_restore_bad_input_is_refused_before_anything_starts(backups, console_script):
    env = base_env(BACKUP_BUCKET=BUCKET)
    started = time.monotonic()
    assert_bad_input(
        run(console_script, "restore", "--backup_date", "2026-03-01", env=env), "no backup manifest"
    )
    assert_bad_input(
        run(console_script, "restore", "--backup_date", DAY2, "--dry-run", "true", env=env),
        "did you mean --dry_run",
    )
    assert_bad_input(
        run(console_script, "restore", "--backup_date", DAY2, env=base_env()), "--BACKUP_BUCKET is missing"
    )
    assert_bad_input(
        run(console_script, "restore", "--backup_date", DAY2, "--tables", "orders", env=env),
        "orders",
        "not in the backup",
    )
    assert time.monotonic() - started < 60  # no Spark was started for any of them


PROGRESS_LINE = re.compile(
    r"^restore (\S+)(?: -> (\S+))?  \[[#-]{20}\]  ([\d,]+)/([\d,]+) items  files (\d+)/(\d+)  "
)


def progress_of(stderr: str) -> list[tuple[int, int, int]]:
    """(items done, files done, files total) of each progress line."""
    found = []
    for line in stderr.splitlines():
        match = PROGRESS_LINE.match(line)
        if match:
            found.append((int(match[3].replace(",", "")), int(match[5]), int(match[6])))
    return found


@pytest.mark.spark
def test_restore_on_local_spark_shows_progress_within_a_data_file(aws, console_script):
    """One data file of 240 items at a budget of 40 items/s: the bar must move while the file is
    still being written, then end at 240/240 with the report (--json) and exit 0. One batch in flight
    (``--max_workers 1``): the task counts items written as answers come back, so with 4 in flight
    and only 10 batches it would move in steps of 100 items."""
    export_layout.configure(items_per_file=1000, empty_files=0)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "orders", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "orders", [simple_item(f"o{i:03d}", i) for i in range(240)])
    expected = scan_all(ddb, "orders")
    manifest = make_backup(ddb, s3, BUCKET, ["orders"], DAY2)
    assert len(data_files(s3, BUCKET, manifest.tables["orders"])) == 1
    ddb.delete_table(TableName="orders")

    done = run(
        console_script,
        "restore",
        "--progress-seconds",
        "0.5",
        "--backup_date",
        "latest",
        "--create_missing_tables",
        "true",
        "--max_write_rate",
        "40",
        "--max_workers",
        "1",
        "--import_mode",  # the write path's progress bar is what this test reads
        "write",
        "--json",
        env=base_env(BACKUP_BUCKET=BUCKET),
        timeout=400,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    progress = progress_of(done.stderr)
    within = sorted({items for items, files, total in progress if files == 0 and 0 < items < 240})
    assert len(within) >= 2, done.stderr[-3000:]  # moved at least twice inside the one data file
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)  # never goes back
    assert progress[-1] == (240, 1, 1)
    report = json.loads(done.stdout)  # --json: the job's report
    assert report["statusCode"] == 200 and report["tables"]["orders"]["items_written"] == 240
    assert report["tables"]["orders"]["created"] is True
    assert scan_all(ddb, "orders") == expected


# --- restore --on glue -------------------------------------------------------------------------------------


JOB = "dynamodb-dr-test-restore"
LOG_GROUP = f"/aws-glue/jobs/{JOB}"


def _set_job_run_transitions(endpoint: str, transition: dict[str, Any] | None) -> None:
    if transition is None:
        requests.post(
            f"{endpoint}/moto-api/state-manager/unset-transition",
            json={"model_name": "glue::job_run"},
            timeout=10,
        )
        return
    requests.post(
        f"{endpoint}/moto-api/state-manager/set-transition",
        json={"model_name": "glue::job_run", "transition": transition},
        timeout=10,
    ).raise_for_status()


class _ProgressLines(logging.Handler):
    """The ``restore progress`` records, formatted as the job's JSON log writes them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "restore progress":
            self.lines.append(self.format(record))


def _job_output(ddb: Any, s3: Any, *job_args: str) -> tuple[list[str], RestoreReport]:
    """What the job itself logs and reports for a restore: the real restore (on threads: the same
    stages and task functions as on Spark) and its progress lines as the job's JSON log has them."""
    handler = _ProgressLines()
    logger = logging.getLogger("dynamodb_dr.restore.progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        args = parse_args([*job_args, "--BACKUP_BUCKET", BUCKET])
        report = run_restore(args, s3=s3, dynamodb=ddb, runner=ThreadRunner(2), progress_seconds=0.05)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    return handler.lines, report


@pytest.fixture
def glue_job(backups):
    """The deployed restore job (as Terraform defines its arguments) and its log group; job runs
    stay STARTING 3 s, then RUNNING 3 s, then end SUCCEEDED."""
    glue, logs = boto3.client("glue"), boto3.client("logs")
    glue.create_job(
        Name=JOB,
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/artifacts/restore_job.py"},
        DefaultArguments={
            "--BACKUP_BUCKET": BUCKET,
            "--ENVIRONMENT": "test",
            "--S3_EXPORTS_PREFIX": PREFIX,
            "--enable-continuous-cloudwatch-log": "true",
            "--continuous-log-logGroup": LOG_GROUP,
        },
    )
    logs.create_log_group(logGroupName=LOG_GROUP)
    _set_job_run_transitions(os.environ["AWS_ENDPOINT_URL"], {"progression": "time", "seconds": 3})
    yield glue, logs
    _set_job_run_transitions(os.environ["AWS_ENDPOINT_URL"], None)


def follow_glue_run(
    console_script: Path, logs: Any, s3: Any, job_output: tuple[list[str], RestoreReport], *job_args: str
) -> tuple[subprocess.Popen, str, str, str]:
    """``dynamodb-dr restore --on glue`` in a subprocess. While its run is STARTING, Glue's part is
    played: the job's progress lines go to the run's driver log stream and its report is stored.
    Returns the process, the run id, stdout and stderr."""
    progress_lines, report = job_output
    cli = subprocess.Popen(
        [str(console_script), "restore", "--on", "glue", "--job-name", JOB, "--poll-seconds", "0.2", *job_args],
        env=base_env(),  # no BACKUP_BUCKET here: the job's default arguments name it
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert cli.stderr is not None
    first = cli.stderr.readline()
    started = re.match(rf"started Glue job run (\S+) of {JOB}$", first.strip())
    assert started, first + cli.stderr.read()
    run_id = started[1]
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=run_id)
    if progress_lines:
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=run_id,
            logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(progress_lines)],
        )
    store_report(s3, BUCKET, PREFIX, report)
    out, err = cli.communicate(timeout=120)
    return cli, run_id, out, first + err


def test_restore_on_glue_starts_the_job_and_follows_it_to_the_end(backups, glue_job, console_script):
    ddb, s3, _ = backups
    glue, logs = glue_job
    job_output = _job_output(ddb, s3, "--backup_date", DAY2, "--tables", "users")
    assert job_output[1].ok and job_output[0], job_output[1].to_json()

    cli, run_id, out, err = follow_glue_run(
        console_script, logs, s3, job_output, "--backup_date", DAY2, "--tables", "users"
    )

    assert cli.returncode == 0, err
    states = [line.split(": ", 1)[1] for line in err.splitlines() if line.startswith("job run state: ")]
    assert states == ["STARTING", "RUNNING", "SUCCEEDED"], err
    shown = progress_of(err)
    assert len(shown) == len(job_output[0]) and shown[-1] == (7, 4, 4), err
    assert re.search(r"users\s.*users\s.*SUCCEEDED\s.*7/7", out), out
    stored = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["Arguments"]
    defaults = glue.get_job(JobName=JOB)["Job"]["DefaultArguments"]
    # Started with exactly the arguments given (the local endpoint lists the defaults in too).
    assert {k: v for k, v in stored.items() if k not in defaults} == {
        "--backup_date": DAY2,
        "--tables": "users",
    }

    # Bad input is refused before any run starts.
    env = base_env()
    assert_bad_input(
        run(
            console_script,
            "restore",
            "--on",
            "glue",
            "--job-name",
            "no-such-job",
            "--backup_date",
            DAY2,
            env=env,
        ),
        "no Glue job",
    )
    assert_bad_input(
        run(
            console_script,
            "restore",
            "--on",
            "glue",
            "--job-name",
            JOB,
            "--backup_date",
            "2026-03-01",
            env=env,
        ),
        "no backup manifest",
    )
    assert [r["Id"] for r in glue.get_job_runs(JobName=JOB)["JobRuns"]] == [run_id]


def test_restore_on_glue_exits_1_when_the_jobs_report_says_a_table_failed(backups, glue_job, console_script):
    ddb, s3, _ = backups
    _, logs = glue_job
    job_args = ("--backup_date", DAY2, "--target_tables", "users:users_gone")
    job_output = _job_output(ddb, s3, *job_args)
    assert job_output[1].status_code == 500

    cli, _, out, err = follow_glue_run(console_script, logs, s3, job_output, *job_args, "--json")

    assert cli.returncode == 1, err
    result = json.loads(out)
    assert result["state"] == "SUCCEEDED" and result["report"]["statusCode"] == 500
    assert "users_gone" in result["report"]["tables"]["users"]["errors"][0]


def test_interrupting_the_follow_says_the_glue_run_goes_on_and_how_to_stop_it(
    backups, glue_job, console_script
):
    glue, _ = glue_job
    cli = subprocess.Popen(
        [str(console_script), "restore", "--on", "glue", "--job-name", JOB, "--poll-seconds", "0.2",
         "--backup_date", DAY2],
        env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert cli.stderr is not None
    started = re.match(rf"started Glue job run (\S+) of {JOB}$", cli.stderr.readline().strip())
    assert started
    cli.send_signal(signal.SIGINT)
    _, err = cli.communicate(timeout=60)

    assert cli.returncode == 1, err
    assert (
        f"job run {started[1]} goes on in Glue. Stop it with: aws glue batch-stop-job-run --job-name {JOB} "
        f"--job-run-ids {started[1]}"
    ) in err
    assert "Traceback" not in err
    assert glue.get_job_run(JobName=JOB, RunId=started[1])["JobRun"]["JobRunState"] in ("STARTING", "RUNNING")
