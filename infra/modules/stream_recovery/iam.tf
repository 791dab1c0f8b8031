# What the stream recovery Lambda's code calls, plus what its event source mappings do with its role:
# the policy document the lambda_function module adds its own logs, X-Ray and dead-letter queue to.
# tests/infra proves the role against the code, both ways.

data "aws_iam_policy_document" "stream_recovery" {
  statement {
    # BatchGetItem: a table's baseline, the counts of its previous windows in one read.
    sid       = "IncidentState"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.state.arn]
  }

  statement {
    # item_repair: PutItem the state before the first bad change back, or DeleteItem (conditional
    # writes); GetItem compares the whole item first (a condition cannot see attributes added later).
    sid       = "RepairItems"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = local.protected_table_arns
  }

  statement {
    # Read the source's settings to copy them onto the recovery table, and watch the restore; on
    # protected tables also: is it a global table (Replicas), which is its TTL attribute.
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
    # A restore does not carry TTL, PITR, stream settings, tags or deletion protection: re-apply them.
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
    # Resource "*": Application Auto Scaling's Describe actions support no resource-level permissions.
    sid       = "ReadSourceAutoScaling"
    actions   = ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies"]
    resources = ["*"]
  }

  statement {
    # A recovery table gets its source's auto scaling (a restored table does not carry it). Scalable
    # targets are named by ResourceId in the request; their ARNs are this account's and region's.
    sid       = "CopyAutoScalingToRecoveryTable"
    actions   = ["application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget"]
    resources = ["arn:${local.partition}:application-autoscaling:${local.region}:${local.account_id}:scalable-target/*"]
  }

  statement {
    # Application Auto Scaling checks that the caller may manage the target-tracking alarms it makes
    # for the recovery tables (named TargetTracking-table/<table>-...). DescribeAlarms takes no ARN.
    sid       = "AutoScalingAlarmsOfRecoveryTables"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm"]
    resources = [for t in keys(var.protected_tables) : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:TargetTracking-table/${t}-recovery-*"]
  }

  statement {
    # Resource "*": cloudwatch:DescribeAlarms supports no resource-level permissions for a listing.
    sid       = "ReadAutoScalingAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["*"]
  }

  statement {
    # Resource "*": backup:ListRecoveryPointsByResource supports no resource-level permissions.
    sid       = "FindRecoveryPoints"
    actions   = ["backup:ListRecoveryPointsByResource"]
    resources = ["*"]
  }

  statement {
    # Resource "*": backup:DescribeRestoreJob supports no resource-level permissions (restore jobs
    # are no resource type of AWS Backup's).
    sid       = "FollowBackupRestoreJobs"
    actions   = ["backup:DescribeRestoreJob"]
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
    # The event source mappings write the batches they give up on to the failure bucket (S3 on-failure
    # destination: PutObject, and ListBucket on the bucket) with this role.
    sid       = "OnFailureDestinationObjects"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.failures.arn}/*"]
  }

  statement {
    sid       = "OnFailureDestinationBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.failures.arn]
  }
}
