"""Azure region pairs: where a Flexible Server's geo-redundant backups are kept.

A server with geo-redundant backup has its backups copied to the paired region of its
own region, and a geo-restore creates the new server there (the SDK's ``CreateMode``
documents GeoRestore as "on the paired region"). The table follows Microsoft's list of
cross-region replication pairs ("Azure cross-region replication pairings for all
geographies", learn.microsoft.com/azure/reliability/cross-region-replication-azure).
Checked entry by entry against that page's table ("Azure regional pairs", MicrosoftDocs
azure-docs, articles/reliability/cross-region-replication-azure.md). Some pairs are one-way
(Brazil South backs up to South Central US, which pairs with North Central US; West India
and Brazil Southeast likewise); regions without a pair (Italy North, Poland Central, Israel
Central, Qatar Central, Spain Central, ...) have no entry, nor do the sovereign clouds
(Azure China, US Government, US DoD), whose ARM endpoints augeoctl does not target. An
environment's ``geo_location`` setting overrides the table.
"""

from __future__ import annotations

PAIRED_REGIONS: dict[str, str] = {
    # Americas
    "eastus": "westus", "westus": "eastus",
    "eastus2": "centralus", "centralus": "eastus2",
    "northcentralus": "southcentralus", "southcentralus": "northcentralus",
    "westus2": "westcentralus", "westcentralus": "westus2",
    "westus3": "eastus",
    "canadacentral": "canadaeast", "canadaeast": "canadacentral",
    "brazilsouth": "southcentralus", "brazilsoutheast": "brazilsouth",
    # Europe
    "northeurope": "westeurope", "westeurope": "northeurope",
    "uksouth": "ukwest", "ukwest": "uksouth",
    "francecentral": "francesouth", "francesouth": "francecentral",
    "germanywestcentral": "germanynorth", "germanynorth": "germanywestcentral",
    "switzerlandnorth": "switzerlandwest", "switzerlandwest": "switzerlandnorth",
    "norwayeast": "norwaywest", "norwaywest": "norwayeast",
    "swedencentral": "swedensouth", "swedensouth": "swedencentral",
    # Asia Pacific
    "eastasia": "southeastasia", "southeastasia": "eastasia",
    "australiaeast": "australiasoutheast", "australiasoutheast": "australiaeast",
    "australiacentral": "australiacentral2", "australiacentral2": "australiacentral",
    "japaneast": "japanwest", "japanwest": "japaneast",
    "koreacentral": "koreasouth", "koreasouth": "koreacentral",
    "centralindia": "southindia", "southindia": "centralindia",
    "westindia": "southindia",
    # Middle East and Africa
    "uaenorth": "uaecentral", "uaecentral": "uaenorth",
    "southafricanorth": "southafricawest", "southafricawest": "southafricanorth",
}


def normalized(region: str) -> str:
    """ARM's programmatic region name ("West Europe" and "westeurope" are the same region)."""
    return region.replace(" ", "").lower()


def paired_region(region: str) -> str | None:
    """The region a server in ``region`` keeps its geo-redundant backups in, if it has one."""
    return PAIRED_REGIONS.get(normalized(region))
