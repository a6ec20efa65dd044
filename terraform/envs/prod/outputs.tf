output "resource_group" {
  value = module.platform.resource_group
}

output "api_url" {
  value = module.platform.api_url
}

output "admin_url" {
  value = module.platform.admin_url
}

output "dns_name_servers" {
  description = "Delegate the domain to these at the registrar."
  value       = module.platform.dns_name_servers
}

output "github_network_settings_id" {
  description = "Enter as the Azure private network configuration of the GitHub organization (docs/migrations-on-azure.md)."
  value       = module.platform.github_network_settings_id
}

# What `augeoctl config from-terraform` (terraform/scripts/write-augeoctl-config.sh)
# writes into [environments.<env>] of the augeoctl config.
output "augeoctl_environment" {
  value = module.platform.augeoctl_environment
}

output "deploy_client_id" {
  description = "AZURE_CLIENT_ID of this environment's GitHub environment (OIDC; no client secret)."
  value       = module.platform.deploy_client_id
}

output "redis_exports_container_url" {
  value = module.platform.redis_exports_container_url
}
