output "function_name" {
  description = "Name of the Restore Lambda (aws lambda invoke --function-name ... --payload '{\"backup_date\":\"latest\",\"dry_run\":true}')."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the Restore Lambda."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the Restore Lambda's execution role."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the Restore Lambda."
  value       = module.function.log_group_name
}

output "dead_letter_queue_url" {
  description = "SQS queue that keeps asynchronous invocations that raised."
  value       = aws_sqs_queue.dead_letter.url
}
