"""SPF (RFC 7208): record parsing, the ``check_host()`` evaluator, and the record audit.

Three layers, each importing only the ones before it:

- ``syntax``: the record, its terms, domain-specs and macro strings (no DNS);
- ``evaluate``: RFC 7208 ``check_host()`` with its lookup limits and results;
- ``audit``: ``audit_spf``, the findings about a domain's record tree.

The names below are the package's public interface; import them from here.
"""

from augeoctl.dns.spf.audit import (
    ACS_REF,
    ACS_SPF_INCLUDE,
    LOOKUP_TERMS,
    SPF_SIZE_WARN,
    SpfNode,
    audit_spf,
    build_tree,
)
from augeoctl.dns.spf.evaluate import (
    FAIL,
    MAX_LOOKUPS,
    MAX_MX_PTR,
    MAX_VOID,
    NEUTRAL,
    NONE,
    PASS,
    PERMERROR,
    QUALIFIERS,
    SOFTFAIL,
    TEMPERROR,
    Evaluation,
    TempError,
    check_host,
    expand,
    fetch_record,
)
from augeoctl.dns.spf.syntax import (
    MECHANISMS,
    PermError,
    Record,
    Term,
    check_domain_spec,
    check_macro_string,
    is_spf,
    parse,
    parse_term,
    valid_domain,
)

__all__ = [
    "ACS_REF",
    "ACS_SPF_INCLUDE",
    "FAIL",
    "LOOKUP_TERMS",
    "MAX_LOOKUPS",
    "MAX_MX_PTR",
    "MAX_VOID",
    "MECHANISMS",
    "NEUTRAL",
    "NONE",
    "PASS",
    "PERMERROR",
    "QUALIFIERS",
    "SOFTFAIL",
    "SPF_SIZE_WARN",
    "TEMPERROR",
    "Evaluation",
    "PermError",
    "Record",
    "SpfNode",
    "TempError",
    "Term",
    "audit_spf",
    "build_tree",
    "check_domain_spec",
    "check_host",
    "check_macro_string",
    "expand",
    "fetch_record",
    "is_spf",
    "parse",
    "parse_term",
    "valid_domain",
]
