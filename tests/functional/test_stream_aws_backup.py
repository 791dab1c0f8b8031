"""The aws_backup_restore action.

The local emulator has no ListRecoveryPointsByResource / StartRestoreJob, so the AWS Backup client is
driven by botocore's Stubber, which validates every request against the real Backup API model. The
DynamoDB side (table, stream, state table, conditional writes) is the real local endpoint. This path is
NOT exercised against an endpoint (see docs/stream-recovery.md).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.stub import ANY, Stubber

from dynamodb_dr.clients import make_client
from dynamodb_dr.stream_recovery import config as cfg
from dynamodb_dr.stream_recovery.processor import Clients, Runtime, process_event
from dynamodb_dr.stream_recovery.state import create_state_table
from dynamodb_dr.stream_recovery.stream_reader import StreamReader

TABLE = "ledger-table"
STATE_TABLE = "stream-recovery-state"
ROLE = "arn:aws:iam::123456789012:role/dr-backup-restore"
VAULT = "dr-vault"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _point(
    arn_suffix: str, created: datetime, status: str = "COMPLETED", vault: str = VAULT
) -> dict[str, Any]:
    return {
        "RecoveryPointArn": f"arn:aws:backup:us-east-1:123456789012:recovery-point:{arn_suffix}",
        "CreationDate": created,
        "Status": status,
        "BackupVaultName": vault,
    }


def test_aws_backup_restore_starts_one_job_from_the_newest_point_before_the_change(aws):
    ddb = make_client("dynamodb")
    create_state_table(ddb, STATE_TABLE)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN},
        Tags=[{"Key": "team", "Value": "ledger"}],
    )
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["SSEDescription"]["KMSMasterKeyArn"] == KEY_ARN
    reader = StreamReader(make_client("dynamodbstreams"), table["LatestStreamArn"])
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "entry#1"}})
    reader.read_new()
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "entry#1"}})
    event = reader.read_new_event()
    change = datetime.fromtimestamp(event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"], UTC)

    settings = cfg.StreamRecoverySettings.from_env(
        {
            cfg.PROTECTED_TABLES: json.dumps({TABLE: {"action": "aws_backup_restore"}}),
            cfg.INCIDENT_STATE_TABLE: STATE_TABLE,
            cfg.BACKUP_RESTORE_ROLE_ARN: ROLE,
            cfg.BACKUP_VAULT_NAME: VAULT,
        }
    )
    backup = make_client("backup")
    sent: list[dict[str, Any]] = []
    backup.meta.events.register(
        "before-parameter-build.backup.StartRestoreJob", lambda params, **_: sent.append(dict(params))
    )
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_resource",
        {
            "RecoveryPoints": [
                _point("newest-but-after", change + timedelta(minutes=5)),
                _point("old", change - timedelta(days=2)),
            ],
            "NextToken": "page-2",
        },
        {"ResourceArn": table["TableArn"]},
    )
    stubber.add_response(
        "list_recovery_points_by_resource",
        {
            "RecoveryPoints": [
                _point("other-vault", change - timedelta(hours=1), vault="elsewhere"),
                _point("failed", change - timedelta(hours=1), status="PARTIAL"),
                _point(
                    "right", change - timedelta(hours=2), status="AVAILABLE"
                ),  # usable: the API's word too
                _point("older", change - timedelta(hours=3)),
            ]
        },
        {"ResourceArn": table["TableArn"], "NextToken": "page-2"},
    )
    stubber.add_response(
        "start_restore_job",
        {"RestoreJobId": "job-0001"},
        {
            "RecoveryPointArn": _point("right", change)["RecoveryPointArn"],
            "Metadata": ANY,
            "IamRoleArn": ROLE,
            "IdempotencyToken": ANY,
            "ResourceType": "DynamoDB",
        },
    )
    runtime = Runtime(settings=settings, clients=Clients(dynamodb=ddb, backup=backup))

    with stubber:
        assert process_event(event, None, runtime) == {"batchItemFailures": []}
        # Delivered again: the incident exists and its job started, so Backup is not called again
        # (the Stubber has no more responses and would fail the record).
        assert process_event(copy.deepcopy(event), None, runtime) == {"batchItemFailures": []}
    stubber.assert_no_pending_responses()

    [request] = sent
    [incident] = [i for i in ddb.scan(TableName=STATE_TABLE)["Items"] if i["pk"]["S"].startswith("INCIDENT#")]
    assert request["Metadata"] == {
        "targetTableName": incident["target_table"]["S"],
        "encryptionType": "KMS",  # the source's customer managed key, not the DynamoDB-owned one
        "kmsMasterKeyArn": KEY_ARN,
    }
    assert incident["target_table"]["S"].startswith(f"{TABLE}-recovery-")
    assert request["IdempotencyToken"] == incident["incident_id"]["S"]
    assert incident["restore_job_id"]["S"] == "job-0001"
    assert incident["action_status"]["S"] == "started"
    assert (
        ddb.get_item(TableName=TABLE, Key={"pk": {"S": "entry#1"}}).get("Item") is None
    )  # live table untouched

    # The scheduled follow-up follows the job. Running: nothing to do yet. Completed (the job created
    # the table, here on the local endpoint as AWS Backup would): the tags are copied, the end announced.
    target = incident["target_table"]["S"]
    stubber.add_response(
        "describe_restore_job",
        {"RestoreJobId": "job-0001", "Status": "RUNNING"},
        {"RestoreJobId": "job-0001"},
    )
    with stubber:
        assert process_event({"source": "aws.events"}, None, runtime)["followups"] == 1
    assert _incident(ddb)["action_status"]["S"] == "started"
    ddb.create_table(
        TableName=target,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stubber.add_response(
        "describe_restore_job",
        {"RestoreJobId": "job-0001", "Status": "COMPLETED"},
        {"RestoreJobId": "job-0001"},
    )
    with stubber:
        summary = process_event({"source": "aws.events"}, None, runtime)
    stubber.assert_no_pending_responses()
    assert summary["finished"] == [incident["incident_id"]["S"]]
    done = _incident(ddb)
    assert (done["action_status"]["S"], done["settings_status"]["S"]) == ("done", "done")
    restored_arn = ddb.describe_table(TableName=target)["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=restored_arn)["Tags"] == [{"Key": "team", "Value": "ledger"}]


def _incident(ddb) -> dict[str, Any]:
    [incident] = [i for i in ddb.scan(TableName=STATE_TABLE)["Items"] if i["pk"]["S"].startswith("INCIDENT#")]
    return incident


def test_no_recovery_point_before_the_change_is_reported_for_retry(aws):
    ddb = make_client("dynamodb")
    create_state_table(ddb, STATE_TABLE)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table = ddb.describe_table(TableName=TABLE)["Table"]
    reader = StreamReader(make_client("dynamodbstreams"), table["LatestStreamArn"])
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "entry#1"}})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "entry#1"}})
    event = reader.read_new_event()
    remove_sequence = event["Records"][1]["dynamodb"]["SequenceNumber"]
    settings = cfg.StreamRecoverySettings.from_env(
        {
            cfg.PROTECTED_TABLES: json.dumps({TABLE: {"action": "aws_backup_restore"}}),
            cfg.INCIDENT_STATE_TABLE: STATE_TABLE,
            cfg.BACKUP_RESTORE_ROLE_ARN: ROLE,
        }
    )
    backup = make_client("backup")
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_resource", {"RecoveryPoints": []}, {"ResourceArn": table["TableArn"]}
    )

    with stubber:
        response = process_event(
            event, None, Runtime(settings=settings, clients=Clients(dynamodb=ddb, backup=backup))
        )

    assert response == {"batchItemFailures": [{"itemIdentifier": remove_sequence}]}
    [incident] = [i for i in ddb.scan(TableName=STATE_TABLE)["Items"] if i["pk"]["S"].startswith("INCIDENT#")]
    assert incident["action_status"]["S"] == "failed"
    assert "no usable (COMPLETED or AVAILABLE) AWS Backup recovery point" in incident["error"]["S"]
    assert incident["announced"]["SS"] == ["user_delete"]


def test_a_failed_restore_job_is_announced_as_the_end_of_the_incident(aws):
    from tests.support.stream_tables import topic_with_inbox

    ddb = make_client("dynamodb")
    create_state_table(ddb, STATE_TABLE)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table = ddb.describe_table(TableName=TABLE)["Table"]
    reader = StreamReader(make_client("dynamodbstreams"), table["LatestStreamArn"])
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "entry#1"}})
    reader.read_new()
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "entry#1"}})
    event = reader.read_new_event()
    change = datetime.fromtimestamp(event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"], UTC)
    topic, received = topic_with_inbox()
    settings = cfg.StreamRecoverySettings.from_env(
        {
            cfg.PROTECTED_TABLES: json.dumps({TABLE: {"action": "aws_backup_restore"}}),
            cfg.INCIDENT_STATE_TABLE: STATE_TABLE,
            cfg.BACKUP_RESTORE_ROLE_ARN: ROLE,
            cfg.SNS_TOPIC_ARN: topic,
        }
    )
    backup = make_client("backup")
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_resource",
        {"RecoveryPoints": [_point("p", change - timedelta(hours=1))]},
        {"ResourceArn": table["TableArn"]},
    )
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-9"}, None)
    stubber.add_response(
        "describe_restore_job",
        {"RestoreJobId": "job-9", "Status": "FAILED", "StatusMessage": "Access denied to KMS key"},
        {"RestoreJobId": "job-9"},
    )
    runtime = Runtime(settings=settings, clients=Clients(dynamodb=ddb, backup=backup, sns=make_client("sns")))
    with stubber:
        assert process_event(event, None, runtime) == {"batchItemFailures": []}
        summary = process_event({"source": "aws.events"}, None, runtime)
    stubber.assert_no_pending_responses()

    assert len(summary["finished"]) == 1
    [start, end] = received()
    assert (start["event"], start["action_status"]) == ("user_delete", "started")
    assert (end["event"], end["action_status"], end["table"]) == ("end", "failed", TABLE)
    assert "job-9 FAILED: Access denied to KMS key" in end["error"]
    assert end["target_table"].startswith(f"{TABLE}-recovery-")
