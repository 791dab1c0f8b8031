"""Structured JSON logs for the Glue job and the library (the Lambdas use Powertools' Logger).

One JSON object per line, with ``level``, ``logger``, ``message``, a UTC ``timestamp`` and every
``extra={...}`` field, so CloudWatch Logs Insights can query them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_json_logging(level: int | str = logging.INFO, stream: Any = None) -> None:
    """Send this process's logs to ``stream`` (stderr) as JSON lines. Idempotent."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_dynamodb_dr", False):
            root.setLevel(level)
            return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._dynamodb_dr = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "py4j", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
