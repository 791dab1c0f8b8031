# What each function's code calls, on the resources that code touches: the policy documents the
# lambda_function module adds its own logs, X-Ray and dead-letter queue to. tests/infra proves each
# role against the code, both ways.

# --- Export Lambda ------------------------------------------------------------------------------

data "aws_iam_policy_document" "export" {
  statement {
    sid       = "DescribeAndExportTheBackedUpTables"
    actions   = ["dynamodb:DescribeTable", "dynamodb:ExportTableToPointInTime"]
    resources = local.table_arns
  }

  statement {
    # The settings a new table does not carry, recorded with each backup so a restore re-applies
    # them (dynamodb_dr/table_settings.py). A refused read is recorded as unknown, never fatal.
    sid = "RecordTheTablesSettings"
    actions = [
      "dynamodb:DescribeContinuousBackups",
      "dynamodb:DescribeContributorInsights",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:GetResourcePolicy",
      "dynamodb:ListTagsOfResource",
    ]
    resources = local.table_arns
  }

  statement {
    # GetObject/PutObject: the backup manifest (conditional writes). PutObject, PutObjectAcl and
    # AbortMultipartUpload: DynamoDB writes the export with the caller's permissions.
    sid       = "ManifestAndExportObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*"]
  }

  statement {
    # Without ListBucket S3 answers a missing manifest with 403 instead of 404 (NoSuchKey), and
    # the first backup of a day starts from "no manifest yet".
    sid       = "TellMissingManifestFromDenied"
    actions   = ["s3:ListBucket"]
    resources = [var.backup_bucket_arn]
  }

  statement {
    sid       = "UseTheBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# --- Export monitor -----------------------------------------------------------------------------

data "aws_iam_policy_document" "monitor" {
  statement {
    sid       = "FollowTheExports"
    actions   = ["dynamodb:DescribeExport"]
    resources = local.export_arns
  }

  statement {
    # The manifest (read, conditional write) and each export's manifest-summary.json (read).
    sid       = "ManifestAndExportSummaries"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*"]
  }

  statement {
    # Without ListBucket S3 answers a missing manifest with 403 instead of 404 (NoSuchKey).
    sid       = "TellMissingManifestFromDenied"
    actions   = ["s3:ListBucket"]
    resources = [var.backup_bucket_arn]
  }

  statement {
    sid       = "UseTheBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

# --- Export chain -------------------------------------------------------------------------------

data "aws_iam_policy_document" "chain" {
  statement {
    # DescribeTable: TableArn and TableId (a recreated table breaks the chain). DescribeContinuousBackups:
    # the PITR window the windows must lie in. ExportTableToPointInTime: the windows, and the full
    # export that starts a new chain.
    sid       = "CheckAndExportTheBackedUpTables"
    actions   = ["dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:ExportTableToPointInTime"]
    resources = local.table_arns
  }

  statement {
    sid       = "FollowTheChainExports"
    actions   = ["dynamodb:DescribeExport"]
    resources = local.export_arns
  }

  statement {
    # The daily backup manifests and the summaries of their full exports (where a first chain starts).
    sid       = "ReadDailyManifestsAndChainState"
    actions   = ["s3:GetObject"]
    resources = ["${var.backup_bucket_arn}/${var.exports_prefix}/*"]
  }

  statement {
    # chain.json (conditional writes). PutObject, PutObjectAcl and AbortMultipartUpload: DynamoDB
    # writes the chain's exports with the caller's permissions, under the incremental prefix only.
    sid       = "WriteChainStateAndExports"
    actions   = ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"]
    resources = [local.incremental_objects]
  }

  statement {
    # The backup dates are listed to find the newest full export; without ListBucket S3 also answers
    # a missing chain.json with 403 instead of 404 (NoSuchKey).
    sid       = "ListBackupDates"
    actions   = ["s3:ListBucket"]
    resources = [var.backup_bucket_arn]
  }

  statement {
    sid       = "UseTheBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    # Resource "*": cloudwatch:PutMetricData supports no resource-level permissions; the condition
    # keeps it to the chain's namespace.
    sid       = "PublishChainMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["DynamoDBDR"]
    }
  }
}
