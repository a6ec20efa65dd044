# The platform's DNS zone, its admin./api. records, and email through Azure Communication
# Services with a customer-managed domain: the ACS ownership TXT (from the domain
# resource's verification_records), SPF, both DKIM CNAMEs and DMARC.
#
# SPF and DKIM are written as the literal values ACS asks for, so that reviews and
# `augeoctl dns audit --expected-from terraform` can read them; the check block below
# fails the plan if ACS ever asks for anything else.

locals {
  spf   = "v=spf1 include:spf.protection.outlook.com -all"
  dmarc = "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:${var.dmarc_rua}"
  acs   = azurerm_email_communication_service_domain.main.verification_records[0]
}

resource "azurerm_dns_zone" "main" {
  name                = var.domain
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_communication_service" "main" {
  name                = "acs-${var.prefix}"
  resource_group_name = var.resource_group_name
  data_location       = var.data_location
  tags                = var.tags
}

resource "azurerm_email_communication_service" "main" {
  name                = "acs-email-${var.prefix}"
  resource_group_name = var.resource_group_name
  data_location       = var.data_location
  tags                = var.tags
}

resource "azurerm_email_communication_service_domain" "main" {
  name                             = var.domain
  email_service_id                 = azurerm_email_communication_service.main.id
  domain_management                = "CustomerManaged"
  user_engagement_tracking_enabled = false
  tags                             = var.tags
}

resource "azurerm_communication_service_email_domain_association" "main" {
  communication_service_id = azurerm_communication_service.main.id
  email_service_domain_id  = azurerm_email_communication_service_domain.main.id
}

# Apex TXT: the ACS ownership record and SPF share one record set.
resource "azurerm_dns_txt_record" "apex" {
  name                = "@"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  tags                = var.tags

  record {
    value = local.acs.domain[0].value
  }

  record {
    value = local.spf
  }
}

# The two DKIM CNAMEs, written out (not a for_each) so that a DNS audit reading this file
# sees their names and targets.
resource "azurerm_dns_cname_record" "dkim1" {
  name                = "selector1-azurecomm-prod-net._domainkey"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  record              = "selector1-azurecomm-prod-net._domainkey.azurecomm.net"
  tags                = var.tags
}

resource "azurerm_dns_cname_record" "dkim2" {
  name                = "selector2-azurecomm-prod-net._domainkey"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  record              = "selector2-azurecomm-prod-net._domainkey.azurecomm.net"
  tags                = var.tags
}

resource "azurerm_dns_txt_record" "dmarc" {
  name                = "_dmarc"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  tags                = var.tags

  record {
    value = local.dmarc
  }
}

resource "azurerm_dns_cname_record" "admin" {
  name                = "admin"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  record              = var.admin_target
  tags                = var.tags
}

resource "azurerm_dns_cname_record" "api" {
  name                = "api"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  record              = var.api_target
  tags                = var.tags
}

# Front Door's managed certificates for api.<domain> and admin.<domain> are issued once
# these tokens are seen.
resource "azurerm_dns_txt_record" "api_validation" {
  name                = "_dnsauth.api"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  tags                = var.tags

  record {
    value = var.api_validation_token
  }
}

resource "azurerm_dns_txt_record" "admin_validation" {
  name                = "_dnsauth.admin"
  zone_name           = azurerm_dns_zone.main.name
  resource_group_name = var.resource_group_name
  ttl                 = 3600
  tags                = var.tags

  record {
    value = var.admin_validation_token
  }
}

check "acs_records_match" {
  assert {
    condition     = local.acs.spf[0].value == local.spf
    error_message = "ACS asks for a different SPF record than the zone publishes: update local.spf."
  }

  assert {
    condition = alltrue([
      azurerm_dns_cname_record.dkim1.name == local.acs.dkim[0].name,
      azurerm_dns_cname_record.dkim1.record == local.acs.dkim[0].value,
      azurerm_dns_cname_record.dkim2.name == local.acs.dkim2[0].name,
      azurerm_dns_cname_record.dkim2.record == local.acs.dkim2[0].value,
    ])
    error_message = "ACS asks for different DKIM CNAMEs than the zone publishes: update the dkim1/dkim2 records."
  }
}
