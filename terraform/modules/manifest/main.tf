# The project's manifest, read from the same files `siftgram migrate` and the dev loop read:
# migrations/*.json (table, queues, buckets) and infra/functions.json (functions and what
# invokes them). No provider and no resources, so it plans and applies offline, and a test
# compares its outputs with what `siftgram migrate` created on LocalStack, field by field.

variable "migrations_dir" {
  description = "The migrations directory (migrations/ at the repository root)."
  type        = string
}

variable "functions_file" {
  description = "infra/functions.json."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of queue and bucket names (SIFTGRAM_RESOURCE_PREFIX)."
  type        = string
}

locals {
  migrations = [for f in sort(fileset(var.migrations_dir, "*.json")) : jsondecode(file("${var.migrations_dir}/${f}"))]
  table      = one([for m in local.migrations : m.table if try(m.table, null) != null])
  queues = merge([for m in local.migrations : {
    for q in try(m.queues, []) : q.name => {
      fifo                    = q.fifo
      visibility_timeout_secs = q.visibility_timeout_secs
      max_receives            = q.max_receives
      # SQS requires the .fifo suffix on FIFO queues (and their dead-letter queues).
      physical_name     = "${var.name_prefix}${q.name}${q.fifo ? ".fifo" : ""}"
      dead_letter_name  = "${var.name_prefix}${q.name}-dlq${q.fifo ? ".fifo" : ""}"
      retention_seconds = 1209600
    }
  }]...)
  buckets   = flatten([for m in local.migrations : [for b in try(m.buckets, []) : "${var.name_prefix}${b}"]])
  functions = { for f in jsondecode(file(var.functions_file)).functions : f.name => f }
  mappings = flatten([for f in values(local.functions) : [for t in try(f.queues, []) : {
    function             = f.name
    queue                = t.queue
    batch_size           = t.batch_size
    batching_window_secs = try(t.batching_window_secs, 0)
  }]])
  routes         = flatten([for f in values(local.functions) : [for r in try(f.http, []) : { function = f.name, method = r.method, path = r.path }]])
  schedules      = [for f in values(local.functions) : { function = f.name, every_minutes = f.schedule.every_minutes } if try(f.schedule, null) != null]
  unknown_queues = [for m in local.mappings : m.queue if !contains(keys(local.queues), m.queue)]
}

check "mappings_name_known_queues" {
  assert {
    condition     = length(local.unknown_queues) == 0
    error_message = "infra/functions.json maps functions to queues that no migration defines: ${join(", ", local.unknown_queues)}"
  }
}

output "table" {
  description = "Keys, index, TTL attribute and billing of the single table."
  value       = local.table
}

output "queues" {
  description = "Every queue by its schema name, with its SQS names and settings."
  value       = local.queues
}

output "buckets" {
  description = "Bucket names."
  value       = local.buckets
}

output "functions" {
  description = "Function names."
  value       = keys(local.functions)
}

output "mappings" {
  description = "SQS event-source mappings: function, queue, batch size, batching window."
  value       = local.mappings
}

output "routes" {
  description = "API Gateway routes: function, method, path."
  value       = local.routes
}

output "schedules" {
  description = "EventBridge schedules: function, minutes between runs."
  value       = local.schedules
}
