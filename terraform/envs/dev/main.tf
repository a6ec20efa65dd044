provider "azurerm" {
  features {
    key_vault {
      purge_soft_delete_on_destroy = false
    }
  }
  subscription_id     = var.subscription_id
  tenant_id           = var.tenant_id
  use_oidc            = true
  storage_use_azuread = true
  # The runners' private networking (GitHub.Network/networkSettings) needs its provider
  # registered in the subscription; v5 registers none by default.
  resource_providers_to_register = ["GitHub.Network"]
}

# GitHub.Network/networkSettings (the runners' private networking) through the ARM API.
provider "azapi" {
  subscription_id = var.subscription_id
  tenant_id       = var.tenant_id
  use_oidc        = true
}

module "platform" {
  source = "../../modules/platform"

  environment       = "dev"
  subscription_id   = var.subscription_id
  tenant_id         = var.tenant_id
  teams_webhook_url = var.teams_webhook_url

  location                = "westeurope"
  secondary_location      = "northeurope" # the region pair of westeurope
  static_web_app_location = "westeurope"
  domain                  = "dev.augeo.example"
  cost_center             = "augeo-platform"
  owner                   = "platform-team@augeo.example"
  address_space           = "10.10.0.0/16"
  log_retention_days      = 30

  app_plan_sku       = "S1"
  app_zone_balancing = false
  app_min_instances  = 1
  app_max_instances  = 3

  postgres_sku                   = "GP_Standard_D2ds_v5"
  postgres_storage_mb            = 131072
  postgres_backup_retention_days = 30
  postgres_geo_redundant_backup  = false
  postgres_high_availability     = false
  postgres_admin_group_object_id = "00000000-0000-0000-0000-000000000000" # the DBA group
  postgres_admin_group_name      = "augeo-dev-dba"

  # The deployment identity (modules/pipeline_identity): GitHub Actions jobs of this
  # repository in the GitHub environment "dev" log in as it with OIDC; it runs the
  # migrations from a GitHub-hosted runner in the VNet.
  github_repositories        = ["augeo-platform/augeoctl", "augeo-platform/augeo-backend", "augeo-platform/augeo-admin"]
  github_environments        = ["dev"]
  github_trust_pull_requests = true
  github_business_id         = "123456789" # the GitHub organization's databaseId

  redis_sku               = "Balanced_B1"
  redis_high_availability = false

  # Standard: custom WAF rules and the rate limit, no managed rule sets (terraform/README.md, Cost).
  front_door_sku        = "Standard_AzureFrontDoor"
  rate_limit_per_minute = 600
  acs_data_location     = "Europe"
  dmarc_rua             = "dmarc-reports@augeo.example"
  alert_email           = "oncall@augeo.example"
  workbook_id           = "5d0e5f0a-1d7c-4c43-9a0e-2f7a4f0d1001"

  # Derived in terraform/README.md ("Cost"): the monthly estimate x 1.2, rounded up to 50.
  monthly_budget    = 550
  budget_start_date = "2026-12-01T00:00:00Z"
}
