# Front Door in front of the API and the admin front end: managed TLS on api.<domain> and
# admin.<domain>, one WAF policy (a rate-limit rule everywhere; the managed rule sets on
# Premium) on both, health probes on the API's /health. Production is Premium (the managed
# rule sets); dev and staging are Standard, where custom rules and the rate limit work and
# the managed rule sets are not offered (terraform/README.md, "Cost").

locals {
  premium = var.sku_name == "Premium_AzureFrontDoor"
  # Each site: its host under the domain, its origin, and the probe path.
  sites = {
    api   = { origin = var.origin_hostname, probe = "/health" }
    admin = { origin = var.admin_origin_hostname, probe = "/" }
  }
  # The API's origins: the web app, and in a regional failover the paired region's web app
  # (priority 2: used only when the first is unhealthy).
  api_origins = merge(
    { app-service = { host = var.origin_hostname, priority = 1 } },
    var.failover_origin_hostname == null ? {} : { app-service-failover = { host = var.failover_origin_hostname, priority = 2 } },
  )
}

resource "azurerm_cdn_frontdoor_profile" "main" {
  name                     = "afd-${var.prefix}"
  resource_group_name      = var.resource_group_name
  sku_name                 = var.sku_name
  response_timeout_seconds = 60
  tags                     = var.tags
}

resource "azurerm_cdn_frontdoor_endpoint" "site" {
  for_each                 = local.sites
  name                     = "fde-${var.prefix}-${each.key}"
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.main.id
  tags                     = var.tags
}

resource "azurerm_cdn_frontdoor_origin_group" "site" {
  for_each                 = local.sites
  name                     = each.key
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.main.id
  session_affinity_enabled = false

  load_balancing {
    sample_size                 = 4
    successful_samples_required = 3
  }

  health_probe {
    path                = each.value.probe
    protocol            = "Https"
    request_type        = "GET"
    interval_in_seconds = 30
  }
}

resource "azurerm_cdn_frontdoor_origin" "api" {
  for_each                       = local.api_origins
  name                           = each.key
  cdn_frontdoor_origin_group_id  = azurerm_cdn_frontdoor_origin_group.site["api"].id
  enabled                        = true
  host_name                      = each.value.host
  origin_host_header             = each.value.host
  certificate_name_check_enabled = true
  http_port                      = 80
  https_port                     = 443
  priority                       = each.value.priority
  weight                         = 1000
}

resource "azurerm_cdn_frontdoor_origin" "admin" {
  name                           = "static-web-app"
  cdn_frontdoor_origin_group_id  = azurerm_cdn_frontdoor_origin_group.site["admin"].id
  enabled                        = true
  host_name                      = var.admin_origin_hostname
  origin_host_header             = var.admin_origin_hostname
  certificate_name_check_enabled = true
  http_port                      = 80
  https_port                     = 443
  priority                       = 1
  weight                         = 1000
}

resource "azurerm_cdn_frontdoor_custom_domain" "site" {
  for_each                 = local.sites
  name                     = each.key
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.main.id
  dns_zone_id              = var.dns_zone_id
  host_name                = "${each.key}.${var.domain}"

  tls {
    certificate_type = "ManagedCertificate"
    minimum_version  = "TLS12"
  }
}

resource "azurerm_cdn_frontdoor_route" "site" {
  for_each                        = local.sites
  name                            = each.key
  cdn_frontdoor_endpoint_id       = azurerm_cdn_frontdoor_endpoint.site[each.key].id
  cdn_frontdoor_origin_group_id   = azurerm_cdn_frontdoor_origin_group.site[each.key].id
  cdn_frontdoor_origin_ids        = each.key == "api" ? [for o in azurerm_cdn_frontdoor_origin.api : o.id] : [azurerm_cdn_frontdoor_origin.admin.id]
  cdn_frontdoor_custom_domain_ids = [azurerm_cdn_frontdoor_custom_domain.site[each.key].id]
  supported_protocols             = ["Https"]
  https_redirect_enabled          = false
  forwarding_protocol             = "HttpsOnly"
  patterns_to_match               = ["/*"]
  link_to_default_domain          = false
}

resource "azurerm_cdn_frontdoor_custom_domain_association" "site" {
  for_each                       = local.sites
  cdn_frontdoor_custom_domain_id = azurerm_cdn_frontdoor_custom_domain.site[each.key].id
  cdn_frontdoor_route_ids        = [azurerm_cdn_frontdoor_route.site[each.key].id]
}

resource "azurerm_cdn_frontdoor_firewall_policy" "main" {
  name                              = replace("waf${var.prefix}", "-", "")
  resource_group_name               = var.resource_group_name
  sku_name                          = var.sku_name
  enabled                           = true
  mode                              = "Prevention"
  request_body_check_enabled        = true
  custom_block_response_status_code = 429
  tags                              = var.tags

  # Per client IP: more than rate_limit_per_minute requests in a minute are blocked.
  custom_rule {
    name                           = "RateLimitPerClientIp"
    enabled                        = true
    priority                       = 100
    type                           = "RateLimitRule"
    rate_limit_duration_in_minutes = 1
    rate_limit_threshold           = var.rate_limit_per_minute
    action                         = "Block"

    match_condition {
      match_variable     = "RequestUri"
      operator           = "RegEx"
      negation_condition = false
      match_values       = [".*"]
    }
  }

  # The managed rule sets exist on Premium only.
  dynamic "managed_rule" {
    for_each = local.premium ? { Microsoft_DefaultRuleSet = ["2.1", "Block"], Microsoft_BotManagerRuleSet = ["1.1", "Block"] } : {}
    content {
      type    = managed_rule.key
      version = managed_rule.value[0]
      action  = managed_rule.value[1]
    }
  }
}

# One policy, every domain: the API's and the admin front end's.
resource "azurerm_cdn_frontdoor_security_policy" "main" {
  name                     = "waf"
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.main.id

  security_policies {
    firewall {
      cdn_frontdoor_firewall_policy_id = azurerm_cdn_frontdoor_firewall_policy.main.id

      association {
        patterns_to_match = ["/*"]

        dynamic "domain" {
          for_each = local.sites
          content {
            cdn_frontdoor_domain_id = azurerm_cdn_frontdoor_custom_domain.site[domain.key].id
          }
        }

        dynamic "domain" {
          for_each = local.sites
          content {
            cdn_frontdoor_domain_id = azurerm_cdn_frontdoor_endpoint.site[domain.key].id
          }
        }
      }
    }
  }
}

resource "azurerm_monitor_diagnostic_setting" "front_door" {
  name                       = "diag-to-log-analytics"
  target_resource_id         = azurerm_cdn_frontdoor_profile.main.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "FrontDoorAccessLog"
  }

  enabled_log {
    category = "FrontDoorWebApplicationFirewallLog"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}

# The API's resources before the admin front end joined them.
moved {
  from = azurerm_cdn_frontdoor_endpoint.api
  to   = azurerm_cdn_frontdoor_endpoint.site["api"]
}

moved {
  from = azurerm_cdn_frontdoor_origin_group.api
  to   = azurerm_cdn_frontdoor_origin_group.site["api"]
}

moved {
  from = azurerm_cdn_frontdoor_origin.api
  to   = azurerm_cdn_frontdoor_origin.api["app-service"]
}

moved {
  from = azurerm_cdn_frontdoor_custom_domain.api
  to   = azurerm_cdn_frontdoor_custom_domain.site["api"]
}

moved {
  from = azurerm_cdn_frontdoor_route.api
  to   = azurerm_cdn_frontdoor_route.site["api"]
}

moved {
  from = azurerm_cdn_frontdoor_custom_domain_association.api
  to   = azurerm_cdn_frontdoor_custom_domain_association.site["api"]
}
