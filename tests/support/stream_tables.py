"""Shared by the stream recovery tests: protected tables with real streams on the local endpoint, the
Lambda handler invoked in-process with stream-shaped events, the scheduled follow-up, and readers of
the state table and of an SNS topic."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery.stream_reader import StreamReader
from lambdas.stream_recovery.handler import lambda_handler
from local_aws.lambda_context import LocalLambdaContext

STATE_TABLE = "stream-recovery-state"
SCHEDULED_EVENT = json.loads(
    (Path(__file__).resolve().parents[1] / "events" / "scheduled_event.json").read_text()
)


def make_table(ddb: Any, name: str, *, pitr: bool = False, ttl_attribute: str = "expires") -> StreamReader:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "team", "Value": "payments"}],
    )
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
    )
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return StreamReader(make_client("dynamodbstreams"), arn)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_handler(event, LocalLambdaContext(function_name="stream-recovery"))


def follow_up() -> dict[str, Any]:
    """The scheduled follow-up, as the EventBridge rule invokes it."""
    return invoke(copy.deepcopy(SCHEDULED_EVENT))


def state_items(ddb: Any, prefix: str) -> list[dict[str, Any]]:
    items = ddb.scan(TableName=STATE_TABLE, ConsistentRead=True)["Items"]
    return [i for i in items if i["pk"]["S"].startswith(prefix)]


def incidents(ddb: Any) -> list[dict[str, Any]]:
    return state_items(ddb, "INCIDENT#")


def topic_with_inbox() -> tuple[str, Callable[[], list[dict[str, Any]]]]:
    """A real SNS topic with an SQS queue subscribed; returns the topic ARN and a reader of the queue."""
    sns, sqs = make_client("sns"), make_client("sqs")
    topic = sns.create_topic(Name="dr-incidents")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="dr-incidents-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    def received() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            batch = messages.get("Messages", [])
            if not batch:
                return out
            out += [json.loads(m["Body"]) for m in batch]
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    return topic, received
