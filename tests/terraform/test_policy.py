"""The platform's infrastructure requirements, as tests over the Terraform (python-hcl2).

Each test reads the HCL of one environment (``tfparse.Stack``: its root folder and the
modules it calls, with ``var.*`` followed to the environment's values), so a requirement
that holds in production but not in dev is caught where it matters.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from augeoctl import config_models
from augeoctl.health.azure import DEFINITION
from augeoctl.tfoutput import CONTRACT_KEYS
from tests.terraform.tfparse import ENVIRONMENTS, ROOT, Block, Stack, parse_dir, parse_file

pytestmark = pytest.mark.skipif(not (ROOT / "envs").is_dir(), reason="terraform/envs not written yet")

REPO = ROOT.parent
ENVS = pytest.mark.parametrize("env", ENVIRONMENTS)


def stack(env: str) -> Stack:
    return Stack(env)


def only(s: Stack, rtype: str) -> Block:
    found = s.resources(rtype)
    assert len(found) == 1, f"{s.env}: expected one {rtype}, found {len(found)}"
    return found[0]


def value(s: Stack, block: Block, *path: str) -> Any:
    """``block.a.b.c`` (nested blocks, then an attribute), resolved for the environment."""
    *blocks, attr = path
    for name in blocks:
        child = block.child(name)
        assert child is not None, f"{block.address}: no {name} block"
        block = child
    return s.resolve(block.get(attr), block)


def locals_of(module: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for b in parse_dir(ROOT / "modules" / module):
        if b.type == "locals":
            out.update(b.attrs)
    return out


def inputs(env: str) -> dict[str, Any]:
    """What envs/<env> passes to the platform module: that environment's values."""
    call = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "module" and b.labels == ("platform",))
    return call.attrs


def platform_call(name: str) -> Block:
    return next(b for b in parse_dir(ROOT / "modules" / "platform") if b.type == "module" and b.labels == (name,))


# -- state, provider, tags ---------------------------------------------------------


def test_each_environment_has_its_own_state_key_with_oidc_and_the_pinned_provider() -> None:
    keys = set()
    for env in ENVIRONMENTS:
        terraform = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "terraform")
        backend = terraform.get("backend")[0]["azurerm"]  # python-hcl2 keeps a labelled nested block as a map
        assert backend["use_oidc"] is True and backend["use_azuread_auth"] is True
        keys.add(backend["key"])
        pin = terraform.child("required_providers").get("azurerm")["version"]
        assert pin == "~> 5.2"
        provider = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "provider")
        assert provider.get("use_oidc") is True
    assert keys == {f"augeo-{e}.tfstate" for e in ENVIRONMENTS}


@ENVS
def test_resource_group_carries_cost_tracking_tags(env: str) -> None:
    s = stack(env)
    rg = only(s, "azurerm_resource_group")
    assert rg.get("tags") == "${local.tags}"
    tags = locals_of("platform")["tags"]
    assert {"application", "environment", "cost-center", "owner"} <= set(tags)


# -- App Service ---------------------------------------------------------------------

STANDARD_OR_ABOVE = re.compile(r"^(S[1-3]|P[0-3]v[23]|P[1-5]mv3|I[1-6]v2)$")


@ENVS
def test_app_service_plan_is_linux_standard_or_above(env: str) -> None:
    s = stack(env)
    plan = only(s, "azurerm_service_plan")
    assert value(s, plan, "os_type") == "Linux"
    sku = value(s, plan, "sku_name")
    # Autoscale needs Standard or above in every environment; production must not go lower.
    assert STANDARD_OR_ABOVE.match(sku), f"{env}: plan SKU {sku} is below Standard S1"


@ENVS
def test_autoscale_on_cpu_and_memory_out_and_in(env: str) -> None:
    s = stack(env)
    auto = only(s, "azurerm_monitor_autoscale_setting")
    assert auto.get("target_resource_id") == "${azurerm_service_plan.main.id}"
    rules = [r for r in auto.child("profile").children("rule")]
    assert len(rules) == 1 and rules[0].dynamic
    table = rules[0].get("__for_each__")
    seen = {(metric, direction) for metric, _op, _threshold, direction in table.values()}
    assert seen == {("CpuPercentage", "Increase"), ("CpuPercentage", "Decrease"),
                    ("MemoryPercentage", "Increase"), ("MemoryPercentage", "Decrease")}
    capacity = auto.child("profile").child("capacity")
    assert s.resolve(capacity.get("maximum"), capacity) > s.resolve(capacity.get("minimum"), capacity)


@ENVS
@pytest.mark.parametrize("rtype", ["azurerm_linux_web_app", "azurerm_linux_web_app_slot"])
def test_backend_is_hardened(env: str, rtype: str) -> None:
    s = stack(env)
    app = only(s, rtype)
    assert app.get("https_only") is True
    assert app.get("ftp_publish_basic_authentication_enabled") is False
    assert app.get("webdeploy_publish_basic_authentication_enabled") is False
    assert app.get("virtual_network_subnet_id") == "${var.app_subnet_id}"
    assert app.child("identity").get("type") == "SystemAssigned"
    site = app.child("site_config")
    assert site.get("minimum_tls_version") == "1.2" and site.get("scm_minimum_tls_version") == "1.2"
    assert site.get("ftps_state") == "Disabled"
    assert site.get("health_check_path") == "/health/ready"


@ENVS
def test_staging_slot_with_sticky_settings(env: str) -> None:
    s = stack(env)
    assert only(s, "azurerm_linux_web_app_slot").get("name") == "staging"
    sticky = only(s, "azurerm_linux_web_app").child("sticky_settings")
    assert sticky is not None and sticky.get("app_setting_names") == "${local.sticky}"
    assert "AUGEO_ENVIRONMENT" in locals_of("app")["sticky"]


@ENVS
@pytest.mark.parametrize("rtype", ["azurerm_linux_web_app", "azurerm_linux_web_app_slot"])
def test_backend_admits_only_this_front_door_and_cors_only_the_admin_domain(env: str, rtype: str) -> None:
    s = stack(env)
    site = only(s, rtype).child("site_config")
    assert site.get("ip_restriction_default_action") == "Deny"
    rules = site.children("ip_restriction")
    assert len(rules) == 1 and rules[0].get("action") == "Allow"
    assert rules[0].get("service_tag") == "AzureFrontDoor.Backend"
    assert rules[0].child("headers").get("x_azure_fdid") == ["${var.front_door_id}"]
    assert platform_call("app").get("front_door_id") == "${module.frontdoor.profile_guid}"
    assert site.child("cors").get("allowed_origins") == ["https://admin.${var.domain}"]


SECRETISH = re.compile(r"(SECRET|PASSWORD|KEY|TOKEN|CONNECTION_STRING)", re.I)


def test_app_settings_that_hold_secrets_are_key_vault_references() -> None:
    text = (ROOT / "modules" / "app" / "main.tf").read_text()
    block = text[text.index("app_settings = merge("):text.index("})", text.index("app_settings = merge("))]
    settings = dict(re.findall(r"^\s*([A-Z_]+)\s*=\s*(.+)$", block, re.M))
    assert settings, "no app settings found"
    for name, setting in settings.items():
        if SECRETISH.search(name):
            assert "@Microsoft.KeyVault(SecretUri=" in setting, f"{name} is not a Key Vault reference"
    assert "@Microsoft.KeyVault(SecretUri=" in locals_of("app")["kv_ref"]
    assert platform_call("app").get("key_vault_secrets") == "${local.key_vault_secrets}"
    assert set(locals_of("platform")["key_vault_secrets"]) >= {"ACS_CONNECTION_STRING", "SESSION_SECRET_KEY"}


def app_role(s: Stack, role: str) -> Block:
    (found,) = [ra for ra in s.resources("azurerm_role_assignment")
                if ra.file is not None and ra.file.parent.name == "app" and ra.get("role_definition_name") == role]
    return found


@ENVS
def test_app_identities_are_key_vault_secrets_users(env: str) -> None:
    s = stack(env)
    ra = app_role(s, "Key Vault Secrets User")
    assert ra.get("scope") == "${var.key_vault_id}"
    assert ra.get("for_each") == "${local.identities}" and ra.get("principal_id") == "${each.value}"
    assert set(locals_of("app")["identities"]) == {"production", "staging"}


# -- Item 1 (FR-022, FR-036): the app's identities reach their data ------------------------


@ENVS
def test_app_identities_reach_redis_and_publish_telemetry_with_entra(env: str) -> None:
    s = stack(env)
    identities = locals_of("app")["identities"]
    assert identities == {"production": "${azurerm_linux_web_app.api.identity[0].principal_id}",
                          "staging": "${azurerm_linux_web_app_slot.staging.identity[0].principal_id}"}
    redis = only(s, "azurerm_managed_redis_access_policy_assignment")
    assert redis.get("for_each") == "${local.identities}" and redis.get("object_id") == "${each.value}"
    assert redis.get("managed_redis_id") == "${var.redis_id}"
    assert platform_call("app").get("redis_id") == "${module.redis.id}"
    # Application Insights takes Entra-authenticated telemetry only.
    assert only(s, "azurerm_application_insights").get("local_authentication_enabled") is False
    publisher = app_role(s, "Monitoring Metrics Publisher")
    assert publisher.get("for_each") == "${local.identities}" and publisher.get("scope") == "${var.app_insights_id}"
    # ... and the app is told to sign its telemetry with its (system-assigned) identity.
    settings = locals_of("app")["app_settings"]  # merge(kv_ref, {NAME = "value", ...}) as text
    assert 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "Authorization=AAD"' in settings
    for slot in ("azurerm_linux_web_app", "azurerm_linux_web_app_slot"):
        identity = only(s, slot).child("identity")
        assert identity is not None and identity.attrs.get("type") == "SystemAssigned", slot
    assert platform_call("app").get("app_insights_id") == "${module.observability.app_insights_id}"


@ENVS
def test_the_pipeline_identity_is_a_postgres_entra_admin_that_can_make_app_roles(env: str) -> None:
    s = stack(env)
    admins = {b.labels[1]: b for b in s.resources("azurerm_postgresql_flexible_server_active_directory_administrator")}
    assert admins["migrations"].get("principal_type") == "ServicePrincipal"
    assert platform_call("postgres").get("migration_principal_object_id") == "${module.pipeline_identity.principal_id}"
    assert platform_call("postgres").get("migration_principal_name") == "${module.pipeline_identity.name}"
    # The app's database roles are made by `augeoctl db grant-identity`, run by that identity.
    doc = (ROOT.parent / "docs" / "migrations-on-azure.md").read_text()
    assert "augeoctl --env prod db grant-identity --principal app-augeo-prod-api" in doc


# -- Item 8: the admin front end behind Front Door and the WAF --------------------------------


@ENVS
def test_admin_front_end_is_served_through_front_door_with_the_waf(env: str) -> None:
    s = stack(env)
    swa = only(s, "azurerm_static_web_app")
    assert swa.get("sku_tier") == "Standard" and swa.get("sku_size") == "Standard"
    assert not s.resources("azurerm_static_web_app_custom_domain"), "admin.<domain> is on Front Door now"
    sites = locals_of("frontdoor")["sites"]
    assert set(sites) == {"api", "admin"}
    assert sites["admin"]["origin"] == "${var.admin_origin_hostname}"
    assert platform_call("frontdoor").get("admin_origin_hostname") == "${module.app.admin_default_hostname}"
    domain = only(s, "azurerm_cdn_frontdoor_custom_domain")
    assert domain.get("for_each") == "${local.sites}" and domain.get("host_name") == "${each.key}.${var.domain}"
    assert domain.child("tls").get("certificate_type") == "ManagedCertificate"
    assert domain.child("tls").get("minimum_version") == "TLS12"
    # The one WAF policy (rate limit included) covers every site's domain and endpoint.
    fw = only(s, "azurerm_cdn_frontdoor_security_policy").child("security_policies").child("firewall")
    assert fw.get("cdn_frontdoor_firewall_policy_id") == "${azurerm_cdn_frontdoor_firewall_policy.main.id}"
    domains = fw.child("association").children("domain")
    assert [d.get("__for_each__") for d in domains] == ["${local.sites}", "${local.sites}"]
    assert {d.get("cdn_frontdoor_domain_id") for d in domains} == {
        "${azurerm_cdn_frontdoor_custom_domain.site[domain.key].id}",
        "${azurerm_cdn_frontdoor_endpoint.site[domain.key].id}"}
    # DNS: admin. points at Front Door and carries its validation token.
    dns = platform_call("dns_email")
    assert dns.get("admin_target") == "${module.frontdoor.admin_endpoint_hostname}"
    assert dns.get("admin_validation_token") == "${module.frontdoor.admin_validation_token}"
    txt = {r.get("name") for r in s.resources("azurerm_dns_txt_record")}
    assert {"_dnsauth.api", "_dnsauth.admin"} <= txt
    # Every site has its endpoint, origin group, route (to its own domain and origins) and
    # domain association: the admin site is routed, not only declared.
    for rtype in ("azurerm_cdn_frontdoor_endpoint", "azurerm_cdn_frontdoor_origin_group",
                  "azurerm_cdn_frontdoor_route", "azurerm_cdn_frontdoor_custom_domain_association"):
        assert only(s, rtype).get("for_each") == "${local.sites}", rtype
    route = only(s, "azurerm_cdn_frontdoor_route")
    assert route.get("cdn_frontdoor_custom_domain_ids") == ["${azurerm_cdn_frontdoor_custom_domain.site[each.key].id}"]
    assert "azurerm_cdn_frontdoor_origin.admin.id" in str(route.get("cdn_frontdoor_origin_ids"))
    assert route.get("supported_protocols") == ["Https"] and route.get("patterns_to_match") == ["/*"]
    assert only(s, "azurerm_cdn_frontdoor_custom_domain_association").get("cdn_frontdoor_route_ids") == [
        "${azurerm_cdn_frontdoor_route.site[each.key].id}"]
    admin_origin = next(o for o in s.resources("azurerm_cdn_frontdoor_origin") if o.labels[1] == "admin")
    assert admin_origin.get("host_name") == "${var.admin_origin_hostname}"


# -- PostgreSQL ----------------------------------------------------------------------------


@ENVS
def test_postgres_general_purpose_2_vcores_private_entra_30_days(env: str) -> None:
    s = stack(env)
    pg = only(s, "azurerm_postgresql_flexible_server")
    sku = value(s, pg, "sku_name")
    m = re.match(r"^GP_Standard_D(\d+)", sku)
    assert m and int(m.group(1)) >= 2, f"{env}: {sku} is not General Purpose with 2+ vCores"
    assert value(s, pg, "backup_retention_days") == 30
    assert pg.get("public_network_access_enabled") is False
    assert pg.get("delegated_subnet_id") and pg.get("private_dns_zone_id")
    auth = pg.child("authentication")
    assert auth.get("active_directory_auth_enabled") is True and auth.get("password_auth_enabled") is False
    assert pg.get("administrator_password") is None
    params = locals_of("postgres")["parameters"]
    assert params["require_secure_transport"] == "on" and params["ssl_min_protocol_version"] == "TLSv1.2"


def test_production_postgres_is_zone_redundant_with_geo_backups() -> None:
    s = stack("prod")
    pg = only(s, "azurerm_postgresql_flexible_server")
    assert value(s, pg, "geo_redundant_backup_enabled") is True
    ha = pg.child("high_availability")
    assert ha is not None and ha.get("mode") == "ZoneRedundant"
    condition = ha.get("__for_each__")
    assert condition == "${var.high_availability ? [1] : []}"
    assert s.resolve("${var.high_availability}", pg) is True


# -- Redis --------------------------------------------------------------------------------


@ENVS
def test_redis_is_managed_redis_tls_only_hourly_rdb_private(env: str) -> None:
    s = stack(env)
    assert not s.resources("azurerm_redis_cache"), "Azure Cache for Redis is retiring: use azurerm_managed_redis"
    redis = only(s, "azurerm_managed_redis")
    assert redis.get("public_network_access") == "Disabled"
    db = redis.child("default_database")
    assert db.get("client_protocol") == "Encrypted"
    assert db.get("access_keys_authentication_enabled") is False
    assert value(s, redis, "default_database", "persistence_redis_database_backup_frequency") == "1h"
    pe = [p for p in s.resources("azurerm_private_endpoint")
          if p.child("private_service_connection").get("subresource_names") == ["redisEnterprise"]]
    assert len(pe) == 1


# -- Key Vault ------------------------------------------------------------------------------


@ENVS
def test_key_vault_rbac_purge_protected_private_and_audited(env: str) -> None:
    s = stack(env)
    kv = only(s, "azurerm_key_vault")
    assert kv.get("rbac_authorization_enabled") is True
    assert kv.get("purge_protection_enabled") is True
    assert kv.get("soft_delete_retention_days") >= 7
    assert kv.get("public_network_access_enabled") is False
    assert kv.child("network_acls").get("default_action") == "Deny"
    assert any(p.child("private_service_connection").get("subresource_names") == ["vault"]
               for p in s.resources("azurerm_private_endpoint"))
    audit = [d for d in s.resources("azurerm_monitor_diagnostic_setting")
             if d.get("target_resource_id") == "${azurerm_key_vault.main.id}"]
    assert len(audit) == 1
    assert "AuditEvent" in [log.get("category") for log in audit[0].children("enabled_log")]


@ENVS
def test_diagnostic_settings_for_web_app_postgres_redis_and_key_vault(env: str) -> None:
    s = stack(env)
    targets = {d.get("target_resource_id"): d for d in s.resources("azurerm_monitor_diagnostic_setting")}
    for target in ("${azurerm_linux_web_app.api.id}", "${azurerm_postgresql_flexible_server.main.id}",
                   "${azurerm_managed_redis.main.id}", "${azurerm_key_vault.main.id}"):
        assert target in targets, f"no diagnostic setting for {target}"
        assert targets[target].get("log_analytics_workspace_id") == "${var.log_analytics_workspace_id}"
    appi = only(s, "azurerm_application_insights")
    assert appi.get("workspace_id") == "${azurerm_log_analytics_workspace.main.id}"


# -- DNS, email, Front Door ---------------------------------------------------------------


@ENVS
def test_dns_has_admin_api_and_the_email_records(env: str) -> None:
    s = stack(env)
    local = locals_of("dns_email")
    assert local["spf"].startswith("v=spf1 ") and local["spf"].endswith(" -all")
    assert "include:spf.protection.outlook.com" in local["spf"]
    assert local["dmarc"].startswith("v=DMARC1;") and "rua=mailto:" in local["dmarc"]
    txt = {r.get("name"): r for r in s.resources("azurerm_dns_txt_record")}
    apex = [rec.get("value") for rec in txt["@"].children("record")]
    assert apex == ["${local.acs.domain[0].value}", "${local.spf}"]  # verification from ACS, then SPF
    assert local["acs"] == "${azurerm_email_communication_service_domain.main.verification_records[0]}"
    assert [rec.get("value") for rec in txt["_dmarc"].children("record")] == ["${local.dmarc}"]
    cnames = {r.get("name"): r.get("record") for r in s.resources("azurerm_dns_cname_record")}
    assert {"admin", "api"} <= set(cnames)
    for i in (1, 2):  # both ACS DKIM selectors
        selector = f"selector{i}-azurecomm-prod-net._domainkey"
        assert cnames[selector] == f"{selector}.azurecomm.net"


@ENVS
def test_acs_email_with_a_customer_managed_domain_linked(env: str) -> None:
    s = stack(env)
    only(s, "azurerm_communication_service")
    only(s, "azurerm_email_communication_service")
    assert only(s, "azurerm_email_communication_service_domain").get("domain_management") == "CustomerManaged"
    link = only(s, "azurerm_communication_service_email_domain_association")
    assert link.get("email_service_domain_id") == "${azurerm_email_communication_service_domain.main.id}"


# Item 9: Front Door Premium (managed rule sets) in production, Standard in dev and staging.
FRONT_DOOR_SKU = {"dev": "Standard_AzureFrontDoor", "staging": "Standard_AzureFrontDoor",
                  "prod": "Premium_AzureFrontDoor"}


@ENVS
def test_front_door_sku_per_environment_with_waf_rate_limit(env: str) -> None:
    s = stack(env)
    profile = only(s, "azurerm_cdn_frontdoor_profile")
    waf = only(s, "azurerm_cdn_frontdoor_firewall_policy")
    sku = value(s, profile, "sku_name")
    assert sku == FRONT_DOOR_SKU[env]
    assert value(s, waf, "sku_name") == sku and waf.get("mode") == "Prevention"
    (managed,) = [b for b in waf.children("managed_rule") if b.dynamic]
    assert managed.get("__for_each__").startswith("${local.premium ? {")
    assert locals_of("frontdoor")["premium"] == '${var.sku_name == "Premium_AzureFrontDoor"}'
    limits = [r for r in waf.children("custom_rule") if r.get("type") == "RateLimitRule"]
    assert len(limits) == 1 and limits[0].get("action") == "Block"
    assert 0 < value(s, limits[0], "rate_limit_threshold") <= 1000
    # The README's cost table names the same SKU for the environment.
    section = (ROOT / "README.md").read_text().split(f"### {env}\n", 1)[1].split("###", 1)[0]
    tier = "Premium" if sku.startswith("Premium") else "Standard"
    assert f"| Front Door {tier} " in section, f"{env}: the cost table does not price Front Door {tier}"


@ENVS
def test_vnet_subnets_with_nsgs_and_private_dns_zones(env: str) -> None:
    s = stack(env)
    delegations = {sub.get("name"): sub.child("delegation").child("service_delegation").get("name")
                   for sub in s.resources("azurerm_subnet") if sub.child("delegation")}
    assert delegations == {"snet-app": "Microsoft.Web/serverFarms",
                           "snet-postgres": "Microsoft.DBforPostgreSQL/flexibleServers",
                           "snet-runners": "GitHub.Network/networkSettings"}
    assert only(s, "azurerm_subnet_network_security_group_association").get("for_each") == "${local.subnets}"
    zones = set(locals_of("network")["private_zones"].values())
    assert zones == {"privatelink.postgres.database.azure.com", "privatelink.vaultcore.azure.net",
                     "privatelink.redis.azure.net", "privatelink.blob.core.windows.net"}


# -- Migrations: GitHub-hosted runners in the VNet ---------------------------------------


def runner_rules() -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in locals_of("network")["subnet_rules"] if r["subnet"] == "runners"}


@ENVS
def test_runners_subnet_reaches_only_postgres_and_the_private_endpoints_inside_the_vnet(env: str) -> None:
    s = stack(env)
    subnet = next(sub for sub in s.resources("azurerm_subnet") if sub.get("name") == "snet-runners")
    assert subnet.get("default_outbound_access_enabled") is False
    assert "runners" in locals_of("network")["subnets"]  # under the NSG for_each and its association
    nsg = only(s, "azurerm_network_security_group")
    (dynamic,) = [b for b in nsg.children("security_rule") if b.dynamic]
    assert "rule.subnet == each.key" in dynamic.get("__for_each__")
    rules = runner_rules()
    allow = rules["allow-postgres-outbound"]
    assert (allow["access"], allow["direction"], allow["protocol"], allow["port"]) == ("Allow", "Outbound", "Tcp", "5432")
    assert allow["destination"] == "${azurerm_subnet.postgres.address_prefixes[0]}"
    deny = rules["deny-vnet-outbound"]
    assert (deny["access"], deny["destination"], deny["port"]) == ("Deny", "VirtualNetwork", "*")
    assert allow["priority"] < deny["priority"]
    # Inside the VNet only PostgreSQL and HTTPS to the private endpoints (Key Vault, Blob);
    # outside it only HTTPS, then everything is denied.
    endpoints = rules["allow-endpoints-https-outbound"]
    assert (endpoints["port"], endpoints["destination"]) == ("443", "${azurerm_subnet.endpoints.address_prefixes[0]}")
    assert endpoints["priority"] < deny["priority"]
    vnet_allows = [r for r in rules.values() if r["access"] == "Allow" and r["destination"] != "Internet"]
    assert vnet_allows == [allow, endpoints]
    https, rest = rules["allow-https-outbound"], rules["deny-internet-outbound"]
    assert (https["port"], https["destination"]) == ("443", "Internet") and https["priority"] < rest["priority"]
    assert (rest["access"], rest["port"]) == ("Deny", "*")


@ENVS
def test_runners_have_github_network_settings_and_a_nat_gateway(env: str) -> None:
    s = stack(env)
    (settings,) = [b for b in parse_dir(ROOT / "modules" / "network")
                   if b.type == "resource" and b.labels == ("azapi_resource", "github_network_settings")]
    assert settings.get("type") == "GitHub.Network/networkSettings@2024-04-02"
    props = settings.get("body")["properties"]
    assert props == {"businessId": "${var.github_business_id}", "subnetId": "${azurerm_subnet.runners.id}"}
    assert "tags.GitHubId" in settings.get("response_export_values")
    assert re.fullmatch(r"[0-9]+", inputs(env)["github_business_id"])
    assert only(s, "azurerm_subnet_nat_gateway_association").get("subnet_id") == "${azurerm_subnet.runners.id}"
    assert only(s, "azurerm_public_ip").get("sku") == "Standard"
    terraform = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "terraform")
    assert terraform.child("required_providers").get("azapi")["source"] == "Azure/azapi"
    azurerm = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "provider" and b.labels == ("azurerm",))
    assert "GitHub.Network" in azurerm.get("resource_providers_to_register")
    azapi = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "provider" and b.labels == ("azapi",))
    assert azapi.get("use_oidc") is True


@ENVS
def test_the_migration_identity_logs_in_to_postgres_with_entra(env: str) -> None:
    s = stack(env)
    admins = {b.labels[1]: b for b in s.resources("azurerm_postgresql_flexible_server_active_directory_administrator")}
    assert admins["migrations"].get("principal_type") == "ServicePrincipal"
    assert value(s, admins["migrations"], "principal_name") == "${module.pipeline_identity.name}"
    inner = next(b for b in parse_dir(ROOT / "modules" / "platform")
                 if b.type == "output" and b.labels == ("augeoctl_environment",))
    assert inner.get("value")["migration_user"] == "${module.postgres.migration_principal_name}"
    assert inner.get("value")["postgres_host"] == "${module.postgres.fqdn}"


@ENVS
def test_the_release_setting_moves_with_the_code_and_terraform_leaves_it_alone(env: str) -> None:
    s = stack(env)
    assert "AUGEO_RELEASE" not in locals_of("app")["sticky"]
    assert "AUGEO_RELEASE" not in locals_of("app")["app_settings"]
    for rtype in ("azurerm_linux_web_app", "azurerm_linux_web_app_slot"):
        lifecycle = only(s, rtype).child("lifecycle")
        assert lifecycle is not None and '${app_settings["AUGEO_RELEASE"]}' in lifecycle.get("ignore_changes")
    inner = next(b for b in parse_dir(ROOT / "modules" / "platform")
                 if b.type == "output" and b.labels == ("augeoctl_environment",))
    assert inner.get("value")["webapp_name"] == "${module.app.api_name}"


# -- Monitoring, budget -------------------------------------------------------------------


@ENVS
def test_alert_rules_use_the_platform_thresholds(env: str) -> None:
    s = stack(env)
    err = only(s, "azurerm_monitor_scheduled_query_rules_alert_v2")
    crit = err.child("criteria")
    assert crit.get("threshold") == 5 and crit.get("operator") == "GreaterThan"
    assert err.get("window_duration") == "PT5M" and "success == false" in crit.get("query")
    metric = {k: (v[2], v[3], v[4]) for k, v in locals_of("alerts")["metric_alerts"].items()}
    assert metric == {"response-time": ("HttpResponseTime", "Average", 3),
                      "cpu": ("CpuPercentage", "Average", 80), "memory": ("MemoryPercentage", "Average", 80)}
    failed = next(a for a in s.resources("azurerm_monitor_activity_log_alert") if a.labels[1] == "failed_deployment")
    assert failed.child("criteria").get("statuses") == ["Failed"]
    assert failed.child("criteria").get("operation_name") == "${each.value}"
    assert set(failed.get("for_each").values()) == {"Microsoft.Web/sites/write",
                                                    "Microsoft.Web/sites/slots/slotsswap/action"}


@ENVS
def test_action_group_mails_and_posts_to_teams_without_a_literal_url(env: str) -> None:
    s = stack(env)
    group = only(s, "azurerm_monitor_action_group")
    assert group.child("email_receiver") is not None
    hook = group.child("webhook_receiver")
    assert hook.get("service_uri") == "${var.teams_webhook_url}"
    variables = {b.labels[0]: b for b in parse_dir(ROOT / "envs" / env) if b.type == "variable"}
    assert variables["teams_webhook_url"].get("sensitive") is True
    assert inputs(env)["teams_webhook_url"] == "${var.teams_webhook_url}"
    tfvars = (ROOT / "envs" / env / "terraform.tfvars").read_text()
    assert "teams_webhook_url" not in tfvars


@ENVS
def test_availability_test_on_health_with_certificate_lifetime_check(env: str) -> None:
    s = stack(env)
    test = only(s, "azurerm_application_insights_standard_web_test")
    assert test.get("for_each")["api"] == "https://api.${var.domain}/health"
    rules = test.child("validation_rules")
    # The spec's edge case: certificates alert 30 days before they expire.
    assert rules.get("ssl_check_enabled") is True and value(s, test, "validation_rules", "ssl_cert_remaining_lifetime") >= 30
    assert any(a.child("application_insights_web_test_location_availability_criteria")
               for a in s.resources("azurerm_monitor_metric_alert"))


def test_workbook_is_deployed_with_the_dashboard_kql() -> None:
    local = locals_of("alerts")
    assert "dashboards/workbook.json" in local["workbook"]
    assert local["workbook_queries"].endswith("/dashboards/queries")
    assert f'file("${{local.workbook_queries}}/{DEFINITION}")' in local["kql"]
    assert "query = local.kql[" in local["workbook_items"]
    workbook = next(b for b in parse_dir(ROOT / "modules" / "alerts")
                    if b.type == "resource" and b.labels[0] == "azurerm_application_insights_workbook")
    assert workbook.get("data_json") == "${local.workbook_json}"
    for key in ("workbook", "workbook_queries"):
        rel = re.search(r"\$\{path\.module\}/([^\")]+)", local[key]).group(1)
        assert (ROOT / "modules" / "alerts" / rel).resolve().exists()


def test_the_deployed_workbook_takes_its_queries_from_the_files(tmp_path: Path) -> None:
    """workbook.tf under `terraform console` (locals only: no provider, no init): data_json.

    The copy of workbook.json it reads has stale queries; what it deploys must be the
    repository's workbook.json, whose queries the dashboard tests hold to the files.
    """
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    source = ROOT / "modules" / "alerts" / "workbook.tf"
    assert {b.type for b in parse_file(source)} - {"__comments__"} == {"locals"}
    module = tmp_path / "terraform" / "modules" / "alerts"
    module.mkdir(parents=True)
    shutil.copy2(source, module)
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards")
    expected = json.loads((REPO / "dashboards" / "workbook.json").read_text())
    stale = json.loads(json.dumps(expected))
    for item in stale["items"]:
        if item["type"] == 3:
            item["content"]["query"] = "// stale"
    (tmp_path / "dashboards" / "workbook.json").write_text(json.dumps(stale))
    done = subprocess.run([terraform, "console"], input="local.workbook_json\n", cwd=module,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # The console prints a string as an HCL literal: JSON's escapes, with ${ and %{ doubled.
    literal = done.stdout.strip().replace("$${", "${").replace("%%{", "%{")
    assert json.loads(json.loads(literal)) == expected


@ENVS
def test_the_workbooks_failure_rate_line_is_the_error_rate_alert(env: str) -> None:
    s = stack(env)
    rule = only(s, "azurerm_monitor_scheduled_query_rules_alert_v2")
    assert value(s, rule, "criteria", "metric_measure_column") == "error_rate_percent"
    workbook = json.loads((REPO / "dashboards" / "workbook.json").read_text())
    (line,) = (i["content"]["chartSettings"]["customThresholdLine"] for i in workbook["items"]
               if i["type"] == 3 and i["content"].get("chartSettings", {}).get("yAxis") == ["error_rate"])
    assert math.isclose(float(line) * 100, value(s, rule, "criteria", "threshold"))


@ENVS
def test_budget_notifies_at_80_and_100_actual_and_100_forecast(env: str) -> None:
    s = stack(env)
    budget = only(s, "azurerm_consumption_budget_resource_group")
    seen = {(n.get("threshold"), n.get("threshold_type")) for n in budget.children("notification")}
    assert seen == {(80, "Actual"), (100, "Actual"), (100, "Forecasted")}
    assert all(n.get("enabled") is True for n in budget.children("notification"))
    assert value(s, budget, "amount") == inputs(env)["monthly_budget"]


def readme_costs() -> dict[str, tuple[int, int]]:
    text = (ROOT / "README.md").read_text()
    out = {}
    for env in ENVIRONMENTS:
        section = text.split(f"### {env}\n", 1)[1].split("###", 1)[0]
        rows = re.findall(r"^\| (?!\*\*)(.+?) \| ([\d,]+) \|$", section, re.M)
        total = int(re.search(r"\*\*total\*\* \| \*\*([\d,]+)\*\*", section).group(1).replace(",", ""))
        budget = int(re.search(r"\*\*budget\*\*.*\| \*\*([\d,]+)\*\*", section).group(1).replace(",", ""))
        assert sum(int(v.replace(",", "")) for _, v in rows) == total, f"{env}: the rows do not add up"
        out[env] = (total, budget)
    return out


def test_budgets_are_derived_from_the_cost_table() -> None:
    for env, (total, budget) in readme_costs().items():
        assert budget == math.ceil(total * 1.2 / 50) * 50, env
        assert inputs(env)["monthly_budget"] == budget, f"{env}: envs/{env}/main.tf disagrees with the README"


@ENVS
def test_outputs_give_augeoctl_its_environment(env: str) -> None:
    out = next(b for b in parse_dir(ROOT / "envs" / env) if b.type == "output" and b.labels == ("augeoctl_environment",))
    assert out.get("value") == "${module.platform.augeoctl_environment}"
    inner = next(b for b in parse_dir(ROOT / "modules" / "platform")
                 if b.type == "output" and b.labels == ("augeoctl_environment",))
    assert set(CONTRACT_KEYS) <= set(inner.get("value"))
    # Every key is one the config file knows, so `config from-terraform` accepts the output.
    assert set(inner.get("value")) <= set(config_models.AzureTable.model_fields)


# A literal assigned to a secret-sounding name. Names of things (lower-case words, dots and
# dashes: a Key Vault secret name such as SESSION_SECRET_KEY = "session-secret-key", a state
# key such as "augeo-prod.tfstate") are references, not values.
LITERAL_SECRET = re.compile(r"^\s*(\w*(password|secret|token|key)\w*)\s*=\s*\"(?![a-z0-9.-]+\")[^\"$]{8,}\"",
                            re.I | re.M)


def test_no_literal_secrets_anywhere() -> None:
    for path in sorted(Path(ROOT).rglob("*.tf*")):
        if ".terraform" in path.parts:
            continue
        hits = [m.group(1) for m in LITERAL_SECRET.finditer(path.read_text())]
        assert not hits, f"{path}: literal value for {hits}"


def test_the_dns_audit_reads_the_email_records_from_this_terraform() -> None:
    from augeoctl.dns.drift import terraform_expected

    records, _notes = terraform_expected(ROOT / "modules" / "dns_email", "augeo.example")
    found = {(r.name, r.rdtype): [str(v) for v in r.values] for r in records}
    assert "v=spf1 include:spf.protection.outlook.com -all" in found[("augeo.example", "TXT")]
    for i in (1, 2):
        name = f"selector{i}-azurecomm-prod-net._domainkey"
        assert found[(f"{name}.augeo.example", "CNAME")] == [f"{name}.azurecomm.net"]


# -- Item 2 (FR-033): Redis exports every 4 hours to Blob storage, kept 30 days ----------------


@ENVS
def test_redis_exports_storage_private_keyless_with_30_day_lifecycle(env: str) -> None:
    s = stack(env)
    call = platform_call("redis_exports")
    assert call.get("redis_id") == "${module.redis.id}"
    account = only(s, "azurerm_storage_account")
    assert account.get("shared_access_key_enabled") is False
    assert account.get("default_to_oauth_authentication") is True
    assert account.get("allow_nested_items_to_be_public") is False
    assert account.get("min_tls_version") == "TLS1_2" and account.get("https_traffic_only_enabled") is True
    rules = account.child("network_rules")
    assert rules.get("default_action") == "Deny" and not rules.get("ip_rules")
    assert rules.child("private_link_access").get("endpoint_resource_id") == "${var.redis_id}"
    assert only(s, "azurerm_storage_container").get("container_access_type") == "private"
    blob = [p for p in s.resources("azurerm_private_endpoint")
            if p.child("private_service_connection").get("subresource_names") == ["blob"]]
    assert len(blob) == 1
    policy = only(s, "azurerm_storage_management_policy")
    delete = policy.child("rule").child("actions").child("base_blob")
    days = value(s, delete, "delete_after_days_since_creation_greater_than")
    assert days == 30, f"{env}: exports kept {days} days"


@ENVS
def test_redis_export_roles_and_the_4_hour_schedule(env: str) -> None:
    s = stack(env)
    roles = locals_of("pipeline_identity")["role_assignments"]
    assert roles["exports-data"] == {"scope": "${var.exports_container_id}", "role": "Storage Blob Data Contributor"}
    assert roles["exports-delegator"] == {"scope": "${var.exports_account_id}", "role": "Storage Blob Delegator"}
    call = platform_call("pipeline_identity")
    assert call.get("exports_container_id") == "${module.redis_exports.container_id}"
    assert only(s, "azurerm_role_definition").get("for_each") == "${local.custom_roles}"
    export = custom_roles()["redis_export"]["actions"]
    assert "Microsoft.Cache/redisEnterprise/databases/export/action" in export
    readme = (ROOT / "README.md").read_text()
    verify = (ROOT.parent / ".github" / "workflows" / "verify.yml").read_text()
    cron = re.search(r"github\.event\.schedule == '([^']+)' \|\| inputs\.check == 'redis-backup'", verify)
    assert cron and cron.group(1).split()[1:] == ["*/4", "*", "*", "*"]
    assert "augeoctl backup create --kind redis --env prod" in readme and f'"{cron.group(1)}"' in readme


# -- Item 3 (FR-039, SC-009): critical alerts notify within 2 minutes ---------------------------

ISO_SECONDS = {"PT1M": 60, "PT5M": 300, "PT10M": 600, "PT15M": 900, "PT30M": 1800, "PT1H": 3600}
NOTIFICATION_SECONDS = 60  # the action group's delivery (email, Teams webhook), as budgeted
BUDGET_SECONDS = 120


def critical_alerts(s: Stack) -> dict[str, int]:
    """Address -> worst-case detection plus notification, in seconds, of each rule with
    severity 0 or 1: the evaluation interval (plus the test interval for an availability-test
    rule), plus the action group's delivery."""
    out: dict[str, int] = {}
    for rule in s.resources("azurerm_monitor_scheduled_query_rules_alert_v2"):
        if value(s, rule, "severity") <= 1:
            out[rule.address] = ISO_SECONDS[value(s, rule, "evaluation_frequency")] + NOTIFICATION_SECONDS
    tests = {t.labels[1]: t for t in s.resources("azurerm_application_insights_standard_web_test")}
    for rule in s.resources("azurerm_monitor_metric_alert"):
        severity = value(s, rule, "severity")
        assert isinstance(severity, int), f"{rule.address}: severity {severity!r} is not a literal"
        if severity > 1:
            continue
        detection = ISO_SECONDS[value(s, rule, "frequency") or "PT1M"]
        if rule.child("application_insights_web_test_location_availability_criteria") is not None:
            detection += int(value(s, tests["health"], "frequency"))
        out[rule.address] = detection + NOTIFICATION_SECONDS
    return out


@ENVS
def test_every_critical_alert_notifies_within_2_minutes(env: str) -> None:
    s = stack(env)
    critical = critical_alerts(s)
    # The error-rate rule and the origin-down rule are the critical ones.
    assert {"resource.azurerm_monitor_scheduled_query_rules_alert_v2.error_rate",
            "resource.azurerm_monitor_metric_alert.origin_down"} <= set(critical)
    late = {a: t for a, t in critical.items() if t > BUDGET_SECONDS}
    assert not late, f"{env}: detection + notification above {BUDGET_SECONDS} s: {late}"
    err = only(s, "azurerm_monitor_scheduled_query_rules_alert_v2")
    assert (err.get("evaluation_frequency"), err.get("window_duration")) == ("PT1M", "PT5M")


# -- Item 4: regional outage -------------------------------------------------------------------

REGION_PAIRS = {"westeurope": "northeurope", "northeurope": "westeurope"}


@ENVS
def test_service_health_and_resource_health_alerts(env: str) -> None:
    s = stack(env)
    alerts = {a.labels[1]: a for a in s.resources("azurerm_monitor_activity_log_alert")}
    health = alerts["service_health"]
    assert health.get("scopes") == ["/subscriptions/${var.subscription_id}"]
    crit = health.child("criteria")
    assert crit.get("category") == "ServiceHealth"
    assert {"Incident", "Maintenance"} <= set(crit.child("service_health").get("events"))
    call = platform_call("alerts")
    assert call.get("service_health_regions") == [
        "Global", "${local.region_names[var.location]}", "${local.region_names[var.secondary_location]}"]
    names = locals_of("platform")["region_names"]
    assert inputs(env)["location"] in names and inputs(env)["secondary_location"] in names
    services = s.resolve(crit.child("service_health").get("services"), crit.child("service_health"))
    resource = alerts["resource_health"]
    assert set(resource.get("for_each")) == {"postgres", "api"}
    assert resource.get("for_each")["postgres"] == "${var.postgres_server_id}"
    assert resource.get("for_each")["api"] == "${var.web_app_id}"
    rh = resource.child("criteria")
    assert rh.get("category") == "ResourceHealth" and rh.get("resource_id") == "${each.value}"
    assert {"Degraded", "Unavailable"} <= set(rh.child("resource_health").get("current"))
    assert call.get("postgres_server_id") == "${module.postgres.server_id}"
    assert {"App Service", "Azure Database for PostgreSQL flexible servers", "Azure Front Door"} <= set(services)


@ENVS
def test_secondary_location_is_the_region_pair(env: str) -> None:
    values = inputs(env)
    assert values["secondary_location"] == REGION_PAIRS[values["location"]]


def test_production_failover_stands_up_the_app_tier_in_the_pair_against_a_geo_restored_server() -> None:
    normal = Stack("prod")
    assert normal.gated_off == ["failover"]
    assert len(normal.resources("azurerm_resource_group")) == 1
    failover = Stack("prod", switches={"region_failover": True})
    assert failover.gated_off == []
    groups = failover.resources("azurerm_resource_group")
    assert len(groups) == 2
    call = platform_call("failover")
    assert call.get("count") == "${var.region_failover ? 1 : 0}"
    assert call.get("location") == "${var.secondary_location}"
    assert call.get("postgres_fqdn") == "${var.failover_postgres_fqdn}"
    assert inputs("prod")["region_failover"] is False and "failover_address_space" in inputs("prod")
    inner = {b.labels[0]: b for b in parse_dir(ROOT / "modules" / "failover") if b.type == "module"}
    assert {"network", "keyvault", "redis", "app"} <= set(inner)
    assert inner["app"].get("postgres_fqdn") == "${var.postgres_fqdn}"
    assert inner["app"].get("location") == "${var.location}"
    assert platform_call("frontdoor").get("failover_origin_hostname") == (
        "${var.region_failover ? module.failover[0].api_default_hostname : null}")
    origins = locals_of("frontdoor")["api_origins"]
    assert "priority = 2" in origins


# -- Item 5: quota --------------------------------------------------------------------------------


@ENVS
def test_autoscale_at_maximum_and_failed_scale_actions_alert(env: str) -> None:
    s = stack(env)
    at_max = next(a for a in s.resources("azurerm_monitor_metric_alert") if a.labels[1] == "autoscale_at_maximum")
    crit = at_max.child("criteria")
    assert (crit.get("metric_namespace"), crit.get("metric_name")) == ("Microsoft.Insights/autoscalesettings",
                                                                         "ObservedCapacity")
    assert crit.get("operator") == "GreaterThanOrEqual"
    assert value(s, at_max, "criteria", "threshold") == inputs(env)["app_max_instances"]
    assert platform_call("alerts").get("autoscale_max_instances") == "${var.app_max_instances}"
    assert platform_call("alerts").get("autoscale_setting_id") == "${module.app.autoscale_setting_id}"
    failed = next(a for a in s.resources("azurerm_monitor_activity_log_alert") if a.labels[1] == "autoscale_failed")
    assert failed.child("criteria").get("category") == "Autoscale"
    assert failed.child("criteria").get("statuses") == ["Failed"]
    readme = (ROOT / "README.md").read_text()
    quota = readme.split("## Quota", 1)[1].split("\n## ", 1)[0]
    assert "az quota usage list" in quota, "the manual vCPU quota check is documented"


# -- Item 6 (FR-027): operator access into the VNet ----------------------------------------------


@ENVS
def test_only_the_app_and_the_runners_reach_postgres(env: str) -> None:
    rules = [r for r in locals_of("network")["subnet_rules"] if r["subnet"] == "postgres"]
    allows = {r["source"] for r in rules if r["access"] == "Allow" and r["direction"] == "Inbound"
              and r["port"] == "5432"}
    assert allows == {"${azurerm_subnet.app.address_prefixes[0]}", "${azurerm_subnet.runners.address_prefixes[0]}"}
    deny = next(r for r in rules if r["access"] == "Deny")
    assert (deny["direction"], deny["source"], deny["port"]) == ("Inbound", "VirtualNetwork", "*")
    assert all(r["priority"] < deny["priority"] for r in rules if r["access"] == "Allow")
    others = [r for r in rules if r["access"] == "Allow" and r["port"] != "5432"]
    assert [r["source"] for r in others] == ["${azurerm_subnet.postgres.address_prefixes[0]}"]  # HA standby
    (dynamic,) = [b for b in only(stack(env), "azurerm_network_security_group").children("security_rule") if b.dynamic]
    assert dynamic.get("source_address_prefix") == "${security_rule.value.source}"


@ENVS
@pytest.mark.parametrize("rtype", ["azurerm_linux_web_app", "azurerm_linux_web_app_slot"])
def test_scm_site_admits_only_the_runners_and_allow_listed_admins(env: str, rtype: str) -> None:
    s = stack(env)
    site = only(s, rtype).child("site_config")
    assert site.get("scm_ip_restriction_default_action") == "Deny"
    (scm,) = site.children("scm_ip_restriction")
    assert scm.dynamic and scm.get("__for_each__") == "${local.scm_allowed}" and scm.get("action") == "Allow"
    allowed = locals_of("app")["scm_allowed"].replace(" ", "")
    assert allowed == '${merge({runners="${var.runners_egress_ip}/32"},var.admin_allowed_cidrs)}'
    assert platform_call("app").get("runners_egress_ip") == "${module.network.runners_egress_ip}"
    # The allow-list an environment gives holds operator networks, never the whole internet.
    for cidr in (inputs(env).get("admin_allowed_cidrs") or {}).values():
        prefix = int(str(cidr).split("/")[1]) if "/" in str(cidr) else 32
        assert prefix >= 16 and not str(cidr).startswith("0.0.0.0"), f"{env}: admin_allowed_cidrs {cidr}"
    readme = (ROOT / "README.md").read_text()
    assert "## Decision: operator access into the VNet" in readme


# -- Item 7: the pipeline identity (GitHub OIDC, no expiring secret) ------------------------------

GITHUB_ENVIRONMENTS = {"dev": ["dev"], "staging": ["staging"],
                       "prod": ["production", "production-rollback", "production-verify"]}


@ENVS
def test_the_deployment_identity_is_federated_with_github_per_environment(env: str) -> None:
    s = stack(env)
    identity = only(s, "azurerm_user_assigned_identity")
    assert identity.get("name") == "id-${var.prefix}-deploy"
    creds = only(s, "azurerm_federated_identity_credential")
    assert creds.get("for_each") == "${local.subjects}"
    local = locals_of("pipeline_identity")
    assert local["issuer"] == "https://token.actions.githubusercontent.com"
    assert local["audience"] == "api://AzureADTokenExchange" and creds.get("audience") == ["${local.audience}"]
    subjects = local["subjects"]
    # One credential per repository and GitHub environment, with GitHub's subject formats.
    assert "setproduct(var.github_repositories, var.github_environments)" in subjects
    assert '"repo:${pair[0]}:environment:${pair[1]}"' in subjects
    assert '"repo:${repo}:pull_request"' in subjects and "var.trust_pull_requests ?" in subjects
    values = inputs(env)
    assert values["github_environments"] == GITHUB_ENVIRONMENTS[env]
    # Pull requests are unreviewed code: only dev trusts them.
    assert values["github_trust_pull_requests"] is (env == "dev")
    call = platform_call("pipeline_identity")
    assert call.get("github_repositories") == "${var.github_repositories}"
    assert call.get("github_environments") == "${var.github_environments}"
    assert not any(b.type == "variable" and "client_secret" in b.labels[0]
                   for folder in s.modules() for b in parse_dir(folder))


def custom_roles() -> dict[str, dict[str, Any]]:
    """The deployment identity's custom roles (name -> scope, actions), from the module's local."""
    return locals_of("pipeline_identity")["custom_roles"]


@ENVS
def test_the_deployment_identity_has_least_privilege(env: str) -> None:
    s = stack(env)
    roles = locals_of("pipeline_identity")["role_assignments"]
    assert not {"Owner", "Contributor", "User Access Administrator"} & {r["role"] for r in roles.values()}
    assert not any("subscriptions" in str(r["scope"]) for r in roles.values())
    call = platform_call("pipeline_identity")
    assert call.get("resource_group_id") == "${azurerm_resource_group.main.id}"
    assert call.get("web_app_id") == "${module.app.api_id}"
    assert call.get("static_web_app_id") == "${module.app.admin_id}"
    roles_ = custom_roles()
    assert set(roles_) == {"redis_export", "postgres_operator", "static_site_deployer"}
    definition = only(s, "azurerm_role_definition")
    assert definition.get("for_each") == "${local.custom_roles}"
    assert definition.get("assignable_scopes") == ["${var.resource_group_id}"]
    assert definition.child("permissions").get("actions") == "${each.value.actions}"
    assert definition.child("permissions").get("data_actions") in (None, [])
    for role in roles_.values():
        # Control plane only, no wildcard over a whole provider, no role or policy writes.
        assert not any(a.endswith("/*") or "Microsoft.Authorization" in a for a in role["actions"]), role
    assignments = {a.labels[1]: a for a in s.resources("azurerm_role_assignment")}
    # Every role assignment of the deployment identity is one of these, by name: a new one
    # (a Contributor added beside the local) must be added here on purpose.
    of_deploy = {name for name, a in assignments.items()
                 if a.get("principal_id") == "${azurerm_user_assigned_identity.deploy.principal_id}"}
    assert of_deploy == {"deploy", "custom"}, of_deploy
    assert assignments["deploy"].get("role_definition_name") == "${each.value.role}"
    assert assignments["custom"].get("for_each") == "${local.custom_roles}"
    assert assignments["custom"].get("scope") == "${each.value.scope}"
    assert roles_["redis_export"]["scope"] == "${var.redis_id}"
    assert roles_["static_site_deployer"]["scope"] == "${var.static_web_app_id}"
    assert roles_["postgres_operator"]["scope"] == "${var.resource_group_id}"
    assert all(a.startswith("Microsoft.Cache/redisEnterprise/") for a in roles_["redis_export"]["actions"])
    assert all(a.startswith("Microsoft.Web/staticSites/") for a in roles_["static_site_deployer"]["actions"])
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## What is not in Terraform and why", 1)[1].split("\n## ", 1)[0]
    assert "The identity that runs Terraform" in section


def test_the_postgres_operator_role_covers_what_the_azure_backend_calls() -> None:
    """Every Flexible Server operation augeoctl's Azure backend calls (read from its source)
    maps to an action of the deployment identity's PostgreSQL role: a new call without its
    permission would fail on the first real run with 403."""
    source = (ROOT.parent / "augeoctl" / "backends" / "azure_pg.py").read_text()
    calls = set(re.findall(r"\.(servers|configurations|firewall_rules|backups_automatic_and_on_demand)\.(\w+)\(", source))
    needed = {
        ("servers", "get"): "flexibleServers/read",
        ("servers", "list_by_resource_group"): "flexibleServers/read",
        ("servers", "begin_create_or_update"): "flexibleServers/write",
        ("servers", "begin_restart"): "flexibleServers/restart/action",
        ("servers", "begin_delete"): "flexibleServers/delete",
        ("configurations", "list_by_server"): "flexibleServers/configurations/read",
        ("configurations", "begin_put"): "flexibleServers/configurations/write",
        ("firewall_rules", "list_by_server"): "flexibleServers/firewallRules/read",
        ("firewall_rules", "begin_create_or_update"): "flexibleServers/firewallRules/write",
        ("backups_automatic_and_on_demand", "list_by_server"): "flexibleServers/backups/read",
        ("backups_automatic_and_on_demand", "begin_create"): "flexibleServers/backups/write",
    }
    assert calls, "no Flexible Server call found in the Azure backend"
    unknown = calls - set(needed)
    assert not unknown, f"map these calls to their RBAC actions: {sorted(unknown)}"
    actions = custom_roles()["postgres_operator"]["actions"]
    for call in sorted(calls):
        assert f"Microsoft.DBforPostgreSQL/{needed[call]}" in actions, call
    # A VNet-integrated server is created into the delegated subnet and its private DNS zone.
    assert "Microsoft.Network/virtualNetworks/subnets/join/action" in actions
    assert "Microsoft.Network/privateDnsZones/join/action" in actions
    # Before that, the restore reads the subnet and its virtual network (region, delegation).
    network = (ROOT.parent / "augeoctl" / "backends" / "azure_network.py").read_text()
    reads = set(re.findall(r"\.(subnets|virtual_networks)\.(\w+)\(", network))
    assert reads == {("subnets", "get"), ("virtual_networks", "get")}, reads
    assert "Microsoft.Network/virtualNetworks/read" in actions
    assert "Microsoft.Network/virtualNetworks/subnets/read" in actions


# -- Item 9 (FR-042, SC-010): the cost-variance check ---------------------------------------------


@ENVS
def test_weekly_cost_variance_report_against_the_budget(env: str) -> None:
    s = stack(env)
    action = only(s, "azurerm_cost_management_scheduled_action")
    assert action.get("view_id").endswith("/providers/Microsoft.CostManagement/views/ms:AccumulatedCosts")
    assert action.get("view_id").startswith("${var.resource_group_id}")
    assert action.get("frequency") == "Weekly" and action.get("days_of_week") == ["Monday"]
    assert action.get("email_addresses") == "${var.contact_emails}"
    assert "**Cost variance (SC-010).**" in (ROOT / "README.md").read_text()
