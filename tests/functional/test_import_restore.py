"""The fast path for a table that is gone, and the settings a new table does not carry, against the
local endpoint: a deleted table restored through ImportTable (``local_aws.table_import``) comes back
with its items and every recorded setting, read back with Describe* calls and compared with the
original's; ``--import_mode write`` and the ``auto`` fallbacks (LSIs, a data folder with other
objects in it); ``import`` refusing what it cannot import; a failed import reported with its code and
log group; and a backup read from a second bucket (a copy, as replication makes) with the original
bucket gone.

No Spark: the job's stages run on threads (``ThreadRunner``), as in the Restore Lambda.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from dynamodb_dr.restore.args import parse_args
from dynamodb_dr.restore.job import run_restore
from dynamodb_dr.restore.runner import ThreadRunner
from local_aws import table_import
from tests.support.backups import PREFIX, make_backup, put_items
from tests.support.items import every_type_item, large_item, scan_all

BUCKET = "import-restore-bucket"
COPY = "import-restore-replica"
DATE = "2026-05-05"
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


def _items() -> list[dict[str, Any]]:
    items = [every_type_item(f"o{i}") for i in range(6)] + [large_item("o-big")]
    for i, item in enumerate(items):
        item["status"] = {"S": "open" if i % 2 else "closed"}
    return items


def make_orders(ddb: Any, name: str = "orders", **extra: Any) -> tuple[list[dict[str, Any]], str]:
    """A table with every setting the backup records, and the KMS key ARN it is encrypted with."""
    key_arn = boto3.client("kms").create_key(Description="orders table key")["KeyMetadata"]["Arn"]
    ddb.create_table(
        TableName=name,
        KeySchema=KEYS,
        AttributeDefinitions=ATTRS,
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[GSI],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "team", "Value": "orders"}, {"Key": "cost-centre", "Value": "42"}],
        **extra,
    )
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    ddb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 14},
    )
    ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    ddb.put_resource_policy(ResourceArn=arn, Policy=_policy(arn))
    items = _items()
    put_items(ddb, name, items)
    return scan_all(ddb, name), key_arn


def _policy(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:role/reader"},
                    "Action": "dynamodb:GetItem",
                    "Resource": arn,
                }
            ],
        }
    )


def settings_of(ddb: Any, name: str) -> dict[str, Any]:
    """Every setting the restore re-applies, as AWS describes it."""
    table = ddb.describe_table(TableName=name)["Table"]
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    policy = json.loads(ddb.get_resource_policy(ResourceArn=table["TableArn"])["Policy"])
    return {
        "keys": table["KeySchema"],
        "attributes": sorted(table["AttributeDefinitions"], key=str),
        "billing": table["BillingModeSummary"]["BillingMode"],
        "gsis": [
            (g["IndexName"], g["KeySchema"], g["Projection"]) for g in table.get("GlobalSecondaryIndexes", [])
        ],
        "sse": table.get("SSEDescription"),
        "stream": table.get("StreamSpecification"),
        "ttl": ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
        "pitr": (
            pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
            pitr["PointInTimeRecoveryDescription"].get("RecoveryPeriodInDays"),
        ),
        "tags": sorted(
            (t["Key"], t["Value"]) for t in ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
        ),
        "contributor_insights": ddb.describe_contributor_insights(TableName=name)[
            "ContributorInsightsStatus"
        ],
        "policy_resource": policy["Statement"][0]["Resource"] == table["TableArn"],
        "deletion_protection": table.get("DeletionProtectionEnabled", False),
    }


def restore(*argv: str, bucket: str = BUCKET) -> dict[str, Any]:
    args = parse_args(["--BACKUP_BUCKET", bucket, "--ENVIRONMENT", "test", *argv], env={})
    report = run_restore(
        args,
        s3=boto3.client("s3"),
        dynamodb=boto3.client("dynamodb"),
        runner=ThreadRunner(2),
        progress_seconds=0.1,
    )
    return report.to_dict()


def test_a_deleted_table_comes_back_through_import_table_with_every_recorded_setting(clients):
    ddb, s3 = clients
    items, key_arn = make_orders(ddb, DeletionProtectionEnabled=True)
    original = settings_of(ddb, "orders")
    make_backup(ddb, s3, BUCKET, ["orders"], DATE)
    ddb.update_table(TableName="orders", DeletionProtectionEnabled=False)
    ddb.delete_table(TableName="orders")

    report = restore("--backup_date", DATE, "--create_missing_tables", "true")

    table = report["tables"]["orders"]
    assert report["statusCode"] == 200, report
    assert table["restore_path"] == "import" and table["import_arn"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/import/"
    )
    assert table["items_written"] == len(items) == table["items_in_export"]
    assert table["created"] and table["files_written"] == 0  # nothing went through BatchWriteItem
    assert scan_all(ddb, "orders") == items
    restored = settings_of(ddb, "orders")
    assert restored == original
    assert restored["sse"]["KMSMasterKeyArn"] == key_arn
    assert restored["pitr"] == ("ENABLED", 14) and restored["ttl"]["AttributeName"] == "expires"
    assert table["settings"]["SSESpecification"] == f"applied at creation: {key_arn}"
    assert restored["deletion_protection"] is True  # re-applied last, after the import
    for setting in (
        "TimeToLive",
        "PointInTimeRecovery",
        "Tags",
        "StreamSpecification",
        "ResourcePolicy",
        "ContributorInsights",
        "DeletionProtectionEnabled",
    ):
        assert table["settings"][setting] == "applied", (setting, table["settings"])
    assert report["warnings"] == []
    described = ddb.describe_import(ImportArn=table["import_arn"])["ImportTableDescription"]
    assert described["ImportStatus"] == "COMPLETED" and described["InputFormat"] == "DYNAMODB_JSON"
    assert described["S3BucketSource"]["S3KeyPrefix"].endswith("/data/")
    assert described["TableCreationParameters"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by-status"


def test_write_mode_creates_and_writes_and_still_reapplies_the_settings(clients):
    ddb, s3 = clients
    items, _ = make_orders(ddb, DeletionProtectionEnabled=True)
    make_backup(ddb, s3, BUCKET, ["orders"], DATE)

    report = restore(
        "--backup_date", DATE, "--create_missing_tables", "true", "--target_tables", "orders:orders_copy",
        "--import_mode", "write",
    )  # fmt: skip

    table = report["tables"]["orders"]
    assert report["statusCode"] == 200, report
    assert (table["restore_path"], table["restore_path_reason"]) == ("write", "--import_mode write")
    assert table["import_arn"] is None and table["files_written"] == table["files"]
    assert scan_all(ddb, "orders_copy") == items
    original, copy = settings_of(ddb, "orders"), settings_of(ddb, "orders_copy")
    assert copy == original  # the policy now names orders_copy (policy_resource compares with its own ARN)
    assert copy["deletion_protection"] is True
    assert table["settings"]["DeletionProtectionEnabled"] == "applied at creation"


def test_auto_falls_back_to_writes_for_local_secondary_indexes_and_a_crowded_data_folder(clients):
    ddb, s3 = clients
    ddb.create_table(
        TableName="with_lsi",
        KeySchema=[*KEYS, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[*ATTRS, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    put_items(
        ddb, "with_lsi", [{"pk": {"S": f"p{i}"}, "sk": {"S": "s"}, "status": {"S": "x"}} for i in range(3)]
    )
    ddb.create_table(
        TableName="crowded", KeySchema=KEYS, AttributeDefinitions=ATTRS[:1], BillingMode="PAY_PER_REQUEST"
    )
    put_items(ddb, "crowded", [every_type_item(f"c{i}") for i in range(3)])
    backup = make_backup(ddb, s3, BUCKET, ["with_lsi", "crowded"], DATE)
    stray = backup.tables["crowded"].export_manifest_key.rsplit("/", 1)[0] + "/data/notes.txt"
    s3.put_object(Bucket=BUCKET, Key=stray, Body=b"not an item")
    for name in ("with_lsi", "crowded"):
        ddb.delete_table(TableName=name)

    report = restore("--backup_date", DATE, "--create_missing_tables", "true")

    assert report["statusCode"] == 200, report
    lsi, crowded = report["tables"]["with_lsi"], report["tables"]["crowded"]
    assert lsi["restore_path"] == crowded["restore_path"] == "write"
    assert "local secondary indexes" in lsi["restore_path_reason"]
    assert (
        stray in crowded["restore_path_reason"]
        and "ImportTable would read them too" in crowded["restore_path_reason"]
    )
    assert len(scan_all(ddb, "with_lsi")) == 3 and len(scan_all(ddb, "crowded")) == 3

    # --import_mode import refuses it, naming the object and the fix; nothing is created
    ddb.delete_table(TableName="crowded")
    report = restore(
        "--backup_date",
        DATE,
        "--tables",
        "crowded",
        "--create_missing_tables",
        "true",
        "--import_mode",
        "import",
    )
    assert report["statusCode"] == 500
    (error, *_) = report["tables"]["crowded"]["errors"]
    assert (
        "--import_mode import cannot restore crowded" in error
        and stray in error
        and "--import_mode auto" in error
    )
    assert "crowded" not in ddb.list_tables()["TableNames"]


def test_import_mode_import_on_an_existing_target_is_refused(clients):
    ddb, s3 = clients
    ddb.create_table(
        TableName="kept", KeySchema=KEYS, AttributeDefinitions=ATTRS[:1], BillingMode="PAY_PER_REQUEST"
    )
    put_items(ddb, "kept", [every_type_item("k1")])
    make_backup(ddb, s3, BUCKET, ["kept"], DATE)

    report = restore("--backup_date", DATE, "--import_mode", "import")

    (error, *_) = report["tables"]["kept"]["errors"]
    assert "restores only into a table that does not exist, and kept exists" in error


def test_a_failed_import_is_reported_with_its_code_and_log_group_and_leaves_no_table(clients):
    ddb, s3 = clients
    ddb.create_table(
        TableName="doomed", KeySchema=KEYS, AttributeDefinitions=ATTRS[:1], BillingMode="PAY_PER_REQUEST"
    )
    put_items(ddb, "doomed", [every_type_item("d1")])
    make_backup(ddb, s3, BUCKET, ["doomed"], DATE)
    ddb.delete_table(TableName="doomed")
    table_import.configure(fail_tables={"doomed"})

    report = restore("--backup_date", DATE, "--create_missing_tables", "true")

    table = report["tables"]["doomed"]
    assert table["status"] == "FAILED" and table["restore_path"] == "import"
    assert "ended FAILED: UNKNOWN: Import failed" in table["errors"][0]
    assert "log-group:/aws-dynamodb/imports" in table["errors"][0]
    assert "no table doomed was left behind" in table["errors"][0]
    assert "doomed" not in ddb.list_tables()["TableNames"]


def test_a_backup_copied_to_a_second_bucket_restores_from_there_with_the_first_bucket_gone(clients):
    ddb, s3 = clients
    items, _ = make_orders(ddb)
    ddb.create_table(
        TableName="users", KeySchema=KEYS, AttributeDefinitions=ATTRS[:1], BillingMode="PAY_PER_REQUEST"
    )
    put_items(ddb, "users", [every_type_item(f"u{i}") for i in range(5)])
    users = scan_all(ddb, "users")
    make_backup(ddb, s3, BUCKET, ["orders", "users"], DATE)
    # Replication copies object by object; then the first bucket is emptied and deleted, so a read
    # of it anywhere in the restore fails.
    s3.create_bucket(Bucket=COPY)
    keys = [
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in p.get("Contents", [])
    ]
    assert any(k.endswith("/manifest.json") for k in keys) and any("/data/" in k for k in keys)
    for key in keys:
        s3.copy_object(Bucket=COPY, Key=key, CopySource={"Bucket": BUCKET, "Key": key})
        s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_bucket(Bucket=BUCKET)
    ddb.delete_table(TableName="orders")
    for item in users:
        ddb.delete_item(TableName="users", Key={"pk": users[item]["pk"]})

    report = restore("--backup_date", "latest", "--create_missing_tables", "true", bucket=COPY)

    assert report["statusCode"] == 200, report
    assert report["tables"]["orders"]["restore_path"] == "import"
    assert report["tables"]["users"]["restore_path"] == "write"
    assert scan_all(ddb, "orders") == items and scan_all(ddb, "users") == users
    assert any(f"s3://{COPY}, a copy of s3://{BUCKET}" in w for w in report["warnings"])
    described = ddb.describe_import(ImportArn=report["tables"]["orders"]["import_arn"])[
        "ImportTableDescription"
    ]
    assert described["S3BucketSource"]["S3Bucket"] == COPY
    assert report["report_key"].startswith(f"{PREFIX}/{DATE}/restore-reports/")
    assert s3.head_object(Bucket=COPY, Key=report["report_key"])


def test_the_cli_reads_a_copied_backup_where_it_is(clients):
    from dynamodb_dr.cli.backups import plan_check, show_backup

    ddb, s3 = clients
    ddb.create_table(
        TableName="users", KeySchema=KEYS, AttributeDefinitions=ATTRS[:1], BillingMode="PAY_PER_REQUEST"
    )
    put_items(ddb, "users", [every_type_item(f"u{i}") for i in range(3)])
    make_backup(ddb, s3, BUCKET, ["users"], DATE)
    s3.create_bucket(Bucket=COPY)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            s3.copy_object(Bucket=COPY, Key=o["Key"], CopySource={"Bucket": BUCKET, "Key": o["Key"]})
            s3.delete_object(Bucket=BUCKET, Key=o["Key"])
    s3.delete_bucket(Bucket=BUCKET)

    detail = show_backup(s3, COPY, PREFIX, "latest")
    assert detail.bucket == COPY and detail.tables[0].table == "users"
    result, bucket, jobs = plan_check(s3, COPY, PREFIX, "latest")
    assert bucket == COPY and jobs and result.tables["users"].items_expected == 3
