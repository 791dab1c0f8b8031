# The Restore Lambda: restores a backup from a JSON event ({"backup_date":"latest","tables":[...]}),
# in the function when the restore fits in its time, else by starting the Glue restore job with the
# same arguments (answer 202 with the job run id). Function, role, log group and Errors alarm come
# from modules/lambda_function; this module adds the permissions its code needs and its invoke
# config.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  partition     = data.aws_partition.current.partition
  function_name = "${var.name}-restore"

  # The names dynamodb_dr.restore.args (BACKUP_BUCKET, ENVIRONMENT, S3_EXPORTS_PREFIX: the defaults of
  # the event's fields of the same names) and lambda_restore (RESTORE_GLUE_JOB_NAME) read.
  environment_variables = {
    BACKUP_BUCKET         = var.backup_bucket_name
    ENVIRONMENT           = var.environment
    S3_EXPORTS_PREFIX     = var.exports_prefix
    RESTORE_GLUE_JOB_NAME = var.glue_job_name
  }

  table_arns   = [for t in var.restore_table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}"]
  glue_job_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:job/${var.glue_job_name}"
}

# An asynchronous invocation (InvocationType Event) that raised is kept here: an operator sees which
# restore event failed and invokes it again.
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${local.function_name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

module "function" {
  source = "../lambda_function"

  function_name        = local.function_name
  description          = "Restores a DynamoDB backup from a JSON event; hands restores too large for it to the Glue job"
  package_path         = var.restore_package_path
  powertools_layer_arn = var.powertools_layer_arn
  # The reader streams each data file through a spool on /tmp and checks it line by line: its peak
  # RSS is ~55 MiB for a 10 MB and for a 1 GB data file alike (docs/benchmarks.md), so memory is not
  # what limits it. Memory buys CPU in Lambda: 1,769 MB is one full vCPU, which the validation (MD5,
  # gunzip, line checks) and the request signing use. A data file larger than the free /tmp is
  # handed to the Glue job.
  memory_size = var.memory_size
  timeout     = var.timeout
  # One restore at a time: two invocations restoring the same table set would race on its resume
  # markers (a second one is answered by Lambda with a throttle, not queued).
  reserved_concurrent_executions = 1
  environment_variables          = local.environment_variables
  kms_key_arn                    = var.kms_key_arn
  policy_name                    = "restore-lambda"
  policy_json                    = data.aws_iam_policy_document.restore.json
  dead_letter_queue_arn          = aws_sqs_queue.dead_letter.arn
  alarm_topic_arn                = var.alarm_topic_arn
  errors_alarm_description       = "${local.function_name} raised an error instead of answering with its report: its log group has the JSON log with error_type and error."
  log_retention_days             = var.log_retention_days
  tags                           = var.tags
}

# An asynchronous invocation is not retried by Lambda: a restore that stopped answers with its state
# and is finished by invoking it again on purpose (it resumes), not by a blind retry.
resource "aws_lambda_function_event_invoke_config" "restore" {
  function_name                = module.function.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 3600
}
