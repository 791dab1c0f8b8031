"""Run a notebook as Jupyter does: nbclient, a real Python kernel, every cell in order."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def run_notebook(path: Path, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    """Execute ``path`` in a fresh kernel (its environment: this process's, plus ``env``) and
    return everything its cells printed. A failing cell raises ``nbclient``'s CellExecutionError,
    which carries the cell's traceback."""
    notebook = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update({"PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", **(env or {})})
    try:
        NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    printed = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                printed.append(output.get("text", ""))
    return "".join(printed)
