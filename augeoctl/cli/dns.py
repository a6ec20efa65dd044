"""``augeoctl dns audit`` and ``augeoctl tls check``: email DNS and certificate audits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from augeoctl.cli.common import common_options, emit, reporter, settings, table
from augeoctl.errors import AuditUnreachable, UsageError, VerdictFailed
from augeoctl.platform import platform_for

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERR "}


@click.group()
@common_options
def dns() -> None:
    """Email DNS of the platform's sending domain (SPF, DKIM, DMARC, MX, ACS)."""


class _AuditCommand(click.Command):
    """``dns audit -bad-.com`` names the domain that looked like an option, not just ``-b``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption:
            dashed = next((a for a in given if a.startswith("-") and not a.startswith("--") and "." in a), None)
            if dashed is None:
                raise
            from augeoctl.dns.names import host_domain

            try:
                host_domain(dashed)
            except UsageError as exc:
                raise click.UsageError(f"{exc.message}; {exc.hint}", ctx=ctx) from None
            raise


@dns.command("audit", cls=_AuditCommand)
@click.argument("domain", required=False)
@click.option("--selector", "-s", "selectors", multiple=True, metavar="S",
              help="DKIM selector to check besides the two ACS selectors (repeatable).")
@click.option("--nameserver", "-n", "nameservers", multiple=True, metavar="IP[:PORT]",
              help="Ask this nameserver instead of the system resolver (repeatable; default the "
                   "environment's dns_nameservers).")
@click.option("--expected-from", type=click.Choice(["terraform", "azure", "acs"]),
              help="Compare live DNS with the records declared in terraform/, the Azure DNS zone, "
                   "or ACS's verification records.")
@click.option("--terraform-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("terraform"),
              show_default=True, help="Folder of .tf files for --expected-from terraform.")
@click.option("--tls-host", "tls_hosts", multiple=True, metavar="HOST[:PORT]",
              help="Host whose certificate to check (repeatable; default the environment's admin_url "
                   "and api_url hosts, else admin.DOMAIN and api.DOMAIN).")
@click.option("--no-tls", is_flag=True, help="Skip the certificate checks.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="PEM trust store for the TLS checks.")
@click.option("--timeout", type=click.FloatRange(0.05, 60), default=2.0, show_default=True,
              help="Seconds per DNS try.")
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Extra tries after a DNS timeout.")
@common_options
def audit(domain: str | None, selectors: tuple[str, ...], nameservers: tuple[str, ...], expected_from: str | None,
          terraform_dir: Path, tls_hosts: tuple[str, ...], no_tls: bool, ca_file: str | None, timeout: float,
          retries: int) -> None:
    """Audit the email DNS of DOMAIN: SPF, DKIM, DMARC, MX, ACS, drift and TLS.

    DOMAIN defaults to the environment's email_domain (else its dns_zone), and the
    nameservers to its dns_nameservers.

    Exit 0 when nothing fails, 4 when a check fails, 3 when DNS (or Azure) could not
    answer: an `error` finding means something could not be checked.
    """
    from augeoctl.dns.audit import run_audit
    from augeoctl.dns.names import host_domain
    from augeoctl.dns.resolver import Resolver
    from augeoctl.dns.tls import parse_target

    s = settings()
    env = s.env
    domain = domain or env.get("email_domain") or env.get("dns_zone")
    if not domain:
        raise UsageError("which domain? give DOMAIN, or set email_domain in the environment's config",
                         hint="e.g. augeoctl dns audit augeo.example")
    if not nameservers and env.get("dns_nameservers"):
        nameservers = tuple(n.strip() for n in str(env.get("dns_nameservers")).split(",") if n.strip())
    domain, domain_unicode = host_domain(domain)  # the audit runs on the A-labels
    for sel in selectors:
        if not sel or any(c in sel for c in " /\\") or len(sel) > 63 * 3:
            raise UsageError(f"DKIM selector {sel!r} is not a DNS label sequence")
    platform = platform_for(s)
    targets = [] if no_tls else [parse_target(h) for h in (tls_hosts or _platform_hosts(env, domain))]
    rep = reporter()
    resolver = Resolver(list(nameservers), timeout=timeout, retries=retries)
    try:
        expected = None
        notes: list[str] = []
        if expected_from == "azure":  # refused before any lookup on a platform without a zone
            with rep.step(f"Azure DNS zone {env.get('dns_zone') or domain}"):
                expected = platform.dns_zone_records(domain)
        acs = platform.email_domain(domain, rep)
        if expected_from == "terraform":
            from augeoctl.dns.drift import terraform_expected

            expected, notes = terraform_expected(terraform_dir, domain)
        elif expected_from == "acs":
            if acs is None:
                raise UsageError(f"--expected-from acs needs an environment with an email_service "
                                 f"([environments.{env.name}])", hint="pass --env NAME of an Azure environment")
            from augeoctl.dns.drift import acs_expected

            expected = acs_expected(acs.records, domain, suggested=False)  # DMARC: acs.record.dmarc judges it
        with rep.step(f"auditing {domain}"):
            report = run_audit(resolver, domain, selectors=selectors, acs=acs, expected=expected,
                               expected_notes=notes, tls_targets=targets, tls_ca_file=ca_file,
                               nameservers=nameservers)
    finally:
        resolver.close()
    result = report.as_dict()
    result = {"domain": result["domain"], "domain_unicode": domain_unicode, **result}
    emit(result, render_audit)
    if report.verdict == "fail":
        raise VerdictFailed(f"{domain}: {result['counts']['fail']} check(s) failed", result=result)
    if report.unreachable:
        raise AuditUnreachable(f"{domain}: no DNS answer at all", result=result,
                               hint="check --nameserver and the network")
    if report.verdict == "error":
        raise AuditUnreachable(f"{domain}: {result['counts']['error']} check(s) could not be completed", result=result,
                               hint="the nameserver timed out or failed; run again or check --nameserver")


def _platform_hosts(env: Any, domain: str) -> list[str]:
    """The environment's admin_url/api_url hosts, else admin.DOMAIN and api.DOMAIN."""
    from urllib.parse import urlsplit

    hosts = []
    for key in ("admin_url", "api_url"):
        url = env.get(key)
        if url:
            parts = urlsplit(url if "//" in str(url) else f"https://{url}")
            if parts.hostname:
                hosts.append(f"{parts.hostname}:{parts.port or 443}")
    return hosts or [f"admin.{domain}", f"api.{domain}"]


def render_findings(findings: list[dict[str, Any]], verbose: int = 0) -> list[str]:
    from augeoctl.dns.findings import GROUPS

    lines: list[str] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(f["group"], []).append(f)
    order = {g: i for i, g in enumerate(GROUPS)}
    for group in sorted(groups, key=lambda g: order.get(g, 99)):
        lines.append(group)
        for f in groups[group]:
            lines.append(f"  {_MARK[f['status']]}  {f['id']:<28} {f['message']}")
            if verbose and f.get("record"):
                lines.append(f"        record: {f['record']}")
            if verbose and f.get("reference"):
                lines.append(f"        see: {f['reference']}")
    return lines


def render_audit(r: dict[str, Any]) -> str:
    verbose = settings().verbose
    shown = r["domain"]
    if r.get("domain_unicode", shown) != shown:
        shown = f"{r['domain_unicode']} ({shown})"
    lines = [f"Email DNS audit of {shown}: {r['verdict'].upper()}  "
             f"({r['counts']['fail']} fail, {r['counts']['warn']} warn, {r['counts']['error']} error, "
             f"{r['counts']['pass']} pass; {r['queries']} DNS queries in {r['elapsed_s']:.2f} s)", ""]
    lines += render_findings(r["findings"], verbose)
    tree = r.get("spf_tree")
    if tree and tree.get("children"):
        lines += ["", f"SPF lookups per branch (total {tree['lookups']} of 10):"]

        def walk(node: dict[str, Any], depth: int) -> None:
            for c in node["children"]:
                lines.append(f"  {'  ' * depth}{c['via']}:{c['domain']}  {c['lookups'] + 1}")
                walk(c, depth + 1)

        walk(tree, 0)
    if r.get("drift"):
        rows = [[d["name"], d["rdtype"], "\n".join(d["expected"]) or "-", "\n".join(d["live"]) or "-", d["status"]]
                for d in r["drift"]]
        flat = [[c.replace("\n", " | ") for c in row] for row in rows]
        lines += ["", "Expected vs live:", table(flat, ["NAME", "TYPE", "EXPECTED", "LIVE", "STATUS"])]
    if r.get("acs_states"):
        lines += ["", "ACS verification: " + ", ".join(f"{k}={v}" for k, v in r["acs_states"].items())]
    return "\n".join(lines)


@click.group()
@common_options
def tls() -> None:
    """TLS certificates of the platform's hosts."""


@tls.command("check")
@click.argument("hosts", nargs=-1, required=True, metavar="HOST[:PORT]...")
@click.option("--port", type=click.IntRange(1, 65535), default=443, show_default=True,
              help="Port for hosts given without one.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="PEM trust store (default: the system's).")
@click.option("--warn-days", type=click.IntRange(0, 3650), default=30, show_default=True,
              help="Warn when a certificate expires within this many days.")
@click.option("--timeout", type=click.FloatRange(0.1, 120), default=5.0, show_default=True, help="Seconds per connection.")
@common_options
def check(hosts: tuple[str, ...], port: int, ca_file: str | None, warn_days: int, timeout: float) -> None:
    """Check the certificate of each HOST: chain, hostname and days to expiry.

    Exit 0 when nothing fails, 4 when a certificate fails, 3 when a host cannot be reached.
    """
    from augeoctl.dns.findings import verdict
    from augeoctl.dns.tls import check_all, parse_target

    targets = [parse_target(h, port) for h in hosts]
    findings = check_all(targets, ca_file=ca_file, timeout=timeout, warn_days=warn_days)
    from dataclasses import asdict

    result = {"verdict": verdict(findings), "hosts": [t.label for t in targets],
              "findings": [asdict(f) for f in findings]}
    emit(result, lambda r: f"TLS check: {r['verdict'].upper()}\n" + "\n".join(render_findings(r["findings"],
                                                                                                settings().verbose)))
    if result["verdict"] == "fail":
        raise VerdictFailed(f"{sum(f.status == 'fail' for f in findings)} certificate check(s) failed", result=result)
    if result["verdict"] == "error":
        raise AuditUnreachable("some hosts could not be reached", result=result)
