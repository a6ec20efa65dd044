"""Drift: the records that should be in DNS (Terraform, Azure DNS, ACS) against live answers.

Terraform files are read with python-hcl2, not planned: literal values, ``var.*`` defaults
(and ``*.tfvars``), ``local.*`` and ``azurerm_dns_zone.X.name`` are resolved; any other
reference (for example ``azurerm_email_communication_service_domain.*.verification_records``)
is kept as "unresolved, from <expression>" rather than guessed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augeoctl.dns.findings import ERROR, FAIL, PASS, WARN, DriftRow, Finding
from augeoctl.errors import UsageError

RDTYPES = ("TXT", "CNAME", "MX", "A", "AAAA", "NS", "CAA", "SRV", "PTR")


@dataclass(frozen=True)
class Unresolved:
    expression: str

    def __str__(self) -> str:
        return f"unresolved, from {self.expression}"


@dataclass(frozen=True)
class ExpectedRecord:
    name: str  # fully qualified, no trailing dot
    rdtype: str
    values: tuple[str | Unresolved, ...]
    source: str = ""


def fqdn(name: str, zone: str) -> str:
    name, zone = name.rstrip("."), zone.rstrip(".").lower()
    if name in ("@", "") or name.lower() == zone:
        return zone
    if name.lower().endswith("." + zone):
        return name.lower()
    return f"{name}.{zone}".lower()


def normalize(rdtype: str, value: str) -> str:
    v = value.strip()
    if rdtype in ("CNAME", "NS", "PTR"):
        return v.lower().rstrip(".")
    if rdtype == "MX":
        pref, _, host = v.partition(" ")
        return f"{int(pref)} {host.strip().lower().rstrip('.')}" if pref.isdigit() else v.lower().rstrip(".")
    if rdtype in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            return v
    if rdtype == "TXT" and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    return v


# -- comparison -------------------------------------------------------------------


def compare(lookup: Any, expected: list[ExpectedRecord]) -> tuple[list[DriftRow], list[Finding]]:
    """Query each expected (name, type) and compare value sets."""
    groups: dict[tuple[str, str], list[ExpectedRecord]] = {}
    for rec in expected:
        groups.setdefault((rec.name.lower(), rec.rdtype), []).append(rec)
    keys = list(groups)
    mapper = getattr(lookup, "map", None) or (lambda fn, items: [fn(i) for i in items])
    answers = mapper(lambda k: lookup.query(k[0], k[1]), keys)
    rows: list[DriftRow] = []
    for (name, rdtype), ans in zip(keys, answers, strict=True):
        recs = groups[(name, rdtype)]
        values = [v for r in recs for v in r.values]
        known = sorted({normalize(rdtype, v) for v in values if isinstance(v, str)})
        unresolved = [str(v) for v in values if isinstance(v, Unresolved)]
        source = "; ".join(sorted({r.source for r in recs if r.source}))
        if rdtype == "CNAME" and ans.ok is False and ans.cnames:
            live = sorted({normalize("CNAME", ans.cnames[0])})
        else:
            live = sorted({normalize(rdtype, v) for v in ans.records})
        if ans.failed:
            status = "error"
        elif not live and (known or unresolved):
            status = "missing"
        elif unresolved and set(known) <= set(live):
            status = "unresolved"
        elif set(known) == set(live):
            status = "match"
        elif set(known) <= set(live) and rdtype == "TXT":
            status = "extra"  # the apex TXT set holds other records too
        else:
            status = "different"
        rows.append(DriftRow(name, rdtype, tuple(known + unresolved), tuple(live), status, source))
    findings = []
    for row in rows:
        label = f"{row.name} {row.rdtype}"
        if row.status in ("match", "extra"):
            findings.append(Finding("drift.record", PASS, f"{label}: live matches expected"
                                    + (" (plus other values)" if row.status == "extra" else ""), label, row.source))
        elif row.status == "unresolved":
            findings.append(Finding("drift.record", WARN, f"{label}: some expected values cannot be resolved "
                                    "from the source; the resolved ones match", label, row.source))
        elif row.status == "error":
            findings.append(Finding("drift.record", ERROR, f"{label}: the nameserver did not answer", label, row.source))
        else:
            findings.append(Finding("drift.record", FAIL, f"{label}: {row.status}: expected {list(row.expected)}, "
                                    f"live {list(row.live)}", label, row.source))
    return rows, findings


# -- Terraform ----------------------------------------------------------------------

_INTERP = re.compile(r"\$\{([^{}]*)\}")
_RESOURCE_TYPES = {
    "azurerm_dns_txt_record": "TXT",
    "azurerm_dns_cname_record": "CNAME",
    "azurerm_dns_mx_record": "MX",
    "azurerm_dns_a_record": "A",
    "azurerm_dns_aaaa_record": "AAAA",
    "azurerm_dns_ns_record": "NS",
    "azurerm_dns_caa_record": "CAA",
    "azurerm_dns_srv_record": "SRV",
    "azurerm_dns_ptr_record": "PTR",
}


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


class _Scope:
    def __init__(self) -> None:
        self.variables: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.zones: dict[str, Any] = {}  # azurerm_dns_zone label -> name expression

    def value(self, raw: Any) -> str | Unresolved:
        """Evaluate a python-hcl2 value: '"literal ${expr}"', '${expr}', numbers."""
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, (int, float)):
            return str(raw)
        if not isinstance(raw, str):
            return Unresolved(repr(raw))
        text = raw.strip()
        whole = re.fullmatch(r"\$\{(.*)\}", text, re.S)
        if whole and _INTERP.fullmatch(text):
            return self.expr(whole.group(1).strip())
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        out = []
        pos = 0
        for m in _INTERP.finditer(text):
            out.append(text[pos:m.start()])
            v = self.expr(m.group(1).strip())
            if isinstance(v, Unresolved):
                return Unresolved(raw)
            out.append(v)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out).replace('\\"', '"')

    def expr(self, e: str, depth: int = 0) -> str | Unresolved:
        if depth > 8:
            return Unresolved(e)
        if re.fullmatch(r'"[^"$]*"', e):
            return e[1:-1]
        m = re.fullmatch(r"var\.([A-Za-z_][\w-]*)", e)
        if m and m.group(1) in self.variables:
            return self.value(self.variables[m.group(1)])
        m = re.fullmatch(r"local\.([A-Za-z_][\w-]*)", e)
        if m and m.group(1) in self.locals:
            return self.value(self.locals[m.group(1)])
        m = re.fullmatch(r"azurerm_dns_zone\.([A-Za-z_][\w-]*)\.name", e)
        if m and m.group(1) in self.zones:
            return self.value(self.zones[m.group(1)])
        return Unresolved(e)


def _load(path: Path) -> dict[str, Any]:
    import hcl2

    try:
        with path.open(encoding="utf-8") as fh:
            return hcl2.load(fh)
    except Exception as exc:  # python-hcl2 raises lark errors of many kinds
        raise UsageError(f"{path}: not valid HCL: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def terraform_expected(folder: Path, zone: str) -> tuple[list[ExpectedRecord], list[str]]:
    """Records declared for ``zone`` under ``folder`` (``*.tf``, recursively); plus notes."""
    try:
        import hcl2  # noqa: F401
    except ImportError:
        raise UsageError("python-hcl2 is not installed", hint="pip install python-hcl2") from None
    if not folder.is_dir():
        raise UsageError(f"Terraform folder {folder} does not exist",
                         hint="run from the repository root or pass --terraform-dir")
    files = sorted(p for p in folder.rglob("*.tf") if ".terraform" not in p.parts)
    if not files:
        raise UsageError(f"no .tf files under {folder}")
    scope = _Scope()
    docs = [(p, _load(p)) for p in files]
    for _path, doc in docs:
        for block in doc.get("variable", []):
            for name, body in block.items():
                if isinstance(body, dict) and "default" in body:
                    scope.variables.setdefault(_unquote(name), body["default"])
        for block in doc.get("locals", []):
            for k, v in block.items():
                if k != "__is_block__":
                    scope.locals.setdefault(k, v)
        for block in doc.get("resource", []):
            for rtype, inst in block.items():
                if _unquote(rtype) == "azurerm_dns_zone":
                    for label, body in inst.items():
                        scope.zones[_unquote(label)] = body.get("name")
    for tfvars in sorted(folder.rglob("*.tfvars")) + sorted(folder.rglob("*.auto.tfvars")):
        for k, v in _load(tfvars).items():
            scope.variables[k] = v
    zone = zone.lower().rstrip(".")
    out: list[ExpectedRecord] = []
    notes: list[str] = []
    for p, doc in docs:
        rel = p.relative_to(folder.parent) if folder.parent in p.parents else p
        for block in doc.get("resource", []):
            for rtype_q, inst in block.items():
                rtype = _unquote(rtype_q)
                rdtype = _RESOURCE_TYPES.get(rtype)
                if rdtype is None:
                    continue
                for label_q, body in inst.items():
                    source = f"{rel}: {rtype}.{_unquote(label_q)}"
                    zname = scope.value(body.get("zone_name", ""))
                    if isinstance(zname, Unresolved):
                        notes.append(f"{source}: zone_name {zname}; assumed to be {zone}")
                    elif zname.lower().rstrip(".") != zone:
                        continue
                    rname = scope.value(body.get("name", "@"))
                    if isinstance(rname, Unresolved):
                        notes.append(f"{source}: record name {rname}; skipped")
                        continue
                    out.append(ExpectedRecord(fqdn(rname, zone), rdtype, _values(scope, rdtype, body), source))
    return out, notes


def _values(scope: _Scope, rdtype: str, body: dict[str, Any]) -> tuple[str | Unresolved, ...]:
    if "dynamic" in body:
        return (Unresolved("dynamic \"record\" block"),)
    if rdtype == "CNAME":
        return (scope.value(body.get("record", "")),)
    if rdtype in ("A", "AAAA"):
        recs = body.get("records")
        if isinstance(recs, list):
            return tuple(scope.value(r) for r in recs)
        return (scope.value(recs) if recs is not None else Unresolved("records"),)
    if rdtype == "NS":
        recs = body.get("records")
        return tuple(scope.value(r) for r in recs) if isinstance(recs, list) else (Unresolved(str(recs)),)
    blocks = body.get("record", [])
    if isinstance(blocks, dict):
        blocks = [blocks]
    if not isinstance(blocks, list):
        return (scope.value(blocks),)
    vals: list[str | Unresolved] = []
    for b in blocks:
        if rdtype == "TXT":
            vals.append(scope.value(b.get("value", "")))
        elif rdtype == "MX":
            pref, exch = scope.value(b.get("preference", "")), scope.value(b.get("exchange", ""))
            if isinstance(pref, Unresolved) or isinstance(exch, Unresolved):
                vals.append(Unresolved(f"preference={b.get('preference')} exchange={b.get('exchange')}"))
            else:
                vals.append(f"{pref} {exch}")
        else:
            vals.append(Unresolved(f"{rdtype} record block"))
    return tuple(vals)


# Record kinds whose ACS value is a suggestion, not a requirement: a domain may publish a
# stricter DMARC record, or one with rua=; it is judged by acs.record.dmarc, never as drift.
ACS_SUGGESTED = frozenset({"dmarc"})


def acs_expected(records: dict[str, dict[str, Any]], zone: str, *,
                 suggested: bool = True) -> list[ExpectedRecord]:
    """ACS ``verification_records`` ({kind: {type, name, value}}) as expected records; with
    ``suggested=False`` only the ones ACS requires as they are (``ACS_SUGGESTED`` left out)."""
    out = []
    for kind, rec in records.items():
        if not rec or not rec.get("type") or rec.get("value") is None:
            continue
        if not suggested and kind in ACS_SUGGESTED:
            continue
        out.append(ExpectedRecord(fqdn(str(rec.get("name") or "@"), zone), str(rec["type"]).upper(),
                                  (str(rec["value"]),), f"ACS verification record {kind}"))
    return out

