"""Time travel against the local endpoint, on threads (``ThreadRunner``: the same task functions as
on Spark; test_time_travel_spark.py runs the merge on real Spark): a chain of a full export and
incremental windows from real writes, restored exactly to each window boundary; a rewind and an
undo that leave later writes untouched and report each conflict; gaps; bad inputs."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.dispatch import run_restore
from dynamodb_dr.restore.runner import ThreadRunner
from dynamodb_dr.restore.timetravel.points import iso
from tests.support.backups import create_table
from tests.support.handlaid import Chain, Layout, same_items, scan_all
from tests.support.items import NON_UTF8, every_type_item

BUCKET = "tt-bucket"
PREFIX = "native-exports"
KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]


def item(pk: str, sk: str = "1", **extra):
    return every_type_item(pk, sk={"N": sk}, **extra)


def key(pk: str, sk: str = "1"):
    return {"pk": {"S": pk}, "sk": {"N": sk}}


@pytest.fixture
def clients(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return ddb, s3


def history(
    ddb,
    s3,
    table: str = "ttable",
    layout: Layout | None = None,
    view: str = "NEW_AND_OLD_IMAGES",
    *,
    uri_prefix: str | None = None,
) -> Chain:
    """A full export and four windows of real writes: inserts, updates, deletes, a delete then a
    re-insert, an item changed in every window, every attribute type, a 38-digit number key."""
    create_table(ddb, table, KEYS, ATTRS)
    chain = Chain(
        ddb,
        s3,
        BUCKET,
        table,
        uri_prefix or f"{PREFIX}/incremental/{table}",
        layout=layout or Layout(),
        view=view,
    )
    for i in range(6):
        chain.put(item(f"a{i}"))
    chain.put(item("big", "12345678901234567890123456789012345678"))
    if uri_prefix:
        chain.full_export()
    else:
        chain.daily_backup(PREFIX)
    # window 1
    chain.tick()
    chain.put(item("b0"))
    chain.put(item("b1", bin={"B": NON_UTF8}))
    chain.put(item("a0", v={"N": "1"}))
    chain.delete(key("a1"))
    chain.close_window()
    # window 2
    chain.put(item("a0", v={"N": "2"}, ss2={"SS": ["x", "y"]}))
    chain.delete(key("b0"))
    chain.put(item("a1", again={"BOOL": True}))  # deleted in window 1, back now
    chain.put(item("a2", v={"N": "1"}))
    chain.put(item("a2", v={"N": "2"}))
    chain.close_window()
    # window 3
    chain.put(item("a0", v={"N": "3"}))
    chain.put(item("c0"))
    chain.delete(key("a3"))
    chain.put(item("big", "12345678901234567890123456789012345678", v={"N": "9"}))
    chain.close_window()
    # window 4
    chain.put(item("a0", v={"N": "4"}))
    chain.put(item("c1"))
    chain.delete(key("c0"))
    chain.close_window()
    return chain


def restore(*argv: str, runner=None):
    args = parse_args(["--BACKUP_BUCKET", BUCKET, "--S3_EXPORTS_PREFIX", PREFIX, *argv])
    return run_restore(
        args, s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"), runner=runner or ThreadRunner(2)
    )


def test_restores_exactly_to_each_window_boundary(clients):
    ddb, s3 = clients
    chain = history(ddb, s3)
    for number, (point, state) in enumerate(zip(chain.boundaries, chain.states, strict=True)):
        target = f"ttable_at_{number}"
        report = restore(
            "--restore_time",
            iso(point),
            "--tables",
            "ttable",
            "--target_tables",
            f"ttable:{target}",
            "--create_missing_tables",
            "true",
        )
        assert report.ok, report.to_json()
        assert same_items(scan_all(ddb, target), state, ("pk", "sk")) == [], number
        travel = report.tables["ttable"].time_travel
        assert travel["effective_point"] == iso(point)
        assert travel["distance_seconds"] == 0
        assert len(travel["windows"]) == number
        # A table the restore created gets the backed-up settings back, as after a daily restore.
        assert report.tables["ttable"].settings["PointInTimeRecovery"] == "applied"
        pitr = ddb.describe_continuous_backups(TableName=target)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_point_inside_a_window_resolves_to_its_start(clients, caplog):
    ddb, s3 = clients
    chain = history(ddb, s3)
    caplog.set_level("INFO", logger="dynamodb_dr.restore.progress")
    inside = chain.boundaries[2] + timedelta(minutes=7, seconds=30)
    report = restore(
        "--restore_time",
        iso(inside),
        "--tables",
        "ttable",
        "--target_tables",
        "ttable:tt_inside",
        "--create_missing_tables",
        "true",
    )
    assert report.ok, report.to_json()
    travel = report.tables["ttable"].time_travel
    assert travel["effective_point"] == iso(chain.boundaries[2])
    assert travel["distance_seconds"] == 450
    assert "inside the window" in travel["notes"][0]
    assert same_items(scan_all(ddb, "tt_inside"), chain.states[2], ("pk", "sk")) == []
    # The progress lines dynamodb-dr restore draws its bar from: the merged states applied, of their total.
    last = [r for r in caplog.records if r.getMessage() == "restore progress"][-1]
    assert (last.target_table, last.items_done, last.items_total) == (
        "tt_inside",
        len(chain.states[2]),
        len(chain.states[2]),
    )


def test_restore_into_the_live_table_deletes_what_the_chain_deleted(clients):
    """Into an existing target: keys deleted in the chain are deleted; --clear_existing_data also
    removes keys the chain never had (after a safety backup)."""
    ddb, s3 = clients
    chain = history(ddb, s3)
    ddb.put_item(TableName="ttable", Item=item("stranger"))
    report = restore("--restore_time", iso(chain.boundaries[1]), "--tables", "ttable")
    assert report.ok, report.to_json()
    live = scan_all(ddb, "ttable")
    expected = chain.states[1] + [item("stranger")]
    # c1 and a0..: the later windows' inserts stay (not in the chain up to the point, not cleared)
    later_inserts = [i for i in chain.states[4] if i["pk"]["S"] in ("c1",)]
    assert same_items(live, expected + later_inserts, ("pk", "sk")) == []
    report = restore(
        "--restore_time", iso(chain.boundaries[1]), "--tables", "ttable", "--clear_existing_data", "true"
    )
    assert report.ok, report.to_json()
    assert report.tables["ttable"].backup_arn
    assert report.tables["ttable"].time_travel["extras_removed"] == 2
    assert same_items(scan_all(ddb, "ttable"), chain.states[1], ("pk", "sk")) == []


def test_dry_run_reports_without_writing(clients):
    ddb, s3 = clients
    chain = history(ddb, s3)
    before = scan_all(ddb, "ttable")
    report = restore("--restore_time", iso(chain.boundaries[3]), "--tables", "ttable", "--dry_run", "true")
    assert report.ok, report.to_json()
    travel = report.tables["ttable"].time_travel
    assert travel["puts"] == len(chain.states[3])
    assert travel["deletes"] >= 1 and travel["write_units"] >= travel["puts"]
    assert report.tables["ttable"].status == "VALIDATED"
    assert same_items(scan_all(ddb, "ttable"), before, ("pk", "sk")) == []


def _by_pk(items):
    return {i["pk"]["S"]: i for i in items}


def test_rewind_puts_back_only_what_changed_and_reports_conflicts(clients):
    ddb, s3 = clients
    chain = history(ddb, s3)
    # After the last window: a legitimate write to a key the windows changed (a conflict), and one
    # to a key they did not change (none of the rewind's business).
    ddb.put_item(TableName="ttable", Item=item("a0", v={"N": "100"}))
    ddb.put_item(TableName="ttable", Item=item("a5", v={"N": "7"}))
    dry = restore("--rewind_to", iso(chain.boundaries[2]), "--tables", "ttable", "--dry_run", "true")
    assert dry.ok, dry.to_json()
    report = restore("--rewind_to", iso(chain.boundaries[2]), "--tables", "ttable")
    assert report.ok, report.to_json()
    travel = report.tables["ttable"].time_travel
    for name in ("puts", "deletes", "conflicts", "unchanged"):
        assert dry.tables["ttable"].time_travel[name] == travel[name], name
    # a3 (deleted in 3) and big (updated in 3) put back, c1 (inserted in 4) deleted, c0 (in and out) unchanged
    assert (travel["puts"], travel["deletes"], travel["conflicts"], travel["unchanged"]) == (2, 1, 1, 1)
    assert travel["changed_keys"] == 5
    assert travel["reads"] == 4  # a GetItem per changed key that is not unchanged on paper
    assert '"a0"' in travel["conflict_keys"][0]["key"]
    assert "written since the last export" in travel["conflict_keys"][0]["reason"]
    assert [w["from"] for w in travel["windows"]] == [iso(chain.boundaries[2]), iso(chain.boundaries[3])]
    assert any("ttable: 1 changed items were left" in w for w in report.warnings)
    expected = _by_pk(chain.states[2])
    expected["a0"] = item("a0", v={"N": "100"})
    expected["a5"] = item("a5", v={"N": "7"})
    assert same_items(scan_all(ddb, "ttable"), list(expected.values()), ("pk", "sk")) == []
    # Again: everything already put back is unchanged, nothing is written twice.
    again = (
        restore("--rewind_to", iso(chain.boundaries[2]), "--tables", "ttable").tables["ttable"].time_travel
    )
    assert (again["puts"], again["deletes"], again["conflicts"]) == (0, 0, 1)


class RewindDiesAfterOneTask(ThreadRunner):
    """The rewind's tasks run one at a time and the stage dies after the first (a lost executor)."""

    def run(self, tasks, func, description):
        if not description.startswith("rewind-"):
            return super().run(tasks, func, description)
        assert len(tasks) > 1, "the rewind should be split into several tasks"
        func(tasks[0])
        raise RuntimeError("executor lost")


def test_a_rewind_cut_short_leaves_each_key_rewound_or_untouched_and_the_same_rewind_finishes_it(clients):
    ddb, s3 = clients
    chain = history(ddb, s3)
    ddb.put_item(TableName="ttable", Item=item("a0", v={"N": "100"}))  # written since: a conflict
    before = _by_pk(scan_all(ddb, "ttable"))
    expected = _by_pk(chain.states[2])
    expected["a0"] = item("a0", v={"N": "100"})

    cut = restore(
        "--rewind_to", iso(chain.boundaries[2]), "--tables", "ttable", runner=RewindDiesAfterOneTask(2)
    )
    assert not cut.ok and "executor lost" in cut.tables["ttable"].errors[0]

    # Half-way: every key is either as it was or as the rewind puts it, nothing else.
    now = _by_pk(scan_all(ddb, "ttable"))
    assert now != before and now != expected  # some keys put back, some not yet
    for pk in set(before) | set(expected) | set(now):
        assert now.get(pk) in (before.get(pk), expected.get(pk)), pk
    # The same rewind again: what the first run put back is unchanged, the rest is put back, the
    # later write is still a conflict, and the table ends as a whole rewind leaves it.
    report = restore("--rewind_to", iso(chain.boundaries[2]), "--tables", "ttable")
    assert report.ok, report.to_json()
    travel = report.tables["ttable"].time_travel
    assert travel["conflicts"] == 1 and '"a0"' in travel["conflict_keys"][0]["key"]
    assert travel["unchanged"] >= 2  # c0 (in and out of the windows) and at least one put back before
    assert same_items(scan_all(ddb, "ttable"), list(expected.values()), ("pk", "sk")) == []


def test_undo_takes_back_one_window_and_leaves_later_writes(clients):
    ddb, s3 = clients
    chain = history(ddb, s3)
    window = f"{iso(chain.boundaries[1])}/{iso(chain.boundaries[2])}"
    report = restore("--undo_window", window, "--tables", "ttable")
    assert report.ok, report.to_json()
    travel = report.tables["ttable"].time_travel
    # window 2 changed a0 (changed again later: conflict), b0 (deleted: put back), a1 (re-inserted:
    # deleted again), a2 (updated twice: put back as it was before the window)
    assert (travel["puts"], travel["deletes"], travel["conflicts"]) == (2, 1, 1)
    assert "changed again in the window" in travel["conflict_keys"][0]["reason"]
    live = _by_pk(scan_all(ddb, "ttable"))
    before, after = _by_pk(chain.states[1]), _by_pk(chain.states[4])
    assert "a1" not in live
    for pk in ("b0", "a2"):
        assert same_items([live[pk]], [before[pk]], ("pk", "sk")) == []
    for pk in set(after) - {"a1", "b0", "a2"}:  # later windows' writes and everything else untouched
        assert same_items([live[pk]], [after[pk]], ("pk", "sk")) == [], pk


def test_rewind_of_a_new_image_chain_reads_the_chain_for_the_changed_keys(clients):
    ddb, s3 = clients
    chain = history(ddb, s3, view="NEW_IMAGE")
    report = restore("--rewind_to", iso(chain.boundaries[1]), "--tables", "ttable")
    assert report.ok, report.to_json()
    travel = report.tables["ttable"].time_travel
    assert travel["view"] == "NEW_IMAGE" and travel["before_from"][0]["type"] == "FULL_EXPORT"
    assert same_items(scan_all(ddb, "ttable"), chain.states[1], ("pk", "sk")) == []


def test_export_uri_restores_a_hand_laid_export_in_aws_layout(clients):
    """Exports the toolkit did not make: a full and incremental exports under one S3Prefix, shared
    data/ folder, .md5 files, whitespace in every line; key schema from --key_schema."""
    ddb, s3 = clients
    chain = history(
        ddb, s3, layout=Layout(spaces=True, checksum_ext=".md5", files=3), uri_prefix="console/ttable"
    )
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="console/ttable/")["Contents"]}
    assert any(k.startswith("console/ttable/AWSDynamoDB/data/") for k in keys)
    assert any(k.endswith("manifest-files.md5") for k in keys)
    report = restore(
        "--export_uri",
        f"s3://{BUCKET}/console/ttable",
        "--restore_time",
        iso(chain.boundaries[3]),
        "--target_tables",
        "ttable_copy",
        "--key_schema",
        "pk:S,sk:N",
        "--create_missing_tables",
        "true",
    )
    assert report.ok, report.to_json()
    assert same_items(scan_all(ddb, "ttable_copy"), chain.states[3], ("pk", "sk")) == []
    # No point: the newest state the exports hold; into the now existing target, its schema checked.
    latest = restore("--export_uri", f"s3://{BUCKET}/console/ttable", "--target_tables", "ttable_copy")
    assert latest.ok, latest.to_json()
    assert latest.tables["ttable"].time_travel["effective_point"] == iso(chain.boundaries[4])
    assert same_items(scan_all(ddb, "ttable_copy"), chain.states[4], ("pk", "sk")) == []
    paired = restore("--export_uri", f"s3://{BUCKET}/console/ttable", "--target_tables", "ttable:ttable_copy")
    assert paired.ok and paired.tables["ttable"].target_table == "ttable_copy"
    with pytest.raises(ConfigError, match=r"the exports under .* are of ttable"):
        restore("--export_uri", f"s3://{BUCKET}/console/ttable", "--target_tables", "users:ttable_copy")
    with pytest.raises(ConfigError, match="carry no key schema; give it with --key_schema"):
        restore(
            "--export_uri",
            f"s3://{BUCKET}/console/ttable",
            "--target_tables",
            "nowhere",
            "--create_missing_tables",
            "true",
        )
    bad = restore(
        "--export_uri",
        f"s3://{BUCKET}/console/ttable",
        "--target_tables",
        "ttable_copy",
        "--key_schema",
        "pk:S",
    )
    assert not bad.ok and "has key schema" in bad.tables["ttable"].errors[0]


def test_export_uri_refuses_a_prefix_with_two_tables_and_an_empty_one(clients):
    ddb, s3 = clients
    history(ddb, s3, table="first", uri_prefix="mixed")
    create_table(ddb, "second", KEYS, ATTRS)
    other = Chain(ddb, s3, BUCKET, "second", "mixed")
    other.put(item("x"))
    other.full_export()
    with pytest.raises(ConfigError, match="holds exports of more than one table \\(first, second\\)"):
        restore("--export_uri", f"s3://{BUCKET}/mixed", "--target_tables", "first")
    with pytest.raises(ConfigError, match="holds no export"):
        restore("--export_uri", f"s3://{BUCKET}/nothing-here", "--target_tables", "first")


def test_a_gap_stops_before_anything_is_written_unless_accepted(clients):
    ddb, s3 = clients
    create_table(ddb, "gappy", KEYS, ATTRS)
    chain = Chain(ddb, s3, BUCKET, "gappy", f"{PREFIX}/incremental/gappy")
    chain.put(item("a"))
    chain.daily_backup(PREFIX)
    chain.put(item("b"))
    chain.close_window()
    chain.put(item("c"))
    chain.close_window(write=False)  # a failed window: its export is missing
    chain.put(item("d"))
    chain.close_window()
    args = (
        "--restore_time",
        iso(chain.boundaries[3]),
        "--tables",
        "gappy",
        "--target_tables",
        "gappy:gappy_copy",
        "--create_missing_tables",
        "true",
    )
    gap = f"gap from {iso(chain.boundaries[1])} to {iso(chain.boundaries[2])}"
    with pytest.raises(ConfigError, match=gap):
        restore(*args)
    assert "gappy_copy" not in ddb.list_tables()["TableNames"]
    report = restore(*args, "--allow_chain_gaps", "true")
    assert report.ok, report.to_json()
    assert report.tables["gappy"].time_travel["gaps_accepted"] == [
        {"from": iso(chain.boundaries[1]), "to": iso(chain.boundaries[2])}
    ]
    # c was written in the lost window: the accepted gap loses it, and says so.
    assert sorted(i["pk"]["S"] for i in scan_all(ddb, "gappy_copy")) == ["a", "b", "d"]


def test_bad_points_exit_2_before_spark(clients, capsys):
    """The job's checks run on the driver before its Spark session is made: these never start it."""
    import restore_job

    ddb, s3 = clients
    chain = history(ddb, s3)

    for argv, message in [
        (["--restore_time", "2020-01-01T00:00:00Z"], "before any full export of ttable"),
        (["--restore_time", "2999-01-01T00:00:00Z"], "is in the future"),
        (["--restore_time", "2026-11-30T00:00:00"], "has no time zone"),
        (
            ["--rewind_to", iso(chain.boundaries[0] - timedelta(hours=1))],
            "incremental exports of ttable start at",
        ),
    ]:
        capsys.readouterr()
        code = restore_job.main(
            ["--BACKUP_BUCKET", BUCKET, "--S3_EXPORTS_PREFIX", PREFIX, "--tables", "ttable", *argv]
        )
        out = json.loads(capsys.readouterr().out)
        assert code == 2, out
        assert message in out["errors"][0], out


def test_the_conditional_write_pins_every_attribute_of_the_exported_state(clients):
    """What catches a write racing a rewind: the condition holds while every attribute of the
    exported state is as exported (sets, maps, lists, binaries, 38-digit numbers), and fails once one
    of them changed or went; for an absent item, once one exists. (An attribute only added by the
    racing write is not in the condition; the GetItem just before compares whole items.)"""
    from dynamodb_dr.restore.timetravel.rewind import pin
    from tests.support.handlaid import export_item

    ddb, _ = clients
    create_table(ddb, "pinned", KEYS, ATTRS)
    exported = item("p", v={"N": "0"})
    ddb.put_item(TableName="pinned", Item=exported)
    condition = pin(json.dumps(export_item(exported)).encode(), ("pk", "sk"))
    ddb.put_item(TableName="pinned", Item=exported, **condition)  # still as exported: written
    for racing in (
        item("p", v={"N": "1"}),
        {**exported, "ss": {"SS": ["a", "b", "ü"]}},
        {**exported, "bs": {"BS": [b"\x00"]}},
        {**exported, "m": {"M": {"inner": {"N": "12345678901234567890123456789012345679"}}}},
        {k: v for k, v in exported.items() if k != "l"},
    ):
        ddb.put_item(TableName="pinned", Item=racing)  # a write lands between the read and the rewind
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(TableName="pinned", Item=item("p"), **condition)
        ddb.put_item(TableName="pinned", Item=exported)
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="pinned", Item=item("p"), **pin(None, ("pk", "sk")))
    ddb.put_item(TableName="pinned", Item=item("q"), **pin(None, ("pk", "sk")))


def test_a_line_the_target_would_refuse_or_a_damaged_file_fails_the_table_before_any_write(clients):
    """The windows' lines go through the full export's checks: MD5 of every data file, and each
    NewImage against the target's key and index rules (here a GSI on ``v`` as S, the chain's ``v``
    is N)."""
    ddb, s3 = clients
    chain = history(ddb, s3)
    create_table(
        ddb,
        "strict",
        KEYS,
        [*ATTRS, {"AttributeName": "v", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-v",
                "KeySchema": [{"AttributeName": "v", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    report = restore(
        "--restore_time", iso(chain.boundaries[4]), "--tables", "ttable", "--target_tables", "ttable:strict"
    )
    result = report.tables["ttable"]
    assert result.failed and "index by-v key attribute 'v' is of type N" in " ".join(result.errors)
    assert scan_all(ddb, "strict") == [] and result.target_state == "untouched"
    # A window's data file changed after the export: its MD5 no longer matches, nothing is written.
    data = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/incremental/ttable/AWSDynamoDB/data/")[
            "Contents"
        ]
    ]
    s3.put_object(Bucket=BUCKET, Key=data[0], Body=b"\x1f\x8b tampered")
    report = restore(
        "--restore_time",
        iso(chain.boundaries[4]),
        "--tables",
        "ttable",
        "--target_tables",
        "ttable:tt_tampered",
        "--create_missing_tables",
        "true",
    )
    assert not report.ok and "does not match md5Checksum" in " ".join(report.tables["ttable"].errors)
    assert "tt_tampered" not in ddb.list_tables()["TableNames"]
