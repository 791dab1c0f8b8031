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
