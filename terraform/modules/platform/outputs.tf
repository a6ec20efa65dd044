output "resource_group" {
  value = azurerm_resource_group.main.name
}

output "postgres_server" {
  value = module.postgres.server_name
}

output "redis_name" {
  value = module.redis.name
}

output "key_vault_uri" {
  value = module.keyvault.uri
}

output "log_analytics_workspace_id" {
  value = module.observability.workspace_guid
}

output "api_url" {
  value = "https://api.${var.domain}"
}

output "admin_url" {
  value = "https://admin.${var.domain}"
}

output "github_network_settings_id" {
  description = "Enter as the Azure private network configuration of the GitHub organization (docs/migrations-on-azure.md)."
  value       = module.network.github_network_settings_id
}

output "runners_egress_ip" {
  value = module.network.runners_egress_ip
}

output "dns_name_servers" {
  description = "Delegate the domain to these at the registrar."
  value       = module.dns_email.name_servers
}

# What `augeoctl config from-terraform` (terraform/scripts/write-augeoctl-config.sh)
# writes into [environments.<env>] of the augeoctl config.
output "augeoctl_environment" {
  value = {
    subscription_id            = var.subscription_id
    tenant_id                  = var.tenant_id
    location                   = var.location
    resource_group             = azurerm_resource_group.main.name
    postgres_server            = module.postgres.server_name
    postgres_database          = module.postgres.database_name
    postgres_user              = module.postgres.admin_principal_name
    redis_name                 = module.redis.name
    key_vault                  = module.keyvault.uri
    app_insights               = module.observability.app_insights_name
    log_analytics_workspace_id = module.observability.workspace_guid
    dns_zone                   = module.dns_email.zone_name
    email_service              = module.dns_email.email_service_name
    api_url                    = "https://api.${var.domain}"
    admin_url                  = "https://admin.${var.domain}"
    app_service_plan           = module.app.plan_name
    webapp_name                = module.app.api_name
    postgres_host              = module.postgres.fqdn
    migration_user             = module.postgres.migration_principal_name
  }
}

output "deploy_client_id" {
  description = "AZURE_CLIENT_ID of the GitHub environment: the deployment identity's client id (OIDC, no secret)."
  value       = module.pipeline_identity.client_id
}

output "redis_exports_container_url" {
  description = "The Blob container the scheduled Redis export writes to (with a user-delegation SAS)."
  value       = module.redis_exports.container_url
}
