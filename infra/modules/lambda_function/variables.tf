variable "function_name" {
  description = "Name of the function; its role is \"<name>-role\", its log group \"/aws/lambda/<name>\", its alarm \"<name>-errors\"."
  type        = string
}

variable "description" {
  description = "What the function does (the Lambda console shows it)."
  type        = string
}

variable "package_path" {
  description = "Path of the function's zip built by `make package` (dist/lambda/<function>.zip), with handler.lambda_handler at its root."
  type        = string
}

variable "powertools_layer_arn" {
  description = "ARN of the AWS-published Powertools for AWS Lambda (Python) v3 layer for python3.11 x86_64."
  type        = string
}

variable "memory_size" {
  description = "Memory of the function, in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Seconds after which Lambda stops an invocation."
  type        = number
}

variable "reserved_concurrent_executions" {
  description = "Concurrent executions reserved for the function (1 for the scheduled ones: two runs must not overlap)."
  type        = number
}

variable "environment_variables" {
  description = "Environment variables of the function: exactly the ones its code reads (tests/infra checks it)."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the deployment: encrypts the environment variables and the log group."
  type        = string
}

variable "policy_name" {
  description = "Name of the role's inline policy."
  type        = string
}

variable "policy_json" {
  description = "IAM policy document (aws_iam_policy_document JSON) of what the function's code calls: exact actions on exact resources. This module adds its own logs, X-Ray and the dead-letter queue."
  type        = string
}

variable "dead_letter_queue_arn" {
  description = "SQS queue that gets asynchronous invocations that failed every retry. Null: none (a function invoked synchronously, e.g. by an event source mapping)."
  type        = string
  default     = null
}

variable "alarm_topic_arn" {
  description = "SNS topic every alarm of this module publishes to."
  type        = string
}

variable "errors_alarm_description" {
  description = "Description of the Errors alarm (what a failure means, where to look). Null: \"<name> raised an error: its log group has the JSON log with error_type and error.\""
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
