"""SPF (RFC 7208): record parsing, the ``check_host()`` evaluator, and the record audit.

The evaluator follows RFC 7208 §4-§7 (macros, the 10-lookup and 2-void-lookup limits,
include/redirect/exp semantics) and passes the openspf RFC 7208 test suite. The audit
(``audit_spf``) walks the record tree without a client address and reports lookup
counts per branch, loops, risky qualifiers and what Azure Communication Services needs.
"""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from augeoctl.dns.resolver import Answer, Lookup

PASS, FAIL, SOFTFAIL, NEUTRAL, NONE, PERMERROR, TEMPERROR = (
    "pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")
QUALIFIERS = {"+": PASS, "-": FAIL, "~": SOFTFAIL, "?": NEUTRAL}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")
MAX_LOOKUPS = 10  # RFC 7208 §4.6.4
MAX_VOID = 2  # RFC 7208 §4.6.4
MAX_MX_PTR = 10  # RFC 7208 §4.6.4


class PermError(Exception):
    pass


class TempError(Exception):
    pass


@dataclass(frozen=True)
class Term:
    text: str
    kind: str  # "mechanism" or "modifier"
    name: str  # lowercase mechanism or modifier name
    qualifier: str = "+"
    arg: str | None = None  # domain-spec, network or modifier value
    cidr4: int | None = None
    cidr6: int | None = None


@dataclass(frozen=True)
class Record:
    text: str
    terms: tuple[Term, ...]

    @property
    def mechanisms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.kind == "mechanism")

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.kind == "modifier" and t.name == name), None)


def is_spf(txt: str) -> bool:
    """RFC 7208 §4.5: "v=spf1" alone or followed by a space."""
    low = txt.lower()
    return low == "v=spf1" or low.startswith("v=spf1 ")


_MOD = re.compile(r"^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$", re.S)
_MECH = re.compile(r"^([+\-~?]?)([A-Za-z][A-Za-z0-9\-_.]*)(.*)$", re.S)
_CIDR = r"(0|[1-9][0-9]{0,2})"
_DUAL = re.compile(rf"^(?::(?P<dom>.*?))?(?:/{_CIDR})?(?://(?P<c6>0|[1-9][0-9]{{0,2}}))?$", re.S)
_TOPLABEL = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_MACRO_BODY = re.compile(r"^([A-Za-z])([0-9]*)([rR]?)([.\-+,/_=]*)$")


def parse(text: str) -> Record:
    """Parse an SPF record; raise PermError on any syntax error (RFC 7208 §4.6)."""
    if not is_spf(text):
        raise PermError("not an SPF record")
    if any(ord(c) > 127 for c in text):
        raise PermError("non-ASCII characters in the record (RFC 7208 §3.1)")
    terms: list[Term] = []
    for word in text.split(" ")[1:]:
        if word:
            terms.append(parse_term(word))
    for name in ("redirect", "exp"):
        if sum(1 for t in terms if t.kind == "modifier" and t.name == name) > 1:
            raise PermError(f"{name}= appears more than once (RFC 7208 §6)")
    return Record(text, tuple(terms))


def parse_term(word: str) -> Term:
    m = _MOD.match(word)
    if m and not _is_mechanism_with_equals(word):
        name, value = m.group(1).lower(), m.group(2)
        if name in ("redirect", "exp"):
            check_domain_spec(value)
        else:
            check_macro_string(value)
        return Term(word, "modifier", name, arg=value)
    m = _MECH.match(word)
    if not m:
        raise PermError(f"term {word!r} is not a mechanism or modifier")
    qual, name, rest = m.group(1) or "+", m.group(2).lower(), m.group(3)
    if name not in MECHANISMS:
        raise PermError(f"unknown mechanism {m.group(2)!r}")
    if name == "all":
        if rest:
            raise PermError(f"'all' takes no argument: {word!r}")
        return Term(word, "mechanism", name, qual)
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) == 1:
            raise PermError(f"{name} needs a domain: {word!r}")
        check_domain_spec(rest[1:])
        return Term(word, "mechanism", name, qual, rest[1:])
    if name == "ptr":
        if rest and (not rest.startswith(":") or len(rest) == 1):
            raise PermError(f"bad ptr mechanism {word!r}")
        dom = rest[1:] if rest else None
        if dom is not None:
            check_domain_spec(dom)
        return Term(word, "mechanism", name, qual, dom)
    if name in ("a", "mx"):
        d = _DUAL.match(rest)
        if not d:
            raise PermError(f"bad {name} mechanism {word!r}")
        dom, c4, c6 = d.group("dom"), d.group(2), d.group("c6")
        if dom is not None:
            check_domain_spec(dom)
        cidr4 = int(c4) if c4 is not None else None
        cidr6 = int(c6) if c6 is not None else None
        if (cidr4 is not None and cidr4 > 32) or (cidr6 is not None and cidr6 > 128):
            raise PermError(f"CIDR length out of range in {word!r}")
        return Term(word, "mechanism", name, qual, dom, cidr4, cidr6)
    # ip4 / ip6
    if not rest.startswith(":"):
        raise PermError(f"{name} needs a network: {word!r}")
    net, _, length = rest[1:].partition("/")
    if length and not re.fullmatch(_CIDR, length):
        raise PermError(f"bad CIDR length in {word!r}")
    if name == "ip4":
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", net):
            raise PermError(f"bad IPv4 network in {word!r}")
        try:
            ipaddress.IPv4Address(net)
        except ValueError:
            raise PermError(f"bad IPv4 network in {word!r}") from None
        cidr = int(length) if length else 32
        if cidr > 32:
            raise PermError(f"CIDR length out of range in {word!r}")
        return Term(word, "mechanism", name, qual, net, cidr4=cidr)
    try:
        ipaddress.IPv6Address(net)
    except ValueError:
        raise PermError(f"bad IPv6 network in {word!r}") from None
    cidr = int(length) if length else 128
    if cidr > 128:
        raise PermError(f"CIDR length out of range in {word!r}")
    return Term(word, "mechanism", name, qual, net, cidr6=cidr)


def _is_mechanism_with_equals(word: str) -> bool:
    """A mechanism whose argument contains '=' (``exists:a=b``) is not a modifier."""
    eq = word.find("=")
    return any(c in word[:eq] for c in ":/")


def _macro_tokens(spec: str, *, explain: bool = False) -> list[tuple[str, Any]]:
    """Split a macro-string into ("lit", text) and ("macro", (letter, digits, reverse, delims))."""
    out: list[tuple[str, Any]] = []
    i = 0
    while i < len(spec):
        c = spec[i]
        if c == "%":
            nxt = spec[i + 1:i + 2]
            if nxt == "%":
                out.append(("lit", "%"))
                i += 2
            elif nxt == "_":
                out.append(("lit", " "))
                i += 2
            elif nxt == "-":
                out.append(("lit", "%20"))
                i += 2
            elif nxt == "{":
                end = spec.find("}", i)
                if end < 0:
                    raise PermError(f"unterminated macro in {spec!r}")
                m = _MACRO_BODY.match(spec[i + 2:end])
                if not m:
                    raise PermError(f"bad macro %{{{spec[i + 2:end]}}}")
                letter = m.group(1)
                allowed = "slodipvhcrt" if explain else "slodipvh"
                if letter.lower() not in allowed:
                    raise PermError(f"macro letter {letter!r} is not allowed here (RFC 7208 §7.2)")
                if m.group(2) and int(m.group(2)) == 0:
                    raise PermError("macro digit transformer must be nonzero (RFC 7208 §7.3)")
                out.append(("macro", (letter, m.group(2), bool(m.group(3)), m.group(4))))
                i = end + 1
            else:
                raise PermError(f"bad macro escape in {spec!r}")
        elif c == " " and explain:
            out.append(("lit", c))
            i += 1
        elif 0x21 <= ord(c) <= 0x7E:
            out.append(("lit", c))
            i += 1
        else:
            raise PermError(f"invalid character {c!r} in {spec!r}")
    return out


def check_macro_string(spec: str) -> None:
    _macro_tokens(spec)


def check_domain_spec(spec: str) -> None:
    """domain-spec = macro-string domain-end (RFC 7208 §7.1)."""
    tokens = _macro_tokens(spec)
    if not tokens:
        raise PermError("empty domain-spec")
    if tokens[-1][0] == "macro" or spec.endswith(("%%", "%_", "%-")):
        return
    text = spec[:-1] if spec.endswith(".") else spec
    if "." not in text:
        raise PermError(f"{spec!r} is not a domain name")
    top = text.rsplit(".", 1)[1]
    if not _TOPLABEL.match(top):
        raise PermError(f"{spec!r} does not end in a valid top label")


def valid_domain(name: str) -> bool:
    """A name we can look up: labels of 1-63 octets, 253 octets, at least two labels."""
    name = name[:-1] if name.endswith(".") else name
    labels = name.split(".")
    return 1 < len(labels) and len(name) <= 253 and all(0 < len(lab) <= 63 for lab in labels)


# -- evaluation ------------------------------------------------------------------


@dataclass
class _State:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    helo: str
    lookups: int = 0
    voids: int = 0
    trace: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    result: str
    explanation: str | None  # None: the default explanation
    lookups: int
    void_lookups: int
    reason: str = ""


def check_host(lookup: Lookup, ip: str, sender: str, helo: str = "") -> Evaluation:
    """RFC 7208 §4: the SPF result for a client ``ip`` sending as ``sender`` (or HELO)."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if not sender:
        sender = "postmaster@" + helo
    local, at, domain = sender.rpartition("@")
    if not at:
        local, domain = "postmaster", sender
    if not local:
        local = "postmaster"
    sender = f"{local}@{domain}"
    st = _State(addr, sender, helo)
    if not valid_domain(domain) or domain.startswith("["):
        return Evaluation(NONE, None, 0, 0, f"{domain!r} is not a valid domain (RFC 7208 §4.3)")
    try:
        result, exp = _check(lookup, st, domain)
        reason = ""
    except PermError as exc:
        result, exp, reason = PERMERROR, None, str(exc)
    except TempError as exc:
        result, exp, reason = TEMPERROR, None, str(exc)
    return Evaluation(result, exp, st.lookups, st.voids, reason)


def fetch_record(lookup: Lookup, domain: str) -> tuple[str | None, Answer]:
    """The one SPF record of ``domain`` (None when there is none)."""
    ans = lookup.query(domain, "TXT")
    if ans.failed:
        raise TempError(f"TXT lookup of {domain} failed: {ans.status}")
    recs = [r for r in ans.records if is_spf(r)]
    if len(recs) > 1:
        raise PermError(f"{domain} has {len(recs)} SPF records (RFC 7208 §4.5)")
    return (recs[0] if recs else None), ans


def _check(lookup: Lookup, st: _State, domain: str) -> tuple[str, str | None]:
    text, _ = fetch_record(lookup, domain)
    if text is None:
        return NONE, None
    record = parse(text)
    for term in record.mechanisms:
        if _matches(lookup, st, domain, term):
            result = QUALIFIERS[term.qualifier]
            exp = None
            if result == FAIL:
                exp = _explain(lookup, st, domain, record)
            return result, exp
    redirect = record.modifier("redirect")
    if redirect is not None and not any(t.name == "all" for t in record.mechanisms):
        _count(st)
        target = _domain(lookup, st, redirect.arg or "", domain)
        if not valid_domain(target):
            raise PermError(f"redirect target {target!r} is not a valid domain")
        result, exp = _check(lookup, st, target)
        if result == NONE:
            raise PermError(f"redirect target {target} has no SPF record (RFC 7208 §6.1)")
        return result, exp
    return NEUTRAL, None


def _count(st: _State) -> None:
    st.lookups += 1
    if st.lookups > MAX_LOOKUPS:
        raise PermError(f"more than {MAX_LOOKUPS} DNS-querying terms (RFC 7208 §4.6.4)")


def _void(st: _State, ans: Answer) -> None:
    if ans.void:
        st.voids += 1
        if st.voids > MAX_VOID:
            raise PermError(f"more than {MAX_VOID} void lookups (RFC 7208 §4.6.4)")


def _addresses(lookup: Lookup, st: _State, name: str, count_void: bool) -> list[str]:
    rdtype = "A" if st.ip.version == 4 else "AAAA"
    ans = lookup.query(name, rdtype)
    if ans.failed:
        raise TempError(f"{rdtype} lookup of {name} failed: {ans.status}")
    if count_void:
        _void(st, ans)
    return list(ans.records)


def _in_net(st: _State, addresses: list[str], cidr4: int | None, cidr6: int | None) -> bool:
    length = (cidr4 if cidr4 is not None else 32) if st.ip.version == 4 else (
        cidr6 if cidr6 is not None else 128)
    for a in addresses:
        try:
            net = ipaddress.ip_network(f"{a}/{length}", strict=False)
        except ValueError:
            continue
        if net.version == st.ip.version and st.ip in net:
            return True
    return False


def _matches(lookup: Lookup, st: _State, domain: str, term: Term) -> bool:
    name = term.name
    if name == "all":
        return True
    if name == "ip4":
        return st.ip.version == 4 and st.ip in ipaddress.ip_network(f"{term.arg}/{term.cidr4}", strict=False)
    if name == "ip6":
        return st.ip.version == 6 and st.ip in ipaddress.ip_network(f"{term.arg}/{term.cidr6}", strict=False)
    _count(st)
    target = _domain(lookup, st, term.arg, domain) if term.arg is not None else domain
    if name == "include":
        if not valid_domain(target):
            raise PermError(f"include target {target!r} is not a valid domain")
        result, _ = _check(lookup, st, target)
        if result == PASS:
            return True
        if result in (FAIL, SOFTFAIL, NEUTRAL):
            return False
        if result == TEMPERROR:
            raise TempError(f"include:{target} gave temperror")
        raise PermError(f"include:{target} gave {result} (RFC 7208 §5.2)")
    if not valid_domain(target):
        return False
    if name == "a":
        return _in_net(st, _addresses(lookup, st, target, True), term.cidr4, term.cidr6)
    if name == "mx":
        ans = lookup.query(target, "MX")
        if ans.failed:
            raise TempError(f"MX lookup of {target} failed: {ans.status}")
        _void(st, ans)
        hosts = [r.split(" ", 1)[1] for r in ans.records]
        if len(hosts) > MAX_MX_PTR:
            raise PermError(f"{target} has more than {MAX_MX_PTR} MX records (RFC 7208 §4.6.4)")
        for host in hosts:
            if host in ("", ".") or not valid_domain(host):
                continue
            if _in_net(st, _addresses(lookup, st, host, False), term.cidr4, term.cidr6):
                return True
        return False
    if name == "ptr":
        return any(_is_within(n, target) for n in _validated_names(lookup, st))
    if name == "exists":
        ans = lookup.query(target, "A")
        if ans.failed:
            raise TempError(f"A lookup of {target} failed: {ans.status}")
        _void(st, ans)
        return bool(ans.records)
    raise PermError(f"unknown mechanism {name}")  # pragma: no cover - parse() rejects it


def _is_within(name: str, domain: str) -> bool:
    n, d = name.lower().rstrip("."), domain.lower().rstrip(".")
    return n == d or n.endswith("." + d)


def _reverse_name(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return ip.reverse_pointer


def _validated_names(lookup: Lookup, st: _State) -> list[str]:
    """RFC 7208 §5.5: PTR names whose forward lookup gives the client address back."""
    ans = lookup.query(_reverse_name(st.ip), "PTR")
    if not ans.ok:
        return []  # a DNS error in the PTR lookup is a non-match
    names = []
    for name in ans.records[:MAX_MX_PTR]:
        if not valid_domain(name):
            continue
        fwd = lookup.query(name, "A" if st.ip.version == 4 else "AAAA")
        if fwd.ok and any(_same_ip(a, st.ip) for a in fwd.records):
            names.append(name)
    return names


def _same_ip(text: str, ip: Any) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


def _domain(lookup: Lookup, st: _State, spec: str, domain: str) -> str:
    name = expand(spec, lookup, st, domain)
    if name.endswith("."):
        name = name[:-1]
    # RFC 7208 §7.3: truncate from the left to 253 octets.
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


def _macro_value(letter: str, lookup: Lookup, st: _State, domain: str) -> str:
    local, _, sdomain = st.sender.rpartition("@")
    ip = st.ip
    if letter == "s":
        return st.sender
    if letter == "l":
        return local
    if letter == "o":
        return sdomain
    if letter == "d":
        return domain
    if letter == "i":
        if ip.version == 4:
            return str(ip)
        return ".".join(ip.exploded.replace(":", "").upper())
    if letter == "c":
        return str(ip)
    if letter == "v":
        return "in-addr" if ip.version == 4 else "ip6"
    if letter == "h":
        return st.helo
    if letter == "p":
        names = _validated_names(lookup, st)
        for pick in (lambda n: n.lower() == domain.lower(), lambda n: _is_within(n, domain), lambda n: True):
            chosen = [n for n in names if pick(n)]
            if chosen:
                return chosen[0]
        return "unknown"
    if letter == "r":
        return "unknown"
    if letter == "t":
        return str(int(time.time()))
    raise PermError(f"unknown macro letter {letter!r}")


def expand(spec: str, lookup: Lookup, st: _State, domain: str, *, explain: bool = False) -> str:
    """RFC 7208 §7: expand the macros of a domain-spec (or an explanation string)."""
    out = []
    for kind, value in _macro_tokens(spec, explain=explain):
        if kind == "lit":
            out.append(value)
            continue
        letter, digits, reverse, delims = value
        raw = _macro_value(letter.lower(), lookup, st, domain)
        parts = re.split("[" + re.escape(delims or ".") + "]", raw)
        if reverse:
            parts.reverse()
        if digits:
            parts = parts[-int(digits):]
        text = ".".join(parts)
        if letter.isupper():
            text = urllib.parse.quote(text, safe="")
        out.append(text)
    return "".join(out)


def _explain(lookup: Lookup, st: _State, domain: str, record: Record) -> str | None:
    """RFC 7208 §6.2: any problem with exp= means the default explanation."""
    exp = record.modifier("exp")
    if exp is None:
        return None
    try:
        target = _domain(lookup, st, exp.arg or "", domain)
        if not valid_domain(target):
            return None
        ans = lookup.query(target, "TXT")
        if not ans.ok or len(ans.records) != 1:
            return None
        text = ans.records[0]
        if any(ord(c) > 127 for c in text):
            return None
        return expand(text, lookup, st, domain, explain=True)
    except (PermError, TempError):
        return None


# -- audit -----------------------------------------------------------------------

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
    from augeoctl.dns.findings import RFC7208, Finding

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
