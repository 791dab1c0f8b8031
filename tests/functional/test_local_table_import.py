"""The local endpoint's ImportTable / DescribeImport behave as AWS's where a restore depends on them
(``local_aws/table_import.py``): IN_PROGRESS then COMPLETED, counts, exact types, GSIs and SSE from
TableCreationParameters, an existing table refused, ClientToken idempotency, errors counted, ION."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_aws import table_import
from tests.support.items import every_type_item, scan_all

BUCKET = "table-import-bucket"
PREFIX = "exports/AWSDynamoDB/01234567890123-abcdef12/data/"
KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "status", "AttributeType": "S"}]
GSI = {
    "IndexName": "by-status",
    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}


@pytest.fixture
def clients(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return ddb, s3


def _line(item: dict[str, Any]) -> bytes:
    # Binary as base64 text, as a DYNAMODB_JSON export writes it.
    def wire(value: dict[str, Any]) -> dict[str, Any]:
        ((kind, raw),) = value.items()
        if kind == "B":
            import base64

            return {"B": base64.b64encode(raw).decode()}
        if kind == "BS":
            import base64

            return {"BS": [base64.b64encode(v).decode() for v in raw]}
        if kind == "L":
            return {"L": [wire(v) for v in raw]}
        if kind == "M":
            return {"M": {k: wire(v) for k, v in raw.items()}}
        return value

    return json.dumps({"Item": {k: wire(v) for k, v in item.items()}}).encode() + b"\n"


def _params(name: str = "imported", **extra: Any) -> dict[str, Any]:
    return {
        "S3BucketSource": {"S3Bucket": BUCKET, "S3KeyPrefix": PREFIX},
        "InputFormat": "DYNAMODB_JSON",
        "InputCompressionType": "GZIP",
        "TableCreationParameters": {
            "TableName": name,
            "KeySchema": KEYS,
            "AttributeDefinitions": ATTRS,
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [GSI],
        },
        **extra,
    }


def _wait(ddb: Any, arn: str) -> tuple[list[str], dict[str, Any]]:
    seen = []
    for _ in range(200):
        described = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
        seen.append(described["ImportStatus"])
        if described["ImportStatus"] != "IN_PROGRESS":
            return seen, described
        time.sleep(0.02)
    raise AssertionError(f"import {arn} never ended")


def test_an_import_goes_in_progress_then_completed_with_exact_items_counts_gsis_and_sse(clients):
    ddb, s3 = clients
    items = [{**every_type_item(f"i{n}"), "status": {"S": "open"}} for n in range(5)]
    # Two files, one of them multi-member gzip (as exports may be), plus an empty one.
    s3.put_object(
        Bucket=BUCKET, Key=PREFIX + "a.json.gz", Body=gzip.compress(b"".join(map(_line, items[:2])))
    )
    s3.put_object(
        Bucket=BUCKET,
        Key=PREFIX + "b.json.gz",
        Body=gzip.compress(_line(items[2])) + gzip.compress(b"".join(map(_line, items[3:]))),
    )
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "c.json.gz", Body=gzip.compress(b""))
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    params = _params()
    params["TableCreationParameters"]["SSESpecification"] = {
        "Enabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": key,
    }

    started = ddb.import_table(ClientToken="token-1", **params)["ImportTableDescription"]
    assert started["ImportStatus"] == "IN_PROGRESS"
    assert started["ImportArn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/imported/import/")
    seen, done = _wait(ddb, started["ImportArn"])

    assert seen[0] == "IN_PROGRESS" and seen[-1] == "COMPLETED"
    assert (done["ProcessedItemCount"], done["ImportedItemCount"], done["ErrorCount"]) == (5, 5, 0)
    assert done["ProcessedSizeBytes"] == sum(len(_line(i)) for i in items)
    assert done["EndTime"] >= done["StartTime"] and done["ClientToken"] == "token-1"
    assert done["TableCreationParameters"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by-status"
    assert done["CloudWatchLogGroupArn"].endswith(":log-group:/aws-dynamodb/imports:*")
    assert scan_all(ddb, "imported") == scan_all_items(items)  # exact numbers, binary, sets
    table = ddb.describe_table(TableName="imported")["Table"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-status"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == key
    assert (
        ddb.query(
            TableName="imported",
            IndexName="by-status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "open"}},
        )["Count"]
        == 5
    )

    again = ddb.import_table(ClientToken="token-1", **params)["ImportTableDescription"]
    assert again["ImportArn"] == started["ImportArn"]  # the same import, not a second one
    other = _params()
    other["InputCompressionType"] = "NONE"
    with pytest.raises(ClientError) as mismatch:
        ddb.import_table(ClientToken="token-1", **other)
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def scan_all_items(items: list[dict[str, Any]]) -> dict:
    from tests.support.items import normalized

    return {(i["pk"]["S"],): normalized(i) for i in items}


def test_an_existing_table_is_refused_and_nothing_is_imported(clients):
    ddb, s3 = clients
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "a.json.gz", Body=gzip.compress(_line(every_type_item("x"))))
    ddb.create_table(
        TableName="taken", KeySchema=KEYS, AttributeDefinitions=ATTRS[:1], BillingMode="PAY_PER_REQUEST"
    )

    with pytest.raises(ClientError) as refused:
        ddb.import_table(**_params("taken"))

    assert refused.value.response["Error"]["Code"] == "ResourceInUseException"
    assert ddb.scan(TableName="taken")["Count"] == 0


def test_bad_lines_count_as_errors_and_the_import_completes(clients):
    ddb, s3 = clients
    body = (
        _line(every_type_item("ok1")) + b'{"not":"an item"}\n' + b"{broken\n" + _line(every_type_item("ok2"))
    )
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "a.json.gz", Body=gzip.compress(body))

    arn = ddb.import_table(**_params())["ImportTableDescription"]["ImportArn"]
    _, done = _wait(ddb, arn)

    assert done["ImportStatus"] == "COMPLETED"
    assert (done["ProcessedItemCount"], done["ImportedItemCount"], done["ErrorCount"]) == (4, 2, 2)
    assert len(table_import.error_samples(arn)) == 2


def test_a_missing_bucket_fails_the_import_and_leaves_no_table(clients):
    ddb, _ = clients
    params = _params()
    params["S3BucketSource"] = {"S3Bucket": "no-such-bucket-here", "S3KeyPrefix": PREFIX}

    arn = ddb.import_table(**params)["ImportTableDescription"]["ImportArn"]
    _, done = _wait(ddb, arn)

    assert (done["ImportStatus"], done["FailureCode"]) == ("FAILED", "S3NoSuchBucket")
    assert "imported" not in ddb.list_tables()["TableNames"]


def test_zstd_and_csv_are_refused_as_not_emulated(clients):
    ddb, _ = clients
    for change in ({"InputCompressionType": "ZSTD"}, {"InputFormat": "CSV"}):
        with pytest.raises(ClientError) as refused:
            ddb.import_table(**{**_params(), **change})
        assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_an_ion_export_imports(clients):
    from local_aws.ion_export import ion_line

    ddb, s3 = clients
    items = [every_type_item(f"ion{n}") for n in range(3)]
    s3.put_object(
        Bucket=BUCKET,
        Key=PREFIX + "a.ion.gz",
        Body=gzip.compress(b"".join(ion_line(_line(i)) for i in items)),
    )

    arn = ddb.import_table(**{**_params(), "InputFormat": "ION"})["ImportTableDescription"]["ImportArn"]
    _, done = _wait(ddb, arn)

    assert (done["ImportStatus"], done["ImportedItemCount"], done["ErrorCount"]) == ("COMPLETED", 3, 0)
    # ION holds numbers as decimals, not text: 0.000...1 comes back as 1E-36, the same number.
    assert numbers_as_decimals(scan_all(ddb, "imported")) == numbers_as_decimals(scan_all_items(items))


def numbers_as_decimals(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, dict):
        if set(value) == {"N"}:
            return {"N": Decimal(value["N"])}
        if set(value) == {"NS"}:
            return {"NS": sorted(Decimal(v) for v in value["NS"])}
        return {k: numbers_as_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_as_decimals(v) for v in value]
    return value
