"""RFC 7208 ``check_host()``: the SPF result for a client address and sender.

Follows RFC 7208 §4-§7 (macros, the 10-lookup and 2-void-lookup limits, include/redirect/
exp semantics) and passes the openspf RFC 7208 test suite. Parsing is in ``syntax``.
"""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from augeoctl.dns.resolver import Answer, Lookup
from augeoctl.dns.spf.syntax import (
    PermError,
    Record,
    Term,
    is_spf,
    macro_tokens,
    parse,
    valid_domain,
)

PASS, FAIL, SOFTFAIL, NEUTRAL, NONE, PERMERROR, TEMPERROR = (
    "pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")
QUALIFIERS = {"+": PASS, "-": FAIL, "~": SOFTFAIL, "?": NEUTRAL}
MAX_LOOKUPS = 10  # RFC 7208 §4.6.4
MAX_VOID = 2  # RFC 7208 §4.6.4
MAX_MX_PTR = 10  # RFC 7208 §4.6.4


class TempError(Exception):
    pass


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
    for kind, value in macro_tokens(spec, explain=explain):
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

