# The Glue 5.0 restore job: its script and library uploaded from dist/, default arguments for the
# bucket, environment and prefix, continuous logs and a security configuration (KMS everywhere).
# Wheels in python_wheel_paths (isal, built by `make package`) are uploaded beside them and
# installed by Glue at job start with --additional-python-modules: pip reads them from the
# bucket, so a restore never needs PyPI or the internet.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  job_name   = "${var.name}-restore"

  script_key  = "${var.artifacts_prefix}/restore_job.py"
  library_key = "${var.artifacts_prefix}/dynamodb_dr.zip"
  script_uri  = "s3://${var.backup_bucket_name}/${local.script_key}"
  library_uri = "s3://${var.backup_bucket_name}/${local.library_key}"

  table_arns = [for t in var.restore_table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}"]

  # File name -> local path. pip needs the wheel's own file name, so the key keeps it; two paths
  # with the same file name are a Terraform error (duplicate key), never a silent overwrite.
  wheel_paths = { for path in var.python_wheel_paths : basename(path) => path }

  # Glue's own parameters, and the job's (--BACKUP_BUCKET ...). --backup_date is given per run:
  # aws glue start-job-run --arguments. No --enable-metrics: Glue turns job metrics on by the key's
  # presence, whatever its value ("false" included), so leaving it out is what keeps them off.
  job_arguments = {
    "--BACKUP_BUCKET"                    = var.backup_bucket_name
    "--ENVIRONMENT"                      = var.environment
    "--S3_EXPORTS_PREFIX"                = var.exports_prefix
    "--extra-py-files"                   = local.library_uri
    "--job-language"                     = "python"
    "--job-bookmark-option"              = "job-bookmark-disable"
    "--enable-continuous-cloudwatch-log" = "true"
    "--continuous-log-logGroup"          = aws_cloudwatch_log_group.job.name
  }

  # Only with wheels: Glue runs pip on each S3 URI at job start (a wheel without dependencies
  # installs with no internet access). Without them the reader inflates with zlib. A filtering
  # for expression, not `cond ? { k = v } : {}`: Terraform rejects a conditional whose two objects
  # have different attributes.
  python_modules_argument = { for name, value in { "--additional-python-modules" = join(",", [for wheel in aws_s3_object.wheel : "s3://${wheel.bucket}/${wheel.key}"]) } : name => value if length(var.python_wheel_paths) > 0 }
}

resource "aws_s3_object" "script" {
  bucket      = var.backup_bucket_name
  key         = local.script_key
  source      = var.script_path
  source_hash = filemd5(var.script_path)
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_s3_object" "library" {
  bucket      = var.backup_bucket_name
  key         = local.library_key
  source      = var.library_path
  source_hash = filemd5(var.library_path)
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_s3_object" "wheel" {
  for_each = local.wheel_paths

  bucket      = var.backup_bucket_name
  key         = "${var.artifacts_prefix}/wheels/${each.key}"
  source      = each.value
  source_hash = filemd5(each.value)
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_cloudwatch_log_group" "job" {
  name              = "/aws-glue/jobs/${local.job_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_glue_security_configuration" "this" {
  name = "${local.job_name}-security"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_glue_job" "restore" {
  name                   = local.job_name
  description            = "Restores DynamoDB tables from a backup (native exports in S3), type-exact"
  role_arn               = aws_iam_role.glue.arn
  glue_version           = "5.0"
  worker_type            = var.worker_type
  number_of_workers      = var.number_of_workers
  timeout                = var.timeout_minutes
  max_retries            = 0
  security_configuration = aws_glue_security_configuration.this.name
  tags                   = var.tags

  command {
    name            = "glueetl"
    script_location = local.script_uri
    python_version  = "3"
  }

  execution_property {
    # One restore at a time: two runs writing the same tables would race each other.
    max_concurrent_runs = 1
  }

  # --backup_date (YYYY-MM-DD or latest) is given per run: aws glue start-job-run --arguments.
  default_arguments = merge(local.job_arguments, local.python_modules_argument)

  depends_on = [aws_s3_object.script, aws_s3_object.library, aws_s3_object.wheel, aws_iam_role_policy.glue]
}
