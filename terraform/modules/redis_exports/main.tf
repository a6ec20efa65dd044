# Blob storage for the Redis exports (RDB files `augeoctl backup create --kind redis` exports
# every 4 hours; terraform/README.md, "Decision: Redis exports to Blob storage").
#
# Azure Managed Redis exports to a container given by a SAS URI only
# (Microsoft.Cache/redisEnterprise/databases/export: `sasUri`; the managed-identity export
# of Azure Cache for Redis is Premium-only and not offered by Managed Redis), so shared keys
# stay off and the SAS is a user-delegation SAS, signed with the pipeline identity's Entra
# credentials (Storage Blob Delegator) and valid for one export. The account is reached
# from the VNet through a private endpoint; from outside only by the Redis cluster itself
# (a resource instance rule), since the export is written by the service, not from the VNet.

resource "azurerm_storage_account" "exports" {
  #checkov:skip=CKV_AZURE_59:public network access stays on only so that the resource instance rule below admits the Managed Redis cluster's export; default_action is Deny, no IP or subnet is allowed, the VNet uses the private endpoint
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys: the RDB exports are short-lived copies (30 days) of data whose primary store is encrypted the same way
  #checkov:skip=CKV_AZURE_206:LRS: an export is a copy of data the Redis cluster holds; the region-loss answer is the runbook's rebuild, not a second copy of the copy
  #checkov:skip=CKV_AZURE_33:the account has no queues; Queue service logging does not apply
  #checkov:skip=CKV2_AZURE_21:no Blob read logging: the container is written and read by the pipeline identity only, which the activity and sign-in logs record
  name                              = "st${replace(var.prefix, "-", "")}rdb"
  location                          = var.location
  resource_group_name               = var.resource_group_name
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = "LRS"
  access_tier                       = "Cool"
  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  infrastructure_encryption_enabled = true
  allowed_copy_scope                = "AAD"
  public_network_access_enabled     = true
  tags                              = var.tags

  # The export job's SAS lives an hour; one asking for more than a day is refused.
  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Block"
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]

    private_link_access {
      endpoint_resource_id = var.redis_id
    }
  }
}

resource "azurerm_storage_container" "exports" {
  #checkov:skip=CKV2_AZURE_21:no Blob read logging: the container is written and read by the pipeline identity only, which the activity and sign-in logs record
  name                  = "redis-exports"
  storage_account_id    = azurerm_storage_account.exports.id
  container_access_type = "private"
}

# Exports are kept 30 days, then deleted.
resource "azurerm_storage_management_policy" "exports" {
  storage_account_id = azurerm_storage_account.exports.id

  rule {
    name    = "delete-exports-after-${var.retention_days}-days"
    enabled = true

    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${azurerm_storage_container.exports.name}/"]
    }

    actions {
      base_blob {
        delete_after_days_since_creation_greater_than = var.retention_days
      }
      snapshot {
        delete_after_days_since_creation_greater_than = var.retention_days
      }
    }
  }
}

resource "azurerm_private_endpoint" "blob" {
  name                = "pe-${var.prefix}-exports-blob"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "blob"
    private_connection_resource_id = azurerm_storage_account.exports.id
    subresource_names              = ["blob"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "blob"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
}
