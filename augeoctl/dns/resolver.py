"""DNS lookups for the audits: one seam over dnspython, with timeouts, retries and counting.

Every check asks a ``Lookup`` (anything with ``query(name, rdtype) -> Answer``). The real
one, :class:`Resolver`, asks configured nameservers (``IP`` or ``IP:PORT``, loopback in
tests) or the system's, retries timeouts, caches answers for the run, and counts the
queries it sent so an audit can report its own cost. Failures are values, not
exceptions: an ``Answer`` says ``timeout`` or ``servfail`` and the checks turn that into
an ``error`` finding.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from augeoctl.errors import UsageError

OK = "ok"
NXDOMAIN = "nxdomain"
NODATA = "nodata"
TIMEOUT = "timeout"
SERVFAIL = "servfail"
ERROR = "error"

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """The outcome of one lookup.

    ``records`` are presentation strings: addresses for A/AAAA, ``"PREF HOST"`` for MX,
    target names (no trailing dot) for CNAME/PTR, and the joined character-strings of
    each record for TXT (``txt_strings`` keeps them apart, for the size limits).
    """

    name: str
    rdtype: str
    status: str
    records: tuple[str, ...] = ()
    txt_strings: tuple[tuple[str, ...], ...] = ()
    cnames: tuple[str, ...] = ()  # the CNAME chain followed, in order
    detail: str = ""
    loop: tuple[str, ...] = ()  # a CNAME loop: the names from ``name``, ending with the repeated one

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def void(self) -> bool:
        """No error, and nothing there (RFC 7208 §4.6.4 "void lookup")."""
        return self.status in (NXDOMAIN, NODATA)

    @property
    def failed(self) -> bool:
        return self.status in (TIMEOUT, SERVFAIL, ERROR)


class Lookup(Protocol):
    def query(self, name: str, rdtype: str) -> Answer: ...


def parse_nameserver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` -> (ip, port)."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"nameserver {text!r} is not IP, IP:PORT or [IPv6]:PORT")
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"nameserver {text!r}: {host!r} is not an IP address",
                         hint="give the nameserver as IP or IP:PORT, e.g. 127.0.0.1:5353") from None
    return host, port


def _port(p: str, text: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise UsageError(f"nameserver {text!r}: port {p!r} is not a port number")
    return int(p)


@dataclass
class Resolver:
    """dnspython underneath; thread-safe; answers cached for the life of the object."""

    nameservers: list[str] = field(default_factory=list)
    timeout: float = 2.0  # per try
    retries: int = 2  # extra tries after a timeout
    workers: int = 16

    def __post_init__(self) -> None:
        import dns.resolver

        self._servers = [parse_nameserver(n) for n in self.nameservers]
        if self._servers:
            res = dns.resolver.Resolver(configure=False)
            res.nameservers = [h for h, _ in self._servers]
            res.nameserver_ports = {h: p for h, p in self._servers}
        else:
            try:
                res = dns.resolver.Resolver()
            except Exception as exc:  # no /etc/resolv.conf
                raise UsageError(f"no system resolver configured ({exc})",
                                 hint="pass --nameserver IP[:PORT]") from None
        res.timeout = self.timeout
        res.lifetime = self.timeout
        res.retry_servfail = False
        self._res = res
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Answer] = {}
        self._inflight: dict[tuple[str, str], threading.Event] = {}
        self.queries_sent = 0
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dns")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def map(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
        """Run independent work in parallel (lookups of one level of a tree)."""
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        if threading.current_thread().name.startswith("dns"):
            # A pool thread waiting on its own pool can deadlock: nested fan-out (includes
            # of includes) gets a small pool of its own.
            with ThreadPoolExecutor(max_workers=min(len(items), self.workers),
                                    thread_name_prefix="dns-nested") as nested:
                return list(nested.map(fn, items))
        return list(self._pool.map(fn, items))

    def query(self, name: str, rdtype: str) -> Answer:
        key = (name.lower().rstrip("."), rdtype.upper())
        while True:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
                event = self._inflight.get(key)
                if event is None:
                    event = self._inflight[key] = threading.Event()
                    break
            event.wait()
        try:
            answer = self._query(*key)
            with self._lock:
                self._cache[key] = answer
            return answer
        finally:
            # Waiters wake up and read the cache (or, after an exception, ask themselves).
            with self._lock:
                self._inflight.pop(key, None)
            event.set()

    def _query(self, name: str, rdtype: str) -> Answer:
        answer = self._ask(name, rdtype)
        if log.isEnabledFor(logging.DEBUG):
            servers = ", ".join(f"{h}:{p}" for h, p in self._servers) or "system resolver"
            said = ", ".join(answer.records[:4]) + (" ..." if len(answer.records) > 4 else "")
            log.debug("DNS %s %s @%s -> %s%s", name, rdtype, servers, answer.status,
                      f" [{said}]" if said else (f" ({answer.detail})" if answer.detail else ""))
        return answer

    def _ask(self, name: str, rdtype: str) -> Answer:
        import dns.exception
        import dns.name
        import dns.resolver

        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, ValueError) as exc:
            return Answer(name, rdtype, ERROR, detail=f"invalid name: {exc}")
        last = ""
        for _attempt in range(self.retries + 1):
            with self._lock:
                self.queries_sent += 1
            try:
                ans = self._res.resolve(qname, rdtype, raise_on_no_answer=False, search=False)
            except dns.resolver.NXDOMAIN:
                return Answer(name, rdtype, NXDOMAIN)
            except dns.resolver.LifetimeTimeout:
                last = "timeout"
                continue
            except dns.resolver.NoNameservers as exc:
                loop = _loop_in(qname, exc)
                if loop:
                    return looped(name, rdtype, loop)
                # "... answered SERVFAIL" / "answered REFUSED": keep the rcode only.
                rcodes = sorted(set(re.findall(r"answered ([A-Z]+)\b", str(exc))))
                return Answer(name, rdtype, SERVFAIL, detail="answered " + "/".join(rcodes) if rcodes else _first_line(exc))
            except dns.exception.DNSException as exc:
                return Answer(name, rdtype, ERROR, detail=_first_line(exc))
            return _convert(name, rdtype, ans)
        return Answer(name, rdtype, TIMEOUT,
                      detail=f"no answer in {self.timeout:g} s ({self.retries + 1} tries): {last}")


def looped(name: str, rdtype: str, loop: list[str] | tuple[str, ...]) -> Answer:
    """The answer for a name whose CNAME chain comes back to a name already in it."""
    return Answer(name, rdtype, ERROR, cnames=tuple(loop[1:]), loop=tuple(loop),
                  detail="CNAME loop: " + " -> ".join(loop))


def _loop_in(qname: Any, exc: Exception) -> list[str]:
    """The CNAME loop in a response dnspython refused as a chain too long (else empty).

    A nameserver authoritative for every name of the loop answers all its CNAMEs at once.
    """
    import dns.message
    import dns.rdatatype

    for error in getattr(exc, "kwargs", {}).get("errors") or ():
        if len(error) < 5 or not isinstance(error[3], dns.message.ChainTooLong) or error[4] is None:
            continue
        targets = {rrset.name: rrset[0].target for rrset in error[4].answer
                   if rrset.rdtype == dns.rdatatype.CNAME and len(rrset)}
        chain = [qname]
        while chain[-1] in targets:
            nxt = targets[chain[-1]]
            if nxt in chain:
                return [n.to_text(omit_final_dot=True) for n in [*chain, nxt]]
            chain.append(nxt)
    return []


def follow(lookup: Lookup, name: str, rdtype: str, hops: int = 8) -> Answer:
    """``rdtype`` at ``name``, following CNAMEs that lead out of the nameserver's zones
    (an authoritative server answers only the first hop), and noticing a loop."""
    ans = lookup.query(name, rdtype)
    while not ans.records and ans.cnames and not ans.failed and hops > 0:
        chain = [name, *ans.cnames]
        seen = [n.lower().rstrip(".") for n in chain]
        if seen[-1] in seen[:-1]:
            return looped(name, rdtype, chain)
        nxt = lookup.query(ans.cnames[-1], rdtype)
        if nxt.loop:
            return looped(name, rdtype, [*chain[:-1], *nxt.loop])
        ans = Answer(name, rdtype, nxt.status, nxt.records, nxt.txt_strings, ans.cnames + nxt.cnames, nxt.detail)
        hops -= 1
    return ans


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _convert(name: str, rdtype: str, ans: Any) -> Answer:
    import dns.name
    import dns.rdatatype

    cnames: list[str] = []
    records: list[str] = []
    strings: list[tuple[str, ...]] = []
    resp = ans.response
    for rrset in resp.answer:
        if rrset.rdtype == dns.rdatatype.CNAME and rdtype != "CNAME":
            cnames.extend(r.target.to_text(omit_final_dot=True) for r in rrset)
            continue
        if dns.rdatatype.to_text(rrset.rdtype) != rdtype:
            continue
        for r in rrset:
            if rdtype == "TXT":
                parts = tuple(s.decode("utf-8", "surrogateescape") for s in r.strings)
                strings.append(parts)
                records.append("".join(parts))
            elif rdtype in ("CNAME", "PTR", "NS"):
                records.append(r.target.to_text(omit_final_dot=True))
            elif rdtype == "MX":
                host = "." if r.exchange == dns.name.root else r.exchange.to_text(omit_final_dot=True)
                records.append(f"{r.preference} {host}")
            else:
                records.append(r.to_text())
    return Answer(name, rdtype, OK if records else NODATA, tuple(records), tuple(strings), tuple(cnames))
