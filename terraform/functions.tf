# One Lambda per function of infra/functions.json, each with its own role that reaches only the
# table, the queues and the secrets that function uses.

locals {
  # What each function touches (the manifest says what invokes it; this says what it may do).
  access = {
    bot       = { send = ["commands", "jobs"], consume = [], secrets = ["bot_token", "webhook_secret"], memory = 256, timeout = 10, reserved = -1 }
    api       = { send = ["commands", "jobs"], consume = [], secrets = ["bot_token"], memory = 256, timeout = 15, reserved = -1 }
    indexer   = { send = ["events"], consume = ["posts"], secrets = [], memory = 1024, timeout = 55, reserved = 4 }
    worker    = { send = ["events"], consume = ["jobs", "events"], secrets = ["bot_token", "chat_api_key"], memory = 1024, timeout = 55, reserved = 20 }
    scheduler = { send = ["jobs"], consume = [], secrets = [], memory = 256, timeout = 55, reserved = 1 }
  }
  secret_env = {
    bot_token      = "TELEGRAM_BOT_TOKEN"
    webhook_secret = "SIFTGRAM_WEBHOOK_SECRET"
    session_keys   = "SIFTGRAM_SESSION_KEYS"
    chat_api_key   = "SIFTGRAM_CHAT_1_API_KEY"
  }
  # A function's timeout must stay under the visibility timeout of every queue it consumes, or
  # SQS hands the batch out again while the function still works on it.
  too_slow = [for f, a in local.access : f if length([for q in a.consume : q if local.queues[q].visibility_timeout_secs < a.timeout]) > 0]
}

check "function_timeouts_fit_the_queues" {
  assert {
    condition     = length(local.too_slow) == 0
    error_message = "functions whose timeout exceeds a consumed queue's visibility timeout: ${join(", ", local.too_slow)}"
  }
}

check "every_manifest_function_has_access_rules" {
  assert {
    condition     = length(setsubtract(toset(module.manifest.functions), toset(keys(local.access)))) == 0
    error_message = "infra/functions.json has functions without access rules in functions.tf."
  }
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.access
  name               = "${var.name_prefix}${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "function" {
  for_each = local.access
  statement {
    sid       = "Table"
    actions   = local.table_actions
    resources = [aws_dynamodb_table.main.arn, "${aws_dynamodb_table.main.arn}/index/*"]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }
  statement {
    sid       = "Keys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
  dynamic "statement" {
    for_each = length(each.value.send) > 0 ? [1] : []
    content {
      sid       = "Send"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
      resources = [for q in each.value.send : aws_sqs_queue.queue[q].arn]
    }
  }
  dynamic "statement" {
    for_each = length(each.value.consume) > 0 ? [1] : []
    content {
      sid       = "Consume"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
      resources = [for q in each.value.consume : aws_sqs_queue.queue[q].arn]
    }
  }
  dynamic "statement" {
    for_each = length([for s in each.value.secrets : s if contains(keys(var.secret_arns), s)]) > 0 ? [1] : []
    content {
      sid       = "Secrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [for s in each.value.secrets : var.secret_arns[s] if contains(keys(var.secret_arns), s)]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.access
  name     = "access"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

resource "aws_cloudwatch_log_group" "function" {
  # checkov:skip=CKV_AWS_338: retention is var.log_retention_days; the logs name users, so keep them no longer than needed
  for_each          = local.access
  name              = "/aws/lambda/${var.name_prefix}${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_sqs_queue" "function_failures" {
  # Asynchronous invocations that failed (the schedule's) land here rather than vanish.
  name              = "${var.name_prefix}function-failures"
  kms_master_key_id = aws_kms_key.data.id
}

resource "aws_lambda_function" "function" {
  # checkov:skip=CKV_AWS_117: the functions reach only AWS APIs and Telegram/Qdrant over the internet; no VPC resources to reach
  # checkov:skip=CKV_AWS_272: code signing is not set up for the zips the packaging command builds
  # checkov:skip=CKV_AWS_50: tracing is the functions' own (trace ids in logs), not X-Ray
  for_each                       = local.access
  function_name                  = "${var.name_prefix}${each.key}"
  role                           = aws_iam_role.function[each.key].arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.lambda_architecture]
  filename                       = "${var.lambda_package_dir}/${each.key}.zip"
  source_code_hash               = filebase64sha256("${var.lambda_package_dir}/${each.key}.zip")
  memory_size                    = each.value.memory
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved
  kms_key_arn                    = aws_kms_key.data.arn
  dead_letter_config {
    target_arn = aws_sqs_queue.function_failures.arn
  }
  environment {
    variables = merge(
      {
        SIFTGRAM_TABLE           = aws_dynamodb_table.main.name
        SIFTGRAM_RESOURCE_PREFIX = var.name_prefix
        SIFTGRAM_QDRANT_URL      = var.qdrant_url
        SIFTGRAM_ADMIN_IDS       = join(",", [for id in var.admin_ids : tostring(id)])
        RUST_LOG                 = "info"
      },
      # Secrets by reference only: the function reads the value at cold start.
      { for s in each.value.secrets : "${local.secret_env[s]}_SECRET_ARN" => var.secret_arns[s] if contains(keys(var.secret_arns), s) },
    )
  }
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_event_source_mapping" "queue" {
  for_each                           = { for m in module.manifest.mappings : "${m.function}-${m.queue}" => m }
  event_source_arn                   = aws_sqs_queue.queue[each.value.queue].arn
  function_name                      = aws_lambda_function.function[each.value.function].arn
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.batching_window_secs
  function_response_types            = ["ReportBatchItemFailures"]
}

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each            = { for s in module.manifest.schedules : s.function => s }
  name                = "${var.name_prefix}${each.key}"
  schedule_expression = each.value.every_minutes == 1 ? "rate(1 minute)" : "rate(${each.value.every_minutes} minutes)"
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = aws_cloudwatch_event_rule.schedule
  rule     = each.value.name
  arn      = aws_lambda_function.function[each.key].arn
}

resource "aws_lambda_permission" "schedule" {
  for_each      = aws_cloudwatch_event_rule.schedule
  statement_id  = "schedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value.arn
}
