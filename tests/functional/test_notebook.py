"""The notebooks run top to bottom, in a real kernel (nbclient), against real backups on the local
endpoint; the history notebook's plots are real images with data in them."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from dynamodb_dr.clients import make_client
from tests.support.backups import create_table, make_backup, put_items
from tests.support.items import every_type_item, simple_item
from tests.support.notebooks import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_backup.ipynb"
BUCKET = "notebook-backups"


def test_notebook_explores_latest_backup(aws, monkeypatch):
    ddb, s3 = make_client("dynamodb"), make_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(
        ddb,
        "nb_orders",
        [{"AttributeName": "pk", "KeyType": "HASH"}],
        [{"AttributeName": "pk", "AttributeType": "S"}],
    )
    put_items(ddb, "nb_orders", [every_type_item(f"o{i}") for i in range(4)])
    make_backup(ddb, s3, BUCKET, ["nb_orders"], backup_date="2026-03-04")
    printed = run_notebook(NOTEBOOK, {"BACKUP_BUCKET": BUCKET, "SAMPLE_ITEMS": "2"})

    assert "backup 2026-03-04 (test): COMPLETE, 4 items" in printed
    assert "all " in printed and "match their MD5 and item counts: 4 items" in printed
    assert printed.count("{'") >= 2  # two sampled items shown
    assert "'B'" in printed and "'NS'" in printed  # types counted from the real data file


def test_notebook_names_missing_backup(aws, monkeypatch):
    make_client("s3").create_bucket(Bucket=BUCKET)
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError) as error:
        run_notebook(NOTEBOOK, {"BACKUP_BUCKET": BUCKET})
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(error.value))  # the kernel colours its traceback
    assert "BackupNotFoundError: 'latest' asks for the newest COMPLETE backup" in message


# --- the history notebook: backups made by the real export Lambda, a real restore ---------------

HISTORY = NOTEBOOK.parent / "backup_history.ipynb"
DATES = ("2026-11-20", "2026-11-21", "2026-11-22")


def _backups_by_the_export_lambda(ddb, monkeypatch) -> None:
    """Three daily backups of two tables, one growing and one shrinking, by the export Lambda and
    the export monitor (their handlers, as Lambda runs them)."""
    from local_aws.lambda_context import LocalLambdaContext
    from tests.support.lambdas import load_handler

    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("DYNAMODB_TABLES", '["nb_orders", "nb_users"]')
    for name in ("nb_orders", "nb_users"):
        create_table(
            ddb,
            name,
            [{"AttributeName": "pk", "KeyType": "HASH"}],
            [{"AttributeName": "pk", "AttributeType": "S"}],
        )
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    put_items(ddb, "nb_users", [every_type_item(f"u{i}") for i in range(30)])
    for day, backup_date in enumerate(DATES):
        orders = [simple_item(f"o{day}-{i:04d}", i) for i in range(400 * (day + 1))]
        for start in range(0, len(orders), 25):
            ddb.batch_write_item(
                RequestItems={"nb_orders": [{"PutRequest": {"Item": i}} for i in orders[start : start + 25]]}
            )
        for i in range(day * 8):
            ddb.delete_item(TableName="nb_users", Key={"pk": {"S": f"u{i}"}})
        context = LocalLambdaContext(function_name="notebook-export")
        started = load_handler("export_backup")({"backup_date": backup_date}, context)
        assert started["statusCode"] == 200, started
        for _ in range(200):
            body = load_handler("export_monitor")({"backup_date": backup_date}, context)["body"]
            if body["backup_status"] == "COMPLETE":
                break
            time.sleep(0.1)
        assert body["backup_status"] == "COMPLETE", body


def test_history_notebook_plots_real_backups_and_restores(aws, monkeypatch, spark, capsys, tmp_path):
    import restore_job
    from matplotlib import image

    from local_aws import export_layout

    export_layout.configure(items_per_file=200, empty_files=1)
    ddb, s3 = make_client("dynamodb"), make_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    _backups_by_the_export_lambda(ddb, monkeypatch)
    # One restore of 2,400 items at 300 items/s, progress logged every 0.5 s: the throughput plot
    # (written: ImportTable, the default for a missing table, has no write rate to plot).
    capsys.readouterr()
    code = restore_job.main(
        ["--backup_date", "latest", "--BACKUP_BUCKET", BUCKET, "--tables", "nb_orders",
         "--target_tables", "nb_orders:nb_orders_copy", "--create_missing_tables", "true",
         "--max_write_rate", "300", "--import_mode", "write"],
        spark=spark,
        progress_seconds=0.5,
    )  # fmt: skip
    assert code == 0, capsys.readouterr().out
    # Two DR drills of nb_users a week apart (on threads: the drill's own stages): the RTO/RPO plot.
    from datetime import UTC, datetime, timedelta

    from dynamodb_dr.restore import drill
    from dynamodb_dr.restore.args import parse_args
    from dynamodb_dr.restore.runner import ThreadRunner

    for days_ago in (7, 0):
        drilled = drill.run_drill(
            parse_args(
                [
                    "--backup_date",
                    "latest",
                    "--BACKUP_BUCKET",
                    BUCKET,
                    "--drill",
                    "true",
                    "--tables",
                    "nb_users",
                ]
            ),
            s3=s3,
            dynamodb=ddb,
            cloudwatch=make_client("cloudwatch"),
            sns=None,
            runner=ThreadRunner(2),
            requested_at=datetime.now(UTC) - timedelta(days=days_ago),
        )
        assert drilled.ok, drilled.to_json()
    plots = tmp_path / "plots"

    printed = run_notebook(HISTORY, {"BACKUP_BUCKET": BUCKET, "PLOTS_DIR": str(plots)})

    # The restore and the two drills' restores.
    assert "3 backups (2026-11-20 .. 2026-11-22), 2 tables, 3 table restores" in printed
    assert "2026-11-22 nb_orders" in printed and " 2400 items" in printed  # 400 + 800 + 1200
    assert "2026-11-22 nb_users" in printed and " 14 items" in printed  # 30, then u0-u15 deleted
    assert "2 drills, 2 succeeded" in printed and printed.count("drill 20") == 2
    for name in ("backup_items_and_size", "export_durations", "restore_throughput", "drill_rto_rpo"):
        path = plots / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        pixels = image.imread(path)
        height, width = pixels.shape[:2]
        assert height > 200 and width > 400, (name, pixels.shape)
        # Data in it: many colours (lines, markers, text), and not a blank canvas.
        colours = {tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[:: max(1, height * width // 20000)]}
        assert len(colours) > 20, (name, len(colours))
        assert (pixels[..., :3] < 0.9).any(axis=2).mean() > 0.01, name
