output "export_function_name" {
  description = "Name of the export Lambda (invoke with {\"backup_date\": \"YYYY-MM-DD\"} to export a given date)."
  value       = module.export.function_name
}

output "monitor_function_name" {
  description = "Name of the export monitor Lambda."
  value       = module.monitor.function_name
}

output "chain_function_name" {
  description = "Name of the export chain Lambda (incremental exports every incremental_export_minutes)."
  value       = module.chain.function_name
}

output "chain_role_arn" {
  description = "ARN of the export chain Lambda's execution role."
  value       = module.chain.role_arn
}

output "export_role_arn" {
  description = "ARN of the export Lambda's execution role."
  value       = module.export.role_arn
}

output "monitor_role_arn" {
  description = "ARN of the export monitor's execution role."
  value       = module.monitor.role_arn
}

output "alarm_topic_arn" {
  description = "SNS topic the backup alarms publish to."
  value       = aws_sns_topic.alarms.arn
}

output "dead_letter_queue_url" {
  description = "SQS queue that keeps scheduled invocations that failed every retry."
  value       = aws_sqs_queue.dead_letter.url
}
