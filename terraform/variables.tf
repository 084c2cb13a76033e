variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-central-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (SIFTGRAM_RESOURCE_PREFIX); ends with a dash."
  type        = string
  default     = "siftgram-"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}-$", var.name_prefix))
    error_message = "name_prefix: 2-20 lower-case letters, digits and dashes, starting with a letter and ending with a dash."
  }
}

variable "lambda_package_dir" {
  description = "Where the packaging command put the functions' zips (<function>.zip)."
  type        = string
  default     = "../target/lambda/zips"
}

variable "lambda_architecture" {
  description = "x86_64 or arm64, as the zips were built."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}

variable "api_throttle" {
  description = "API Gateway stage throttling: steady requests per second and burst."
  type        = object({ rate = number, burst = number })
  default     = { rate = 50, burst = 100 }
  validation {
    condition     = var.api_throttle.rate > 0 && var.api_throttle.burst >= var.api_throttle.rate
    error_message = "api_throttle: rate > 0 and burst >= rate."
  }
}

variable "secret_arns" {
  description = "Secrets Manager ARNs (created outside Terraform, so no secret value is ever in a variable or the state): bot_token, webhook_secret, session_keys, and optionally chat_api_key, api_pepper."
  type        = map(string)
  validation {
    condition     = alltrue([for k in ["bot_token", "webhook_secret", "session_keys"] : contains(keys(var.secret_arns), k)])
    error_message = "secret_arns must hold bot_token, webhook_secret and session_keys."
  }
  validation {
    condition     = alltrue([for v in values(var.secret_arns) : can(regex("^arn:aws[a-z-]*:secretsmanager:", v))])
    error_message = "secret_arns values must be Secrets Manager ARNs."
  }
}

variable "qdrant_url" {
  description = "The Qdrant server's gRPC URL (https://…:6334) the indexer, worker and scheduler use."
  type        = string
  validation {
    condition     = can(regex("^https://", var.qdrant_url))
    error_message = "qdrant_url must be https."
  }
}

variable "admin_ids" {
  description = "Telegram user ids of the admins (SIFTGRAM_ADMIN_IDS)."
  type        = list(number)
  default     = []
}

variable "session_node_image" {
  description = "The session node's container image (built from infra/Dockerfile), e.g. <account>.dkr.ecr.<region>.amazonaws.com/siftgram:<tag>."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (with a NAT route to Telegram) for the session node."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids needs at least one subnet."
  }
}

variable "vpc_id" {
  description = "The VPC of subnet_ids."
  type        = string
}

variable "alarm_email" {
  description = "Who gets the alarms (dead letters, function errors); empty: no subscription."
  type        = string
  default     = ""
}
