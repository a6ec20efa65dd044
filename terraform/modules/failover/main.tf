# The app tier in the paired region, for a regional outage (`region_failover = true` in the
# production environment): a resource group, VNet (with its own runners' subnet, to run
# `augeoctl db grant-identity` and migrations there), Key Vault, an empty Managed Redis, and
# the web app with its slot, pointed at a server geo-restored from the primary's
# geo-redundant backups (`augeoctl restore --geo`, made outside Terraform: its state is
# the restore, not a declaration). Front Door adds this web app as the API's second origin.
# The steps, in order, are in the regional-outage runbook.

locals {
  # Short: Key Vault names are at most 24 characters (kv-augeo-prod-dr).
  prefix = "${var.prefix}-dr"
}

resource "azurerm_resource_group" "failover" {
  name     = "rg-${local.prefix}"
  location = var.location
  tags     = var.tags
}

module "network" {
  source              = "../network"
  prefix              = local.prefix
  location            = var.location
  resource_group_name = azurerm_resource_group.failover.name
  resource_group_id   = azurerm_resource_group.failover.id
  address_space       = var.address_space
  github_business_id  = var.github_business_id
  tags                = var.tags
}

module "keyvault" {
  source                     = "../keyvault"
  prefix                     = local.prefix
  location                   = var.location
  resource_group_name        = azurerm_resource_group.failover.name
  tenant_id                  = var.tenant_id
  subnet_id                  = module.network.endpoints_subnet_id
  private_dns_zone_id        = module.network.private_dns_zone_ids["vault"]
  log_analytics_workspace_id = var.log_analytics_workspace_id
  tags                       = var.tags
}

module "redis" {
  source                     = "../redis"
  prefix                     = local.prefix
  location                   = var.location
  resource_group_name        = azurerm_resource_group.failover.name
  sku_name                   = var.redis_sku
  high_availability          = var.redis_high_availability
  rdb_backup_frequency       = "1h"
  subnet_id                  = module.network.endpoints_subnet_id
  private_dns_zone_id        = module.network.private_dns_zone_ids["redis"]
  log_analytics_workspace_id = var.log_analytics_workspace_id
  tags                       = var.tags
}

module "app" {
  source                  = "../app"
  prefix                  = local.prefix
  environment             = var.environment
  location                = var.location
  static_web_app_location = var.static_web_app_location
  resource_group_name     = azurerm_resource_group.failover.name
  domain                  = var.domain
  plan_sku                = var.plan_sku
  zone_balancing          = var.zone_balancing
  min_instances           = var.min_instances
  max_instances           = var.max_instances
  app_subnet_id           = module.network.app_subnet_id
  front_door_id           = var.front_door_id
  key_vault_id            = module.keyvault.id
  key_vault_uri           = module.keyvault.uri
  key_vault_secrets       = var.key_vault_secrets
  # The geo-restored server (module input): the app tier is declared against it.
  postgres_fqdn              = var.postgres_fqdn
  postgres_database          = var.postgres_database
  redis_hostname             = module.redis.hostname
  redis_id                   = module.redis.id
  app_insights_id            = var.app_insights_id
  runners_egress_ip          = module.network.runners_egress_ip
  admin_allowed_cidrs        = var.admin_allowed_cidrs
  log_analytics_workspace_id = var.log_analytics_workspace_id
  tags                       = var.tags
}
