# The platform's alert rules (the same thresholds `augeoctl health` and the dashboard
# evaluate), an availability test on /health, and the portal workbook.

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

# Error rate above 5 % over 5 minutes, from Application Insights requests.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "error_rate" {
  name                 = "alert-${var.prefix}-error-rate"
  location             = var.location
  resource_group_name  = var.resource_group_name
  scopes               = [var.app_insights_id]
  description          = "More than 5 % of API requests failed in the last 5 minutes."
  severity             = 1
  evaluation_frequency = "PT5M"
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

resource "azurerm_monitor_metric_alert" "availability" {
  for_each            = azurerm_application_insights_standard_web_test.health
  name                = "alert-${var.prefix}-${each.key}-availability-or-certificate"
  resource_group_name = var.resource_group_name
  scopes              = [each.value.id, var.app_insights_id]
  description         = "${each.key} failed from 2 locations: down, or its TLS certificate expires within ${var.cert_expiry_days} days."
  severity            = 1
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

# The portal workbook: dashboards/workbook.json with its KQL taken from
# dashboards/queries/traffic.kql, the file `augeoctl dashboard` runs.
locals {
  workbook = jsondecode(file("${path.module}/../../../dashboards/workbook.json"))
  kql      = file("${path.module}/../../../dashboards/queries/traffic.kql")
  workbook_items = [
    for item in local.workbook.items : jsondecode(item.name == "traffic"
      ? jsonencode(merge(item, { content = merge(item.content, { query = local.kql }) }))
    : jsonencode(item))
  ]
}

resource "azurerm_application_insights_workbook" "traffic" {
  name                = var.workbook_id
  location            = var.location
  resource_group_name = var.resource_group_name
  display_name        = "Augeo API traffic (${var.prefix})"
  source_id           = lower(var.log_analytics_workspace_id)
  category            = "workbook"
  data_json           = jsonencode(merge(local.workbook, { items = local.workbook_items }))
  tags                = var.tags
}
