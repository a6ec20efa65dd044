terraform {
  required_providers {
    # GitHub.Network/networkSettings has no azurerm resource.
    azapi = {
      source = "Azure/azapi"
    }
  }
}
