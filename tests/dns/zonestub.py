"""A resolver stub over the RFC 7208 test suite's ``zonedata`` (the openspf driver's rules).

Rules of the suite's own driver: ``SPF`` records are served as TXT unless the name has
an explicit ``TXT`` entry (``TXT: NONE`` means "no TXT"); ``TIMEOUT`` makes queries for
a type with no records listed before it time out; names under ``error.`` time out; a
label over 63 octets is an error.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from augeoctl.dns.resolver import NODATA, NXDOMAIN, OK, TIMEOUT, Answer


def _rdata(entries: list[Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    generated: list[tuple[str, Any]] = []
    explicit_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
    for e in entries:
        if e == "TIMEOUT":
            out.append(("TIMEOUT", None))
            continue
        ((t, v),) = e.items()
        if t == "SPF" and not explicit_txt:
            generated.append(("TXT", v))
        if v != "NONE":
            out.append((t, v))
    return out + generated


class ZoneStub:
    def __init__(self, zonedata: dict[str, list[Any]]) -> None:
        self.zone = {k.lower().rstrip("."): _rdata(v) for k, v in zonedata.items()}
        self.queries = 0

    def query(self, name: str, rdtype: str, _depth: int = 0) -> Answer:
        self.queries += 1
        if _depth > 8:
            return Answer(name, rdtype, "servfail", detail="CNAME loop")
        name = name.rstrip(".")
        if any(len(label) > 63 for label in name.split(".")):
            return Answer(name, rdtype, "error", detail="label too long")
        key = name.lower()
        if key not in self.zone:
            if key.startswith("error."):
                return Answer(name, rdtype, TIMEOUT)
            return Answer(name, rdtype, NXDOMAIN)
        records: list[str] = []
        strings: list[tuple[str, ...]] = []
        chain: list[str] = []
        seen_type = False
        for t, v in self.zone[key]:
            if t == "TIMEOUT":
                if not seen_type:
                    return Answer(name, rdtype, TIMEOUT)
                break
            if t == "CNAME" and rdtype != "CNAME":
                target = self.query(str(v), rdtype, _depth + 1)
                return Answer(name, rdtype, target.status, target.records, target.txt_strings,
                              (str(v).rstrip("."), *target.cnames))
            if t != rdtype:
                continue
            seen_type = True
            if t == "TXT":
                parts = (v,) if isinstance(v, str) else tuple(v)
                strings.append(parts)
                records.append("".join(parts))
            elif t == "MX":
                records.append(f"{v[0]} {str(v[1]).rstrip('.')}")
            elif t in ("A", "AAAA"):
                records.append(str(ipaddress.ip_address(v)))
            else:
                records.append(str(v).rstrip("."))
        return Answer(name, rdtype, OK if records else NODATA, tuple(records), tuple(strings), tuple(chain))
