# PostgreSQL Flexible Server: private access only (delegated subnet + private DNS zone),
# Microsoft Entra authentication only, TLS 1.2+, 30 days of point-in-time restore.

resource "azurerm_postgresql_flexible_server" "main" {
  #checkov:skip=CKV2_AZURE_57:private access by VNet injection (delegated subnet + private DNS zone, public access off); a private endpoint is the alternative model, not an addition
  #checkov:skip=CKV_AZURE_136:geo-redundant backup is on in production (geo_redundant_backup); dev and staging are rebuilt from Terraform and do not pay for a second region
  name                          = "psql-${var.prefix}"
  location                      = var.location
  resource_group_name           = var.resource_group_name
  version                       = "16"
  sku_name                      = var.sku_name
  storage_mb                    = var.storage_mb
  auto_grow_enabled             = true
  backup_retention_days         = var.backup_retention_days
  geo_redundant_backup_enabled  = var.geo_redundant_backup
  delegated_subnet_id           = var.subnet_id
  private_dns_zone_id           = var.private_dns_zone_id
  public_network_access_enabled = false
  zone                          = "1"
  tags                          = var.tags

  authentication {
    active_directory_auth_enabled = true
    password_auth_enabled         = false
    tenant_id                     = var.tenant_id
  }

  dynamic "high_availability" {
    for_each = var.high_availability ? [1] : []
    content {
      mode                      = "ZoneRedundant"
      standby_availability_zone = "2"
    }
  }

  maintenance_window {
    day_of_week  = 0
    start_hour   = 3
    start_minute = 0
  }
}

resource "azurerm_postgresql_flexible_server_active_directory_administrator" "admins" {
  server_name         = azurerm_postgresql_flexible_server.main.name
  resource_group_name = var.resource_group_name
  tenant_id           = var.tenant_id
  object_id           = var.admin_group_object_id
  principal_name      = var.admin_group_name
  principal_type      = "Group"
}

# The deployment pipeline's identity (workload identity federation from GitHub Actions)
# runs the migrations from a runner in the VNet; it logs in as itself with an Entra token,
# so its role name is its principal name (augeoctl's migration_user).
resource "azurerm_postgresql_flexible_server_active_directory_administrator" "migrations" {
  server_name         = azurerm_postgresql_flexible_server.main.name
  resource_group_name = var.resource_group_name
  tenant_id           = var.tenant_id
  object_id           = var.migration_principal_object_id
  principal_name      = var.migration_principal_name
  principal_type      = "ServicePrincipal"
}

resource "azurerm_postgresql_flexible_server_database" "app" {
  name      = var.database_name
  server_id = azurerm_postgresql_flexible_server.main.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

locals {
  parameters = {
    require_secure_transport              = "on"
    ssl_min_protocol_version              = "TLSv1.2"
    log_checkpoints                       = "on"
    log_connections                       = "on"
    "connection_throttle.enable"          = "on"
    "metrics.collector_database_activity" = "on"
  }
}

resource "azurerm_postgresql_flexible_server_configuration" "parameter" {
  for_each  = local.parameters
  name      = each.key
  server_id = azurerm_postgresql_flexible_server.main.id
  value     = each.value
}

resource "azurerm_monitor_diagnostic_setting" "postgres" {
  name                       = "diag-to-log-analytics"
  target_resource_id         = azurerm_postgresql_flexible_server.main.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category_group = "allLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
