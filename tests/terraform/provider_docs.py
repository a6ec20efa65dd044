"""Extract the argument schema of azurerm resources from the provider's own documentation.

CI cannot download the azurerm provider, so ``terraform validate`` is out of reach. The
provider's documentation is the next best reference: every resource page lists its
arguments (``* `name` - (Required|Optional) ...``), its nested blocks ("A `site_config`
block supports the following:") and its exported attributes. This script reads those
pages straight from the git objects of a (bare) clone of hashicorp/terraform-provider-azurerm
at one tag and writes the subset the tests use to ``data/azurerm-v<version>.json``:

    python tests/terraform/provider_docs.py --repo <bare repo> --tag v5.2.0
    python tests/terraform/provider_docs.py --repo <bare repo> --tag v5.2.0 \\
        --add azurerm_storage_account --from-terraform terraform/

Existing entries of the output file are kept; the named types are (re)extracted and merged.

Block nesting is not spelled out by the headings (they are flat: "A `headers` block"), so it
is rebuilt from the references in the argument descriptions ("One or more `ip_restriction`
blocks as defined below"), starting from the top-level arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO_URL = "https://github.com/hashicorp/terraform-provider-azurerm"
PROVIDER = "hashicorp/azurerm"

SEED_RESOURCES = (
    "resource_group", "virtual_network", "subnet", "network_security_group",
    "subnet_network_security_group_association", "network_security_rule", "private_dns_zone",
    "private_dns_zone_virtual_network_link", "private_endpoint", "service_plan",
    "linux_web_app", "linux_web_app_slot", "monitor_autoscale_setting", "static_web_app",
    "static_web_app_custom_domain", "postgresql_flexible_server",
    "postgresql_flexible_server_database", "postgresql_flexible_server_configuration",
    "postgresql_flexible_server_active_directory_administrator", "managed_redis", "key_vault",
    "key_vault_secret", "role_assignment", "log_analytics_workspace", "application_insights",
    "application_insights_standard_web_test", "application_insights_workbook",
    "monitor_diagnostic_setting", "monitor_action_group", "monitor_metric_alert",
    "monitor_scheduled_query_rules_alert_v2", "monitor_activity_log_alert", "dns_zone",
    "dns_cname_record", "dns_txt_record", "dns_a_record", "communication_service",
    "email_communication_service", "email_communication_service_domain",
    "communication_service_email_domain_association", "cdn_frontdoor_profile",
    "cdn_frontdoor_endpoint", "cdn_frontdoor_origin_group", "cdn_frontdoor_origin",
    "cdn_frontdoor_route", "cdn_frontdoor_custom_domain",
    "cdn_frontdoor_custom_domain_association", "cdn_frontdoor_firewall_policy",
    "cdn_frontdoor_security_policy", "consumption_budget_resource_group",
    "user_assigned_identity", "portal_dashboard", "app_service_custom_hostname_binding",
    "app_service_managed_certificate", "app_service_certificate_binding",
)
SEED_DATA_SOURCES = ("client_config", "subscription", "resource_group")

# "* `name` - (Optional) ..." (a few pages drop the dash: "* `client_id_file_path` (Optional)")
_ITEM = re.compile(r"^[*-] `([A-Za-z0-9_]+)`\s*(?:[-:]\s*)?(.*)$")
# "A `site_config` block supports the following:", "The `features` block supports ...",
# "An `ip_restriction` block (within `site_config`) supports ...", "... block exports ..."
_HEADING = re.compile(
    r"^(?:#+\s*)?(?:A|An|The|Each)\s+`([A-Za-z0-9_]+)`\s+(?:block|object)s?\b(.*)$"
)
# A reference to a block inside an argument's description ("`x` blocks", "`x` objects").
_BLOCK_REF = re.compile(r"`([A-Za-z0-9_]+)`\s+(?:blocks?|objects?)\b")
_BLOCKISH = re.compile(r"\b(?:blocks?|objects?)\b|as (?:defined|described) (?:below|above)")
_H2 = re.compile(r"^##\s+(.*)$")


@dataclass
class Section:
    """The items listed under one heading of a documentation page."""

    items: dict[str, str] = field(default_factory=dict)  # name -> description

    def add(self, name: str, text: str) -> None:
        if name not in self.items:
            self.items[name] = text


def _split_sections(lines: list[str]) -> tuple[Section, dict[str, Section]]:
    """Top-level items and the named block sections of one reference part."""
    root = Section()
    named: dict[str, Section] = {}
    current = root
    for line in lines:
        heading = _HEADING.match(line.strip())
        if heading and ("support" in heading.group(2) or "export" in heading.group(2)
                        or "contain" in heading.group(2) or "accept" in heading.group(2)
                        or heading.group(2).strip().endswith(":")):
            current = named.setdefault(heading.group(1), Section())
            continue
        item = _ITEM.match(line)  # only unindented items: indented ones list possible values
        if item:
            current.add(item.group(1), item.group(2))
    return root, named


def _is_block(name: str, text: str, named: dict[str, Section]) -> str | None:
    """The section an argument refers to when it is a nested block, else None."""
    refs = _BLOCK_REF.findall(text)
    if name in refs:
        return name
    if refs and re.search(r"as (?:defined|described)", text):
        return refs[0] if refs[0] in named else name  # "A `azure_blob_storage_http` block"
    if name in named and _BLOCKISH.search(text):  # "A block to define ...", "List of objects"
        return name
    return None


def _build(section: Section, named: dict[str, Section], seen: tuple[str, ...]) -> dict[str, Any]:
    arguments: list[str] = []
    blocks: dict[str, Any] = {}
    for name, text in section.items.items():
        target = _is_block(name, text, named)
        if target is None:
            arguments.append(name)
            continue
        inner = named.get(target) or named.get(name)
        if inner is None or target in seen:
            # Documented as a block but its content is not listed (or is recursive).
            blocks[name] = {"arguments": [], "blocks": {}, "documented": inner is not None}
            continue
        blocks[name] = _build(inner, named, (*seen, target))
    return {"arguments": sorted(arguments), "blocks": dict(sorted(blocks.items()))}


def _parts(text: str) -> dict[str, list[str]]:
    """The lines of each level-2 part of a page, by lower-cased title."""
    parts: dict[str, list[str]] = {}
    current = parts.setdefault("", [])
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
            continue
        if fence:
            continue
        h2 = _H2.match(line)
        if h2:
            current = parts.setdefault(h2.group(1).strip().lower(), [])
            continue
        current.append(line)
    return parts


def _part(parts: dict[str, list[str]], *prefixes: str) -> list[str]:
    out: list[str] = []
    for title, lines in parts.items():
        if any(title.startswith(p) for p in prefixes):
            out += lines
    return out


def parse_page(text: str, root: str | None = None) -> dict[str, Any]:
    """Schema of one resource or data source page: arguments, blocks and attributes.

    ``root`` names a block whose section holds the top-level arguments (the features guide
    lists them under "The `features` block supports the following:").
    """
    parts = _parts(text)
    arg_root, named = _split_sections(_part(parts, "argument"))
    if root and root in named:
        arg_root = named.pop(root)
    schema = _build(arg_root, named, ())
    attr_root, _ = _split_sections(_part(parts, "attribute"))
    schema["attributes"] = sorted(attr_root.items)
    return schema


class Docs:
    """Documentation pages of one tag of the provider, read from git objects."""

    def __init__(self, repo: Path, tag: str) -> None:
        self.repo = repo
        self.tag = tag
        self.commit = self._git("rev-parse", f"{tag}^{{commit}}").strip()
        listing = self._git("ls-tree", "-r", "--name-only", self.commit, "website/docs")
        self.files = set(listing.splitlines())

    def _git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def page(self, path: str) -> str:
        return self._git("show", f"{self.commit}:{path}")

    def type_page(self, kind: str, tf_type: str) -> str | None:
        short = tf_type.removeprefix("azurerm_")
        for suffix in (".html.markdown", ".markdown", ".md"):
            path = f"website/docs/{kind}/{short}{suffix}"
            if path in self.files:
                return path
        return None


def _load(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {}


def _full(name: str) -> str:
    return name if name.startswith("azurerm_") else f"azurerm_{name}"


def used_types(folder: Path) -> tuple[set[str], set[str]]:
    """Resource and data source types of the azurerm provider used under ``folder``."""
    sys.path.insert(0, str(HERE))
    import tfparse  # a sibling module, importable once HERE is on the path

    blocks = [b for b in tfparse.all_blocks(folder) if b.labels[:1] != ()
              and b.labels[0].startswith("azurerm_")]
    return ({b.labels[0] for b in blocks if b.type == "resource"},
            {b.labels[0] for b in blocks if b.type == "data"})


def extract(docs: Docs, resources: set[str], data_sources: set[str],
            existing: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    version = docs.tag.removeprefix("v")
    out: dict[str, Any] = {
        "provider": PROVIDER,
        "version": version,
        "source": f"{REPO_URL} tag {docs.tag} commit {docs.commit} website/docs",
        "extracted": dt.date.today().isoformat(),
        "resources": dict(existing.get("resources", {})),
        "data_sources": dict(existing.get("data_sources", {})),
    }
    missing: list[str] = []
    for kind, key, names in (("r", "resources", resources), ("d", "data_sources", data_sources)):
        for name in sorted(names):
            path = docs.type_page(kind, name)
            if path is None:
                missing.append(f"{key[:-1].replace('_', ' ')} {name}")
                continue
            out[key][name] = parse_page(docs.page(path))
        out[key] = dict(sorted(out[key].items()))
    provider = parse_page(docs.page("website/docs/index.html.markdown"))
    guide = "website/docs/guides/features-block.html.markdown"
    if guide in docs.files:
        provider["blocks"]["features"] = {
            k: v for k, v in parse_page(docs.page(guide), root="features").items()
            if k != "attributes"
        }
    provider.pop("attributes", None)
    out["provider_config"] = provider
    return out, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True,
                        help="a (bare) clone of hashicorp/terraform-provider-azurerm")
    parser.add_argument("--tag", default="v5.2.0", help="the release tag whose docs to read")
    parser.add_argument("--add", action="append", default=[], metavar="TYPE",
                        help="a resource type to add (data.TYPE for a data source); repeatable")
    parser.add_argument("--from-terraform", type=Path, metavar="DIR",
                        help="add every azurerm resource and data source type used under DIR")
    parser.add_argument("--no-seed", action="store_true",
                        help="do not (re)extract the built-in list of types")
    parser.add_argument("--output", type=Path, help="default: data/azurerm-<tag>.json")
    args = parser.parse_args(argv)

    docs = Docs(args.repo, args.tag)
    output = args.output or DATA / f"azurerm-{args.tag}.json"
    existing = _load(output)
    resources: set[str] = set() if args.no_seed else {_full(n) for n in SEED_RESOURCES}
    data_sources: set[str] = set() if args.no_seed else {_full(n) for n in SEED_DATA_SOURCES}
    for name in args.add:
        if name.startswith("data."):
            data_sources.add(_full(name.removeprefix("data.")))
        else:
            resources.add(_full(name))
    if args.from_terraform:
        res, data = used_types(args.from_terraform)
        resources |= res
        data_sources |= data
    result, missing = extract(docs, resources, data_sources, existing)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    print(f"wrote {output}: {len(result['resources'])} resources, "
          f"{len(result['data_sources'])} data sources", file=sys.stderr)
    for item in missing:
        print(f"no documentation page for {item} at {args.tag}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
