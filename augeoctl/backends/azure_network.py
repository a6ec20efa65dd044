"""The virtual network a restored Flexible Server goes into (Microsoft.Network, read only).

A server with private access lives in a subnet delegated to
``Microsoft.DBforPostgreSQL/flexibleServers`` of a virtual network in the server's own
region: a virtual network does not span regions, so the source's subnet cannot hold a
geo-restored server, and a ``--subnet`` in another region is refused by Azure only after
the restore was asked for. ``check_subnet`` reads the subnet and its virtual network
(``Subnets_Get``, ``VirtualNetworks_Get``) before anything is created.

An identity that may join the subnet but not read it (403) gets a warning, not a refusal:
Azure still checks the placement when the server is created.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from augeoctl import azure
from augeoctl.backends.azure_regions import normalized
from augeoctl.config import Environment
from augeoctl.errors import AuthError, NotFound, UsageError

log = logging.getLogger(__name__)

DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
SUBNET_ID = re.compile(r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
                     r"virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Subnet:
    id: str
    region: str  # the region of its virtual network
    delegations: tuple[str, ...]


def read_subnet(env: Environment, subnet_id: str, credential: Any) -> Subnet:
    """The subnet's delegations and its virtual network's region."""
    from azure.mgmt.network import NetworkManagementClient

    m = SUBNET_ID.fullmatch(subnet_id)
    if m is None:
        raise UsageError(f"{subnet_id!r} is not a subnet resource id")
    client = NetworkManagementClient(credential, m["sub"], **azure.client_kwargs(env))
    with azure.translated(f"reading subnet {m['vnet']}/{m['subnet']}"):
        subnet = client.subnets.get(m["rg"], m["vnet"], m["subnet"])
        vnet = client.virtual_networks.get(m["rg"], m["vnet"])
    delegations = tuple(str(d.service_name) for d in (subnet.delegations or []) if d.service_name)
    return Subnet(id=subnet_id, region=str(vnet.location), delegations=delegations)


def check_subnet(env: Environment, subnet_id: str, region: str, credential: Any) -> Subnet | None:
    """Refuse (exit 2) a subnet that cannot hold a Flexible Server in ``region``: missing, not
    delegated to Flexible Server, or in another region's virtual network. None when the
    identity may not read it (warned)."""
    try:
        subnet = read_subnet(env, subnet_id, credential)
    except NotFound:
        raise UsageError(f"subnet {subnet_id} does not exist",
                         hint="give --subnet the resource id of an existing subnet delegated to " + DELEGATION) from None
    except AuthError as exc:
        log.warning("could not check subnet %s (%s); Azure checks its region and delegation when the "
                    "server is created", subnet_id, exc.message)
        return None
    if normalized(subnet.region) != normalized(region):
        raise UsageError(
            f"subnet {subnet_id} is in a virtual network in {subnet.region}; the new server is made in {region}",
            hint=f"give --subnet a subnet of a virtual network in {region} (a virtual network does not span "
                 "regions), and --private-dns-zone linked to it")
    if not any(d.lower() == DELEGATION.lower() for d in subnet.delegations):
        delegated = ", ".join(subnet.delegations) or "nothing"
        raise UsageError(f"subnet {subnet_id} is delegated to {delegated}, not to {DELEGATION}",
                         hint=f"delegate the subnet to {DELEGATION} (Terraform: a delegation block on the "
                              "azurerm_subnet), or give another --subnet")
    return subnet
