output "workspace_id" {
  description = "Resource id of the Log Analytics workspace."
  value       = azurerm_log_analytics_workspace.main.id
}

output "workspace_guid" {
  description = "The workspace's GUID, what Logs queries address (augeoctl: log_analytics_workspace_id)."
  value       = azurerm_log_analytics_workspace.main.workspace_id
}

output "app_insights_id" {
  value = azurerm_application_insights.main.id
}

output "app_insights_name" {
  value = azurerm_application_insights.main.name
}

output "app_insights_connection_string" {
  value     = azurerm_application_insights.main.connection_string
  sensitive = true
}
