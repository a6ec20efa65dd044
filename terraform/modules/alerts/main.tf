# The platform's alert rules (the same thresholds `augeoctl health` and the dashboard
# evaluate), availability tests with the certificate check, the regional-outage alerts
# (Service Health, Resource Health), the quota alerts (autoscale at its maximum or failing),
# and the portal workbook. A critical alert (severity 0 or 1) is evaluated every minute, so
# that detection plus notification fits in 2 minutes (SC-009; tests/terraform checks it).

resource "azurerm_monitor_action_group" "oncall" {
  name                = "ag-${var.prefix}-oncall"
  resource_group_name = var.resource_group_name
  short_name          = "augeo-oncall"
  tags                = var.tags

  email_receiver {
    name                    = "oncall-email"
    email_address           = var.alert_email
    use_common_alert_schema = true
  }

  # A Teams channel through a Workflows ("When a Teams webhook request is received") URL.
  webhook_receiver {
    name                    = "teams-workflow"
    service_uri             = var.teams_webhook_url
    use_common_alert_schema = true
  }
}

# Error rate above 5 % over 5 minutes, from Application Insights requests, evaluated every
# minute: detection within a minute, notification within two (SC-009).
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "error_rate" {
  name                 = "alert-${var.prefix}-error-rate"
  location             = var.location
  resource_group_name  = var.resource_group_name
  scopes               = [var.app_insights_id]
  description          = "More than 5 % of API requests failed in the last 5 minutes."
  severity             = 1
  evaluation_frequency = "PT1M"
  window_duration      = "PT5M"
  tags                 = var.tags

  criteria {
    query                   = <<-KQL
      requests
      | summarize total = sum(itemCount), failed = sumif(itemCount, success == false)
      | extend error_rate_percent = iff(total > 0, 100.0 * failed / total, 0.0)
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "error_rate_percent"
    operator                = "GreaterThan"
    threshold               = 5

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.oncall.id]
  }
}

locals {
  # name => [scope, namespace, metric, aggregation, threshold, description]
  metric_alerts = {
    response-time = [var.web_app_id, "Microsoft.Web/sites", "HttpResponseTime", "Average", 3, "Average response time above 3 s."]
    cpu           = [var.plan_id, "Microsoft.Web/serverfarms", "CpuPercentage", "Average", 80, "App Service plan CPU above 80 %."]
    memory        = [var.plan_id, "Microsoft.Web/serverfarms", "MemoryPercentage", "Average", 80, "App Service plan memory above 80 %."]
  }
}

resource "azurerm_monitor_metric_alert" "metric" {
  for_each            = local.metric_alerts
  name                = "alert-${var.prefix}-${each.key}"
  resource_group_name = var.resource_group_name
  scopes              = [each.value[0]]
  description         = each.value[5]
  severity            = 2
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = each.value[1]
    metric_name      = each.value[2]
    aggregation      = each.value[3]
    operator         = "GreaterThan"
    threshold        = each.value[4]
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# A failed deployment: a failed site write (deployment, configuration) or slot swap.
resource "azurerm_monitor_activity_log_alert" "failed_deployment" {
  for_each = {
    app-write = "Microsoft.Web/sites/write"
    slot-swap = "Microsoft.Web/sites/slots/slotsswap/action"
  }
  name                = "alert-${var.prefix}-failed-${each.key}"
  location            = "global"
  resource_group_name = var.resource_group_name
  scopes              = [var.web_app_id]
  description         = "An operation of the API failed: ${each.value}."
  tags                = var.tags

  criteria {
    category       = "Administrative"
    resource_id    = var.web_app_id
    statuses       = ["Failed"]
    operation_name = each.value
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# Availability of https://api.<domain>/health from three regions. The TLS check fails the
# test when the certificate has fewer than cert_expiry_days left: the certificate-expiry
# alert is this test's alert.
resource "azurerm_application_insights_standard_web_test" "health" {
  for_each                = { api = "https://api.${var.domain}/health", admin = "https://admin.${var.domain}/" }
  name                    = "webtest-${var.prefix}-${each.key}"
  location                = var.location
  resource_group_name     = var.resource_group_name
  application_insights_id = var.app_insights_id
  geo_locations           = ["emea-nl-ams-azr", "emea-gb-db3-azr", "us-va-ash-azr"]
  frequency               = 300
  timeout                 = 30
  retry_enabled           = true
  enabled                 = true
  tags                    = var.tags

  request {
    url                      = each.value
    http_verb                = "GET"
    follow_redirects_enabled = false
  }

  validation_rules {
    expected_status_code        = 200
    ssl_check_enabled           = true
    ssl_cert_remaining_lifetime = var.cert_expiry_days
  }
}

# Not a critical alert: a standard test runs at most every 5 minutes per location, too slow
# for the 2-minute notification; an outage is caught first by origin_down below. This one
# is the outside view and the certificate warning.
resource "azurerm_monitor_metric_alert" "availability" {
  for_each            = azurerm_application_insights_standard_web_test.health
  name                = "alert-${var.prefix}-${each.key}-availability-or-certificate"
  resource_group_name = var.resource_group_name
  scopes              = [each.value.id, var.app_insights_id]
  description         = "${each.key} failed from 2 locations: down, or its TLS certificate expires within ${var.cert_expiry_days} days."
  severity            = 2
  tags                = var.tags

  application_insights_web_test_location_availability_criteria {
    web_test_id           = each.value.id
    component_id          = var.app_insights_id
    failed_location_count = 2
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# The API or the admin front end is down: Front Door probes each origin every 30 s from
# its edge, and the share of healthy probes drops below half. Evaluated every minute
# (Minimum over the window, so the first bad minute fires): the critical "down" alert.
resource "azurerm_monitor_metric_alert" "origin_down" {
  name                = "alert-${var.prefix}-origin-down"
  resource_group_name = var.resource_group_name
  scopes              = [var.front_door_profile_id]
  description         = "Fewer than half of Front Door's health probes reach an origin (the API or the admin front end)."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Cdn/profiles"
    metric_name      = "OriginHealthPercentage"
    aggregation      = "Minimum"
    operator         = "LessThan"
    threshold        = 50
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# A regional outage: Azure's own incidents, maintenance and advisories for the platform's
# services in its region (and its pair, and global services such as Front Door and Entra).
resource "azurerm_monitor_activity_log_alert" "service_health" {
  name                = "alert-${var.prefix}-service-health"
  location            = "global"
  resource_group_name = var.resource_group_name
  scopes              = ["/subscriptions/${var.subscription_id}"]
  description         = "Azure Service Health: an incident, maintenance or advisory for the platform's services in its regions."
  tags                = var.tags

  criteria {
    category = "ServiceHealth"

    service_health {
      events    = ["Incident", "Maintenance", "ActionRequired", "Security"]
      locations = var.service_health_regions
      services  = var.service_health_services
    }
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# The resources the platform cannot run without, as Azure Resource Health sees them: the
# Flexible Server and the web app becoming degraded or unavailable for a platform reason.
resource "azurerm_monitor_activity_log_alert" "resource_health" {
  for_each            = { postgres = var.postgres_server_id, api = var.web_app_id }
  name                = "alert-${var.prefix}-${each.key}-resource-health"
  location            = "global"
  resource_group_name = var.resource_group_name
  scopes              = [each.value]
  description         = "Azure Resource Health: the ${each.key} resource is degraded or unavailable."
  tags                = var.tags

  criteria {
    category    = "ResourceHealth"
    resource_id = each.value

    resource_health {
      current  = ["Degraded", "Unavailable"]
      previous = ["Available", "Unknown"]
      reason   = ["PlatformInitiated", "Unknown"]
    }
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# Quota: autoscale has scaled the plan to its maximum (it cannot add capacity any more)...
resource "azurerm_monitor_metric_alert" "autoscale_at_maximum" {
  name                = "alert-${var.prefix}-autoscale-at-maximum"
  resource_group_name = var.resource_group_name
  scopes              = [var.autoscale_setting_id]
  description         = "Autoscale runs the App Service plan at its maximum of ${var.autoscale_max_instances} instances."
  severity            = 2
  frequency           = "PT5M"
  window_size         = "PT15M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Insights/autoscalesettings"
    metric_name      = "ObservedCapacity"
    aggregation      = "Maximum"
    operator         = "GreaterThanOrEqual"
    threshold        = var.autoscale_max_instances
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# ... or a scale action failed (for instance for want of capacity or quota in the region).
resource "azurerm_monitor_activity_log_alert" "autoscale_failed" {
  name                = "alert-${var.prefix}-autoscale-failed"
  location            = "global"
  resource_group_name = var.resource_group_name
  scopes              = [var.autoscale_setting_id]
  description         = "An autoscale action on the App Service plan failed."
  tags                = var.tags

  criteria {
    category    = "Autoscale"
    resource_id = var.autoscale_setting_id
    statuses    = ["Failed"]
  }

  action {
    action_group_id = azurerm_monitor_action_group.oncall.id
  }
}

# The portal workbook, as workbook.tf builds it from dashboards/.
resource "azurerm_application_insights_workbook" "traffic" {
  name                = var.workbook_id
  location            = var.location
  resource_group_name = var.resource_group_name
  display_name        = "Augeo API traffic (${var.prefix})"
  source_id           = lower(var.log_analytics_workspace_id)
  category            = "workbook"
  data_json           = local.workbook_json
  tags                = var.tags
}
