# The platform's virtual network: app integration, PostgreSQL (delegated), private
# endpoints and the GitHub-hosted runners that run database migrations and the other
# in-VNet operations (delegated to GitHub.Network/networkSettings), each subnet behind its
# own NSG; private DNS zones for the data services and the Redis exports' Blob storage.
# Why the runners are in the VNet: terraform/README.md, "Decision: database migrations from
# GitHub-hosted runners in the VNet" and "Decision: operator access into the VNet".

resource "azurerm_virtual_network" "main" {
  name                = "vnet-${var.prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  address_space       = [var.address_space]
  tags                = var.tags
}

resource "azurerm_subnet" "app" {
  #checkov:skip=CKV2_AZURE_31:every subnet gets its NSG from azurerm_subnet_network_security_group_association.subnet (for_each over local.subnets); checkov follows it for the primary VNet but not inside the count-gated failover module
  name                            = "snet-app"
  resource_group_name             = var.resource_group_name
  virtual_network_name            = azurerm_virtual_network.main.name
  address_prefixes                = [cidrsubnet(var.address_space, 8, 1)]
  default_outbound_access_enabled = false

  delegation {
    name = "app-service"
    service_delegation {
      name    = "Microsoft.Web/serverFarms"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_subnet" "postgres" {
  #checkov:skip=CKV2_AZURE_31:every subnet gets its NSG from azurerm_subnet_network_security_group_association.subnet (for_each over local.subnets); checkov follows it for the primary VNet but not inside the count-gated failover module
  name                            = "snet-postgres"
  resource_group_name             = var.resource_group_name
  virtual_network_name            = azurerm_virtual_network.main.name
  address_prefixes                = [cidrsubnet(var.address_space, 8, 2)]
  default_outbound_access_enabled = false

  delegation {
    name = "postgres-flexible"
    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_subnet" "endpoints" {
  #checkov:skip=CKV2_AZURE_31:every subnet gets its NSG from azurerm_subnet_network_security_group_association.subnet (for_each over local.subnets); checkov follows it for the primary VNet but not inside the count-gated failover module
  name                              = "snet-endpoints"
  resource_group_name               = var.resource_group_name
  virtual_network_name              = azurerm_virtual_network.main.name
  address_prefixes                  = [cidrsubnet(var.address_space, 8, 3)]
  default_outbound_access_enabled   = false
  private_endpoint_network_policies = "Enabled"
}

# GitHub-hosted runners with Azure private networking: GitHub starts the runners' network
# interfaces in this subnet, so a migration job reaches the Flexible Server's private
# address. GitHub sizes it for its concurrency (a /24 leaves room for the 30 % buffer it
# asks for); egress to GitHub goes through the NAT gateway below.
resource "azurerm_subnet" "runners" {
  #checkov:skip=CKV2_AZURE_31:every subnet gets its NSG from azurerm_subnet_network_security_group_association.subnet (for_each over local.subnets); checkov follows it for the primary VNet but not inside the count-gated failover module
  name                            = "snet-runners"
  resource_group_name             = var.resource_group_name
  virtual_network_name            = azurerm_virtual_network.main.name
  address_prefixes                = [cidrsubnet(var.address_space, 8, 4)]
  default_outbound_access_enabled = false

  delegation {
    name = "github-hosted-runners"
    service_delegation {
      name    = "GitHub.Network/networkSettings"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

locals {
  subnets = {
    app       = azurerm_subnet.app.id
    postgres  = azurerm_subnet.postgres.id
    endpoints = azurerm_subnet.endpoints.id
    runners   = azurerm_subnet.runners.id
  }
  # NSG rules beyond deny-internet-inbound, by subnet. The runners are the one declared way
  # into the VNet for operations (terraform/README.md, "Decision: operator access into the
  # VNet"): inside the VNet a runner reaches PostgreSQL on 5432 (migrations, post-restore
  # checks, `db grant-identity`) and HTTPS on the private endpoints (seeding Key Vault
  # secrets, the Redis exports' Blob container), not Redis or the app; outside it only HTTPS
  # (GitHub's Actions service, Microsoft Entra ID for the OIDC login, package indexes).
  # PostgreSQL admits 5432 from the app and the runners only (and its own subnet, for the
  # HA standby), every other source in the VNet is denied.
  subnet_rules = [
    { subnet = "runners", name = "allow-postgres-outbound", priority = 100, direction = "Outbound", access = "Allow",
    protocol = "Tcp", port = "5432", source = "*", destination = azurerm_subnet.postgres.address_prefixes[0] },
    { subnet = "runners", name = "allow-endpoints-https-outbound", priority = 110, direction = "Outbound", access = "Allow",
    protocol = "Tcp", port = "443", source = "*", destination = azurerm_subnet.endpoints.address_prefixes[0] },
    { subnet = "runners", name = "deny-vnet-outbound", priority = 200, direction = "Outbound", access = "Deny",
    protocol = "*", port = "*", source = "*", destination = "VirtualNetwork" },
    { subnet = "runners", name = "allow-https-outbound", priority = 300, direction = "Outbound", access = "Allow",
    protocol = "Tcp", port = "443", source = "*", destination = "Internet" },
    { subnet = "runners", name = "deny-internet-outbound", priority = 4000, direction = "Outbound", access = "Deny",
    protocol = "*", port = "*", source = "*", destination = "Internet" },
    { subnet = "postgres", name = "allow-app-postgres-inbound", priority = 100, direction = "Inbound", access = "Allow",
    protocol = "Tcp", port = "5432", source = azurerm_subnet.app.address_prefixes[0], destination = "*" },
    { subnet = "postgres", name = "allow-runners-postgres-inbound", priority = 110, direction = "Inbound", access = "Allow",
    protocol = "Tcp", port = "5432", source = azurerm_subnet.runners.address_prefixes[0], destination = "*" },
    { subnet = "postgres", name = "allow-postgres-subnet-inbound", priority = 120, direction = "Inbound", access = "Allow",
    protocol = "*", port = "*", source = azurerm_subnet.postgres.address_prefixes[0], destination = "*" },
    { subnet = "postgres", name = "deny-vnet-inbound", priority = 200, direction = "Inbound", access = "Deny",
    protocol = "*", port = "*", source = "VirtualNetwork", destination = "*" },
  ]
  private_zones = {
    postgres = "privatelink.postgres.database.azure.com"
    vault    = "privatelink.vaultcore.azure.net"
    redis    = "privatelink.redis.azure.net"
    blob     = "privatelink.blob.core.windows.net"
  }
}

resource "azurerm_network_security_group" "subnet" {
  for_each            = local.subnets
  name                = "nsg-${var.prefix}-${each.key}"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  # Only the virtual network reaches the data subnets; Azure's default rules allow
  # VNet-to-VNet and deny the internet inbound. This rule makes the intent explicit.
  security_rule {
    name                       = "deny-internet-inbound"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "Internet"
    destination_address_prefix = "*"
  }

  dynamic "security_rule" {
    for_each = [for rule in local.subnet_rules : rule if rule.subnet == each.key]
    content {
      name                       = security_rule.value.name
      priority                   = security_rule.value.priority
      direction                  = security_rule.value.direction
      access                     = security_rule.value.access
      protocol                   = security_rule.value.protocol
      source_port_range          = "*"
      destination_port_range     = security_rule.value.port
      source_address_prefix      = security_rule.value.source
      destination_address_prefix = security_rule.value.destination
    }
  }
}

resource "azurerm_subnet_network_security_group_association" "subnet" {
  for_each                  = local.subnets
  subnet_id                 = each.value
  network_security_group_id = azurerm_network_security_group.subnet[each.key].id
}

resource "azurerm_private_dns_zone" "zone" {
  for_each            = local.private_zones
  name                = each.value
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "zone" {
  for_each             = local.private_zones
  name                 = "link-${each.key}"
  private_dns_zone_id  = azurerm_private_dns_zone.zone[each.key].id
  virtual_network_id   = azurerm_virtual_network.main.id
  registration_enabled = false
  tags                 = var.tags
}

# The runners' egress: a NAT gateway with one static address (the subnets have no default
# outbound access), so GitHub's Actions service and Entra ID are reachable and the address
# can be allowed where needed.
resource "azurerm_public_ip" "runners_egress" {
  name                = "pip-${var.prefix}-runners"
  location            = var.location
  resource_group_name = var.resource_group_name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = var.tags
}

resource "azurerm_nat_gateway" "runners" {
  name                    = "ng-${var.prefix}-runners"
  location                = var.location
  resource_group_name     = var.resource_group_name
  sku_name                = "Standard"
  idle_timeout_in_minutes = 4
  tags                    = var.tags
}

resource "azurerm_nat_gateway_public_ip_association" "runners" {
  nat_gateway_id       = azurerm_nat_gateway.runners.id
  public_ip_address_id = azurerm_public_ip.runners_egress.id
}

resource "azurerm_subnet_nat_gateway_association" "runners" {
  subnet_id      = azurerm_subnet.runners.id
  nat_gateway_id = azurerm_nat_gateway.runners.id
}

# The Azure side of GitHub's private networking: a GitHub.Network/networkSettings resource
# naming the subnet and the GitHub organization (its databaseId). Its GitHubId tag is what
# an organization owner enters as the network configuration in GitHub; the azurerm
# provider has no resource for it, so it is made through azapi (api-version 2024-04-02, the
# one GitHub's documentation uses).
resource "azapi_resource" "github_network_settings" {
  type                      = "GitHub.Network/networkSettings@2024-04-02"
  name                      = "ghns-${var.prefix}-runners"
  parent_id                 = var.resource_group_id
  location                  = var.location
  tags                      = var.tags
  schema_validation_enabled = false
  body = {
    properties = {
      businessId = var.github_business_id
      subnetId   = azurerm_subnet.runners.id
    }
  }
  response_export_values = ["tags.GitHubId"]

  lifecycle {
    # GitHub adds the GitHubId tag itself.
    ignore_changes = [tags["GitHubId"]]
  }
}
