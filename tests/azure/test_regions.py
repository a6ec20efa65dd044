"""The region-pair table of geo-restores (augeoctl/backends/azure_regions.py)."""

from __future__ import annotations

import pytest

from augeoctl.backends.azure_regions import PAIRED_REGIONS, normalized, paired_region


@pytest.mark.parametrize(("region", "pair"), [
    ("westeurope", "northeurope"), ("North Europe", "westeurope"), ("eastus", "westus"),
    ("eastus2", "centralus"), ("westus3", "eastus"), ("swedencentral", "swedensouth"),
    # one-way pairs: the secondary's own pair is another region
    ("brazilsouth", "southcentralus"), ("southcentralus", "northcentralus"),
    ("westindia", "southindia"), ("southindia", "centralindia"), ("brazilsoutheast", "brazilsouth"),
])
def test_pairs(region: str, pair: str) -> None:
    assert paired_region(region) == pair


@pytest.mark.parametrize("region", ["italynorth", "polandcentral", "israelcentral", "qatarcentral", "nowhere"])
def test_regions_without_a_pair_have_none(region: str) -> None:
    assert paired_region(region) is None


def test_the_table_is_consistent() -> None:
    for region, pair in PAIRED_REGIONS.items():
        assert region == normalized(region) and pair == normalized(pair)
        assert region != pair
        # Every secondary is itself a known region with a pair (one-way pairs end in a pair).
        assert pair in PAIRED_REGIONS, pair
