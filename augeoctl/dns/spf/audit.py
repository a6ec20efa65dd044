"""The SPF part of the email DNS audit: findings about a domain's record and its tree.

Walks the include/redirect tree without a client address (RFC 7208 has no result to give
here) and reports syntax, sizes, lookup counts per branch, void lookups, loops, risky
qualifiers and what Azure Communication Services needs. Evaluation is in ``evaluate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from augeoctl.dns.findings import RFC7208, Finding
from augeoctl.dns.resolver import Answer
from augeoctl.dns.spf.evaluate import MAX_LOOKUPS, MAX_VOID, TempError, fetch_record
from augeoctl.dns.spf.syntax import PermError, Record, is_spf, parse, parse_term

LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")  # RFC 7208 §4.6.4
ACS_SPF_INCLUDE = "spf.protection.outlook.com"
ACS_REF = "ACS: custom domain SPF record (v=spf1 include:spf.protection.outlook.com -all)"
SPF_SIZE_WARN = 450  # RFC 7208 §3.4: keep the answer within a 512-octet UDP response


@dataclass
class SpfNode:
    """One record of the include/redirect tree, with the lookups it costs."""

    domain: str
    via: str  # "top", "include", "redirect"
    record: str | None = None
    own_lookups: int = 0  # DNS-querying terms of this record
    void_lookups: int = 0
    children: list[SpfNode] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (id, status, message)

    @property
    def lookups(self) -> int:
        return self.own_lookups + sum(c.lookups for c in self.children)

    @property
    def voids(self) -> int:
        return self.void_lookups + sum(c.voids for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def as_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "via": self.via, "record": self.record,
                "lookups": self.lookups, "own_lookups": self.own_lookups,
                "void_lookups": self.voids,
                "children": [c.as_dict() for c in self.children]}


def _has_macro(spec: str | None) -> bool:
    return bool(spec) and "%" in (spec or "")


def build_tree(lookup: Any, domain: str, *, via: str = "top", path: tuple[str, ...] = (),
               depth: int = 0) -> SpfNode:
    """Fetch the record tree under ``domain``; independent lookups of a level in parallel."""
    node = SpfNode(domain, via)
    try:
        text, _ = fetch_record(lookup, domain)
    except TempError as exc:
        node.problems.append(("spf.lookup", "error", str(exc)))
        return node
    except PermError as exc:
        node.problems.append(("spf.multiple", "fail", str(exc)))
        return node
    if text is None:
        node.problems.append(("spf.missing", "fail", f"{domain} has no SPF record"))
        return node
    node.record = text
    try:
        record = parse(text)
    except PermError as exc:
        node.problems.append(("spf.syntax", "fail", f"{domain}: {exc}"))
        return node
    mapper = getattr(lookup, "map", None) or (lambda fn, items: [fn(i) for i in items])
    recurse: list[tuple[str, str]] = []
    void_checks: list[tuple[str, str]] = []
    for t in record.mechanisms:
        if t.name in LOOKUP_TERMS:
            node.own_lookups += 1
        if t.name == "include":
            recurse.append(("include", t.arg or ""))
        elif t.name in ("a", "mx", "exists") and not _has_macro(t.arg):
            void_checks.append((t.arg or domain, {"a": "A", "mx": "MX", "exists": "A"}[t.name]))
    redirect = record.modifier("redirect")
    if redirect is not None:
        if any(t.name == "all" for t in record.mechanisms):
            node.problems.append(("spf.redirect-ignored", "warn",
                                  f"{domain}: redirect= is never used because the record has 'all'"))
        else:
            node.own_lookups += 1
            recurse.append(("redirect", redirect.arg or ""))

    def child(item: tuple[str, str]) -> SpfNode:
        kind, target = item
        if _has_macro(target):
            n = SpfNode(target, kind)
            n.problems.append(("spf.macro", "warn",
                               f"{kind}:{target} depends on the sender; not followed"))
            return n
        t = target.rstrip(".").lower()
        if t in path or t == domain.lower():
            n = SpfNode(target, kind)
            n.problems.append(("spf.loop", "fail",
                               f"{kind}:{target} loops back to {' -> '.join((*path, domain))}"))
            return n
        if depth >= 12:
            n = SpfNode(target, kind)
            n.problems.append(("spf.lookup-limit", "fail", f"include chain deeper than {depth}"))
            return n
        return build_tree(lookup, target, via=kind, path=(*path, domain.lower()), depth=depth + 1)

    def void(item: tuple[str, str]) -> Answer:
        return lookup.query(item[0], item[1])

    work: list[Any] = [("c", r) for r in recurse] + [("v", v) for v in void_checks]
    results = mapper(lambda w: child(w[1]) if w[0] == "c" else void(w[1]), work)
    for (kind, _), res in zip(work, results, strict=True):
        if kind == "c":
            node.children.append(res)
        elif res.void:
            node.void_lookups += 1
        elif res.failed:
            node.problems.append(("spf.lookup", "error", f"{res.rdtype} lookup of {res.name}: {res.status}"))
    return node


def audit_spf(lookup: Any, domain: str) -> tuple[list[Any], dict[str, Any] | None]:
    ref = RFC7208
    out: list[Finding] = []
    apex = lookup.query(domain, "TXT")
    if apex.failed:
        return [Finding("spf.lookup", "error", f"TXT lookup of {domain} failed: {apex.status} {apex.detail}".strip(),
                        domain, ref + " §4.4")], None
    spf = [r for r in apex.records if is_spf(r)]
    if not spf:
        return [Finding("spf.record", "fail", f"{domain} publishes no v=spf1 record", domain, ref + " §4.5")], None
    if len(spf) > 1:
        return [Finding("spf.record", "fail", f"{domain} publishes {len(spf)} v=spf1 records; exactly one is allowed (permerror)",
                        " | ".join(spf), ref + " §4.5")], None
    text = spf[0]
    out.append(Finding("spf.record", "pass", "exactly one v=spf1 record", text, ref + " §4.5"))
    # Sizes (RFC 7208 §3.3, §3.4)
    idx = apex.records.index(text)
    parts = apex.txt_strings[idx] if idx < len(apex.txt_strings) else (text,)
    long_parts = [p for p in parts if len(p.encode("utf-8", "surrogateescape")) > 255]
    total = sum(len(r) for r in apex.records) + 11 * len(apex.records)
    if long_parts:
        out.append(Finding("spf.size", "fail", "a TXT character-string is longer than 255 octets", text, ref + " §3.3"))
    elif len(text) > SPF_SIZE_WARN or total > 512 - 60:
        out.append(Finding("spf.size", "warn",
                           f"SPF record is {len(text)} characters ({total} octets of TXT at the apex); "
                           "answers over 512 octets need TCP or EDNS", text, ref + " §3.4"))
    else:
        out.append(Finding("spf.size", "pass", f"{len(text)} characters in {len(parts)} string(s)", text, ref + " §3.4"))
    # Syntax: every term, each error reported.
    bad = []
    for word in text.split(" ")[1:]:
        if not word:
            continue
        try:
            parse_term(word)
        except PermError as exc:
            bad.append(f"{word!r}: {exc}")
    try:
        record = parse(text)
    except PermError as exc:
        if not bad:
            bad.append(str(exc))
        out.append(Finding("spf.syntax", "fail", "; ".join(bad), text, ref + " §4.6, §12"))
        return out, None
    out.append(Finding("spf.syntax", "pass", f"{len(record.terms)} terms, all valid", text, ref + " §12"))

    tree = build_tree(lookup, domain)
    for node in tree.walk():
        for pid, status, msg in node.problems:
            out.append(Finding(pid, status, msg, node.record or node.domain, ref))
    lookups, voids = tree.lookups, tree.voids
    branches = ", ".join(f"{c.via}:{c.domain}={c.lookups + 1}" for c in tree.children)
    detail = f"{lookups} DNS-querying terms in the record tree" + (f" ({branches})" if branches else "")
    if lookups > MAX_LOOKUPS:
        out.append(Finding("spf.lookup-limit", "fail", f"{detail}; the limit is {MAX_LOOKUPS} (permerror)", text, ref + " §4.6.4"))
    elif lookups >= MAX_LOOKUPS - 1:
        out.append(Finding("spf.lookup-limit", "warn", f"{detail}; one more include breaks the limit of {MAX_LOOKUPS}", text, ref + " §4.6.4"))
    else:
        out.append(Finding("spf.lookup-limit", "pass", f"{detail} of {MAX_LOOKUPS} allowed", text, ref + " §4.6.4"))
    if voids > MAX_VOID:
        out.append(Finding("spf.void-lookups", "fail", f"{voids} lookups return nothing; the limit is {MAX_VOID} (permerror)", text, ref + " §4.6.4"))
    else:
        out.append(Finding("spf.void-lookups", "pass" if voids == 0 else "warn",
                           f"{voids} void lookup(s) of {MAX_VOID} allowed", text, ref + " §4.6.4"))
    ptr_users = [n.domain for n in tree.walk() if n.record and any(
        t.name == "ptr" for t in _safe_parse(n.record).mechanisms)]
    if ptr_users:
        out.append(Finding("spf.ptr", "warn", f"'ptr' is used ({', '.join(ptr_users)}): slow, unreliable, SHOULD NOT be used",
                           text, ref + " §5.5"))
    # The final 'all' (through redirect= when the record has none).
    node = tree
    while node.record and not any(t.name == "all" for t in _safe_parse(node.record).mechanisms):
        nxt = next((c for c in node.children if c.via == "redirect"), None)
        if nxt is None:
            break
        node = nxt
    all_term = next((t for t in _safe_parse(node.record or "v=spf1").mechanisms if t.name == "all"), None)
    has_redirect = record.modifier("redirect") is not None
    if all_term is None:
        out.append(Finding("spf.all", "warn", "no 'all' mechanism" + (" after redirect=" if has_redirect else " and no redirect=")
                           + ": unlisted senders get neutral", text, ref + " §5.1"))
    elif all_term.qualifier in "+?":
        out.append(Finding("spf.all", "fail", f"'{all_term.qualifier}all' lets any host send as {domain}"
                           if all_term.qualifier == "+" else "'?all' says nothing about unlisted senders (neutral)",
                           node.record or text, ref + " §5.1, §8"))
    elif all_term.qualifier == "~":
        out.append(Finding("spf.all", "warn", "'~all' (softfail): unlisted senders are only marked", node.record or text, ref + " §8.5"))
    else:
        out.append(Finding("spf.all", "pass", "'-all': unlisted senders fail", node.record or text, ref + " §8.4"))
    # Azure Communication Services
    acs = any(n.domain.lower().rstrip(".") == ACS_SPF_INCLUDE and n.via == "include" and n.record for n in tree.walk())
    named = any(n.domain.lower().rstrip(".") == ACS_SPF_INCLUDE for n in tree.walk())
    if acs:
        out.append(Finding("spf.acs-include", "pass", f"include:{ACS_SPF_INCLUDE} is reachable", text, ACS_REF))
    elif named:
        out.append(Finding("spf.acs-include", "warn", f"include:{ACS_SPF_INCLUDE} is named but its record could "
                           "not be fetched", text, ACS_REF))
    else:
        out.append(Finding("spf.acs-include", "fail", f"include:{ACS_SPF_INCLUDE} is not reachable: ACS is not authorized to send",
                           text, ACS_REF))
    if all_term is not None and all_term.qualifier == "-" and node is tree:
        out.append(Finding("spf.acs-all", "pass", "ends in -all, as ACS verification requires", text, ACS_REF))
    else:
        out.append(Finding("spf.acs-all", "fail", "ACS domain verification requires the record to end in -all", text, ACS_REF))
    return out, tree.as_dict()


def _safe_parse(text: str) -> Record:
    try:
        return parse(text)
    except PermError:
        return Record(text, ())
