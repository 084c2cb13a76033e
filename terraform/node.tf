# The session node: one long-lived ECS Fargate task (the users' MTProto clients live in it).
# Fargate rather than an EC2 unit: no instance to patch, the service restarts a failed task,
# and ECS injects Secrets Manager values into the container without them touching Terraform.
# Two tasks overlapping in a deployment are safe (leases decide who drives each user), but
# min 0 / max 100 % keeps it to one: a restart resumes every sync from its stored cursor.

resource "aws_ecs_cluster" "main" {
  name = "${var.name_prefix}cluster"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "node" {
  # checkov:skip=CKV_AWS_338: retention is var.log_retention_days; the logs name users, so keep them no longer than needed
  name              = "/ecs/${var.name_prefix}session-node"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

data "aws_iam_policy_document" "assume_ecs_task" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

locals {
  node_secrets = { for k, env in { bot_token = "TELEGRAM_BOT_TOKEN", session_keys = "SIFTGRAM_SESSION_KEYS", telegram_api_id = "SIFTGRAM_TELEGRAM_API_ID", telegram_api_hash = "SIFTGRAM_TELEGRAM_API_HASH" } : env => var.secret_arns[k] if contains(keys(var.secret_arns), k) }
}

# Pulls the image, writes logs, and reads the secrets ECS injects.
resource "aws_iam_role" "node_execution" {
  name               = "${var.name_prefix}session-node-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_task.json
}

resource "aws_iam_role_policy_attachment" "node_execution" {
  role       = aws_iam_role.node_execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "node_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.node_secrets)
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_role_policy" "node_secrets" {
  name   = "secrets"
  role   = aws_iam_role.node_execution.id
  policy = data.aws_iam_policy_document.node_secrets.json
}

# What the node itself does: the table, the commands queue it consumes, the queues it feeds.
resource "aws_iam_role" "node" {
  name               = "${var.name_prefix}session-node"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_task.json
}

data "aws_iam_policy_document" "node" {
  statement {
    sid       = "Table"
    actions   = local.table_actions
    resources = [aws_dynamodb_table.main.arn, "${aws_dynamodb_table.main.arn}/index/*"]
  }
  statement {
    sid       = "Commands"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = [aws_sqs_queue.queue["commands"].arn]
  }
  statement {
    sid       = "Publish"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.queue["posts"].arn, aws_sqs_queue.queue["events"].arn, aws_sqs_queue.queue["jobs"].arn]
  }
  statement {
    sid       = "QueueDepths"
    actions   = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [for q in aws_sqs_queue.dead_letters : q.arn]
  }
  statement {
    sid       = "Keys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_role_policy" "node" {
  name   = "access"
  role   = aws_iam_role.node.id
  policy = data.aws_iam_policy_document.node.json
}

resource "aws_ecs_task_definition" "node" {
  family                   = "${var.name_prefix}session-node"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.node_execution.arn
  task_role_arn            = aws_iam_role.node.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.lambda_architecture == "arm64" ? "ARM64" : "X86_64"
  }
  volume {
    name = "data"
  }
  container_definitions = jsonencode([{
    name                   = "session-node"
    image                  = var.session_node_image
    essential              = true
    readonlyRootFilesystem = true
    user                   = "65532"
    mountPoints            = [{ sourceVolume = "data", containerPath = "/data" }]
    environment = [
      { name = "SIFTGRAM_BACKEND", value = "aws" },
      { name = "SIFTGRAM_TABLE", value = aws_dynamodb_table.main.name },
      { name = "SIFTGRAM_RESOURCE_PREFIX", value = var.name_prefix },
      { name = "SIFTGRAM_TELEGRAM", value = "grammers" },
      { name = "SIFTGRAM_DATA_DIR", value = "/data" },
      { name = "SIFTGRAM_HTTP_ADDR", value = "0.0.0.0:8080" },
      { name = "SIFTGRAM_ADMIN_IDS", value = join(",", [for id in var.admin_ids : tostring(id)]) },
      { name = "SIFTGRAM_MINIAPP_URL", value = "https://${aws_cloudfront_distribution.site.domain_name}" },
    ]
    secrets = [for env, arn in local.node_secrets : { name = env, valueFrom = arn }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.node.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "node"
      }
    }
  }])
}

resource "aws_security_group" "node" {
  name        = "${var.name_prefix}session-node"
  description = "The session node: no inbound; out to Telegram and AWS APIs over TLS"
  vpc_id      = var.vpc_id
  egress {
    description = "Telegram (MTProto over 443) and AWS APIs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_service" "node" {
  name                               = "${var.name_prefix}session-node"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.node.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.node.id]
    assign_public_ip = false
  }
}
