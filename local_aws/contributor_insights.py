"""DynamoDB Contributor Insights settings served by the local endpoint.

Stock moto 5.2.1 has no ``DescribeContributorInsights`` / ``UpdateContributorInsights`` (the server
answers HTTP 500, which clients retry). Here a table's setting is kept and described as AWS does:
``DISABLED`` until enabled, ``ENABLED`` (with ``ContributorInsightsMode`` when one was given) after
``ENABLE``, ``DISABLED`` after ``DISABLE``; an unknown table is a ResourceNotFoundException. AWS
passes through ``ENABLING``/``DISABLING`` first and publishes CloudWatch rules; neither is emulated.
Settings are forgotten with the table's name on ``reset``, not when the table is deleted.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
_installed = False
_settings: dict[tuple[str, str, str], dict[str, Any]] = {}


def reset() -> None:
    with _lock:
        _settings.clear()


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.responses import DynamoHandler

        DynamoHandler.describe_contributor_insights = _describe  # type: ignore[attr-defined]
        DynamoHandler.update_contributor_insights = _update  # type: ignore[attr-defined]
        _installed = True


def _key(self: Any) -> tuple[str, str, str]:
    backend = self.dynamodb_backend
    name = self.body["TableName"]
    backend.get_table(name)  # ResourceNotFoundException for a table that does not exist
    return backend.account_id, backend.region_name, name


def _describe(self: Any) -> Any:
    from moto.core.responses import ActionResult

    key = _key(self)
    with _lock:
        current = dict(_settings.get(key) or {"ContributorInsightsStatus": "DISABLED"})
    return ActionResult({"TableName": key[2], **current})


def _update(self: Any) -> Any:
    from moto.core.responses import ActionResult

    key = _key(self)
    action = self.body["ContributorInsightsAction"]
    status = "ENABLED" if action == "ENABLE" else "DISABLED"
    entry: dict[str, Any] = {"ContributorInsightsStatus": status, "LastUpdateDateTime": datetime.now(UTC)}
    if status == "ENABLED" and self.body.get("ContributorInsightsMode"):
        entry["ContributorInsightsMode"] = self.body["ContributorInsightsMode"]
    with _lock:
        _settings[key] = entry
    return ActionResult({"TableName": key[2], "ContributorInsightsStatus": status})
