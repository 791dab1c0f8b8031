"""What a backup records of a table beyond its keys, and how a restore recreates it in any region."""

from __future__ import annotations

from dynamodb_dr.table_settings import create_time_definition, kms_key_for_region
from dynamodb_dr.tables import create_table_request, import_table_parameters, table_definition

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"

DESCRIPTION = {
    "TableName": "orders",
    "TableArn": "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": KEY},
    "OnDemandThroughput": {"MaxReadRequestUnits": 500, "MaxWriteRequestUnits": -1},
    "WarmThroughput": {"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000, "Status": "ACTIVE"},
    "DeletionProtectionEnabled": True,
    "LocalSecondaryIndexes": [
        {
            "IndexName": "l",
            "KeySchema": [],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "IndexSizeBytes": 0,
        }
    ],
}


def test_the_definition_records_encryption_the_on_demand_maximum_and_warm_throughput():
    definition = table_definition(DESCRIPTION)
    assert definition["SSESpecification"] == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY}
    assert definition["OnDemandThroughput"] == {"MaxReadRequestUnits": 500}  # -1: no maximum
    assert definition["WarmThroughput"] == {"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000}


def test_an_aws_owned_key_records_no_encryption():
    described = {**DESCRIPTION, "SSEDescription": None}
    assert "SSESpecification" not in table_definition(described)


def test_create_table_leaves_out_settings_and_warm_throughput_and_import_leaves_out_what_it_cannot_take():
    definition = {**table_definition(DESCRIPTION), "Settings": {"Tags": []}}
    request = create_table_request("orders_copy", definition)
    assert (
        request["TableName"] == "orders_copy"
        and "Settings" not in request
        and "WarmThroughput" not in request
    )
    assert request["LocalSecondaryIndexes"] and request["DeletionProtectionEnabled"] is True
    params = import_table_parameters("orders_copy", definition)
    assert set(params) == {
        "TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "SSESpecification", "OnDemandThroughput",
    }  # fmt: skip


def test_a_kms_key_of_another_region_is_used_through_its_multi_region_replica_or_left_out():
    assert kms_key_for_region(KEY, "eu-west-1") == (KEY, "")
    assert kms_key_for_region(MRK, "eu-central-1")[0] == MRK.replace("eu-west-1", "eu-central-1")
    usable, why = kms_key_for_region(KEY, "eu-central-1")
    assert usable is None and "is in eu-west-1 and a table in eu-central-1 cannot use it" in why

    definition = table_definition(DESCRIPTION)
    same, note = create_time_definition(definition, "eu-west-1")
    assert same == definition and note is None
    moved, note = create_time_definition(definition, "eu-central-1")
    assert "SSESpecification" not in moved and note and "multi-region key replica" in note
    mrk = {**definition, "SSESpecification": {**definition["SSESpecification"], "KMSMasterKeyId": MRK}}
    replica, note = create_time_definition(mrk, "us-east-2")
    assert (
        replica["SSESpecification"]["KMSMasterKeyId"] == MRK.replace("eu-west-1", "us-east-2")
        and note is None
    )


def test_each_refused_read_is_recorded_as_unknown_and_no_policy_is_normal():
    import boto3
    from botocore.stub import Stubber

    from dynamodb_dr.table_settings import read_settings

    ddb = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="https://x",
    )
    arn = DESCRIPTION["TableArn"]
    with Stubber(ddb) as stub:
        stub.add_client_error(
            "describe_time_to_live", "AccessDeniedException", "not allowed: DescribeTimeToLive"
        )
        stub.add_response(
            "describe_continuous_backups",
            {
                "ContinuousBackupsDescription": {
                    "ContinuousBackupsStatus": "ENABLED",
                    "PointInTimeRecoveryDescription": {
                        "PointInTimeRecoveryStatus": "ENABLED",
                        "RecoveryPeriodInDays": 7,
                    },
                }
            },
        )
        stub.add_response("list_tags_of_resource", {"Tags": [{"Key": "a", "Value": "1"}], "NextToken": "n"})
        stub.add_response("list_tags_of_resource", {"Tags": [{"Key": "b", "Value": "2"}]})
        stub.add_client_error("get_resource_policy", "PolicyNotFoundException", "no policy")
        stub.add_client_error("describe_contributor_insights", "UnknownOperationException", "not here")
        settings = read_settings(ddb, {**DESCRIPTION, "TableArn": arn})

    assert settings == {
        "TimeToLive": {"Unknown": "AccessDeniedException: not allowed: DescribeTimeToLive"},
        "PointInTimeRecovery": {"Enabled": True, "RecoveryPeriodInDays": 7},
        "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        "ResourcePolicy": {"Policy": None},
        "ContributorInsights": {"Unknown": "UnknownOperationException: not here"},
    }
