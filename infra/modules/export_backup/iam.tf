# Execution roles: each gets exactly the actions its code calls (tests/infra proves it against the
# code, both ways), on the resources that code touches.

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

# --- Export Lambda ------------------------------------------------------------------------------

resource "aws_iam_role" "export" {
  name               = "${local.export_function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "export" {
  name   = "export-backup"
  role   = aws_iam_role.export.id
  policy = data.aws_iam_policy_document.export.json
}

data "aws_iam_policy_document" "export" {
  statement {
    sid       = "DescribeAndExportTheBackedUpTables"
    actions   = ["dynamodb:DescribeTable", "dynamodb:ExportTableToPointInTime"]
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

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.export.arn}:*"]
  }

  statement {
    # Resource "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
    sid       = "ActiveTracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }
}

# --- Export monitor -----------------------------------------------------------------------------

resource "aws_iam_role" "monitor" {
  name               = "${local.monitor_function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "monitor" {
  name   = "export-monitor"
  role   = aws_iam_role.monitor.id
  policy = data.aws_iam_policy_document.monitor.json
}

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

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.monitor.arn}:*"]
  }

  statement {
    # Resource "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
    sid       = "ActiveTracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }
}
