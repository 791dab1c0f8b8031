# What the Restore Lambda's code calls, on the resources it touches: the restore job's own
# permissions on the backups and the target tables, plus starting the Glue restore job (that job
# only). tests/infra proves this role against the code, both ways.

data "aws_iam_policy_document" "restore" {
  statement {
    # DescribeTable: check the targets (and their capacity for write_rate_percent). CreateTable and
    # UpdateContinuousBackups: create_missing_tables. CreateBackup: the safety backup before
    # clear_existing_data. BatchWriteItem: write the items; Scan + BatchWriteItem: remove the
    # items not in the backup, last.
    sid = "RestoreIntoTheTargetTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:CreateBackup",
      "dynamodb:CreateTable",
      "dynamodb:DescribeTable",
      "dynamodb:Scan",
      "dynamodb:UpdateContinuousBackups",
    ]
    resources = local.table_arns
  }

  statement {
    # A table the restore created gets the backed-up settings it does not carry
    # (dynamodb_dr/table_settings.py): class, stream, warm throughput and deletion protection
    # (UpdateTable), tags, TTL, Contributor Insights and the resource policy.
    sid = "ReapplyTheBackedUpSettings"
    actions = [
      "dynamodb:PutResourcePolicy",
      "dynamodb:TagResource",
      "dynamodb:UpdateContributorInsights",
      "dynamodb:UpdateTable",
      "dynamodb:UpdateTimeToLive",
    ]
    resources = local.table_arns
  }

  statement {
    # --import_mode auto|import: a missing target is created and filled by ImportTable from the
    # export's data files (dynamodb_dr/restore/import_path.py). DynamoDB reads them with the
    # caller's s3:GetObject/s3:ListBucket (granted above) and logs to /aws-dynamodb/*.
    sid       = "ImportMissingTables"
    actions   = ["dynamodb:ImportTable"]
    resources = local.table_arns
  }

  statement {
    sid       = "FollowTheImports"
    actions   = ["dynamodb:DescribeImport"]
    resources = [for arn in local.table_arns : "${arn}/import/*"]
  }

  statement {
    # ImportTable writes its progress and item errors to CloudWatch Logs with the caller's
    # permissions (DynamoDB developer guide, "Import from Amazon S3: IAM permissions").
    sid = "ImportLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      "logs:PutRetentionPolicy",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-dynamodb/*"]
  }

  statement {
    # Manifests and export data files.
    sid       = "ReadTheBackups"
    actions   = ["s3:GetObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*"]
  }

  statement {
    # The restore report beside the manifest, and the progress markers of a resumable restore.
    sid       = "WriteRestoreReportsAndProgress"
    actions   = ["s3:PutObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*/restore-reports/*", "${var.backup_bucket_arn}/${var.exports_prefix}/*/restore-progress/*"]
  }

  statement {
    # A finished restore removes its progress markers (DeleteObjects).
    sid       = "ClearRestoreProgress"
    actions   = ["s3:DeleteObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*/restore-progress/*"]
  }

  statement {
    # ListObjectsV2 finds the backup dates for "latest" and the progress markers; it also turns a
    # missing key into 404.
    sid       = "ListTheBackups"
    actions   = ["s3:ListBucket"]
    resources = [var.backup_bucket_arn]
  }

  statement {
    sid       = "UseTheDeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    # A restore that would not finish in the function's time is handed to the Glue restore job.
    sid       = "HandLargeRestoresToTheGlueJob"
    actions   = ["glue:StartJobRun"]
    resources = [local.glue_job_arn]
  }
}
