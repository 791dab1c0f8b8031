# What the stream recovery Lambda's code calls, plus what its event source mappings do with its role:
# the policy document the lambda_function module adds its own logs and X-Ray to. tests/infra proves
# the role against the code, both ways.

data "aws_iam_policy_document" "stream_recovery" {
  statement {
    sid       = "IncidentState"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.state.arn]
  }

  statement {
    # item_repair: PutItem the old image back, or DeleteItem what was inserted (conditional writes);
    # GetItem compares the whole item first (a condition cannot see attributes added later).
    sid       = "RepairItems"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = local.protected_table_arns
  }

  statement {
    # Read the source's settings to copy them onto the recovery table, and watch the restore.
    sid       = "ReadTableSettings"
    actions   = ["dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"]
    resources = concat(local.protected_table_arns, local.recovery_table_arns)
  }

  statement {
    sid       = "RestoreToRecoveryTable"
    actions   = ["dynamodb:RestoreTableToPointInTime"]
    resources = concat(local.protected_table_arns, local.recovery_table_arns)
  }

  statement {
    # RestoreTableToPointInTime requires these on the table it creates (AWS's PITR restore guide).
    sid       = "RestoreWritesTheRecoveryTable"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"]
    resources = local.recovery_table_arns
  }

  statement {
    # A restore does not carry TTL, PITR, stream settings or tags: re-apply them on the recovery table.
    sid       = "ReapplySettingsOnRecoveryTable"
    actions   = ["dynamodb:TagResource", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive"]
    resources = local.recovery_table_arns
  }

  statement {
    # The event source mapping reads the protected tables' streams with this role.
    sid       = "ReadTheStreams"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = local.stream_arns
  }

  statement {
    # Resource "*": dynamodb:ListStreams supports no resource-level permissions.
    sid       = "ListTheStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"]
  }

  statement {
    # Resource "*": backup:ListRecoveryPointsByResource supports no resource-level permissions.
    sid       = "FindRecoveryPoints"
    actions   = ["backup:ListRecoveryPointsByResource"]
    resources = ["*"]
  }

  statement {
    sid       = "StartBackupRestore"
    actions   = ["backup:StartRestoreJob"]
    resources = ["arn:${local.partition}:backup:${local.region}:${local.account_id}:recovery-point:*"]
  }

  statement {
    # StartRestoreJob passes the restore role to AWS Backup.
    sid       = "PassTheRestoreRole"
    actions   = ["iam:PassRole"]
    resources = [var.backup_restore_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["backup.amazonaws.com"]
    }
  }

  statement {
    sid       = "AnnounceIncidents"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.incidents.arn]
  }

  statement {
    # The topic and the environment variables are encrypted with the deployment's key.
    sid       = "UseTheDeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.on_failure.arn]
  }
}
