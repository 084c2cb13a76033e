# The manifest module alone, as the parity test applies it (no provider, no resources).

variable "name_prefix" {
  type    = string
  default = "siftgram-"
}

module "manifest" {
  source         = "../../modules/manifest"
  migrations_dir = "${path.root}/../../../migrations"
  functions_file = "${path.root}/../../../infra/functions.json"
  name_prefix    = var.name_prefix
}

output "manifest" {
  value = module.manifest
}
