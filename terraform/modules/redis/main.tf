# Azure Managed Redis (see terraform/README.md, "Decision: Azure Managed Redis"): TLS-only
# client protocol, RDB snapshots every hour, Entra authentication instead of access keys,
# reachable only through a private endpoint.

resource "azurerm_managed_redis" "main" {
  name                      = "redis-${var.prefix}"
  location                  = var.location
  resource_group_name       = var.resource_group_name
  sku_name                  = var.sku_name
  high_availability_enabled = var.high_availability
  public_network_access     = "Disabled"
  tags                      = var.tags

  default_database {
    client_protocol                             = "Encrypted"
    access_keys_authentication_enabled          = false
    clustering_policy                           = "OSSCluster"
    eviction_policy                             = "VolatileLRU"
    persistence_redis_database_backup_frequency = var.rdb_backup_frequency
  }
}

resource "azurerm_private_endpoint" "redis" {
  name                = "pe-${var.prefix}-redis"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "redis"
    private_connection_resource_id = azurerm_managed_redis.main.id
    subresource_names              = ["redisEnterprise"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "redis"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "redis" {
  name                       = "diag-to-log-analytics"
  target_resource_id         = azurerm_managed_redis.main.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_metric {
    category = "AllMetrics"
  }
}
