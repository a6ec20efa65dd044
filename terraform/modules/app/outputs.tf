output "plan_id" {
  value = azurerm_service_plan.main.id
}

output "plan_name" {
  value = azurerm_service_plan.main.name
}

output "api_name" {
  value = azurerm_linux_web_app.api.name
}

output "api_id" {
  value = azurerm_linux_web_app.api.id
}

output "api_default_hostname" {
  value = azurerm_linux_web_app.api.default_hostname
}

output "admin_id" {
  value = azurerm_static_web_app.admin.id
}

output "admin_default_hostname" {
  value = azurerm_static_web_app.admin.default_host_name
}

output "identity_principal_ids" {
  description = "Slot => object id of the app's system-assigned identity."
  value       = local.identities
}

output "autoscale_setting_id" {
  value = azurerm_monitor_autoscale_setting.plan.id
}
