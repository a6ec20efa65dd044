"""DKIM key records (RFC 6376 §3.6.1, RFC 8301) and the ACS selector CNAMEs."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from augeoctl.dns.findings import (
    ACS_DOC,
    FAIL,
    PASS,
    RFC6376,
    RFC8301,
    WARN,
    Finding,
    cname_loop_finding,
)
from augeoctl.dns.resolver import Answer, Lookup, follow

ACS_SELECTORS = ("selector1-azurecomm-prod-net", "selector2-azurecomm-prod-net")
ACS_DKIM_ZONE = "azurecomm.net"
KEY_TYPES = ("rsa", "ed25519")  # RFC 6376 §3.6.1, RFC 8463
MIN_RSA = 1024  # RFC 8301 §3.2: MUST NOT accept smaller keys
GOOD_RSA = 2048  # RFC 8301 §3.2: SHOULD use at least 2048


def acs_target(selector: str) -> str:
    return f"{selector}._domainkey.{ACS_DKIM_ZONE}"


@dataclass(frozen=True)
class DkimKey:
    tags: dict[str, str]
    errors: tuple[str, ...]

    @property
    def revoked(self) -> bool:
        return "p" in self.tags and self.tags["p"] == ""


def parse_tags(text: str) -> DkimKey:
    """tag-list = tag-spec *( ";" tag-spec ) [ ";" ] (RFC 6376 §3.2)."""
    tags: dict[str, str] = {}
    errors: list[str] = []
    for spec in text.split(";"):
        if not spec.strip():
            continue
        name, eq, value = spec.partition("=")
        name = name.strip()
        if not eq or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            errors.append(f"malformed tag {spec.strip()!r}")
            continue
        if name in tags:
            errors.append(f"tag {name}= appears twice")
        tags[name] = re.sub(r"\s+", "", value) if name == "p" else value.strip()
    return DkimKey(tags, tuple(errors))


def key_bits(k: str, p: str) -> int:
    """The size of the public key in ``p=`` (raises ValueError when it is not one)."""
    der = base64.b64decode(p, validate=True)
    if k == "ed25519":
        if len(der) != 32:
            raise ValueError(f"an ed25519 key is 32 octets, this one is {len(der)}")
        return 256
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        load_der_public_key,
        load_pem_public_key,
    )

    try:
        key = load_der_public_key(der)
    except ValueError:
        # RFC 6376 §3.6.1 names RSAPublicKey (PKCS#1); most publishers use SubjectPublicKeyInfo.
        pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
        try:
            key = load_pem_public_key(pem)
        except ValueError:
            raise ValueError("p= is base64 but holds no public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"p= holds a {type(key).__name__}, not an RSA key")
    return key.key_size


def _txt(lookup: Lookup, name: str) -> Answer:
    """TXT at ``name``, following a CNAME out of the nameserver's zones when needed."""
    return follow(lookup, name, "TXT")


def check_selector(lookup: Lookup, domain: str, selector: str, *, acs: bool) -> list[Finding]:
    name = f"{selector}._domainkey.{domain}"
    out: list[Finding] = []
    ans = _txt(lookup, name)
    if acs:
        first = ans.cnames[0].lower().rstrip(".") if ans.cnames else None
        want = acs_target(selector)
        if ans.failed and not ans.cnames:
            pass
        elif first == want:
            out.append(Finding("dkim.acs-cname", PASS, f"selector {selector} is a CNAME to {want}", name, ACS_DOC))
        else:
            got = f"a CNAME to {first}" if first else "not a CNAME"
            out.append(Finding("dkim.acs-cname", FAIL, f"{name} is {got}; ACS needs a CNAME to {want}", name, ACS_DOC))
    if ans.loop:
        out.append(cname_loop_finding("DKIM", f"selector {selector}", ans))
        return out
    if ans.failed:
        out.append(Finding("dkim.lookup", "error", f"TXT lookup of {name} failed: {ans.status} {ans.detail}".strip(),
                           name, RFC6376 + " §3.6.2"))
        return out
    keys = [r for r in ans.records if "p=" in r or r.startswith("v=DKIM1")]
    if not keys:
        what = "does not exist" if ans.status == "nxdomain" else "has no DKIM key record"
        via = f" (via {' -> '.join(ans.cnames)})" if ans.cnames else ""
        out.append(Finding("dkim.record", FAIL, f"selector {selector}: {name}{via} {what}", name, RFC6376 + " §3.6.2.2"))
        return out
    if len(keys) > 1:
        out.append(Finding("dkim.record", FAIL, f"selector {selector} has {len(keys)} key records", name, RFC6376 + " §3.6.2.2"))
        return out
    text = keys[0]
    key = parse_tags(text)
    problems: list[tuple[str, str, str, str]] = []
    if key.errors:
        problems.append(("syntax", FAIL, "; ".join(key.errors), RFC6376 + " §3.2"))
    v = key.tags.get("v")
    if v is not None and (v != "DKIM1" or next(iter(key.tags)) != "v"):
        problems.append(("syntax", FAIL, "v= must be DKIM1 and the first tag", RFC6376 + " §3.6.1"))
    k = key.tags.get("k", "rsa").lower()
    if "p" not in key.tags:
        problems.append(("syntax", FAIL, "the required p= tag is missing", RFC6376 + " §3.6.1"))
    elif key.revoked:
        problems.append(("revoked", FAIL, "p= is empty: the key is revoked", RFC6376 + " §3.6.1"))
    elif k not in KEY_TYPES:
        problems.append(("key-type", FAIL, f"k={k} is not a known key type ({', '.join(KEY_TYPES)})", RFC6376 + " §3.6.1"))
    else:
        try:
            bits = key_bits(k, key.tags["p"])
        except (binascii.Error, ValueError) as exc:
            msg = "p= is not valid base64" if isinstance(exc, binascii.Error) else str(exc)
            problems.append(("key", FAIL, msg, RFC6376 + " §3.6.1"))
        else:
            if k == "rsa" and bits < MIN_RSA:
                problems.append(("key-size", FAIL, f"RSA key of {bits} bits: verifiers MUST reject keys under {MIN_RSA}", RFC8301))
            elif k == "rsa" and bits < GOOD_RSA:
                problems.append(("key-size", WARN, f"RSA key of {bits} bits: use {GOOD_RSA} or more", RFC8301))
            else:
                out.append(Finding("dkim.key-size", PASS, f"selector {selector}: {k} key of {bits} bits", name, RFC8301))
    flags = [f.strip() for f in key.tags.get("t", "").split(":") if f.strip()]
    if "y" in flags:
        problems.append(("testing", WARN, "t=y: the domain is testing DKIM; verifiers may ignore failures", RFC6376 + " §3.6.1"))
    for sub, status, msg, ref in problems:
        out.append(Finding(f"dkim.{sub}", status, f"selector {selector}: {msg}", name, ref))
    if not any(p[1] == FAIL for p in problems):
        out.append(Finding("dkim.record", PASS, f"selector {selector}: key record is valid", name, RFC6376 + " §3.6.1"))
    return out


def audit_dkim(lookup: Any, domain: str, selectors: list[str] | tuple[str, ...] = ()) -> list[Finding]:
    wanted = list(dict.fromkeys([*ACS_SELECTORS, *selectors]))
    mapper = getattr(lookup, "map", None) or (lambda fn, items: [fn(i) for i in items])
    results = mapper(lambda s: check_selector(lookup, domain, s, acs=s in ACS_SELECTORS), wanted)
    return [f for r in results for f in r]
