"""Time travel's pure parts: arguments (strict, clear errors), points in time, chain planning
(effective point, gaps, other tables' exports), incremental line parsing, canonical comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import job_arguments, parse_args, parse_event
from dynamodb_dr.restore.timetravel.catalog import (
    FULL,
    INCREMENTAL,
    CatalogExport,
    ChainGapError,
    TableCatalog,
    plan_point,
    plan_range,
)
from dynamodb_dr.restore.timetravel.points import iso, parse_point
from dynamodb_dr.restore.timetravel.records import canonical_item, canonical_key, parse_change

T0 = datetime(2026, 11, 30, tzinfo=UTC)
W = timedelta(minutes=15)
BASE = ["--BACKUP_BUCKET", "b-bucket"]


def export(
    kind: str,
    start: datetime,
    end: datetime | None = None,
    *,
    table: str = "orders",
    table_id: str = "id-1",
    view: str = "NEW_AND_OLD_IMAGES",
) -> CatalogExport:
    return CatalogExport(
        export_arn=f"arn:aws:dynamodb:eu-west-1:1:table/{table}/export/{int(start.timestamp())}",
        kind=kind,
        table_name=table,
        table_id=table_id,
        bucket="b",
        summary_key="k",
        manifest_files_key="f",
        item_count=1,
        output_format="DYNAMODB_JSON",
        start=start,
        end=end or start,
        view=view,
    )


def catalog(windows: int = 4, skip: tuple[int, ...] = (), **kwargs) -> TableCatalog:
    c = TableCatalog("orders", location="s3://b/p")
    c.add(export(FULL, T0, **kwargs))
    for i in range(windows):
        if i not in skip:
            c.add(export(INCREMENTAL, T0 + i * W, T0 + (i + 1) * W, **kwargs))
    return c


# --- arguments ---------------------------------------------------------------------------------------


def test_time_travel_arguments_parse_and_round_trip():
    args = parse_args(
        [*BASE, "--restore_time", "2026-11-30T00:30:00Z", "--tables", "orders", "--allow_chain_gaps", "true"]
    )
    assert args.time_travel and args.restore_time == "2026-11-30T00:30:00Z" and args.allow_chain_gaps
    assert args.backup_date == ""
    assert parse_args([f"{k}={v}" for k, v in job_arguments(args).items()]) == args
    uri = parse_args(
        [
            "--export_uri",
            "s3://copies/x/orders/",
            "--target_tables",
            "orders_copy",
            "--key_schema",
            "pk:S,sk:N",
        ]
    )
    assert (uri.backup_bucket, uri.export_uri, uri.export_target, uri.key_schema) == (
        "copies",
        "s3://copies/x/orders",
        "orders_copy",
        (("pk", "S"), ("sk", "N")),
    )
    assert parse_args([f"{k}={v}" for k, v in job_arguments(uri).items()]) == uri
    undo = parse_args([*BASE, "--undo_window", "2026-11-30T00:15:00+00:00/2026-11-30T00:30:00Z"])
    assert undo.undo_window == "2026-11-30T00:15:00Z/2026-11-30T00:30:00Z"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--restore_time", "yesterday"], "is not a point in time"),
        (["--restore_time", "2026-11-30"], "is not a point in time"),
        (["--restore_time", "2026-11-30T25:00:00Z"], "is not an ISO-8601 time"),
        (["--restore_time", "2026-11-30T10:00:00"], "has no time zone"),
        (["--restore_time", "2026-11-30T10:00:00+02:00"], "is not in UTC"),
        (["--restore_time", "2026-11-30T10:00:00Z", "--backup_date", "latest"], "give one of them"),
        (
            ["--restore_time", "2026-11-30T10:00:00Z", "--rewind_to", "2026-11-30T10:00:00Z"],
            "give one of them",
        ),
        (["--undo_window", "2026-11-30T10:00:00Z"], "is not FROM/TO"),
        (["--undo_window", "2026-11-30T10:00:00Z/2026-11-30T09:00:00Z"], "FROM must be before TO"),
        (["--rewind_to", "2026-11-30T10:00:00Z", "--clear_existing_data", "true"], "does not apply"),
        (["--rewind_to", "2026-11-30T10:00:00Z", "--create_missing_tables", "true"], "does not apply"),
        (
            ["--restore_time", "2026-11-30T10:00:00Z", "--key_schema", "pk:S"],
            "--key_schema is for --export_uri",
        ),
        (["--backup_date", "latest", "--allow_chain_gaps", "true"], "is for a time-travel restore"),
        (["--export_uri", "copies/x"], "is not an S3 URI"),
        (["--export_uri", "s3://c/x", "--key_schema", "pk"], "is not NAME:TYPE"),
        (["--export_uri", "s3://c/x", "--key_schema", "pk:X"], "a key is S (string), N (number) or B"),
        (["--export_uri", "s3://c/x", "--key_schema", "pk:S,sk:N,x:S"], "one or two NAME:TYPE"),
        (["--export_uri", "s3://c/x", "--key_schema", "pk:S,pk:N"], "names 'pk' twice"),
        (["--export_uri", "s3://c/x", "--key_schema", "pk:S,"], "one or two NAME:TYPE"),
        (["--export_uri", "s3://c/x", "--tables", "orders"], "name its target with --target_tables"),
        (["--restore_tme", "2026-11-30T10:00:00Z"], "did you mean --restore_time"),
        (["--restore_time", "2026-11-30T10:00:00Z", "--allow_chain_gaps", "maybe"], "is not a boolean"),
    ],
)
def test_bad_time_travel_arguments_are_refused_clearly(argv, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_args([*BASE, *argv])


def test_the_restore_lambda_refuses_time_travel():
    with pytest.raises(ConfigError, match="runs on the restore job"):
        parse_event({"rewind_to": "2026-11-30T10:00:00Z"}, env={"BACKUP_BUCKET": "b-bucket"})


def test_a_point_in_the_future_is_refused():
    with pytest.raises(ConfigError, match="is in the future"):
        parse_point("2026-12-01T00:00:00Z", name="restore_time", now=T0)


# --- plans -------------------------------------------------------------------------------------------


def test_point_on_a_boundary_and_inside_a_window():
    plan = plan_point(catalog(), T0 + 2 * W, allow_gaps=False)
    assert (plan.effective, len(plan.windows), plan.full.kind) == (T0 + 2 * W, 2, FULL)
    inside = plan_point(catalog(), T0 + 2 * W + timedelta(minutes=7), allow_gaps=False)
    assert inside.effective == T0 + 2 * W and len(inside.windows) == 2
    assert "inside the window" in inside.notes[0]
    after = plan_point(catalog(), T0 + 10 * W, allow_gaps=False)
    assert after.effective == T0 + 4 * W and "ends at" in after.notes[0]


def test_a_gap_is_refused_naming_it_or_accepted_and_reported():
    with pytest.raises(
        ChainGapError, match=f"gap from {iso(T0 + W)} to {iso(T0 + 2 * W)}.*--allow_chain_gaps true"
    ):
        plan_point(catalog(skip=(1,)), T0 + 4 * W, allow_gaps=False)
    plan = plan_point(catalog(skip=(1,)), T0 + 4 * W, allow_gaps=True)
    assert [(g.start, g.end) for g in plan.gaps] == [(T0 + W, T0 + 2 * W)]
    assert len(plan.windows) == 3
    # Before the gap there is nothing to refuse.
    assert plan_point(catalog(skip=(1,)), T0 + W, allow_gaps=False).effective == T0 + W


def test_before_any_full_export_and_other_tables_are_refused():
    with pytest.raises(ConfigError, match="before any full export of orders: the earliest full export"):
        plan_point(catalog(), T0 - W, allow_gaps=False)
    mixed = catalog()
    mixed.add(export(INCREMENTAL, T0 + 4 * W, T0 + 5 * W, table_id="id-2"))
    with pytest.raises(ConfigError, match=r"table id id-2.*deleted and created again"):
        plan_point(mixed, T0 + 5 * W, allow_gaps=False)
    other = catalog()
    other.add(export(INCREMENTAL, T0 + 4 * W, T0 + 5 * W, table="users"))
    with pytest.raises(ConfigError, match="is of table users, not orders"):
        plan_point(other, T0 + 5 * W, allow_gaps=False)


def test_rewind_and_undo_ranges():
    rewind = plan_range(catalog(), T0 + W + timedelta(minutes=3), None, allow_gaps=False)
    assert rewind.effective_from == T0 + W and len(rewind.windows) == 3 and not rewind.later
    undo = plan_range(catalog(), T0 + W, T0 + 2 * W + timedelta(minutes=1), allow_gaps=False)
    assert (undo.effective_from, undo.effective_to, len(undo.windows), len(undo.later)) == (
        T0 + W,
        T0 + 3 * W,
        2,
        1,
    )
    with pytest.raises(ConfigError, match="start at"):
        plan_range(catalog(), T0 - W, None, allow_gaps=False)
    with pytest.raises(ChainGapError):
        plan_range(catalog(skip=(2,)), T0 + W, None, allow_gaps=False)


# --- lines and values --------------------------------------------------------------------------------


def test_incremental_lines_with_whitespace_and_bad_ones():
    change = parse_change(
        b'{ "Metadata" : {"WriteTimestampMicros": {"N": "17"}}, "Keys": {"pk": {"S": "a"}},'
        b' "NewImage": {"pk": {"S": "a"}, "n": {"N": "1"}} }',
        ("pk",),
    )
    assert (change.micros, change.is_delete, change.old_image) == (17, False, None)
    assert change.new_image == b'{"pk": {"S": "a"}, "n": {"N": "1"}}'
    delete = parse_change(
        b'{"Metadata":{"WriteTimestampMicros":{"N":"18"}},"Keys":{"pk":{"S":"a"}}}', ("pk",)
    )
    assert delete.is_delete
    for bad, message in [
        (b'{"Item":{"pk":{"S":"a"}}}', "is not an incremental export line"),
        (b'{"Metadata":{},"Keys":{"pk":{"S":"a"}}}', "WriteTimestampMicros"),
        (b'{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"id":{"S":"a"}}}', "no key attribute 'pk'"),
        (
            b'{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"pk":{"S":"a"}},"NewImage":[1]}',
            "not a map",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_change(bad, ("pk",))


def test_canonical_values_compare_types_exactly():
    exported = {"n": {"N": "1.50"}, "b": {"B": "AAE="}, "ss": {"SS": ["b", "a"]}, "l": {"L": [{"N": "1"}]}}
    live = {"n": {"N": "1.5"}, "b": {"B": b"\x00\x01"}, "ss": {"SS": ["a", "b"]}, "l": {"L": [{"N": "1"}]}}
    assert canonical_item(exported) == canonical_item(live)
    assert canonical_item({"l": {"L": [{"N": "1"}]}}) != canonical_item({"l": {"L": [{"S": "1"}]}})
    big = "12345678901234567890123456789012345678"
    assert canonical_key({"pk": {"N": big}}, ("pk",)) != canonical_key({"pk": {"N": big[:-1] + "9"}}, ("pk",))


def test_a_chain_restart_is_taken_from_its_new_full_export():
    """The table recreated (new tableId): the export side restarts the chain from a new full export
    under the same prefix; a point after it reads the new chain only, a point before it the old one."""
    c = catalog()
    c.add(export(FULL, T0 + 5 * W, table_id="id-2"))
    for i in range(5, 7):
        c.add(export(INCREMENTAL, T0 + i * W, T0 + (i + 1) * W, table_id="id-2"))
    new = plan_point(c, T0 + 7 * W, allow_gaps=False)
    assert (new.full.table_id, [w.start for w in new.windows]) == ("id-2", [T0 + 5 * W, T0 + 6 * W])
    old = plan_point(c, T0 + 3 * W, allow_gaps=False)
    assert (old.full.table_id, len(old.windows)) == ("id-1", 3)


def test_ion_incremental_lines_parse_like_json_ones():
    from local_aws.ion_export import ion_line

    text = (
        b'{"Metadata":{"WriteTimestampMicros":{"N":"1700000000123456"}},"Keys":{"pk":{"S":"a"}},'
        b'"NewImage":{"pk":{"S":"a"},"n":{"N":"1.50"},"b":{"B":"AAE="},"ss":{"SS":["x"]}},'
        b'"OldImage":{"pk":{"S":"a"},"l":{"L":[{"NULL":true}]}}}'
    )
    ion, plain = parse_change(ion_line(text).strip(), ("pk",)), parse_change(text, ("pk",))
    assert ion.micros == plain.micros == 1700000000123456
    import json

    for a, b in ((ion.new_image, plain.new_image), (ion.old_image, plain.old_image)):
        assert canonical_item(json.loads(a)) == canonical_item(json.loads(b))
    assert json.loads(ion.new_image)["n"] == {"N": "1.50"}  # the digits kept


def test_lines_parse_without_msgspec_too():
    """A Glue job built without its wheels has no msgspec: the json fallback gives the same changes."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['msgspec'] = None\n"
        "from dynamodb_dr.restore.timetravel.records import parse_change\n"
        'c = parse_change(b\'{"Metadata":{"WriteTimestampMicros":{"N":"5"}},"Keys":{"pk":{"S":"a"}},'
        '"NewImage":{"pk":{"S":"a"}}}\', (\'pk\',))\n'
        'assert (c.micros, c.old_image) == (5, None) and c.new_image == b\'{"pk": {"S": "a"}}\', c\n'
        "try:\n    parse_change(b'{\"Item\":{}}', ('pk',))\nexcept ValueError as e:\n    print('refused', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "refused is not an incremental export line" in done.stdout


def test_a_later_daily_full_export_inside_a_window_continues_with_the_window_holding_it():
    """The chain keeps its 15-minute grid while the next day's full export lands inside a window:
    that window (its states are from its end, after the export) follows the newer full export."""
    c = catalog(windows=4)
    c.add(export(FULL, T0 + W + timedelta(minutes=5)))
    plan = plan_point(c, T0 + 3 * W, allow_gaps=False)
    assert plan.full.start == T0 + W + timedelta(minutes=5)
    assert [w.start for w in plan.windows] == [T0 + W, T0 + 2 * W] and plan.effective == T0 + 3 * W
    inside = plan_point(c, T0 + W + timedelta(minutes=10), allow_gaps=False)
    assert inside.effective == T0 + W + timedelta(minutes=5) and not inside.windows
