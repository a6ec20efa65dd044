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
  # One credential per repository and GitHub environment (a user-assigned identity holds at
  # most 20 federated credentials; a policy test counts them).
  subjects = merge(
    { for pair in setproduct(var.github_repositories, var.github_environments) :
    "${replace(pair[0], "/", "-")}-${pair[1]}" => "repo:${pair[0]}:environment:${pair[1]}" },
    var.trust_pull_requests ? { for repo in var.github_repositories :
    "${replace(repo, "/", "-")}-pull-request" => "repo:${repo}:pull_request" } : {},
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
    # Read the admin front end's deployment token (frontend-deploy.yml): custom role below.
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

# What no built-in role covers narrowly gets a custom role with just those actions, defined
# at the resource group (the narrowest scope Azure allows a definition to be assignable at)
# and assigned on the one resource it is for.
locals {
  custom_roles = {
    # Export the Managed Redis database (augeoctl backup create --kind redis): no built-in
    # role below Contributor holds Microsoft.Cache/redisEnterprise/databases/export/action.
    redis_export = {
      name        = "Augeo Redis exporter"
      description = "Read the Managed Redis cluster and export its default database."
      scope       = var.redis_id
      actions = [
        "Microsoft.Cache/redisEnterprise/read",
        "Microsoft.Cache/redisEnterprise/databases/read",
        "Microsoft.Cache/redisEnterprise/databases/export/action",
      ]
    }
    # Back up, restore and drill the Flexible Server: the pre-migration on-demand backup
    # (augeoctl migrate), restores and drills into new servers, and dropping the servers they
    # made (augeoctl targets drop refuses a server without augeoctl's target tag). The
    # operations the Azure backend calls, the reads of the subnet a restore checks first, and
    # the joins a VNet-integrated server needs.
    postgres_operator = {
      name        = "Augeo PostgreSQL operator"
      description = "Back up, restore into new servers and drop them; no data-plane access."
      scope       = var.resource_group_id
      actions = [
        "Microsoft.DBforPostgreSQL/flexibleServers/read",
        "Microsoft.DBforPostgreSQL/flexibleServers/write",
        "Microsoft.DBforPostgreSQL/flexibleServers/delete",
        "Microsoft.DBforPostgreSQL/flexibleServers/restart/action",
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations/read",
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations/write",
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/read",
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write",
        "Microsoft.DBforPostgreSQL/flexibleServers/backups/read",
        "Microsoft.DBforPostgreSQL/flexibleServers/backups/write",
        "Microsoft.DBforPostgreSQL/locations/*/read",
        "Microsoft.Network/virtualNetworks/read",
        "Microsoft.Network/virtualNetworks/subnets/read",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/privateDnsZones/join/action",
      ]
    }
    # Deploy the admin front end: Azure/static-web-apps-deploy takes the site's deployment
    # token, read at run time (az staticwebapp secrets list). Website Contributor covers
    # Microsoft.Web/sites only, not staticSites.
    static_site_deployer = {
      name        = "Augeo admin deployer"
      description = "Read the admin Static Web App and its deployment token."
      scope       = var.static_web_app_id
      actions = [
        "Microsoft.Web/staticSites/read",
        "Microsoft.Web/staticSites/listSecrets/action",
      ]
    }
  }
}

resource "azurerm_role_definition" "custom" {
  for_each    = local.custom_roles
  name        = "${each.value.name} (${var.prefix})"
  scope       = var.resource_group_id
  description = each.value.description

  permissions {
    actions = each.value.actions
  }

  assignable_scopes = [var.resource_group_id]
}

resource "azurerm_role_assignment" "custom" {
  for_each                         = local.custom_roles
  scope                            = each.value.scope
  role_definition_id               = azurerm_role_definition.custom[each.key].role_definition_resource_id
  principal_id                     = azurerm_user_assigned_identity.deploy.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}
