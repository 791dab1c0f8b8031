"""Global table replicas for the local endpoint.

moto ignores UpdateTable's ``ReplicaUpdates`` and DescribeTable never shows ``Replicas``. Installed,
UpdateTable with ``ReplicaUpdates`` ``Create``/``Delete`` keeps the replica regions on the table and
DescribeTable lists them (``ReplicaStatus`` ACTIVE at once). Nothing is replicated: the tests play
the replicated writes themselves.
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_update = DynamoHandler.update_table
    original_describe = Table.describe

    def update_table(self: Any) -> Any:
        updates = self.body.get("ReplicaUpdates") or []
        if updates:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            regions = set(getattr(table, "replica_regions", set()))
            for update in updates:
                if "Create" in update:
                    regions.add(update["Create"]["RegionName"])
                if "Delete" in update:
                    regions.discard(update["Delete"]["RegionName"])
            table.replica_regions = regions
        return original_update(self)

    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original_describe(self, base_key)
        regions = sorted(getattr(self, "replica_regions", set()))
        if regions:
            result[base_key]["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in regions]
        return result

    DynamoHandler.update_table = update_table  # type: ignore[method-assign]
    Table.describe = describe  # type: ignore[method-assign]
    _installed = True
