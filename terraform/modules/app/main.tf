# The backend (Linux web app on an App Service plan, with a staging slot) and the admin
# front end (Static Web Apps, served through Front Door). The backend accepts traffic only from this platform's
# Front Door, reads its secrets through Key Vault references with its managed identity,
# and reaches PostgreSQL, Redis and Key Vault through the VNet.

locals {
  kv_ref = { for name, secret in var.key_vault_secrets : name => "@Microsoft.KeyVault(SecretUri=${var.key_vault_uri}secrets/${secret}/)" }
  app_settings = merge(local.kv_ref, {
    APPLICATIONINSIGHTS_CONNECTION_STRING = "@Microsoft.KeyVault(SecretUri=${var.key_vault_uri}secrets/appinsights-connection-string/)"
    # Application Insights takes Entra-authenticated telemetry only (local authentication
    # off): the slot's system-assigned identity signs it ("Authorization=AAD"; a
    # user-assigned identity would add ";ClientId=..."), with Monitoring Metrics Publisher.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "Authorization=AAD"
    AUGEO_ENVIRONMENT                         = var.environment
    POSTGRES_HOST                             = var.postgres_fqdn
    POSTGRES_DATABASE                         = var.postgres_database
    POSTGRES_AUTH                             = "entra"
    REDIS_HOST                                = var.redis_hostname
    CORS_ALLOWED_ORIGINS                      = "https://admin.${var.domain}"
  })
  # Settings that stay with the slot on a swap: production keeps talking to production.
  # AUGEO_RELEASE (the release a slot holds) is not one of them: `augeoctl` sets it on the
  # staging slot when it deploys and it moves with the code in a swap. Terraform neither
  # sets nor removes it (ignore_changes on both slots).
  sticky = ["AUGEO_ENVIRONMENT", "POSTGRES_DATABASE"]
  # name => CIDR allowed to the SCM site: the runners' egress (deployments run there) and the
  # operators' admin ranges (admin_allowed_cidrs).
  scm_allowed = merge({ runners = "${var.runners_egress_ip}/32" }, var.admin_allowed_cidrs)
  # The app's two identities (production slot, staging slot).
  identities = {
    production = azurerm_linux_web_app.api.identity[0].principal_id
    staging    = azurerm_linux_web_app_slot.staging.identity[0].principal_id
  }
}

resource "azurerm_service_plan" "main" {
  name                   = "asp-${var.prefix}"
  location               = var.location
  resource_group_name    = var.resource_group_name
  os_type                = "Linux"
  sku_name               = var.plan_sku
  worker_count           = var.min_instances
  zone_balancing_enabled = var.zone_balancing
  tags                   = var.tags
}

resource "azurerm_monitor_autoscale_setting" "plan" {
  name                = "autoscale-${var.prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  target_resource_id  = azurerm_service_plan.main.id
  tags                = var.tags

  profile {
    name = "cpu-and-memory"

    capacity {
      default = var.min_instances
      minimum = var.min_instances
      maximum = var.max_instances
    }

    dynamic "rule" {
      for_each = {
        cpu-out    = ["CpuPercentage", "GreaterThan", 70, "Increase"]
        cpu-in     = ["CpuPercentage", "LessThan", 30, "Decrease"]
        memory-out = ["MemoryPercentage", "GreaterThan", 75, "Increase"]
        memory-in  = ["MemoryPercentage", "LessThan", 40, "Decrease"]
      }
      content {
        metric_trigger {
          metric_name        = rule.value[0]
          metric_resource_id = azurerm_service_plan.main.id
          operator           = rule.value[1]
          threshold          = rule.value[2]
          statistic          = "Average"
          time_aggregation   = "Average"
          time_grain         = "PT1M"
          time_window        = "PT10M"
        }
        scale_action {
          direction = rule.value[3]
          type      = "ChangeCount"
          value     = "1"
          cooldown  = "PT10M"
        }
      }
    }
  }
}

resource "azurerm_linux_web_app" "api" {
  #checkov:skip=CKV_AZURE_88:the API keeps no files on the app's storage; state lives in PostgreSQL and Redis
  #checkov:skip=CKV_AZURE_17:client certificates are not used; Front Door authenticates with X-Azure-FDID and users with Entra tokens
  #checkov:skip=CKV_AZURE_13:authentication is done by the API itself (Entra tokens), not by App Service Authentication
  #checkov:skip=CKV_AZURE_222:Front Door reaches the origin on its public endpoint; ip_restriction admits only AzureFrontDoor.Backend carrying this profile's X-Azure-FDID and denies everything else
  name                                           = "app-${var.prefix}-api"
  location                                       = var.location
  resource_group_name                            = var.resource_group_name
  service_plan_id                                = azurerm_service_plan.main.id
  https_only                                     = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  virtual_network_subnet_id                      = var.app_subnet_id
  app_settings                                   = local.app_settings
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    always_on                         = true
    http2_enabled                     = true
    ftps_state                        = "Disabled"
    minimum_tls_version               = "1.2"
    scm_minimum_tls_version           = "1.2"
    health_check_path                 = "/health/ready"
    health_check_eviction_time_in_min = 5
    vnet_route_all_enabled            = true
    ip_restriction_default_action     = "Deny"
    app_command_line                  = "gunicorn -k uvicorn.workers.UvicornWorker app.main:app"

    application_stack {
      python_version = "3.11"
    }

    # Only this platform's Front Door (service tag and its own profile id).
    ip_restriction {
      name        = "front-door-only"
      priority    = 100
      action      = "Allow"
      service_tag = "AzureFrontDoor.Backend"
      headers {
        x_azure_fdid = [var.front_door_id]
      }
    }

    # The SCM (Kudu) site, where deployments land: only the runners' NAT address and the
    # operators' allow-listed ranges.
    scm_ip_restriction_default_action = "Deny"

    dynamic "scm_ip_restriction" {
      for_each = local.scm_allowed
      content {
        name       = scm_ip_restriction.key
        priority   = 100 + index(keys(local.scm_allowed), scm_ip_restriction.key)
        action     = "Allow"
        ip_address = scm_ip_restriction.value
      }
    }

    cors {
      allowed_origins     = ["https://admin.${var.domain}"]
      support_credentials = true
    }
  }

  sticky_settings {
    app_setting_names = local.sticky
  }

  lifecycle {
    ignore_changes = [app_settings["AUGEO_RELEASE"]]
  }

  logs {
    detailed_error_messages = true
    failed_request_tracing  = true
    http_logs {
      file_system {
        retention_in_days = 7
        retention_in_mb   = 35
      }
    }
  }
}

resource "azurerm_linux_web_app_slot" "staging" {
  #checkov:skip=CKV_AZURE_88:the API keeps no files on the app's storage; state lives in PostgreSQL and Redis
  #checkov:skip=CKV_AZURE_17:client certificates are not used; Front Door authenticates with X-Azure-FDID and users with Entra tokens
  #checkov:skip=CKV_AZURE_13:authentication is done by the API itself (Entra tokens), not by App Service Authentication
  name                                           = "staging"
  app_service_id                                 = azurerm_linux_web_app.api.id
  https_only                                     = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  virtual_network_subnet_id                      = var.app_subnet_id
  app_settings                                   = merge(local.app_settings, { AUGEO_ENVIRONMENT = "${var.environment}-staging-slot" })
  tags                                           = var.tags

  lifecycle {
    ignore_changes = [app_settings["AUGEO_RELEASE"]]
  }

  identity {
    type = "SystemAssigned"
  }

  site_config {
    always_on                         = true
    http2_enabled                     = true
    ftps_state                        = "Disabled"
    minimum_tls_version               = "1.2"
    scm_minimum_tls_version           = "1.2"
    health_check_path                 = "/health/ready"
    health_check_eviction_time_in_min = 5
    vnet_route_all_enabled            = true
    ip_restriction_default_action     = "Deny"
    app_command_line                  = "gunicorn -k uvicorn.workers.UvicornWorker app.main:app"

    application_stack {
      python_version = "3.11"
    }

    ip_restriction {
      name        = "front-door-only"
      priority    = 100
      action      = "Allow"
      service_tag = "AzureFrontDoor.Backend"
      headers {
        x_azure_fdid = [var.front_door_id]
      }
    }

    # The SCM (Kudu) site, where deployments land: only the runners' NAT address and the
    # operators' allow-listed ranges.
    scm_ip_restriction_default_action = "Deny"

    dynamic "scm_ip_restriction" {
      for_each = local.scm_allowed
      content {
        name       = scm_ip_restriction.key
        priority   = 100 + index(keys(local.scm_allowed), scm_ip_restriction.key)
        action     = "Allow"
        ip_address = scm_ip_restriction.value
      }
    }

    cors {
      allowed_origins     = ["https://admin.${var.domain}"]
      support_credentials = true
    }
  }

  logs {
    detailed_error_messages = true
    failed_request_tracing  = true
    http_logs {
      file_system {
        retention_in_days = 7
        retention_in_mb   = 35
      }
    }
  }
}

# What the app's identities may reach (the platform is Entra-only): the secrets (Key Vault
# references), Redis (an access policy assignment on the default database, "Default
# Access"), and Application Insights, which takes telemetry only from Entra-authenticated
# senders (local_authentication_enabled = false). Their PostgreSQL roles are made by SQL:
# `augeoctl db grant-identity` (docs/migrations-on-azure.md).
resource "azurerm_role_assignment" "secrets_user" {
  for_each             = local.identities
  scope                = var.key_vault_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value
}

resource "azurerm_role_assignment" "metrics_publisher" {
  for_each             = local.identities
  scope                = var.app_insights_id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = each.value
}

resource "azurerm_managed_redis_access_policy_assignment" "app" {
  for_each         = local.identities
  managed_redis_id = var.redis_id
  object_id        = each.value
}

resource "azurerm_monitor_diagnostic_setting" "api" {
  name                       = "diag-to-log-analytics"
  target_resource_id         = azurerm_linux_web_app.api.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "AppServiceHTTPLogs"
  }

  enabled_log {
    category = "AppServiceConsoleLogs"
  }

  enabled_log {
    category = "AppServiceAppLogs"
  }

  enabled_log {
    category = "AppServiceAuditLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}

# The admin front end. admin.<domain> and its certificate are on Front Door, behind the same
# WAF as the API (modules/frontdoor); Front Door reaches this app on its default host name.
resource "azurerm_static_web_app" "admin" {
  name                = "stapp-${var.prefix}-admin"
  location            = var.static_web_app_location
  resource_group_name = var.resource_group_name
  sku_tier            = "Standard"
  sku_size            = "Standard"
  tags                = var.tags
}
