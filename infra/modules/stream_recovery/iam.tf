# The stream recovery Lambda's role: exactly the actions its code calls (tests/infra proves it
# against the code, both ways), plus what the event source mapping does with this role.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "stream_recovery" {
  name               = "${local.function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "stream_recovery" {
  name   = "stream-recovery"
  role   = aws_iam_role.stream_recovery.id
  policy = data.aws_iam_policy_document.stream_recovery.json
}

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

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.stream_recovery.arn}:*"]
  }

  statement {
    # Resource "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
    sid       = "ActiveTracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}
