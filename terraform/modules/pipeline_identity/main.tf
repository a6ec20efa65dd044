# The deployment pipeline's identity for one environment: a user-assigned managed identity
# that GitHub Actions logs in as with OIDC (workload identity federation), so there is no
# client secret to expire. Its federated credentials trust exactly this repository's jobs
# that run in this environment's GitHub environment (and, where allowed, pull requests);
# its role assignments are what the deployment, the migrations and the scheduled jobs need
# in this environment and nothing more. The identity that runs Terraform itself is not
# this one (terraform/README.md, "What is not in Terraform and why").
#
# Subjects and issuer as GitHub documents them ("Configuring OpenID Connect in Azure",
# docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments):
# repo:ORG/REPO:environment:NAME for a job with `environment: NAME`,
# repo:ORG/REPO:pull_request for a pull-request job; audience api://AzureADTokenExchange.

locals {
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "api://AzureADTokenExchange"
  subjects = merge(
    { "github-environment-${var.github_environment}" = "repo:${var.github_org}/${var.github_repo}:environment:${var.github_environment}" },
    var.trust_pull_requests ? { "github-pull-request" = "repo:${var.github_org}/${var.github_repo}:pull_request" } : {},
  )
  # What the pipeline does in this environment, and the narrowest built-in role for it.
  role_assignments = {
    # Deploy into the staging slot, write AUGEO_RELEASE, restart, swap (augeoctl release).
    web-app = { scope = var.web_app_id, role = "Website Contributor" }
    # Seed and rotate the secrets the app settings reference.
    vault-secrets = { scope = var.key_vault_id, role = "Key Vault Secrets Officer" }
    # Write, list and read the Redis exports; sign a user-delegation SAS for the export.
    exports-data      = { scope = var.exports_container_id, role = "Storage Blob Data Contributor" }
    exports-delegator = { scope = var.exports_account_id, role = "Storage Blob Delegator" }
    # Read the environment's resources and their metrics (augeoctl health, dashboard).
    read    = { scope = var.resource_group_id, role = "Reader" }
    metrics = { scope = var.resource_group_id, role = "Monitoring Reader" }
  }
}

resource "azurerm_user_assigned_identity" "deploy" {
  name                = "id-${var.prefix}-deploy"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_federated_identity_credential" "github" {
  for_each                  = local.subjects
  name                      = each.key
  user_assigned_identity_id = azurerm_user_assigned_identity.deploy.id
  issuer                    = local.issuer
  audience                  = [local.audience]
  subject                   = each.value
}

resource "azurerm_role_assignment" "deploy" {
  for_each                         = local.role_assignments
  scope                            = each.value.scope
  role_definition_name             = each.value.role
  principal_id                     = azurerm_user_assigned_identity.deploy.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Export the Managed Redis database (augeoctl backup create --kind redis). No built-in role
# is narrower than Contributor for Microsoft.Cache/redisEnterprise/databases/export/action,
# so this role holds just the reads and the export. A custom role is defined at the
# resource group (the narrowest assignable scope Azure allows for one) and assigned on the
# Redis cluster only.
resource "azurerm_role_definition" "redis_export" {
  name        = "Augeo Redis exporter (${var.prefix})"
  scope       = var.resource_group_id
  description = "Read the Managed Redis cluster and export its default database."

  permissions {
    actions = [
      "Microsoft.Cache/redisEnterprise/read",
      "Microsoft.Cache/redisEnterprise/databases/read",
      "Microsoft.Cache/redisEnterprise/databases/export/action",
    ]
  }

  assignable_scopes = [var.resource_group_id]
}

resource "azurerm_role_assignment" "redis_export" {
  scope                            = var.redis_id
  role_definition_id               = azurerm_role_definition.redis_export.role_definition_resource_id
  principal_id                     = azurerm_user_assigned_identity.deploy.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}
