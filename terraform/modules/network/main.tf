# The platform's virtual network: app integration, PostgreSQL (delegated) and private
# endpoints, each subnet behind its own NSG; private DNS zones for the data services.

resource "azurerm_virtual_network" "main" {
  name                = "vnet-${var.prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  address_space       = [var.address_space]
  tags                = var.tags
}

resource "azurerm_subnet" "app" {
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
  name                              = "snet-endpoints"
  resource_group_name               = var.resource_group_name
  virtual_network_name              = azurerm_virtual_network.main.name
  address_prefixes                  = [cidrsubnet(var.address_space, 8, 3)]
  default_outbound_access_enabled   = false
  private_endpoint_network_policies = "Enabled"
}

locals {
  subnets = {
    app       = azurerm_subnet.app.id
    postgres  = azurerm_subnet.postgres.id
    endpoints = azurerm_subnet.endpoints.id
  }
  private_zones = {
    postgres = "privatelink.postgres.database.azure.com"
    vault    = "privatelink.vaultcore.azure.net"
    redis    = "privatelink.redis.azure.net"
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
