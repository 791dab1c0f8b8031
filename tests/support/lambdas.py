"""Lambda handlers imported from their files, as the Lambda runtime does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_handlers: dict[str, Any] = {}


def load_handler(name: str) -> Any:
    """``lambdas/<name>/handler.py``'s ``lambda_handler``."""
    if name not in _handlers:
        spec = importlib.util.spec_from_file_location(
            f"{name}_handler", ROOT / "lambdas" / name / "handler.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handlers[name] = module.lambda_handler
    return _handlers[name]
