output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function (event source mappings, EventBridge targets)."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function (log metric filters read it)."
  value       = aws_cloudwatch_log_group.this.name
}

output "errors_alarm_name" {
  description = "Name of the alarm on the function's Errors metric."
  value       = aws_cloudwatch_metric_alarm.errors.alarm_name
}
