"""Virtual networks and subnets on the fake ARM: what a restore reads before it places a
Flexible Server in a subnet.

Written from the azure-rest-api-specs examples (specification/network/resource-manager/
Microsoft.Network/stable/2025-03-01/examples/): ``VirtualNetworkGet.json`` (a virtual
network has a ``location``; its subnets have none of their own) and
``SubnetGetWithDelegation.json`` (``properties.delegations[].properties.serviceName``).
An unknown network or subnet is ARM's 404 ``ResourceNotFound``.

The Flexible Server fake asks ``placement_error`` when a PUT names a delegated subnet: a
virtual network does not span regions, and a server goes only into a subnet delegated to
``Microsoft.DBforPostgreSQL/flexibleServers`` (Microsoft's Flexible Server networking
documentation). The specs give no example of that refusal, so its code is ours.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakearm.server import FakeArm, Request, Response, arm_error

DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
_SUBNET = re.compile(r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
                     r"virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)", re.IGNORECASE)


class VirtualNetworks:
    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm
        # (resource group, vnet) -> {"location": ..., "subnets": {name: [service names]}}
        self.vnets: dict[tuple[str, str], dict[str, Any]] = {}
        base = (r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
                r"virtualNetworks/(?P<vnet>[^/]+)")

        def vnet_id(req: Request) -> str:
            m = req.match
            return f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.Network/virtualNetworks/{m['vnet']}"

        @arm.route("GET", base)
        def get_vnet(req: Request) -> Response:
            vnet = self.vnets.get((req.match["rg"].lower(), req.match["vnet"].lower()))
            if vnet is None:
                return arm_error(404, "ResourceNotFound",
                                 f"The Resource 'Microsoft.Network/virtualNetworks/{req.match['vnet']}' was not found.")
            # VirtualNetworkGet.json
            return Response(200, {
                "id": vnet_id(req), "name": req.match["vnet"], "type": "Microsoft.Network/virtualNetworks",
                "location": vnet["location"],
                "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "provisioningState": "Succeeded",
                               "subnets": [self._subnet(vnet_id(req), n, d) for n, d in vnet["subnets"].items()]},
            })

        @arm.route("GET", base + r"/subnets/(?P<subnet>[^/]+)")
        def get_subnet(req: Request) -> Response:
            vnet = self.vnets.get((req.match["rg"].lower(), req.match["vnet"].lower()))
            services = None if vnet is None else vnet["subnets"].get(req.match["subnet"].lower())
            if services is None:
                return arm_error(404, "ResourceNotFound",
                                 f"The Resource 'Microsoft.Network/virtualNetworks/{req.match['vnet']}/subnets/"
                                 f"{req.match['subnet']}' was not found.")
            return Response(200, self._subnet(vnet_id(req), req.match["subnet"], services))

    @staticmethod
    def _subnet(vnet_id: str, name: str, services: list[str]) -> dict[str, Any]:
        # SubnetGetWithDelegation.json
        sid = f"{vnet_id}/subnets/{name}"
        return {"id": sid, "name": name, "type": "Microsoft.Network/virtualNetworks/subnets",
                "properties": {"addressPrefix": "10.0.1.0/24", "provisioningState": "Succeeded",
                               "delegations": [{"id": f"{sid}/delegations/d{i}", "name": f"d{i}",
                                                "properties": {"serviceName": s, "actions": [],
                                                               "provisioningState": "Succeeded"}}
                                               for i, s in enumerate(services)]}}

    def add(self, subnet_id: str, location: str, delegations: tuple[str, ...] = (DELEGATION,)) -> str:
        """Declare the subnet (and its virtual network in ``location``); returns its id."""
        m = _SUBNET.fullmatch(subnet_id)
        assert m, subnet_id
        vnet = self.vnets.setdefault((m["rg"].lower(), m["vnet"].lower()), {"location": location, "subnets": {}})
        assert vnet["location"] == location, "a virtual network has one region"
        vnet["subnets"][m["subnet"].lower()] = list(delegations)
        return subnet_id

    def placement_error(self, subnet_id: str, location: str) -> Response | None:
        """ARM's refusal of a server in ``location`` placed in ``subnet_id``, or None."""
        m = _SUBNET.fullmatch(subnet_id)
        vnet = self.vnets.get((m["rg"].lower(), m["vnet"].lower())) if m else None
        services = None if vnet is None else vnet["subnets"].get(m["subnet"].lower()) if m else None
        if vnet is None or services is None:
            return arm_error(400, "SubnetNotFound", f"The subnet {subnet_id} was not found.")
        if vnet["location"].replace(" ", "").lower() != location.replace(" ", "").lower():
            return arm_error(400, "VirtualNetworkInDifferentRegion",
                             f"The virtual network of subnet {subnet_id} is in {vnet['location']}, not in {location}.")
        if DELEGATION.lower() not in (s.lower() for s in services):
            return arm_error(400, "SubnetNotDelegated",
                             f"The subnet {subnet_id} is not delegated to {DELEGATION}.")
        return None
