output "webhook_url" {
  description = "For `siftgram bot setup --webhook-url`."
  value       = "${aws_api_gateway_stage.prod.invoke_url}/telegram"
}

output "api_base" {
  description = "For `siftgram miniapp upload --api-base` and automation (n8n)."
  value       = aws_api_gateway_stage.prod.invoke_url
}

output "miniapp_url" {
  description = "SIFTGRAM_MINIAPP_URL: where Telegram opens the Mini Apps."
  value       = "https://${aws_cloudfront_distribution.site.domain_name}"
}

output "table" {
  value = aws_dynamodb_table.main.name
}

output "queues" {
  description = "Queue URLs by schema name."
  value       = { for k, q in aws_sqs_queue.queue : k => q.url }
}

output "alarms_topic" {
  value = aws_sns_topic.alarms.arn
}
