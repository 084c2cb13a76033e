# API Gateway (REST): the routes of infra/functions.json, each a Lambda proxy integration, on one
# throttled stage with access logs. The functions authenticate their callers themselves (the
# webhook's secret token, Mini App launch data, API keys).

locals {
  routes      = { for r in module.manifest.routes : "${r.method} ${r.path}" => merge(r, { segments = split("/", trimprefix(r.path, "/")) }) }
  first_parts = toset([for r in local.routes : r.segments[0]])
  nested      = { for k, r in local.routes : k => r if length(r.segments) == 2 }
  route_resource = { for k, r in local.routes :
    k => length(r.segments) == 1 ? aws_api_gateway_resource.first[r.segments[0]].id : aws_api_gateway_resource.nested[k].id
  }
}

check "routes_are_at_most_two_segments" {
  assert {
    condition     = alltrue([for r in local.routes : length(r.segments) <= 2])
    error_message = "api.tf builds routes of one or two path segments; infra/functions.json has a longer one."
  }
}

resource "aws_api_gateway_rest_api" "main" {
  name = "${var.name_prefix}api"
  lifecycle {
    create_before_destroy = true
  }
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_api_gateway_resource" "first" {
  for_each    = local.first_parts
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_rest_api.main.root_resource_id
  path_part   = each.key
}

resource "aws_api_gateway_resource" "nested" {
  for_each    = local.nested
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_resource.first[each.value.segments[0]].id
  path_part   = each.value.segments[1]
}

resource "aws_api_gateway_method" "route" {
  # checkov:skip=CKV_AWS_59: the functions authenticate every call (webhook secret token, Telegram launch data, API keys)
  # checkov:skip=CKV2_AWS_53: request bodies are validated by the functions (typed JSON, clear errors)
  for_each      = local.routes
  rest_api_id   = aws_api_gateway_rest_api.main.id
  resource_id   = local.route_resource[each.key]
  http_method   = each.value.method
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "route" {
  for_each                = local.routes
  rest_api_id             = aws_api_gateway_rest_api.main.id
  resource_id             = local.route_resource[each.key]
  http_method             = aws_api_gateway_method.route[each.key].http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = aws_lambda_function.function[each.value.function].invoke_arn
}

resource "aws_lambda_permission" "api" {
  for_each      = toset([for r in local.routes : r.function])
  statement_id  = "api-gateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.main.execution_arn}/*/*"
}

resource "aws_api_gateway_deployment" "main" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  triggers = {
    routes = sha1(jsonencode([for k, r in local.routes : [k, r.function]]))
  }
  lifecycle {
    create_before_destroy = true
  }
  depends_on = [aws_api_gateway_integration.route]
}

resource "aws_cloudwatch_log_group" "api" {
  # checkov:skip=CKV_AWS_338: retention is var.log_retention_days; the logs name users, so keep them no longer than needed
  name              = "/aws/apigateway/${var.name_prefix}api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_api_gateway_stage" "prod" {
  # checkov:skip=CKV_AWS_73: tracing is the functions' own (trace ids in logs), not X-Ray
  # checkov:skip=CKV_AWS_120: answers are per user and must not be cached
  # checkov:skip=CKV2_AWS_51: Telegram does not present client certificates
  # checkov:skip=CKV2_AWS_29: no WAF in front of the webhook; the functions check every caller
  deployment_id = aws_api_gateway_deployment.main.id
  rest_api_id   = aws_api_gateway_rest_api.main.id
  stage_name    = "prod"
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    format          = jsonencode({ requestId = "$context.requestId", ip = "$context.identity.sourceIp", method = "$context.httpMethod", path = "$context.path", status = "$context.status", latencyMs = "$context.responseLatency" })
  }
}

resource "aws_api_gateway_method_settings" "all" {
  # checkov:skip=CKV_AWS_225: answers are per user and must not be cached
  rest_api_id = aws_api_gateway_rest_api.main.id
  stage_name  = aws_api_gateway_stage.prod.stage_name
  method_path = "*/*"
  settings {
    throttling_rate_limit  = var.api_throttle.rate
    throttling_burst_limit = var.api_throttle.burst
    metrics_enabled        = true
    logging_level          = "ERROR"
    caching_enabled        = false
  }
}
