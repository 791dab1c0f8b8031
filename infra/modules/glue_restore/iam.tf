# The job's role: exactly the actions the restore code calls (tests/infra proves it against the
# code, both ways), plus what Glue itself needs to run the job (read its artifacts, write logs).

data "aws_iam_policy_document" "glue_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "glue" {
  name               = "${local.job_name}-role"
  assume_role_policy = data.aws_iam_policy_document.glue_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "glue" {
  name   = "restore-job"
  role   = aws_iam_role.glue.id
  policy = data.aws_iam_policy_document.glue.json
}

data "aws_iam_policy_document" "glue" {
  statement {
    # DescribeTable (and the table_exists waiter): check or wait for the targets. CreateTable and
    # UpdateContinuousBackups: --create_missing_tables. CreateBackup: an on-demand backup of a
    # target before --clear_existing_data. Scan + BatchWriteItem: clear and write the items.
    # GetItem + conditional PutItem/DeleteItem: --rewind_to / --undo_window put back each changed
    # item only while it is still in its last exported state.
    sid = "RestoreIntoTheTargetTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:CreateBackup",
      "dynamodb:CreateTable",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Scan",
      "dynamodb:UpdateContinuousBackups",
    ]
    resources = local.table_arns
  }

  statement {
    # --drill true: the scratch tables {table}-drill-*: created, written, verified (Scan), PITR on
    # (a created table), deletion protection (copied from the source's definition) turned off, deleted.
    sid = "DrillScratchTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:CreateTable",
      "dynamodb:DeleteTable",
      "dynamodb:DescribeTable",
      "dynamodb:Scan",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:UpdateTable",
    ]
    resources = local.drill_table_arns
  }

  statement {
    # The drill's report, kept with the backups.
    sid       = "WriteDrillReports"
    actions   = ["s3:PutObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/drills/*"]
  }

  statement {
    # The drill's metrics. PutMetricData has no resource-level permissions: the namespace condition
    # is what narrows it.
    sid       = "PutDrillMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["DynamoDBDR"]
    }
  }

  statement {
    # A drill's RTO counts from its job run's start (GetJobRun StartedOn), Glue's start-up included.
    sid       = "ReadOwnJobRuns"
    actions   = ["glue:GetJobRun"]
    resources = ["arn:${local.partition}:glue:${local.region}:${local.account_id}:job/${local.job_name}"]
  }

  statement {
    # The drill's result announced.
    sid       = "AnnounceDrills"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
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
    resources = local.restore_table_arns
  }

  statement {
    # --import_mode auto|import: a missing target is created and filled by ImportTable from the
    # export's data files (dynamodb_dr/restore/import_path.py). DynamoDB reads them with the
    # caller's s3:GetObject/s3:ListBucket (granted above) and logs to /aws-dynamodb/*.
    sid       = "ImportMissingTables"
    actions   = ["dynamodb:ImportTable"]
    resources = local.restore_table_arns
  }

  statement {
    sid       = "FollowTheImports"
    actions   = ["dynamodb:DescribeImport"]
    resources = [for arn in local.restore_table_arns : "${arn}/import/*"]
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
    # Manifests and export data files; the job script and library (Glue fetches them as this role).
    sid       = "ReadTheBackups"
    actions   = ["s3:GetObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*", "${var.backup_bucket_arn}/${var.artifacts_prefix}/*"]
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
    # ListObjectsV2 finds the backup dates for "latest"; it also turns a missing key into 404.
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
    # Glue writes the driver/executor output to /aws-glue/jobs/* groups of its own (named after the
    # security configuration) and the continuous log to the job's group; with SSE-KMS logging it
    # associates the key with the groups it creates.
    sid       = "GlueJobLogs"
    actions   = ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/jobs/*"]
  }
}
