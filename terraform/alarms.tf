# Alarms: any dead letter, and any function error, to the alarms topic.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}alarms"
  kms_master_key_id = aws_kms_key.data.id
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarms = merge(
    { for k, q in aws_sqs_queue.dead_letters : "${k}-dead-letters" => {
      description = "Messages of the ${k} queue gave up after their receives; read them before they expire."
      namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", statistic = "Maximum", dimensions = { QueueName = q.name }
    } },
    { for k, f in aws_lambda_function.function : "${k}-errors" => {
      description = "The ${k} function failed invocations."
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum", dimensions = { FunctionName = f.function_name }
    } },
  )
}

resource "aws_cloudwatch_metric_alarm" "any" {
  for_each            = local.alarms
  alarm_name          = "${var.name_prefix}${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}
