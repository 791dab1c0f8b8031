"""The notebook runs top to bottom against a real backup on the local endpoint."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from dynamodb_dr.clients import make_client
from tests.support.backups import create_table, make_backup, put_items
from tests.support.items import every_type_item

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_backup.ipynb"
BUCKET = "notebook-backups"


def run_notebook(path: Path) -> str:
    """Execute the code cells in order in one namespace (as a kernel would); return what they print."""
    cells = json.loads(path.read_text())["cells"]
    namespace: dict = {"__name__": "__notebook__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in cells:
            if cell["cell_type"] == "code":
                exec(compile("".join(cell["source"]), f"{path.name}:{cell['id']}", "exec"), namespace)
    return out.getvalue()


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
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    monkeypatch.setenv("SAMPLE_ITEMS", "2")

    printed = run_notebook(NOTEBOOK)

    assert "backup 2026-03-04 (test): COMPLETE, 4 items" in printed
    assert "all " in printed and "match their MD5 and item counts: 4 items" in printed
    assert printed.count("{'") >= 2  # two sampled items shown
    assert "'B'" in printed and "'NS'" in printed  # types counted from the real data file


def test_notebook_names_missing_backup(aws, monkeypatch):
    make_client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("BACKUP_BUCKET", BUCKET)
    from dynamodb_dr.errors import BackupNotFoundError

    with pytest.raises(BackupNotFoundError, match="newest COMPLETE backup"):
        run_notebook(NOTEBOOK)
