"""DMARC policy records (RFC 9989, which obsoletes RFC 7489)."""

from __future__ import annotations

import functools
import re
from typing import Any

from augeoctl.dns.findings import ERROR, FAIL, PASS, RFC9989, WARN, Finding, cname_loop_finding
from augeoctl.dns.resolver import Answer, Lookup, follow

# RFC 9989 obsoletes RFC 7489; the RFC 7489 sections are cited as well, as they are widely known.
REF_DISCOVERY = RFC9989 + " (policy discovery); RFC 7489 §6.6.3"
REF_TAGS = RFC9989 + " (record format); RFC 7489 §6.3"
REF_EXTERNAL = RFC9989 + " (external report destinations); RFC 7489 §7.1"
POLICIES = ("none", "quarantine", "reject")
STRENGTH = {p: i for i, p in enumerate(POLICIES)}
KNOWN_TAGS = {"v", "p", "sp", "np", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri", "pct", "psd", "t"}
_TAG_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "p": (re.compile(r"none|quarantine|reject", re.I), "none, quarantine or reject"),
    "sp": (re.compile(r"none|quarantine|reject", re.I), "none, quarantine or reject"),
    "np": (re.compile(r"none|quarantine|reject", re.I), "none, quarantine or reject"),
    "adkim": (re.compile(r"[rs]", re.I), "r or s"),
    "aspf": (re.compile(r"[rs]", re.I), "r or s"),
    "fo": (re.compile(r"[01ds](:[01ds])*", re.I), "0, 1, d, s separated by ':'"),
    "pct": (re.compile(r"[0-9]{1,3}"), "0-100"),
    "ri": (re.compile(r"[0-9]+"), "a number of seconds"),
    "psd": (re.compile(r"[ynu]", re.I), "y, n or u"),
    "t": (re.compile(r"[yn]", re.I), "y or n"),
    "rf": (re.compile(r"afrf(:afrf)*", re.I), "afrf"),
}


def is_dmarc(txt: str) -> bool:
    return bool(re.match(r"v\s*=\s*DMARC1\s*(;|$)", txt))


def parse(text: str) -> tuple[dict[str, str], list[str]]:
    tags: dict[str, str] = {}
    errors: list[str] = []
    for spec in text.split(";"):
        if not spec.strip():
            continue
        name, eq, value = spec.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            errors.append(f"malformed tag {spec.strip()!r}")
            continue
        if name in tags:
            errors.append(f"tag {name}= appears twice")
        tags[name] = value.strip()
    if next(iter(tags), None) != "v":
        errors.append("v=DMARC1 must be the first tag")
    for name, value in tags.items():
        rule = _TAG_RULES.get(name)
        if rule and not rule[0].fullmatch(value):
            errors.append(f"{name}={value!r} is not valid ({rule[1]})")
        if name == "pct" and rule and rule[0].fullmatch(value) and int(value) > 100:
            errors.append(f"pct={value} is over 100")
    return tags, errors


PSL_RULE = "Public Suffix List"
PSD_RULE = "RFC 9989 tree walk (psd=n)"


def organizational_domain(domain: str) -> str:
    """The organizational domain of ``domain`` by the Public Suffix List: its public
    suffix plus one label (``augeo.co.uk``, not ``co.uk``). A name that is itself a public
    suffix, or under no known suffix, is its own organizational domain.

    The list is the one the ``publicsuffixlist`` package ships (its data is inside the
    wheel), read offline.
    """
    name = domain.lower().rstrip(".")
    return _psl().privatesuffix(name) or name


@functools.lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


MAX_WALK = 8  # RFC 9989 tree walk: at most 8 queries in all


def tree_walk_names(domain: str) -> list[str]:
    """Parents of ``domain`` to look for a DMARC record in, closest first (RFC 9989 tree walk).

    A name of more than eight labels jumps to its seven rightmost ones; single labels
    (top-level domains) are left out: their operators publish no policy for us.
    """
    labels = domain.lower().rstrip(".").split(".")
    names = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    if len(labels) > MAX_WALK:
        names = [n for n in names if n.count(".") + 1 <= MAX_WALK - 1]
    return names[:MAX_WALK - 1]


def _within(name: str, domain: str) -> bool:
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def fetch(lookup: Lookup, domain: str) -> tuple[str, list[str], Answer]:
    """The DMARC records at ``_dmarc.DOMAIN``: lookup status, records, and the answer itself."""
    ans = follow(lookup, f"_dmarc.{domain}", "TXT")
    if ans.failed:
        return ans.status, [], ans
    return "ok", [r for r in ans.records if is_dmarc(r)], ans


def audit_dmarc(lookup: Any, domain: str) -> list[Finding]:
    out: list[Finding] = []
    name = f"_dmarc.{domain}"
    org = organizational_domain(domain)
    status, records, ans = fetch(lookup, domain)
    if ans.loop:
        return [cname_loop_finding("DMARC", "the DMARC record", ans)]
    if status != "ok":
        return [Finding("dmarc.lookup", ERROR, f"TXT lookup of {name} failed: {status}", name, REF_DISCOVERY)]
    inherited_from = None
    if not records:
        # RFC 9989 DNS tree walk: the closest parent with a DMARC record, asked all at once.
        parents = tree_walk_names(domain)
        mapper = getattr(lookup, "map", None) or (lambda fn, items: [fn(i) for i in items])
        for parent, (pstatus, precords, pans) in zip(parents, mapper(lambda n: fetch(lookup, n), parents),
                                                     strict=True):
            if pans.loop:
                return [cname_loop_finding("DMARC", f"the DMARC record of {parent}", pans)]
            if pstatus != "ok":
                return [Finding("dmarc.lookup", ERROR, f"TXT lookup of _dmarc.{parent} failed: {pstatus}",
                                f"_dmarc.{parent}", REF_DISCOVERY)]
            if precords:
                records, inherited_from = precords, parent
                break
    inherited = inherited_from is not None
    if not records:
        walked = ", ".join(f"_dmarc.{p}" for p in tree_walk_names(domain))
        return [Finding("dmarc.record", FAIL, f"no DMARC record at {name}" + (f" nor at {walked}" if walked else ""),
                        name, REF_DISCOVERY)]
    if len(records) > 1:
        return [Finding("dmarc.record", FAIL, f"{len(records)} DMARC records; exactly one is allowed", " | ".join(records),
                        REF_DISCOVERY)]
    text = records[0]
    out.append(Finding("dmarc.record", PASS, "one DMARC record" + (f", inherited from {inherited_from}"
                                                                   if inherited else ""), text, REF_DISCOVERY))
    tags, errors = parse(text)
    unknown = sorted(set(tags) - KNOWN_TAGS)
    if errors:
        out.append(Finding("dmarc.syntax", FAIL, "; ".join(errors), text, REF_TAGS))
    elif unknown:
        out.append(Finding("dmarc.syntax", WARN, f"unknown tag(s) ignored: {', '.join(unknown)}", text, REF_TAGS))
    else:
        out.append(Finding("dmarc.syntax", PASS, "all tags valid", text, REF_TAGS))
    if "pct" in tags:
        out.append(Finding("dmarc.pct", WARN, "pct= was removed by RFC 9989 and is ignored; use t=y for testing", text,
                           RFC9989 + " (pct= removed)"))
    # Policy strength: for a subdomain audited through the org record, sp= (then p=) applies.
    p = tags.get("p", "").lower()
    if inherited and tags.get("sp", "").lower() in POLICIES:
        p = tags["sp"].lower()
    if p not in POLICIES:
        out.append(Finding("dmarc.policy", FAIL if "p" in tags else WARN,
                           "p= is missing: treated as p=none" if "p" not in tags else f"p={tags['p']!r} is not a policy",
                           text, REF_TAGS))
    elif p == "none":
        out.append(Finding("dmarc.policy", WARN, "p=none: monitoring only, failing mail is still delivered", text,
                           REF_TAGS))
    else:
        out.append(Finding("dmarc.policy", PASS, f"p={p}", text, REF_TAGS))
    if tags.get("t", "").lower() == "y":
        out.append(Finding("dmarc.testing", WARN, "t=y: receivers apply one step weaker than the policy", text,
                           REF_TAGS))
    for sub in ("sp", "np"):
        v = tags.get(sub, "").lower()
        if v in POLICIES and p in POLICIES and STRENGTH[v] < STRENGTH[p]:
            out.append(Finding(f"dmarc.{sub}", WARN, f"{sub}={v} is weaker than p={p}", text, REF_TAGS))
        elif v in POLICIES:
            out.append(Finding(f"dmarc.{sub}", PASS, f"{sub}={v}", text, REF_TAGS))
    rua = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    ruf = [u.strip() for u in tags.get("ruf", "").split(",") if u.strip()]
    if not rua:
        out.append(Finding("dmarc.rua", WARN, "no rua=: you will get no aggregate reports", text, REF_TAGS))
    bad = [u for u in rua + ruf if not re.fullmatch(r"mailto:[^@\s]+@[^@\s!]+(![0-9]+[kmgt]?)?", u, re.I)]
    if bad:
        out.append(Finding("dmarc.rua", FAIL, f"report URI(s) not mailto:local@domain: {', '.join(bad)}", text,
                           REF_TAGS))
    elif rua:
        out.append(Finding("dmarc.rua", PASS, f"aggregate reports to {', '.join(rua)}", text, REF_TAGS))
    # External report destinations must authorize us (RFC 9989 §4.4 / RFC 7489 §7.1). The
    # organizational domain: a record found by the tree walk with psd=n declares its own
    # domain the organizational domain (RFC 9989, DNS tree walk); otherwise the Public Suffix List.
    rule = PSL_RULE
    if tags.get("psd", "").lower() == "n":
        org, rule = (inherited_from or domain).lower().rstrip("."), PSD_RULE
    dests = sorted({u.split("@", 1)[1].split("!")[0].lower().rstrip(".") for u in rua + ruf if u not in bad})
    external = [d for d in dests if not _within(d, org)]
    if dests:
        inside = [d for d in dests if d not in external]
        out.append(Finding("dmarc.org-domain", PASS,
                           f"organizational domain {org} ({rule}); report destinations "
                           + (f"inside it: {', '.join(inside)}" if inside else "all outside it")
                           + (f"; outside it: {', '.join(external)}" if external and inside else ""),
                           text, RFC9989 + " (organizational domain) / RFC 7489 §7.1"))
    mapper = getattr(lookup, "map", None) or (lambda fn, items: [fn(i) for i in items])

    def authorized(dest: str) -> tuple[str, str]:
        qname = f"{domain}._report._dmarc.{dest}"
        ans = lookup.query(qname, "TXT")
        if ans.failed:
            return qname, "error"
        return qname, "yes" if any(is_dmarc(r) for r in ans.records) else "no"

    for dest, (qname, ok) in zip(external, mapper(authorized, external), strict=True):
        if ok == "yes":
            out.append(Finding("dmarc.external-report", PASS, f"{dest} accepts reports for {domain}", qname, REF_EXTERNAL))
        elif ok == "error":
            out.append(Finding("dmarc.external-report", ERROR, f"could not look up {qname}", qname, REF_EXTERNAL))
        else:
            out.append(Finding("dmarc.external-report", FAIL,
                               f"{dest} has not authorized reports for {domain}: no v=DMARC1 at {qname}", qname,
                               REF_EXTERNAL))
    return out
