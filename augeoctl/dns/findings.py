"""Findings of the email DNS audit, and the pure verdict over them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PASS, WARN, FAIL, ERROR = "pass", "warn", "fail", "error"
STATUSES = (PASS, WARN, FAIL, ERROR)
GROUPS = ("SPF", "DKIM", "DMARC", "ACS", "MX", "TLS", "DRIFT", "DOMAIN")

# References cited by findings.
RFC7208 = "RFC 7208"
RFC6376 = "RFC 6376"
RFC8301 = "RFC 8301 §3.2"
RFC7489 = "RFC 7489"
RFC9989 = "RFC 9989"
ACS_DOC = ("https://learn.microsoft.com/azure/communication-services/quickstarts/email/"
           "add-custom-verified-domains")


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``id`` like ``spf.lookup-limit``; status pass/warn/fail/error."""

    id: str
    status: str
    message: str
    record: str = ""  # the DNS record (or name) the finding concerns
    reference: str = ""  # RFC section or document
    group: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown finding status {self.status!r}")
        if not self.group:
            object.__setattr__(self, "group", self.id.split(".", 1)[0].upper())


def cname_loop_finding(group: str, what: str, answer: Any) -> Finding:
    """``dns.cname-loop``: a name whose CNAME chain comes back to itself never has a record."""
    names = " -> ".join(answer.loop)
    return Finding("dns.cname-loop", FAIL, f"{what}: CNAME loop {names}; the record can never be found",
                   answer.name, "RFC 1034 §3.6.2 (CNAME chains must not loop)", group=group)


@dataclass(frozen=True)
class DriftRow:
    """One expected record compared with what the nameserver answers."""

    name: str
    rdtype: str
    expected: tuple[str, ...]
    live: tuple[str, ...]
    status: str  # "match", "missing", "different", "unresolved", "error"
    source: str = ""  # where the expectation came from (file:line, resource id, expression)


@dataclass(frozen=True)
class AuditReport:
    domain: str
    findings: tuple[Finding, ...]
    nameservers: tuple[str, ...] = ()
    queries: int = 0
    elapsed_s: float = 0.0
    spf_tree: dict[str, Any] | None = None
    drift: tuple[DriftRow, ...] = ()
    acs_states: dict[str, str] = field(default_factory=dict)
    unreachable: bool = False  # no DNS answer at all

    @property
    def verdict(self) -> str:
        return verdict(self.findings)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        counts = {s: sum(1 for f in self.findings if f.status == s) for s in STATUSES}
        return {
            "domain": self.domain,
            "verdict": self.verdict,
            "unreachable": self.unreachable,
            "counts": counts,
            "nameservers": list(self.nameservers),
            "queries": self.queries,
            "elapsed_s": round(self.elapsed_s, 3),
            "findings": [asdict(f) for f in self.findings],
            "spf_tree": self.spf_tree,
            "drift": [asdict(r) for r in self.drift],
            "acs_states": dict(self.acs_states),
        }


def verdict(findings: Iterable[Finding]) -> str:
    """fail if any finding fails; else error if any errored; else warn; else pass."""
    statuses = {f.status for f in findings}
    for s in (FAIL, ERROR, WARN):
        if s in statuses:
            return s
    return PASS


def by_group(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.group, []).append(f)
    order = {g: i for i, g in enumerate(GROUPS)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))
