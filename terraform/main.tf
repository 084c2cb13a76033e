# The Siftgram stack. Table, queues, triggers and routes come from the same files the code reads
# (modules/manifest: migrations/*.json and infra/functions.json), so Terraform and
# `siftgram migrate` / the dev loop cannot drift; tests/tests/terraform.rs compares them.

module "manifest" {
  source         = "./modules/manifest"
  migrations_dir = "${path.module}/../migrations"
  functions_file = "${path.module}/../infra/functions.json"
  name_prefix    = var.name_prefix
}

locals {
  # What the functions and the node do with the table (no scans, no schema changes).
  table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:TransactWriteItems", "dynamodb:DescribeTable"]
  table_name    = "${var.name_prefix}table"
  queues        = module.manifest.queues
  table         = module.manifest.table
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_kms_key" "data" {
  description         = "Siftgram data at rest (table, queues, logs, alarms topic)"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.kms.json
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109: the key policy's root statement is how IAM policies get to use the key
  # checkov:skip=CKV_AWS_111: the root statement cannot name the key's own ARN before it exists
  # checkov:skip=CKV_AWS_356: a key policy's resource is always the key itself ("*")
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "LogsAndAlarmsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"]
    }
  }
}

resource "aws_dynamodb_table" "main" {
  name         = local.table_name
  billing_mode = local.table.billing
  hash_key     = local.table.keys.partition
  range_key    = local.table.keys.sort

  dynamic "attribute" {
    for_each = toset(concat([local.table.keys.partition, local.table.keys.sort], flatten([for g in local.table.global_secondary_indexes : [g.partition, g.sort]])))
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = local.table.global_secondary_indexes
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.partition
      range_key       = global_secondary_index.value.sort
      projection_type = global_secondary_index.value.projection
    }
  }

  ttl {
    attribute_name = local.table.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }

  deletion_protection_enabled = true
}

resource "aws_sqs_queue" "dead_letters" {
  for_each                  = local.queues
  name                      = each.value.dead_letter_name
  fifo_queue                = each.value.fifo
  message_retention_seconds = each.value.retention_seconds
  kms_master_key_id         = aws_kms_key.data.id
}

resource "aws_sqs_queue" "queue" {
  for_each                    = local.queues
  name                        = each.value.physical_name
  fifo_queue                  = each.value.fifo
  content_based_deduplication = false
  visibility_timeout_seconds  = each.value.visibility_timeout_secs
  message_retention_seconds   = each.value.retention_seconds
  kms_master_key_id           = aws_kms_key.data.id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters[each.key].arn
    maxReceiveCount     = each.value.max_receives
  })
}
