"""SPF record syntax (RFC 7208 §4-§7): terms, domain-specs and macro strings.

Turns the text of a ``v=spf1`` record into a ``Record`` of ``Term`` values and raises
``PermError`` on any syntax error. No DNS: evaluation lives in ``evaluate``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")


class PermError(Exception):
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


def macro_tokens(spec: str, *, explain: bool = False) -> list[tuple[str, Any]]:
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
    macro_tokens(spec)


def check_domain_spec(spec: str) -> None:
    """domain-spec = macro-string domain-end (RFC 7208 §7.1)."""
    tokens = macro_tokens(spec)
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
