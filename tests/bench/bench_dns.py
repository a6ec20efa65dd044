"""DNS audit benchmark: augeoctl against checkdmarc, same domain, same slow nameserver.

Knot serves the fixture zones on loopback; a forwarder in front of it holds every
query for ``--delay-ms`` (50 ms by default, a far-away resolver) and counts them. Both
tools start with cold caches each round. Printed: median wall time and DNS queries of

- SPF+DMARC: ``checkdmarc.spf.check_spf`` + ``checkdmarc.dmarc.check_dmarc`` against
  augeoctl's SPF and DMARC parts (the goal: at most half of checkdmarc's wall time);
- the whole augeoctl audit (SPF, DMARC, DKIM for the ACS selectors, MX, ACS) against
  the same checkdmarc SPF+DMARC run, to show what the extra checks cost;
- the same work: augeoctl's SPF+DMARC, then the names checkdmarc asks that augeoctl does
  not (the addresses of MX hosts and of the SPF ``a``/``mx`` mechanisms, CNAME checks),
  resolved with augeoctl's resolver, in parallel, as a second wave (they depend only on
  answers of the first). The forwarder logs every question, so the sets are compared,
  and shows the most queries each tool had in flight at once.

Run: ``nox -s bench -- dns`` (or ``python tests/bench/bench_dns.py --rounds 5``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from augeoctl.dns.audit import run_audit  # noqa: E402
from augeoctl.dns.resolver import Resolver  # noqa: E402
from tests.dns import zones  # noqa: E402
from tests.dns.delayproxy import DelayForwarder  # noqa: E402
from tests.dns.knot import KnotServer  # noqa: E402

DOMAIN = "bench.example"


def bench_zones() -> dict[str, zones.Zone]:
    """The fixture zones plus a domain with a realistic SPF tree (8 lookups, depth 3)."""
    keys = {2048: zones.spki_b64(2048), 1024: zones.spki_b64(1024), 512: zones.spki_b64(512)}
    all_zones = zones.build(keys)
    z = zones.acs_domain(DOMAIN, spf="v=spf1 include:spf.protection.outlook.com include:_spf.bench.example "
                                     "include:_mkt.bench.example mx a:relay.bench.example -all",
                         dmarc="v=DMARC1; p=reject; rua=mailto:agg@reports.example,mailto:d@bench.example")
    z.txt("_spf", "v=spf1 include:_spf1.bench.example include:_spf2.bench.example -all")
    z.txt("_spf1", "v=spf1 ip4:192.0.2.0/24 -all")
    z.txt("_spf2", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all")
    z.txt("_mkt", "v=spf1 ip4:203.0.113.0/24 -all")
    z.add("relay", "A", "192.0.2.25")
    all_zones[DOMAIN] = z
    all_zones["reports.example"].txt(f"{DOMAIN}._report._dmarc", "v=DMARC1")
    return all_zones


def measure(fn: Callable[[], object], fwd: DelayForwarder, rounds: int) -> tuple[float, int, object]:
    times, queries, result = [], [], None
    for _ in range(rounds):
        fwd.take()
        fwd.take_asked()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        queries.append(fwd.take())
    return statistics.median(times), int(statistics.median(queries)), result


def asked_by(fn: Callable[[], object], fwd: DelayForwarder) -> tuple[set[tuple[str, str]], int]:
    """The (name, type) questions one run of ``fn`` asks, and the most it had in flight."""
    fwd.take_asked()
    fn()
    in_flight = fwd.max_in_flight
    return set(fwd.take_asked()), in_flight


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delay-ms", type=float, default=50.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    try:
        import checkdmarc.dmarc
        import checkdmarc.spf
        import checkdmarc.utils
        import dns.nameserver
    except ImportError:
        print("checkdmarc is not installed: run `nox -s bench -- dns`", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="augeo-bench-dns-"))
    knot = KnotServer(folder, bench_zones()).start(DOMAIN)
    fwd = DelayForwarder(("127.0.0.1", knot.port), args.delay_ms / 1000)
    ns = f"127.0.0.1:{fwd.port}"
    cd_ns = [dns.nameserver.Do53Nameserver("127.0.0.1", fwd.port)]
    try:
        def checkdmarc_spf_dmarc() -> object:
            checkdmarc.utils.DNS_CACHE.clear()  # cold cache, as augeoctl's per-run cache
            spf = checkdmarc.spf.check_spf(DOMAIN, nameservers=cd_ns, timeout=5)
            dmarc = checkdmarc.dmarc.check_dmarc(DOMAIN, nameservers=cd_ns, timeout=5)
            return spf, dmarc

        def augeo(parts: tuple[str, ...]) -> Callable[[], object]:
            def run() -> object:
                res = Resolver([ns], timeout=5, retries=0)
                try:
                    return run_audit(res, DOMAIN, parts=parts)
                finally:
                    res.close()
            return run

        measure(checkdmarc_spf_dmarc, fwd, 1)  # warm imports and Knot's own caches
        measure(augeo(("spf", "dmarc")), fwd, 1)
        cd_asked, cd_flight = asked_by(checkdmarc_spf_dmarc, fwd)
        au_asked, au_flight = asked_by(augeo(("spf", "dmarc")), fwd)
        extra = sorted(cd_asked - au_asked)

        def augeo_same_work() -> object:
            from concurrent.futures import ThreadPoolExecutor

            res = Resolver([ns], timeout=5, retries=0)
            try:
                report = run_audit(res, DOMAIN, parts=("spf", "dmarc"))
                with ThreadPoolExecutor(max_workers=max(1, len(extra))) as pool:
                    list(pool.map(lambda q: res.query(*q), extra))
                return report
            finally:
                res.close()

        cd_t, cd_q, cd_r = measure(checkdmarc_spf_dmarc, fwd, args.rounds)
        sd_t, sd_q, sd_r = measure(augeo(("spf", "dmarc")), fwd, args.rounds)
        full_t, full_q, full_r = measure(augeo(("spf", "dkim", "dmarc", "mx", "acs")), fwd, args.rounds)
        same_t, same_q, _ = measure(augeo_same_work, fwd, args.rounds)
    finally:
        fwd.stop()
        knot.stop()
    spf_cd = cd_r[0]  # type: ignore[index]
    print(f"DNS audit benchmark: {DOMAIN}, Knot on loopback behind a {args.delay_ms:g} ms/query forwarder, "
          f"median of {args.rounds} cold runs")
    print(f"  checkdmarc {checkdmarc.__version__}: SPF lookups {spf_cd.get('dns_lookups')}, "
          f"valid={spf_cd.get('valid')}")
    print(f"  augeoctl SPF tree lookups: {sd_r.spf_tree['lookups'] if sd_r.spf_tree else '-'}, "  # type: ignore[attr-defined]
          f"verdict {sd_r.verdict}")  # type: ignore[attr-defined]
    rows = [
        ("checkdmarc SPF+DMARC", cd_t, cd_q),
        ("augeoctl SPF+DMARC", sd_t, sd_q),
        ("augeoctl full audit (SPF, DMARC, DKIM x2, MX, ACS)", full_t, full_q),
        ("augeoctl SPF+DMARC + checkdmarc's other names", same_t, same_q),
    ]
    print(f"  {'run':<52} {'wall s':>8} {'queries':>8}")
    for name, t, q in rows:
        print(f"  {name:<52} {t:8.3f} {q:8d}")
    print(f"  ratio augeoctl/checkdmarc SPF+DMARC wall time: {sd_t / cd_t:.2f} (goal <= 0.50)")
    print(f"  ratio augeoctl full audit/checkdmarc SPF+DMARC wall time: {full_t / cd_t:.2f}")
    print(f"  ratio augeoctl same work/checkdmarc SPF+DMARC wall time: {same_t / cd_t:.2f}")
    print(f"  questions: checkdmarc {len(cd_asked)} distinct, augeoctl {len(au_asked)}; asked by checkdmarc "
          f"only: {len(extra)} ({', '.join(f'{n} {t}' for n, t in extra)}); asked by augeoctl only: "
          f"{len(au_asked - cd_asked)}")
    print(f"  most queries in flight at once: checkdmarc {cd_flight}, augeoctl {au_flight}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
