# One Lambda function of this project with what every one of them has: its execution role (iam.tf),
# its CloudWatch log group (created here, so retention and encryption are ours, not the runtime's
# defaults), active tracing, environment variables encrypted with the deployment's key, and an
# alarm on its Errors metric. The caller passes the function's own permissions as a policy
# document (exact actions on exact resources), its environment variables and its alarm topic.

data "aws_caller_identity" "current" {}

locals {
  errors_alarm_description = coalesce(var.errors_alarm_description, "${var.function_name} raised an error: its log group has the JSON log with error_type and error.")
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls AWS public APIs over TLS with IAM auth and holds no network listener; a VPC would add NAT or interface endpoints (cost, failure points) without reducing exposure. Attach vpc_config in a fork if your policy requires it.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile owned by the deploying organisation. The zip is built reproducibly by `make package` and pinned by source_code_hash, so Terraform deploys exactly the reviewed build.
  #checkov:skip=CKV_AWS_116:The dead-letter queue is the caller's (dead_letter_queue_arn): the scheduled export and monitor pass one; the stream recovery Lambda is invoked synchronously by its event source mappings, which never use a function DLQ, and sends failed batches to the mappings' on-failure queue instead.
  function_name                  = var.function_name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  runtime                        = "python3.11"
  architectures                  = ["x86_64"]
  handler                        = "handler.lambda_handler"
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  layers                         = [var.powertools_layer_arn]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  environment {
    variables = var.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]

    content {
      target_arn = dead_letter_config.value
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = local.errors_alarm_description
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  tags                = var.tags
}
