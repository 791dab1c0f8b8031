"""The local endpoint's exports have the real AWS layout the restore job reads."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from local_aws import export_layout

BUCKET = "layout-test-bucket"


def _table(ddb, name: str, pitr: bool = True) -> str:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def _wait(ddb, arn: str) -> dict:
    for _ in range(100):
        desc = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        if desc["ExportStatus"] != "IN_PROGRESS":
            return desc
        time.sleep(0.05)
    raise AssertionError("export did not finish")


def test_export_has_aws_layout_manifests_and_checksums(aws):
    export_layout.configure(items_per_file=3, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    arn = _table(ddb, "layout-table")
    for i in range(7):
        ddb.put_item(TableName="layout-table", Item={"pk": {"S": f"k{i}"}, "b": {"B": bytes([255, i])}})

    started = ddb.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=BUCKET, S3Prefix="p/2026-01-02/layout-table", ClientToken="t1"
    )["ExportDescription"]
    assert re.fullmatch(
        r"arn:aws:dynamodb:us-east-1:\d{12}:table/layout-table/export/\d{14}-[0-9a-f]{8}",
        started["ExportArn"],
    )
    desc = _wait(ddb, started["ExportArn"])
    assert desc["ExportStatus"] == "COMPLETED"
    assert desc["ItemCount"] == 7 and desc["BilledSizeBytes"] > 0

    export_id = started["ExportArn"].rsplit("/", 1)[1]
    base = f"p/2026-01-02/layout-table/AWSDynamoDB/{export_id}"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    for name in (
        "_started",
        "manifest-summary.json",
        "manifest-summary.checksum",
        "manifest-files.json",
        "manifest-files.checksum",
    ):
        assert f"{base}/{name}" in keys
    assert desc["ExportManifest"] == f"{base}/manifest-summary.json"

    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{base}/manifest-summary.json")["Body"].read())
    assert summary["itemCount"] == 7 and summary["exportArn"] == started["ExportArn"]
    assert summary["manifestFilesS3Key"] == f"{base}/manifest-files.json"

    entries = [
        json.loads(line)
        for line in s3.get_object(Bucket=BUCKET, Key=f"{base}/manifest-files.json")["Body"]
        .read()
        .splitlines()
    ]
    assert [e["itemCount"] for e in entries] == [3, 3, 1, 0]  # three with items, one empty partition
    seen_items = []
    for entry in entries:
        assert re.fullmatch(rf"{base}/data/[a-z2-7]+\.json\.gz", entry["dataFileS3Key"])
        body = s3.get_object(Bucket=BUCKET, Key=entry["dataFileS3Key"])["Body"].read()
        assert base64.b64encode(hashlib.md5(body).digest()).decode() == entry["md5Checksum"]
        lines = gzip.decompress(body).splitlines()
        assert len(lines) == entry["itemCount"]
        seen_items += [json.loads(line)["Item"] for line in lines]
    assert sorted(i["pk"]["S"] for i in seen_items) == [f"k{i}" for i in range(7)]
    assert {i["pk"]["S"]: base64.b64decode(i["b"]["B"]) for i in seen_items}["k3"] == bytes([255, 3])


def test_client_token_is_idempotent_and_pitr_is_required(aws):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    arn = _table(ddb, "token-table")
    first = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, S3Prefix="a", ClientToken="same")
    again = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, S3Prefix="a", ClientToken="same")
    assert first["ExportDescription"]["ExportArn"] == again["ExportDescription"]["ExportArn"]
    with pytest.raises(ClientError) as conflict:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, S3Prefix="b", ClientToken="same")
    assert conflict.value.response["Error"]["Code"] == "ExportConflictException"

    no_pitr = _table(ddb, "no-pitr-table", pitr=False)
    with pytest.raises(ClientError) as unavailable:
        ddb.export_table_to_point_in_time(TableArn=no_pitr, S3Bucket=BUCKET, S3Prefix="c")
    assert unavailable.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"


def test_export_stays_in_progress_for_the_configured_delay(aws):
    export_layout.configure(delay_seconds=0.5)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    arn = _table(ddb, "slow-table")
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, S3Prefix="s")[
        "ExportDescription"
    ]
    assert (
        ddb.describe_export(ExportArn=started["ExportArn"])["ExportDescription"]["ExportStatus"]
        == "IN_PROGRESS"
    )
    assert _wait(ddb, started["ExportArn"])["ExportStatus"] == "COMPLETED"
