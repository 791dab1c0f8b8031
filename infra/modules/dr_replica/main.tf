# The backups somewhere else, deployed with a provider of the DR region: the bucket the backup
# bucket's exports are replicated to (modules/backup_storage "replica" sets up the replication from
# the primary side), encrypted there with a KMS key of that region, versioned and locked against
# deletion (S3 Object Lock), plus an AWS Backup vault for the primary plan's copy_action. A restore job
# deployed in the DR region (modules/glue_restore, modules/restore_lambda) reads the replica:
# --BACKUP_BUCKET is the only argument that changes (docs/deploy.md, "A region lost").

data "aws_caller_identity" "current" {}
data "aws_region" "dr" {}
data "aws_partition" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  dr_region      = data.aws_region.dr.name
  exports_prefix = trim(var.exports_prefix, "/")
  bucket_name    = coalesce(var.replica_bucket_name, "${var.name}-backups-replica-${local.account_id}-${local.dr_region}")
}

# --- KMS key in the DR region -------------------------------------------------------------------

resource "aws_kms_key" "dr" {
  description             = "${var.name}: DynamoDB DR backup replica, DR logs and Backup vault (${local.dr_region})"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "dr" {
  name          = "alias/${var.name}-dr"
  target_key_id = aws_kms_key.dr.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:This document is a KMS key policy, not an IAM policy: its Resource "*" means only this key, and every statement is limited to this account or to a service principal with a source condition.
  #checkov:skip=CKV_AWS_356:In a KMS key policy Resource "*" is the required way to name the key the policy is attached to; it grants nothing on any other resource.
  #checkov:skip=CKV_AWS_109:The kms:* statement is AWS's default key policy statement for the account root: it delegates access to IAM policies (which are least-privilege here). Without it the key could not be administered at all.
  statement {
    sid       = "AccountAdministersKeyThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    # The restore job and Lambda deployed in the DR region encrypt their log groups with this key.
    sid       = "CloudWatchLogsEncryptsTheDRLogGroups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.dr_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.dr_region}:${local.account_id}:log-group:*"]
    }
  }
}

# --- Replica bucket -----------------------------------------------------------------------------

resource "aws_s3_bucket" "replica" {
  #checkov:skip=CKV_AWS_144:This bucket is the cross-region replica; replicating it again would copy the copy.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events: a restore in the DR region is started on demand.
  #checkov:skip=CKV_AWS_18:Access to the replica is logged by CloudTrail data events where the organisation enables them; an access log bucket in the DR region would be one more bucket to lock and keep.
  bucket              = local.bucket_name
  object_lock_enabled = true
  force_destroy       = var.force_destroy
  tags                = var.tags
}

resource "aws_s3_bucket_ownership_controls" "replica" {
  bucket = aws_s3_bucket.replica.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "replica" {
  bucket                  = aws_s3_bucket.replica.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "replica" {
  bucket = aws_s3_bucket.replica.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "replica" {
  bucket = aws_s3_bucket.replica.id

  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.replica]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "replica" {
  bucket = aws_s3_bucket.replica.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.dr.arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "replica" {
  bucket = aws_s3_bucket.replica.id

  rule {
    id     = "expire-exports-after-retention"
    status = "Enabled"

    filter {
      prefix = "${local.exports_prefix}/"
    }

    expiration {
      days = max(var.retention_days, var.object_lock_days)
    }

    noncurrent_version_expiration {
      noncurrent_days = var.object_lock_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # The DR restore job's artifacts, reports and progress markers: old versions go once unlocked.
  rule {
    id     = "tidy-everything-else"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.object_lock_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.replica]
}

resource "aws_s3_bucket_policy" "replica" {
  bucket = aws_s3_bucket.replica.id
  policy = data.aws_iam_policy_document.replica_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.replica]
}

data "aws_iam_policy_document" "replica_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.replica.arn, "${aws_s3_bucket.replica.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# --- AWS Backup vault in the DR region ----------------------------------------------------------

resource "aws_backup_vault" "dr" {
  name        = "${var.name}-dynamodb-dr"
  kms_key_arn = aws_kms_key.dr.arn
  tags        = var.tags
}

# --- Alarms of what runs in the DR region (the Restore Lambda's Errors alarm) -------------------

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-dr-alarms"
  kms_master_key_id = aws_kms_key.dr.arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}
