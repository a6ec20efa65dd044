# The whole platform of one environment; envs/<env> call it with that environment's values.

locals {
  prefix = "augeo-${var.environment}"
  # Azure Service Health spells regions by display name.
  region_names = {
    westeurope         = "West Europe"
    northeurope        = "North Europe"
    swedencentral      = "Sweden Central"
    swedensouth        = "Sweden South"
    germanywestcentral = "Germany West Central"
    germanynorth       = "Germany North"
  }
  key_vault_secrets = {
    ACS_CONNECTION_STRING = "acs-connection-string"
    SESSION_SECRET_KEY    = "session-secret-key"
  }
  tags = {
    application = "augeo"
    environment = var.environment
    cost-center = var.cost_center
    owner       = var.owner
    managed-by  = "terraform"
  }
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.prefix}"
  location = var.location
  tags     = local.tags
}

module "network" {
  source              = "../network"
  prefix              = local.prefix
  location            = var.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = var.address_space
  resource_group_id   = azurerm_resource_group.main.id
  github_business_id  = var.github_business_id
  tags                = local.tags
}

module "observability" {
  source              = "../observability"
  prefix              = local.prefix
  location            = var.location
  resource_group_name = azurerm_resource_group.main.name
  retention_days      = var.log_retention_days
  tags                = local.tags
}

module "keyvault" {
  source                     = "../keyvault"
  prefix                     = local.prefix
  location                   = var.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = var.tenant_id
  subnet_id                  = module.network.endpoints_subnet_id
  private_dns_zone_id        = module.network.private_dns_zone_ids["vault"]
  log_analytics_workspace_id = module.observability.workspace_id
  tags                       = local.tags
}

module "postgres" {
  source                        = "../postgres"
  prefix                        = local.prefix
  location                      = var.location
  resource_group_name           = azurerm_resource_group.main.name
  tenant_id                     = var.tenant_id
  sku_name                      = var.postgres_sku
  storage_mb                    = var.postgres_storage_mb
  backup_retention_days         = var.postgres_backup_retention_days
  geo_redundant_backup          = var.postgres_geo_redundant_backup
  high_availability             = var.postgres_high_availability
  subnet_id                     = module.network.postgres_subnet_id
  private_dns_zone_id           = module.network.private_dns_zone_ids["postgres"]
  admin_group_object_id         = var.postgres_admin_group_object_id
  admin_group_name              = var.postgres_admin_group_name
  migration_principal_object_id = module.pipeline_identity.principal_id
  migration_principal_name      = module.pipeline_identity.name
  database_name                 = "augeo"
  log_analytics_workspace_id    = module.observability.workspace_id
  tags                          = local.tags
}

module "redis" {
  source                     = "../redis"
  prefix                     = local.prefix
  location                   = var.location
  resource_group_name        = azurerm_resource_group.main.name
  sku_name                   = var.redis_sku
  high_availability          = var.redis_high_availability
  rdb_backup_frequency       = "1h"
  subnet_id                  = module.network.endpoints_subnet_id
  private_dns_zone_id        = module.network.private_dns_zone_ids["redis"]
  log_analytics_workspace_id = module.observability.workspace_id
  tags                       = local.tags
}

# Exports of the Redis database every 4 hours (augeoctl backup create --kind redis, run by
# the pipeline's scheduled job), kept 30 days.
module "redis_exports" {
  source              = "../redis_exports"
  prefix              = local.prefix
  location            = var.location
  resource_group_name = azurerm_resource_group.main.name
  redis_id            = module.redis.id
  retention_days      = 30
  subnet_id           = module.network.endpoints_subnet_id
  private_dns_zone_id = module.network.private_dns_zone_ids["blob"]
  tags                = local.tags
}

# The deployment pipeline's identity (GitHub Actions OIDC) and what it may do here.
module "pipeline_identity" {
  source               = "../pipeline_identity"
  prefix               = local.prefix
  location             = var.location
  resource_group_name  = azurerm_resource_group.main.name
  resource_group_id    = azurerm_resource_group.main.id
  github_repositories  = var.github_repositories
  github_environments  = var.github_environments
  trust_pull_requests  = var.github_trust_pull_requests
  web_app_id           = module.app.api_id
  key_vault_id         = module.keyvault.id
  redis_id             = module.redis.id
  exports_account_id   = module.redis_exports.account_id
  exports_container_id = module.redis_exports.container_id
  static_web_app_id    = module.app.admin_id
  tags                 = local.tags
}

module "frontdoor" {
  source                     = "../frontdoor"
  prefix                     = local.prefix
  resource_group_name        = azurerm_resource_group.main.name
  sku_name                   = var.front_door_sku
  domain                     = var.domain
  dns_zone_id                = module.dns_email.zone_id
  origin_hostname            = module.app.api_default_hostname
  admin_origin_hostname      = module.app.admin_default_hostname
  failover_origin_hostname   = var.region_failover ? module.failover[0].api_default_hostname : null
  rate_limit_per_minute      = var.rate_limit_per_minute
  log_analytics_workspace_id = module.observability.workspace_id
  tags                       = local.tags
}

module "app" {
  source                     = "../app"
  prefix                     = local.prefix
  environment                = var.environment
  location                   = var.location
  static_web_app_location    = var.static_web_app_location
  resource_group_name        = azurerm_resource_group.main.name
  domain                     = var.domain
  plan_sku                   = var.app_plan_sku
  zone_balancing             = var.app_zone_balancing
  min_instances              = var.app_min_instances
  max_instances              = var.app_max_instances
  app_subnet_id              = module.network.app_subnet_id
  front_door_id              = module.frontdoor.profile_guid
  key_vault_id               = module.keyvault.id
  key_vault_uri              = module.keyvault.uri
  key_vault_secrets          = local.key_vault_secrets
  postgres_fqdn              = module.postgres.fqdn
  postgres_database          = module.postgres.database_name
  redis_hostname             = module.redis.hostname
  redis_id                   = module.redis.id
  app_insights_id            = module.observability.app_insights_id
  runners_egress_ip          = module.network.runners_egress_ip
  admin_allowed_cidrs        = var.admin_allowed_cidrs
  log_analytics_workspace_id = module.observability.workspace_id
  tags                       = local.tags
}

module "dns_email" {
  source                 = "../dns_email"
  prefix                 = local.prefix
  resource_group_name    = azurerm_resource_group.main.name
  domain                 = var.domain
  data_location          = var.acs_data_location
  dmarc_rua              = var.dmarc_rua
  admin_target           = module.frontdoor.admin_endpoint_hostname
  api_target             = module.frontdoor.endpoint_hostname
  api_validation_token   = module.frontdoor.api_validation_token
  admin_validation_token = module.frontdoor.admin_validation_token
  tags                   = local.tags
}

module "alerts" {
  source                     = "../alerts"
  prefix                     = local.prefix
  location                   = var.location
  resource_group_name        = azurerm_resource_group.main.name
  domain                     = var.domain
  alert_email                = var.alert_email
  teams_webhook_url          = var.teams_webhook_url
  app_insights_id            = module.observability.app_insights_id
  log_analytics_workspace_id = module.observability.workspace_id
  web_app_id                 = module.app.api_id
  plan_id                    = module.app.plan_id
  workbook_id                = var.workbook_id
  subscription_id            = var.subscription_id
  front_door_profile_id      = module.frontdoor.profile_id
  postgres_server_id         = module.postgres.server_id
  autoscale_setting_id       = module.app.autoscale_setting_id
  autoscale_max_instances    = var.app_max_instances
  service_health_regions     = ["Global", local.region_names[var.location], local.region_names[var.secondary_location]]
  service_health_services    = var.service_health_services
  tags                       = local.tags
}

# A regional outage: the app tier in the paired region against a geo-restored server.
module "failover" {
  count                      = var.region_failover ? 1 : 0
  source                     = "../failover"
  prefix                     = local.prefix
  environment                = var.environment
  location                   = var.secondary_location
  static_web_app_location    = var.static_web_app_location
  address_space              = var.failover_address_space
  tenant_id                  = var.tenant_id
  domain                     = var.domain
  github_business_id         = var.github_business_id
  postgres_fqdn              = var.failover_postgres_fqdn
  postgres_database          = module.postgres.database_name
  plan_sku                   = var.app_plan_sku
  zone_balancing             = var.app_zone_balancing
  min_instances              = var.app_min_instances
  max_instances              = var.app_max_instances
  redis_sku                  = var.redis_sku
  redis_high_availability    = var.redis_high_availability
  front_door_id              = module.frontdoor.profile_guid
  key_vault_secrets          = local.key_vault_secrets
  app_insights_id            = module.observability.app_insights_id
  admin_allowed_cidrs        = var.admin_allowed_cidrs
  log_analytics_workspace_id = module.observability.workspace_id
  tags                       = local.tags
}

module "budget" {
  source            = "../budget"
  prefix            = local.prefix
  resource_group_id = azurerm_resource_group.main.id
  amount            = var.monthly_budget
  start_date        = var.budget_start_date
  contact_emails    = [var.alert_email]
}
