# Replication of the exports to the DR region's replica (var.replica: modules/dr_replica's bucket
# and key), with a role that may read this bucket's export versions (and decrypt them) and write
# replicas into the same prefix of the replica (and encrypt them with the DR key). Nothing else.

locals {
  replicate = var.replica == null ? [] : [var.replica]
}

data "aws_iam_policy_document" "replication_assume" {
  count = length(local.replicate)

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "replication" {
  count = length(local.replicate)

  name               = "${var.name}-backup-replication"
  assume_role_policy = data.aws_iam_policy_document.replication_assume[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "replication" {
  count = length(local.replicate)

  name   = "replicate-exports"
  role   = aws_iam_role.replication[0].id
  policy = data.aws_iam_policy_document.replication[0].json
}

data "aws_iam_policy_document" "replication" {
  count = length(local.replicate)

  statement {
    sid       = "ReadTheReplicationConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.backups.arn]
  }

  statement {
    sid       = "ReadTheExportVersions"
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${aws_s3_bucket.backups.arn}/${local.exports_prefix}/*"]
  }

  statement {
    sid       = "WriteTheReplicas"
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = ["${var.replica.bucket_arn}/${local.exports_prefix}/*"]
  }

  statement {
    # This bucket's objects are SSE-KMS with a bucket key: the encryption context is the bucket ARN.
    sid       = "DecryptTheSourceObjects"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [aws_s3_bucket.backups.arn, "${aws_s3_bucket.backups.arn}/${local.exports_prefix}/*"]
    }
  }

  statement {
    sid       = "EncryptTheReplicas"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.replica.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.replica.region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [var.replica.bucket_arn, "${var.replica.bucket_arn}/${local.exports_prefix}/*"]
    }
  }
}

resource "aws_s3_bucket_replication_configuration" "exports" {
  count = length(local.replicate)

  bucket = aws_s3_bucket.backups.id
  role   = aws_iam_role.replication[0].arn

  rule {
    id     = "exports-to-${var.replica.region}"
    status = "Enabled"

    filter {
      prefix = "${local.exports_prefix}/"
    }

    # Deletions here are not replicated: the replica is what survives them.
    delete_marker_replication {
      status = "Disabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket        = var.replica.bucket_arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = var.replica.kms_key_arn
      }

      dynamic "replication_time" {
        for_each = var.replication_time_control ? [1] : []
        content {
          status = "Enabled"
          time {
            minutes = 15
          }
        }
      }

      dynamic "metrics" {
        for_each = var.replication_time_control ? [1] : []
        content {
          status = "Enabled"
          event_threshold {
            minutes = 15
          }
        }
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.backups]
}
