terraform {
  required_version = ">= 1.9"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 5.2"
    }
    azapi = {
      source  = "Azure/azapi"
      version = "~> 2.5"
    }
  }

  # One state per environment, reached with the pipeline's OIDC (workload identity
  # federation) identity and Entra ID data-plane auth: no storage keys.
  backend "azurerm" {
    resource_group_name  = "rg-augeo-tfstate"
    storage_account_name = "staugeotfstate"
    container_name       = "tfstate"
    key                  = "augeo-dev.tfstate"
    use_oidc             = true
    use_azuread_auth     = true
  }
}
