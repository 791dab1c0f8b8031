"""Table definitions: what a restore needs to recreate a table exactly as it was backed up."""

from __future__ import annotations

from typing import Any

# The parts of DescribeTable's TableDescription that CreateTable takes back.
_INDEX_FIELDS = ("IndexName", "KeySchema", "Projection")


def _throughput(desc: dict[str, Any] | None) -> dict[str, int] | None:
    if not desc:
        return None
    read, write = desc.get("ReadCapacityUnits"), desc.get("WriteCapacityUnits")
    if not read and not write:
        return None
    return {"ReadCapacityUnits": int(read or 1), "WriteCapacityUnits": int(write or 1)}


def table_definition(description: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable-shaped definition of a table, from DescribeTable's ``Table``.

    Kept: key schema, attribute definitions, billing mode (and provisioned throughput), global and
    local secondary indexes, table class, stream view type, deletion protection, server-side
    encryption (type and KMS key ARN), the on-demand maximum (``OnDemandThroughput``) and warm
    throughput. The settings DescribeTable does not show (TTL, PITR, tags, resource policy,
    Contributor Insights) are read by ``table_settings.read_settings`` and recorded under
    ``"Settings"``; ``create_table_request`` leaves them, and warm throughput, out of CreateTable.
    """
    billing = (description.get("BillingModeSummary") or {}).get("BillingMode")
    throughput = _throughput(description.get("ProvisionedThroughput"))
    if billing is None:
        # DescribeTable omits BillingModeSummary for tables that were always provisioned.
        billing = "PROVISIONED" if throughput else "PAY_PER_REQUEST"
    definition: dict[str, Any] = {
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED" and throughput:
        definition["ProvisionedThroughput"] = throughput
    gsis = []
    for index in description.get("GlobalSecondaryIndexes") or []:
        gsi = {k: index[k] for k in _INDEX_FIELDS if k in index}
        if billing == "PROVISIONED":
            gsi["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput")) or {
                "ReadCapacityUnits": 1,
                "WriteCapacityUnits": 1,
            }
        gsis.append(gsi)
    if gsis:
        definition["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {k: index[k] for k in _INDEX_FIELDS if k in index}
        for index in description.get("LocalSecondaryIndexes") or []
    ]
    if lsis:
        definition["LocalSecondaryIndexes"] = lsis
    table_class = (description.get("TableClassSummary") or {}).get("TableClass")
    if table_class:
        definition["TableClass"] = table_class
    stream = description.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    if description.get("DeletionProtectionEnabled"):
        definition["DeletionProtectionEnabled"] = True
    sse = description.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") and sse.get("SSEType") == "KMS":
        # An AWS owned key (the default) shows no SSEDescription; a KMS key (AWS managed or the
        # customer's) is recreated with the same key ARN.
        spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
        if sse.get("KMSMasterKeyArn"):
            spec["KMSMasterKeyId"] = sse["KMSMasterKeyArn"]
        definition["SSESpecification"] = spec
    on_demand = {
        k: int(v)
        for k, v in (description.get("OnDemandThroughput") or {}).items()
        if k in ("MaxReadRequestUnits", "MaxWriteRequestUnits") and v is not None and int(v) > 0
    }
    if on_demand and billing == "PAY_PER_REQUEST":
        definition["OnDemandThroughput"] = on_demand
    warm = {
        k: int(v)
        for k, v in (description.get("WarmThroughput") or {}).items()
        if k in ("ReadUnitsPerSecond", "WriteUnitsPerSecond") and v is not None and int(v) > 0
    }
    if warm:
        definition["WarmThroughput"] = warm
    return definition


CREATE_TABLE_FIELDS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "TableClass",
    "StreamSpecification",
    "DeletionProtectionEnabled",
    "SSESpecification",
    "OnDemandThroughput",
)
"""The recorded fields CreateTable takes. Warm throughput is raised after creation only when the new
table has less (``table_settings``): asking for it at creation is billed even when it is the default."""

IMPORT_TABLE_FIELDS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "SSESpecification",
    "OnDemandThroughput",
)
"""The recorded fields ImportTable's TableCreationParameters take (no LSIs, class, stream, deletion
protection: those a table gets after the import, or, for LSIs, not at all: such a table is written)."""


def create_table_request(table_name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable arguments that recreate ``table_name`` from a recorded definition."""
    return {"TableName": table_name, **{k: definition[k] for k in CREATE_TABLE_FIELDS if k in definition}}


def import_table_parameters(table_name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """ImportTable's TableCreationParameters for ``table_name`` from a recorded definition."""
    params = {k: definition[k] for k in IMPORT_TABLE_FIELDS if k in definition}
    return {"TableName": table_name, **params}


def key_schema_signature(
    key_schema: list[dict[str, str]], attribute_definitions: list[dict[str, str]]
) -> tuple:
    """A comparable form of a key schema: ((name, HASH|RANGE, S|N|B), ...)."""
    types = {a["AttributeName"]: a["AttributeType"] for a in attribute_definitions}
    return tuple((k["AttributeName"], k["KeyType"], types.get(k["AttributeName"])) for k in key_schema)


def describe_key_schema(signature: tuple) -> str:
    return ", ".join(f"{name} ({kind}, {typ})" for name, kind, typ in signature) or "(none)"
