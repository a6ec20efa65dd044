"""The email DNS audit: SPF, DKIM, DMARC, MX, ACS, drift and TLS in one report.

Independent parts run at the same time (each fans its own lookups out through the
resolver's pool), so the wall time is close to the longest chain of dependent lookups,
not the sum of all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from augeoctl.dns import dkim, dmarc, spf
from augeoctl.dns.azure_source import AcsDomain
from augeoctl.dns.drift import ExpectedRecord, acs_expected, compare, normalize
from augeoctl.dns.findings import ACS_DOC, ERROR, FAIL, PASS, WARN, AuditReport, DriftRow, Finding
from augeoctl.dns.resolver import TIMEOUT, Answer
from augeoctl.dns.tls import Target, check_all

RFC7505 = "RFC 7505 (null MX)"
RFC5321 = "RFC 5321 §5.1"
ACS_VERIFICATION = "ms-domain-verification="
VERIFIED = "Verified"


def audit_mx(lookup: Any, domain: str) -> list[Finding]:
    ans = lookup.query(domain, "MX")
    if ans.failed:
        return [Finding("mx.lookup", ERROR, f"MX lookup of {domain} failed: {ans.status} {ans.detail}".strip(), domain, RFC5321)]
    if not ans.records:
        return [Finding("mx.present", WARN, f"{domain} has no MX: mail to it falls back to its address record; "
                        "publish a null MX (0 .) if it receives no mail", domain, RFC5321)]
    hosts = sorted({r.split(" ", 1)[1].rstrip(".") for r in ans.records})
    if hosts == [""] and len(ans.records) == 1:
        return [Finding("mx.present", PASS, f"null MX: {domain} accepts no mail", ans.records[0], RFC7505)]
    if "" in hosts:
        return [Finding("mx.present", FAIL, "a null MX must be the only MX record", " | ".join(ans.records), RFC7505)]
    out = [Finding("mx.present", PASS, f"{len(ans.records)} MX record(s)", " | ".join(ans.records), RFC5321)]
    mapper = getattr(lookup, "map", None) or (lambda fn, items: [fn(i) for i in items])

    def addresses(host: str) -> tuple[Answer, Answer]:
        return lookup.query(host, "A"), lookup.query(host, "AAAA")

    for host, (a, aaaa) in zip(hosts, mapper(addresses, hosts), strict=True):
        if a.records or aaaa.records:
            out.append(Finding("mx.resolvable", PASS, f"{host} -> {', '.join(a.records + aaaa.records)}", host, RFC5321))
        elif a.failed or aaaa.failed:
            out.append(Finding("mx.resolvable", ERROR, f"{host}: address lookup failed ({a.status}/{aaaa.status})", host, RFC5321))
        else:
            out.append(Finding("mx.resolvable", FAIL, f"MX host {host} has no A or AAAA record ({a.status})", host, RFC5321))
    return out


def audit_acs_ownership(lookup: Any, domain: str) -> list[Finding]:
    ans = lookup.query(domain, "TXT")
    if ans.failed:
        return [Finding("acs.ownership", ERROR, f"TXT lookup of {domain} failed: {ans.status}", domain, ACS_DOC)]
    found = [r for r in ans.records if r.startswith(ACS_VERIFICATION)]
    if not found:
        return [Finding("acs.ownership", FAIL, f"no {ACS_VERIFICATION}... TXT record at {domain}: ACS cannot verify ownership",
                        domain, ACS_DOC)]
    if len(found) > 1:
        return [Finding("acs.ownership", WARN, f"{len(found)} ownership TXT records; only the current one is needed",
                        " | ".join(found), ACS_DOC)]
    return [Finding("acs.ownership", PASS, "ownership TXT record present", found[0], ACS_DOC)]


def audit_acs_expected(lookup: Any, domain: str, acs: AcsDomain) -> tuple[list[Finding], list[DriftRow]]:
    """Compare live DNS with what ACS expects, and report ACS's own verification states."""
    out: list[Finding] = []
    expected = acs_expected(acs.records, domain)
    rows, _ = compare(lookup, expected)
    by_key = {(r.name, r.rdtype): r for r in rows}
    for rec in expected:
        kind = rec.source.rsplit(" ", 1)[-1]
        row = by_key[(rec.name.lower(), rec.rdtype)]
        want = normalize(rec.rdtype, str(rec.values[0]))
        label = f"{rec.name} {rec.rdtype}"
        fid = f"acs.record.{kind}"
        if row.status == "error":
            out.append(Finding(fid, ERROR, f"{label}: the nameserver did not answer", label, ACS_DOC))
        elif want in row.live:
            out.append(Finding(fid, PASS, f"{label} carries the value ACS expects for {kind}", label, ACS_DOC))
        elif kind == "dmarc" and any(dmarc.is_dmarc(v) for v in row.live):
            out.append(Finding(fid, WARN, f"{label} differs from the value ACS suggests ({want})", label, ACS_DOC))
        else:
            live = ", ".join(row.live) or "nothing"
            out.append(Finding(fid, FAIL, f"{label}: ACS expects {want!r}, the nameserver has {live}", label, ACS_DOC))
    for kind in ("domain", "spf", "dkim", "dkim2", "dmarc"):
        state = acs.states.get(kind)
        if state is None:
            continue
        label = {"domain": "Domain", "spf": "SPF", "dkim": "DKIM", "dkim2": "DKIM2", "dmarc": "DMARC"}[kind]
        if state == VERIFIED:
            out.append(Finding(f"acs.state.{kind}", PASS, f"ACS considers {label} verified", acs.name, ACS_DOC))
        elif state == "VerificationFailed":
            out.append(Finding(f"acs.state.{kind}", FAIL, f"ACS failed to verify {label}", acs.name, ACS_DOC))
        else:
            out.append(Finding(f"acs.state.{kind}", WARN, f"ACS {label} verification state: {state}", acs.name, ACS_DOC))
    return out, rows


def run_audit(
    lookup: Any,
    domain: str,
    *,
    selectors: tuple[str, ...] | list[str] = (),
    acs: AcsDomain | None = None,
    expected: list[ExpectedRecord] | None = None,
    expected_notes: list[str] | None = None,
    tls_targets: list[Target] | None = None,
    tls_ca_file: str | None = None,
    nameservers: tuple[str, ...] = (),
    parts: tuple[str, ...] = ("spf", "dkim", "dmarc", "mx", "acs"),
) -> AuditReport:
    """Audit ``domain``; every lookup goes through ``lookup``."""
    domain = domain.lower().rstrip(".")
    started = time.monotonic()
    # One probe first: when the nameservers do not answer at all, every other query would
    # time out too (tens of seconds); say so once instead.
    probe = lookup.query(domain, "SOA")
    if probe.status == TIMEOUT:
        return AuditReport(
            domain=domain, nameservers=tuple(nameservers),
            findings=(Finding("dns.unreachable", ERROR, f"no DNS answer at all: {probe.detail or 'timeout'}"
                              f" (SOA of {domain}); nothing else was asked", domain, "RFC 1035"),),
            queries=int(getattr(lookup, "queries_sent", getattr(lookup, "queries", 0))),
            elapsed_s=time.monotonic() - started, spf_tree=None, drift=(), acs_states={}, unreachable=True,
        )
    spf_tree: dict[str, Any] | None = None
    rows: list[DriftRow] = []
    jobs: dict[str, Callable[[], Any]] = {}
    if "spf" in parts:
        jobs["spf"] = lambda: spf.audit_spf(lookup, domain)
    if "dmarc" in parts:
        jobs["dmarc"] = lambda: dmarc.audit_dmarc(lookup, domain)
    if "dkim" in parts:
        jobs["dkim"] = lambda: dkim.audit_dkim(lookup, domain, tuple(selectors))
    if "mx" in parts:
        jobs["mx"] = lambda: audit_mx(lookup, domain)
    if "acs" in parts:
        jobs["acs"] = lambda: audit_acs_ownership(lookup, domain)
    if acs is not None:
        jobs["acs-expected"] = lambda: audit_acs_expected(lookup, domain, acs)
    if expected is not None:
        jobs["drift"] = lambda: compare(lookup, expected)
    if tls_targets:
        jobs["tls"] = lambda: _tls(lookup, tls_targets, tls_ca_file)
    jobs["exists"] = lambda: (probe, lookup.query(domain, "NS"))
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="audit") as pool:
        futures = {k: pool.submit(fn) for k, fn in jobs.items()}
        results = {k: f.result() for k, f in futures.items()}
    findings: list[Finding] = []
    soa, ns = results.pop("exists")
    all_answers = _answers_seen(lookup)
    unreachable = bool(all_answers) and all(a.failed for a in all_answers)
    if soa.status == "nxdomain":
        findings.append(Finding("domain.exists", FAIL, f"{domain} does not exist (NXDOMAIN)", domain, "RFC 1035"))
    elif soa.failed and ns.failed:
        findings.append(Finding("domain.exists", ERROR, f"{domain}: the nameserver did not answer ({soa.status})", domain,
                                "RFC 1035"))
    for key in ("spf", "dkim", "dmarc", "acs", "acs-expected", "mx", "tls", "drift"):
        if key not in results:
            continue
        value = results[key]
        if key == "spf":
            part, spf_tree = value
        elif key == "acs-expected":
            part, acs_rows = value
            rows.extend(acs_rows)
        elif key == "drift":
            drift_rows, part = value
            rows.extend(drift_rows)
        else:
            part = value
        findings.extend(part)
    unique: dict[tuple[str, str, str], DriftRow] = {}
    for row in rows:
        unique.setdefault((row.name, row.rdtype, row.source), row)
    rows = list(unique.values())
    for note in expected_notes or []:
        findings.append(Finding("drift.source", WARN, note, "", "terraform"))
    if soa.status == "nxdomain":
        # Everything else only repeats that the name is not there.
        findings = [f for f in findings if f.id == "domain.exists" or f.group in ("TLS",)]
    return AuditReport(
        domain=domain, findings=tuple(findings), nameservers=tuple(nameservers),
        queries=int(getattr(lookup, "queries_sent", getattr(lookup, "queries", 0))),
        elapsed_s=time.monotonic() - started, spf_tree=spf_tree, drift=tuple(rows),
        acs_states=dict(acs.states) if acs else {}, unreachable=unreachable,
    )


def _answers_seen(lookup: Any) -> list[Answer]:
    cache = getattr(lookup, "_cache", None)
    return list(cache.values()) if isinstance(cache, dict) else []


def _tls(lookup: Any, targets: list[Target], ca_file: str | None) -> list[Finding]:
    """Resolve each host through the audit's nameserver, then check its certificate."""
    resolved: list[Target] = []
    out: list[Finding] = []
    for t in targets:
        if t.address:
            resolved.append(t)
            continue
        a = lookup.query(t.host, "A")
        aaaa = a if a.records else lookup.query(t.host, "AAAA")
        addr = (a.records or aaaa.records or (None,))[0]
        if addr is None:
            status = ERROR if a.failed else WARN
            out.append(Finding("tls.resolve", status, f"{t.host} does not resolve ({a.status}); certificate not checked",
                               t.label, "RFC 1035"))
            continue
        resolved.append(Target(t.host, t.port, addr))
    return out + check_all(resolved, ca_file=ca_file)

