"""capacity_budget reads the DescribeTable response a real endpoint returns."""

from __future__ import annotations

import boto3

from dynamodb_dr.restore.rate_limit import capacity_budget


def test_capacity_budget_from_a_real_describe_table(aws):
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="budget-provisioned",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 400},
    )
    ddb.create_table(
        TableName="budget-on-demand",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert capacity_budget(ddb.describe_table(TableName="budget-provisioned"), 50) == 200
    assert (
        capacity_budget(ddb.describe_table(TableName="budget-on-demand"), 50) == 2000
    )  # WarmThroughput 4,000 write units/s, as AWS reports for a new table
