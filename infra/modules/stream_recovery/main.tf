# Stream recovery: a Lambda on each protected table's stream (NEW_AND_OLD_IMAGES) that detects
# damaging writes and repairs or restores, invoked on a schedule too (the follow-up that finishes
# restores and closes incidents); its incident state table, incident topic, the S3 bucket that
# keeps the batches its event source mappings give up on, and its alarms.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  partition     = data.aws_partition.current.partition
  function_name = "${var.name}-stream-recovery"
  table_prefix  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table"

  protected_table_arns = [for t in keys(var.protected_tables) : "${local.table_prefix}/${t}"]
  recovery_table_arns  = [for t in keys(var.protected_tables) : "${local.table_prefix}/${t}-recovery-*"]
  stream_arns          = [for t in keys(var.protected_tables) : "${local.table_prefix}/${t}/stream/*"]

  # PROTECTED_TABLES in the shape dynamodb_dr.stream_recovery.config parses.
  protected_tables_json = jsonencode({
    for table, policy in var.protected_tables : table => {
      action                     = policy.action
      protected_attributes       = policy.protected_attributes
      burst_threshold            = coalesce(policy.burst_threshold, var.burst_threshold)
      burst_factor               = coalesce(policy.burst_factor, var.burst_factor)
      user_deletes_are_incidents = policy.user_deletes_are_incidents
      home_region                = policy.home_region
      dry_run                    = policy.dry_run
    }
  })

  # The names dynamodb_dr.stream_recovery.config reads (tests/infra checks they match the code).
  environment_variables = {
    PROTECTED_TABLES        = local.protected_tables_json
    INCIDENT_STATE_TABLE    = aws_dynamodb_table.state.name
    SNS_TOPIC_ARN           = aws_sns_topic.incidents.arn
    INCIDENT_WINDOW_SECONDS = tostring(var.incident_window_seconds)
    BURST_THRESHOLD         = tostring(var.burst_threshold)
    BACKUP_VAULT_NAME       = var.backup_vault_name
    BACKUP_RESTORE_ROLE_ARN = var.backup_restore_role_arn
  }
}

# Precondition, checked at plan time: every protected table streams NEW_AND_OLD_IMAGES (the
# Lambda needs the old image to undo a write). Turn it on with
#   aws dynamodb update-table --table-name T --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES
data "aws_dynamodb_table" "protected" {
  for_each = var.protected_tables
  name     = each.key

  lifecycle {
    postcondition {
      condition     = self.stream_enabled && self.stream_view_type == "NEW_AND_OLD_IMAGES"
      error_message = "Table ${each.key} has no NEW_AND_OLD_IMAGES stream. Enable it: aws dynamodb update-table --table-name ${each.key} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES"
    }
  }
}

# --- Incident state, topic, on-failure queue ----------------------------------------------------

resource "aws_dynamodb_table" "state" {
  name                        = "${var.name}-stream-recovery-state"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = true
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_sns_topic" "incidents" {
  name              = "${var.name}-stream-incidents"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "incident_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.incidents.arn
  protocol  = "email"
  endpoint  = each.value
}

# The event source mappings' on-failure destination. Unlike SQS or SNS, an S3 destination keeps the
# whole invocation record (the stream records), so a batch given up on can be replayed after the
# stream's 24 h: python -m dynamodb_dr.stream_recovery.replay --bucket <failure_bucket_name>.
resource "aws_s3_bucket" "failures" {
  #checkov:skip=CKV_AWS_144:The objects are failed stream batches of this region's tables, replayed here within their retention; replicating them to another region would not make them replayable there.
  #checkov:skip=CKV2_AWS_62:Failed batches are announced by the StreamRecordFailures and Errors alarms and replayed by a person with the replay command; an event notification would have no receiver.
  bucket_prefix = "${var.name}-stream-failures-"
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "failures" {
  bucket = aws_s3_bucket.failures.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "failures" {
  bucket                  = aws_s3_bucket.failures.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "failures" {
  bucket = aws_s3_bucket.failures.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "failures" {
  bucket = aws_s3_bucket.failures.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "failures" {
  bucket = aws_s3_bucket.failures.id

  rule {
    id     = "expire-failed-batches"
    status = "Enabled"

    filter {}

    expiration {
      days = var.failure_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.failures]
}

resource "aws_s3_bucket_logging" "failures" {
  bucket        = aws_s3_bucket.failures.id
  target_bucket = var.access_log_bucket_name
  target_prefix = "s3-access/${var.name}-stream-failures/"
}

resource "aws_s3_bucket_policy" "failures" {
  bucket = aws_s3_bucket.failures.id
  policy = data.aws_iam_policy_document.failures_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.failures]
}

data "aws_iam_policy_document" "failures_bucket" {
  statement {
    sid       = "DenyRequestsWithoutTLS"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.failures.arn, "${aws_s3_bucket.failures.arn}/*"]

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

# Scheduled follow-up invocations that fail every retry (asynchronous invocations).
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-stream-recovery-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# --- Function (role, log group and Errors alarm: modules/lambda_function) -----------------------

module "function" {
  source = "../lambda_function"

  function_name                  = local.function_name
  description                    = "Detects damaging writes on protected DynamoDB tables' streams and repairs or restores"
  package_path                   = var.package_path
  powertools_layer_arn           = var.powertools_layer_arn
  timeout                        = 120
  reserved_concurrent_executions = var.reserved_concurrency
  environment_variables          = local.environment_variables
  kms_key_arn                    = var.kms_key_arn
  policy_name                    = "stream-recovery"
  policy_json                    = data.aws_iam_policy_document.stream_recovery.json
  dead_letter_queue_arn          = aws_sqs_queue.dead_letter.arn
  alarm_topic_arn                = aws_sns_topic.incidents.arn
  errors_alarm_description       = "The stream recovery Lambda failed a whole invocation (a batch is retried, bisected, then kept in the failure bucket; a follow-up is retried)."
  log_retention_days             = var.log_retention_days
  tags                           = var.tags
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = data.aws_dynamodb_table.protected

  event_source_arn                   = each.value.stream_arn
  function_name                      = module.function.function_arn
  starting_position                  = "LATEST"
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = 1
  parallelization_factor             = 1
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_s3_bucket.failures.arn
    }
  }

  # Only REMOVE and MODIFY can be incidents or count towards a table's rate (the code classifies
  # every INSERT as normal), so INSERTs never invoke the function. TTL deletes are filtered in code: AWS's guides disagree on
  # whether a filter may match userIdentity.
  filter_criteria {
    filter {
      pattern = jsonencode({ eventName = ["REMOVE", "MODIFY"] })
    }
  }
}

# --- Scheduled follow-up: restores started when their point is restorable, followed to the end,
# --- settings re-applied, quiet incidents closed and announced (whether or not records arrive) ---

resource "aws_cloudwatch_event_rule" "followup" {
  name                = "${local.function_name}-followup"
  description         = "Finish what stream recovery incidents started"
  schedule_expression = var.followup_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "followup" {
  rule = aws_cloudwatch_event_rule.followup.name
  arn  = module.function.function_arn
}

resource "aws_lambda_permission" "followup" {
  statement_id  = "AllowFollowupScheduleToInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.followup.arn
}

resource "aws_lambda_function_event_invoke_config" "followup" {
  function_name                = module.function.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

# --- Alarms -------------------------------------------------------------------------------------

# Per-record failures (ReportBatchItemFailures) leave the Lambda's Errors metric at 0: the code
# publishes them as the StreamRecordFailures metric (CloudWatch embedded metric format in its logs).
resource "aws_cloudwatch_metric_alarm" "record_failures" {
  alarm_name          = "${local.function_name}-record-failures"
  alarm_description   = "Stream records could not be handled: they are retried, then kept in the failure bucket (replay them with python -m dynamodb_dr.stream_recovery.replay)."
  namespace           = "DynamoDBDR"
  metric_name         = "StreamRecordFailures"
  dimensions          = { service = "dynamodb-dr-stream-recovery" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.incidents.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${local.function_name}-iterator-age"
  alarm_description   = "The stream recovery Lambda lags behind the streams: repairs come late, and records older than maximum_record_age_seconds are given up on."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.iterator_age_alarm_seconds * 1000
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.incidents.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${local.function_name}-throttles"
  alarm_description   = "The stream recovery Lambda is throttled (reserved_concurrency too low for the shards): the streams lag."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.incidents.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${local.function_name}-dead-letters"
  alarm_description   = "A scheduled follow-up failed every retry; its event is in the dead-letter queue (the next run tries again)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.incidents.arn]
  tags                = var.tags
}

# --- Addresses before modules/lambda_function (an existing deployment keeps its resources) ------

moved {
  from = aws_lambda_function.stream_recovery
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_iam_role.stream_recovery
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.stream_recovery
  to   = module.function.aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.stream_recovery
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = module.function.aws_cloudwatch_metric_alarm.errors
}
