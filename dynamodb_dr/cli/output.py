"""How the command line writes: results on stdout (tables, or JSON with ``--json``), progress, status
and errors on stderr. On a terminal progress is a live bar; otherwise (a pipe, a CI log, a test) each
update is one plain line with a text bar, so the output stays readable in a log."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

PIPE_WIDTH = 160
"""Width of tables written to a pipe (rich would use 80 and cut the columns)."""


def console(*, stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out.width = PIPE_WIDTH
    return out


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def note(message: str) -> None:
    """A status line on stderr."""
    click.echo(message, err=True)


def error_line(message: str) -> None:
    click.echo(f"dynamodb-dr: error: {message}", err=True)


def text_bar(done: float, total: float, width: int = 20) -> str:
    filled = width if total <= 0 else min(width, int(width * done / total))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def size(num: int | None) -> str:
    if num is None:
        return "-"
    value = float(num)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{num} B"


def duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and not math.isfinite(seconds)):
        return "?"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


class ProgressView:
    """Bars keyed by name: a live rich display on a terminal, plain lines elsewhere."""

    def __init__(self, out: Console | None = None) -> None:
        self.out = out or console(stderr=True)
        self.live = self.out.is_terminal
        self._progress = (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.out,
            )
            if self.live
            else None
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressView:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, key: str, label: str, done: float, total: float, detail: str) -> None:
        if self._progress is None:
            click.echo(f"{label}  {text_bar(done, total)}  {detail}", err=True)
            sys.stderr.flush()
            return
        task = self._tasks.get(key)
        if task is None:
            self._tasks[key] = self._progress.add_task(
                label, total=total or None, completed=int(done), detail=detail
            )
        else:
            self._progress.update(
                task, description=label, total=total or None, completed=int(done), detail=detail
            )
