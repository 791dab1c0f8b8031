"""--import_mode: the job's argument, the Lambda's event field, the Glue hand-off, bad values."""

from __future__ import annotations

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import job_arguments, parse_args, parse_event

BASE = ["--backup_date", "2026-01-15", "--BACKUP_BUCKET", "my-backups"]


def test_auto_by_default_and_each_mode_accepted_in_any_case():
    assert parse_args(BASE, env={}).import_mode == "auto"
    for given, mode in (("import", "import"), ("WRITE", "write"), (" Auto ", "auto")):
        assert parse_args([*BASE, "--import_mode", given], env={}).import_mode == mode


@pytest.mark.parametrize("value", ["fast", "imports", "true", "ImportTable", "auto,write"])
def test_a_bad_mode_is_refused_naming_the_modes(value):
    with pytest.raises(ConfigError) as raised:
        parse_args([*BASE, "--import_mode", value], env={})
    assert f"--import_mode={value!r} is not valid; expected one of auto, import, write" in str(raised.value)


def test_an_empty_mode_and_a_misspelt_name_are_refused():
    with pytest.raises(ConfigError, match="--import_mode is given with an empty value"):
        parse_args([*BASE, "--import_mode", " "], env={})
    with pytest.raises(ConfigError, match=r"--import-mode \(did you mean --import_mode\?\)"):
        parse_args([*BASE, "--import-mode", "write"], env={})


@pytest.mark.parametrize("value", [True, 1, ["import"], None])
def test_the_event_field_is_a_string(value):
    with pytest.raises(ConfigError, match="event field 'import_mode' is"):
        parse_event({"import_mode": value}, {"BACKUP_BUCKET": "b-u-c"})


def test_the_glue_hand_off_keeps_the_mode():
    args = parse_event({"import_mode": "write"}, {"BACKUP_BUCKET": "my-backups"})
    arguments = job_arguments(args)
    assert arguments["--import_mode"] == "write"
    assert parse_args([p for pair in arguments.items() for p in pair], env={}) == args
