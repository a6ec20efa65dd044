"""Every azurerm type, argument and nested block in terraform/ exists in the pinned provider.

The reference is ``data/azurerm-v5.2.0.json``, extracted from the provider's documentation
at the pinned tag by ``provider_docs.py`` (CI has neither the provider binary nor the
documentation mirror). This is the offline stand-in for ``terraform validate``: it catches a
misspelled or renamed argument (``enable_rbac_authorization`` became
``rbac_authorization_enabled`` in 5.0) before anyone runs a plan.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tfparse
from tfparse import Block

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SUBSET = HERE / "data" / "azurerm-v5.2.0.json"
PINNED = "~> 5.2"
# A clone of hashicorp/terraform-provider-azurerm, given only by `nox -s provider-docs -- CLONE`:
# the other tests rely on the committed extract alone.
PROVIDER_REPO = os.environ.get("AUGEO_AZURERM_REPO")

# Handled by Terraform itself, not by the provider's schema.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection", "timeouts"}


@dataclass(frozen=True)
class Finding:
    """One argument or block that the provider documentation does not know."""

    file: str
    address: str
    path: str  # nested blocks from the resource down, e.g. "site_config.ip_restriction"
    name: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.address}.{self.path}" if self.path else self.address
        return f"{self.file}: {where}: {self.problem} `{self.name}`"


def load_subset(path: Path = SUBSET) -> dict[str, Any]:
    return json.loads(path.read_text())


def _rel(file: Path | None) -> str:
    if file is None:
        return "<inline>"
    try:
        return str(file.resolve().relative_to(REPO))
    except ValueError:
        return str(file)


def check_body(block: Block, schema: dict[str, Any], *, file: str, address: str,
               path: str = "", top: bool = False) -> list[Finding]:
    """Arguments and nested blocks of ``block`` (recursively) missing from ``schema``."""
    found: list[Finding] = []
    arguments = set(schema.get("arguments", ()))
    blocks: dict[str, Any] = schema.get("blocks", {})
    for name in block.attrs:
        if name.startswith("__") or (top and name in META_ARGUMENTS):
            continue
        # `security_rule = []` is the attributes-as-blocks syntax of a nested block.
        if name not in arguments and name not in blocks:
            found.append(Finding(file, address, path, name, "unknown argument"))
    for child in block.blocks:
        name = child.type
        if top and name in META_BLOCKS:
            continue
        kind = "dynamic block" if child.dynamic else "block"
        if name in blocks:
            inner = blocks[name]
            if inner.get("documented", True):
                found += check_body(child, inner, file=file, address=address,
                                    path=f"{path}.{name}" if path else name)
        elif name in arguments:
            found.append(Finding(file, address, path, name, f"an argument written as a {kind}"))
        else:
            found.append(Finding(file, address, path, name, f"unknown {kind}"))
    return found


def check_blocks(blocks: list[Block], subset: dict[str, Any]) -> list[Finding]:
    """Every finding for the azurerm resources, data sources and provider blocks given."""
    found: list[Finding] = []
    for block in blocks:
        file = _rel(block.file)
        if block.type in ("resource", "data") and block.labels[0].startswith("azurerm_"):
            kind = "resources" if block.type == "resource" else "data_sources"
            schema = subset[kind].get(block.labels[0])
            if schema is None:
                label = "resource type" if block.type == "resource" else "data source"
                found.append(Finding(file, block.address, "", block.labels[0],
                                     f"{label} not in the provider subset"))
                continue
            found += check_body(block, schema, file=file, address=block.address, top=True)
        elif block.type == "provider" and block.labels == ("azurerm",):
            schema = subset["provider_config"]
            body = Block(block.type, block.labels, {k: v for k, v in block.attrs.items()
                                                    if k != "alias"}, block.blocks, block.file)
            found += check_body(body, schema, file=file, address=block.address)
    return found


def _require_terraform() -> list[Block]:
    if not tfparse.ROOT.is_dir() or not tfparse.tf_folders(tfparse.ROOT):
        pytest.skip(f"no .tf files under {_rel(tfparse.ROOT)} yet")
    return tfparse.all_blocks(tfparse.ROOT)


def _fail(findings: list[Finding], what: str) -> None:
    if findings:
        lines = "\n".join(f"  {f}" for f in findings)
        pytest.fail(f"{len(findings)} {what} not in azurerm {load_subset()['version']} "
                    f"docs ({_rel(SUBSET)}):\n{lines}", pytrace=False)


# --- the configuration in terraform/ ---------------------------------------------------


def test_pinned_provider_version_matches_subset() -> None:
    _require_terraform()
    envs = sorted(p for p in (tfparse.ROOT / "envs").glob("*") if p.is_dir())
    assert envs, "terraform/envs has no environment folders"
    major_minor = ".".join(load_subset()["version"].split(".")[:2])
    problems = []
    for env in envs:
        versions = env / "versions.tf"
        if not versions.exists():
            problems.append(f"{_rel(versions)}: missing")
            continue
        pins = [rp.get("azurerm", {}) for b in tfparse.parse_text(versions.read_text(), versions)
                if b.type == "terraform" for rp in b.children("required_providers")]
        pins = [p for p in pins if p]
        if len(pins) != 1:
            problems.append(f"{_rel(versions)}: {len(pins)} required_providers.azurerm entries")
            continue
        pin = pins[0]
        if pin.get("source") not in ("hashicorp/azurerm", "registry.terraform.io/hashicorp/azurerm"):
            problems.append(f"{_rel(versions)}: azurerm source is {pin.get('source')!r}")
        if pin.get("version") != PINNED:
            problems.append(f"{_rel(versions)}: azurerm version is {pin.get('version')!r}, "
                            f"expected {PINNED!r}")
        pinned = re.sub(r"^[~>=\s]+", "", str(pin.get("version", "")))
        if pinned != major_minor:
            problems.append(f"{_rel(versions)}: pin {pin.get('version')!r} does not match the "
                            f"docs subset {load_subset()['version']}")
    assert not problems, "\n".join(problems)


def test_every_type_is_in_subset() -> None:
    blocks = _require_terraform()
    subset = load_subset()
    missing = sorted({
        f"{b.type} {b.labels[0]} (in {_rel(b.file)})"
        for b in blocks
        if b.type in ("resource", "data") and b.labels[0].startswith("azurerm_")
        and b.labels[0] not in subset["resources" if b.type == "resource" else "data_sources"]
    })
    assert not missing, (
        "types missing from the subset; add them with `nox -s provider-docs -- <azurerm clone>`:\n  "
        + "\n  ".join(missing))


def test_arguments_and_blocks_exist() -> None:
    blocks = _require_terraform()
    subset = load_subset()
    found = [f for f in check_blocks(blocks, subset) if "not in the provider subset" not in f.problem]
    _fail([f for f in found if not f.address.startswith("provider.")],
          "arguments or blocks")


def test_provider_block_arguments_exist() -> None:
    blocks = _require_terraform()
    providers = [b for b in blocks if b.type == "provider" and b.labels == ("azurerm",)]
    _fail(check_blocks(providers, load_subset()), "provider arguments or blocks")


# --- the checker itself ------------------------------------------------------------------


def _check(text: str) -> list[str]:
    return [str(f) for f in check_blocks(tfparse.parse_text(text, Path("main.tf")), load_subset())]


def test_checker_accepts_valid_configuration() -> None:
    assert _check('''
provider "azurerm" {
  features {
    key_vault { purge_soft_delete_on_destroy = false }
  }
  storage_use_azuread = true
  alias               = "other"
}
resource "azurerm_key_vault" "kv" {
  name                       = "kv"
  location                   = "westeurope"
  resource_group_name        = "rg"
  tenant_id                  = "t"
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  count                      = 1
  depends_on                 = []
  network_acls {
    bypass         = "AzureServices"
    default_action = "Deny"
  }
  lifecycle { prevent_destroy = true }
  timeouts { create = "30m" }
}
data "azurerm_client_config" "current" {}
''') == []


def test_checker_reports_misspelled_argument_with_file_and_address() -> None:
    found = _check('''
resource "azurerm_key_vault" "kv" {
  name                       = "kv"
  rbac_authorisation_enabled = true
}
''')
    assert found == ["main.tf: resource.azurerm_key_vault.kv: unknown argument "
                     "`rbac_authorisation_enabled`"]


def test_checker_reports_removed_argument() -> None:
    # Renamed in azurerm 5.0 (FIELD-NOTES: rbac_authorization_enabled since 4.42).
    assert _check('''
resource "azurerm_key_vault" "kv" {
  enable_rbac_authorization = true
}
''') == ["main.tf: resource.azurerm_key_vault.kv: unknown argument `enable_rbac_authorization`"]


def test_checker_descends_into_nested_and_dynamic_blocks() -> None:
    found = _check('''
resource "azurerm_linux_web_app" "app" {
  site_config {
    application_stack { python_versio = "3.12" }
    dynamic "ip_restriction" {
      for_each = var.front_door_ids
      content {
        name     = "frontdoor"
        priorty  = 100
        headers { x_azure_fd_id = [ip_restriction.value] }
      }
    }
  }
  dynamic "identiti" {
    for_each = [1]
    content { type = "SystemAssigned" }
  }
}
''')
    assert sorted(found) == sorted([
        "main.tf: resource.azurerm_linux_web_app.app.site_config.application_stack: "
        "unknown argument `python_versio`",
        "main.tf: resource.azurerm_linux_web_app.app.site_config.ip_restriction: "
        "unknown argument `priorty`",
        "main.tf: resource.azurerm_linux_web_app.app.site_config.ip_restriction.headers: "
        "unknown argument `x_azure_fd_id`",
        "main.tf: resource.azurerm_linux_web_app.app: unknown dynamic block `identiti`",
    ])


def test_checker_reports_unknown_types_blocks_and_provider_arguments() -> None:
    found = _check('''
provider "azurerm" {
  features { key_vaults {} }
  use_oidcs = true
}
resource "azurerm_redis_cachee" "r" {}
data "azurerm_subscriptions_x" "s" {}
resource "azurerm_key_vault" "kv" {
  tags { a = "b" }
  lifecycle { ignore_changes = [tags] }
}
resource "random_password" "p" { length = 32 }
''')
    assert sorted(found) == sorted([
        "main.tf: provider.azurerm.features: unknown block `key_vaults`",
        "main.tf: provider.azurerm: unknown argument `use_oidcs`",
        "main.tf: resource.azurerm_redis_cachee.r: resource type not in the provider subset "
        "`azurerm_redis_cachee`",
        "main.tf: data.azurerm_subscriptions_x.s: data source not in the provider subset "
        "`azurerm_subscriptions_x`",
        "main.tf: resource.azurerm_key_vault.kv: an argument written as a block `tags`",
    ])


def test_meta_blocks_are_only_ignored_at_the_top() -> None:
    assert _check('''
resource "azurerm_key_vault" "kv" {
  network_acls {
    lifecycle {}
  }
}
''') == ["main.tf: resource.azurerm_key_vault.kv.network_acls: unknown block `lifecycle`"]


# --- the subset and its extractor ----------------------------------------------------------


def test_subset_is_well_formed() -> None:
    subset = load_subset()
    assert subset["provider"] == "hashicorp/azurerm"
    assert re.fullmatch(r"\d+\.\d+\.\d+", subset["version"])
    assert f"tag v{subset['version']} commit " in subset["source"]
    assert "features" in subset["provider_config"]["blocks"]
    web = subset["resources"]["azurerm_linux_web_app"]
    headers = web["blocks"]["site_config"]["blocks"]["ip_restriction"]["blocks"]["headers"]
    assert "x_azure_fdid" in headers["arguments"]
    assert "python_version" in web["blocks"]["site_config"]["blocks"]["application_stack"][
        "arguments"]
    assert "default_hostname" in web["attributes"]


def test_parse_page_rebuilds_nesting_from_references() -> None:
    import provider_docs

    page = """
## Example Usage

```hcl
resource "azurerm_example" "e" { not_an_argument = 1 }
```

## Arguments Reference

* `name` - (Required) The name.

* `outer` - (Optional) One or more `outer` blocks as defined below.

---

* `logs` - (Optional) A `logs_v2` block as defined below.

* `client_id_file_path` (Optional) No dash after the name.

---

An `outer` block supports the following:

* `inner` - (Optional) An `inner` block as defined below.

* `mode` - (Optional) Possible values are:
  * `Fast` - indented items are values, not arguments.

---

An `inner` block supports the following:

* `depth` - (Required) How deep.

---

A `logs_v2` block supports the following:

* `level` - (Optional) The level.

## Attributes Reference

* `id` - The ID.

---

An `outer` block exports the following:

* `computed` - Not an argument.

## Timeouts

* `create` - (Defaults to 30 minutes).
"""
    assert provider_docs.parse_page(page) == {
        "arguments": ["client_id_file_path", "name"],
        "blocks": {
            "logs": {"arguments": ["level"], "blocks": {}},
            "outer": {"arguments": ["mode"],
                      "blocks": {"inner": {"arguments": ["depth"], "blocks": {}}}},
        },
        "attributes": ["id"],
    }


@pytest.mark.skipif(not PROVIDER_REPO, reason="needs a provider clone: nox -s provider-docs -- CLONE")
def test_subset_matches_the_documentation() -> None:
    import provider_docs

    subset = load_subset()
    docs = provider_docs.Docs(Path(PROVIDER_REPO or ""), f"v{subset['version']}")
    assert docs.commit in subset["source"]
    for name in ("azurerm_linux_web_app", "azurerm_key_vault", "azurerm_managed_redis"):
        page = docs.type_page("r", name)
        assert page is not None
        assert provider_docs.parse_page(docs.page(page)) == subset["resources"][name], name
