"""Fixture zones for the email DNS audit: a correct ACS domain and one zone per defect.

Built in code (keys are generated at test time) and written as zone files for Knot.
Each ``SCENARIOS`` entry names the zone and what the audit must say about it.
"""

from __future__ import annotations

import base64
import secrets

ACS_SPF = "v=spf1 include:spf.protection.outlook.com -all"
VERIFY = "ms-domain-verification=6f1c2a9e-4b7d-4e0a-9c51-0d2f3b8a7e61"


def spki_b64(bits: int) -> str:
    """A public key of ``bits`` bits (SubjectPublicKeyInfo, base64), as DKIM's p= carries it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if bits >= 1024:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    else:
        # cryptography will not generate keys this small; a modulus of the right size is
        # enough for a public key record (nobody signs with it).
        n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        key = rsa.RSAPublicNumbers(65537, n).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def txt(value: str) -> str:
    """A TXT rdata: strings of at most 255 octets (RFC 1035 §3.3.14)."""
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


class Zone:
    def __init__(self, origin: str) -> None:
        self.origin = origin.rstrip(".")
        self.lines: list[str] = []

    def add(self, name: str, rdtype: str, rdata: str) -> Zone:
        self.lines.append(f"{name} {rdtype} {rdata}")
        return self

    def txt(self, name: str, value: str) -> Zone:
        return self.add(name, "TXT", txt(value))

    def text(self) -> str:
        head = [f"$ORIGIN {self.origin}.", "$TTL 300",
                "@ SOA ns1 hostmaster 1 3600 600 86400 300", "@ NS ns1", "ns1 A 127.0.0.1"]
        return "\n".join(head + self.lines) + "\n"


def acs_domain(origin: str, *, spf: str | None = ACS_SPF, verify: bool = True,
               dmarc: str | None = "v=DMARC1; p=reject; rua=mailto:dmarc@{o}", dkim_cnames: bool = True,
               mx: str | None = "10 mx") -> Zone:
    """A domain set up the way ACS wants it; keyword arguments take pieces away or change them."""
    z = Zone(origin)
    if verify:
        z.txt("@", VERIFY)
    if spf is not None:
        z.txt("@", spf)
    if dkim_cnames:
        for n in (1, 2):
            sel = f"selector{n}-azurecomm-prod-net"
            z.add(f"{sel}._domainkey", "CNAME", f"{sel}._domainkey.azurecomm.net.")
    if dmarc is not None:
        z.txt("_dmarc", dmarc.format(o=origin))
    if mx is not None:
        z.add("@", "MX", mx)
        if mx.split()[-1] == "mx":
            z.add("mx", "A", "127.0.0.1")
    z.add("admin", "A", "127.0.0.1").add("api", "A", "127.0.0.1")
    return z


def build(keys: dict[int, str]) -> dict[str, Zone]:
    """Every fixture zone, by origin."""
    k2048, k1024, k512 = keys[2048], keys[1024], keys[512]
    zones: dict[str, Zone] = {}

    def put(z: Zone) -> Zone:
        zones[z.origin] = z
        return z

    # Third parties the audited records point at.
    put(Zone("azurecomm.net")
        .txt("selector1-azurecomm-prod-net._domainkey", f"v=DKIM1; k=rsa; p={k2048}")
        .txt("selector2-azurecomm-prod-net._domainkey", f"v=DKIM1; k=rsa; p={k2048}"))
    put(Zone("outlook.com").txt("spf.protection", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 -all"))
    put(Zone("reports.example").txt("dmarc-ext.example._report._dmarc", "v=DMARC1"))
    put(Zone("other-reports.example").txt("@", "v=spf1 -all"))
    # Under a multi-label public suffix (co.uk): augeo.co.uk's organizational domain is
    # augeo.co.uk itself, so othercorp.co.uk is external and must authorize its reports.
    put(Zone("othercorp.co.uk").txt("@", "v=spf1 -all"))
    put(Zone("partner.co.uk").txt("augeo.co.uk._report._dmarc", "v=DMARC1"))

    good = put(acs_domain("good.example"))
    good.txt("custom._domainkey", f"v=DKIM1; k=rsa; p={k2048}")
    good.add("sub", "A", "127.0.0.1")  # sub.good.example: no _dmarc, inherits the org record
    good.add("deep.sub", "A", "127.0.0.1")  # two levels down: the tree walk passes sub.good.example

    # SPF defects
    put(acs_domain("plusall.example", spf="v=spf1 include:spf.protection.outlook.com +all"))
    put(acs_domain("qall.example", spf="v=spf1 include:spf.protection.outlook.com ?all"))
    put(acs_domain("softall.example", spf="v=spf1 include:spf.protection.outlook.com ~all"))
    put(acs_domain("noall.example", spf="v=spf1 include:spf.protection.outlook.com"))
    z = put(acs_domain("twospf.example"))
    z.txt("@", "v=spf1 ip4:192.0.2.1 -all")
    put(acs_domain("nospf.example", spf=None, dmarc=None))
    put(acs_domain("syntax.example", spf="v=spf1 include:spf.protection.outlook.com ip4:300.1.2.3 foo:bar -all"))
    z = put(acs_domain("toomany.example", spf="v=spf1 " + " ".join(
        f"include:i{i}.toomany.example" for i in range(1, 11)) + " include:spf.protection.outlook.com -all"))
    for i in range(1, 11):
        z.txt(f"i{i}", f"v=spf1 ip4:192.0.2.{i} -all")
    put(acs_domain("voids.example", spf="v=spf1 a:n1.voids.example mx:n2.voids.example exists:n3.voids.example "
                                        "include:spf.protection.outlook.com -all"))
    z = put(acs_domain("loop.example", spf="v=spf1 include:a.loop.example include:spf.protection.outlook.com -all"))
    z.txt("a", "v=spf1 include:loop.example -all")
    put(acs_domain("ptr.example", spf="v=spf1 ptr include:spf.protection.outlook.com -all"))
    put(acs_domain("noacs.example", spf="v=spf1 ip4:192.0.2.1 -all", verify=False))
    put(acs_domain("bigspf.example", spf="v=spf1 " + " ".join(f"ip4:198.51.100.{i}" for i in range(1, 33))
                   + " include:spf.protection.outlook.com -all"))
    z = put(acs_domain("redir.example", spf="v=spf1 redirect=_spf.redir.example"))
    z.txt("_spf", "v=spf1 include:spf.protection.outlook.com ~all")

    # DKIM defects (ACS CNAMEs wrong; custom selectors broken in every way)
    z = put(acs_domain("dkim.example", dkim_cnames=False))
    z.add("selector1-azurecomm-prod-net._domainkey", "CNAME", "selector1-azurecomm-prod-net._domainkey.elsewhere.example.")
    z.txt("revoked._domainkey", "v=DKIM1; k=rsa; p=")
    z.txt("small._domainkey", f"v=DKIM1; k=rsa; p={k512}")
    z.txt("k1024._domainkey", f"v=DKIM1; k=rsa; p={k1024}")
    z.txt("badk._domainkey", f"v=DKIM1; k=dsa; p={k2048}")
    z.txt("badb64._domainkey", "v=DKIM1; k=rsa; p=MIIB!!notbase64")
    z.txt("testing._domainkey", f"v=DKIM1; k=rsa; t=y; p={k2048}")

    # DMARC defects
    put(acs_domain("dmarcnone.example", dmarc="v=DMARC1; p=none"))
    z = put(acs_domain("dmarctwo.example"))
    z.txt("_dmarc", "v=DMARC1; p=none")
    put(acs_domain("dmarcsyntax.example", dmarc="v=DMARC1; p=maybe; adkim=x; rua=mailto:d@{o}"))
    put(acs_domain("dmarcsp.example", dmarc="v=DMARC1; p=reject; sp=none; rua=mailto:d@{o}"))
    put(acs_domain("augeo.co.uk", dmarc="v=DMARC1; p=reject; rua=mailto:agg@reports.augeo.co.uk,"
                                      "mailto:dmarc@othercorp.co.uk,mailto:d@partner.co.uk"))
    # psd=n on dept.psd.example makes it its own organizational domain (RFC 9989): reports
    # to the parent psd.example are then external, although the PSL would call them internal.
    put(Zone("psd.example").txt("@", "v=spf1 -all"))
    put(acs_domain("dept.psd.example", dmarc="v=DMARC1; p=reject; psd=n; rua=mailto:d@psd.example"))
    put(acs_domain("dmarc-ext.example",
                   dmarc="v=DMARC1; p=quarantine; rua=mailto:agg@reports.example; ruf=mailto:f@other-reports.example"))
    put(acs_domain("nodmarc.example", dmarc=None))

    # CNAME loops: a DKIM selector within the zone, one through another zone, and _dmarc
    z = put(acs_domain("cnameloop.example", dmarc=None))
    z.add("looped._domainkey", "CNAME", "looped2._domainkey")
    z.add("looped2._domainkey", "CNAME", "looped._domainkey")
    z.add("away._domainkey", "CNAME", "away._domainkey.cnameloop2.example.")
    z.add("_dmarc", "CNAME", "_dmarc2")
    z.add("_dmarc2", "CNAME", "_dmarc")
    put(Zone("cnameloop2.example").add("away._domainkey", "CNAME", "away._domainkey.cnameloop.example."))

    # An internationalized domain, bücher.example, served under its A-labels
    put(acs_domain("xn--bcher-kva.example"))

    # MX
    put(acs_domain("mxbad.example", mx="10 nohost"))
    put(acs_domain("nullmx.example", mx="0 ."))
    put(acs_domain("nomx.example", mx=None))
    return zones


BROKEN = "broken.example"  # configured in Knot without a zone file: answers SERVFAIL
