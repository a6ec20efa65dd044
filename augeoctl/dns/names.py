"""Domain names as users type them: IDNA to A-labels (RFC 5890/5891), host-name rules (RFC 1123 §2.1).

An audited domain is a host name: labels of letters, digits and hyphens, neither starting
nor ending with a hyphen. A name typed in Unicode (``bücher.example``) is converted to its
A-labels (``xn--bcher-kva.example``), the form DNS answers for; both forms are reported.
"""

from __future__ import annotations

import re

from augeoctl.errors import UsageError

_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HINT = ("give the domain as labels of letters, digits and hyphens separated by dots, "
         "e.g. mail.example.com (Unicode names such as bücher.example are converted)")


def host_domain(text: str) -> tuple[str, str]:
    """``(A-label form, Unicode form)`` of a domain name; UsageError when it is not a host name."""
    import dns.exception
    import dns.name

    raw = text.strip()
    raw = raw[:-1] if raw.endswith(".") else raw

    def refuse(why: str) -> UsageError:
        return UsageError(f"{text!r} is not a domain name: {why}", hint=_HINT)

    if not raw:
        raise refuse("it is empty")
    if any(c.isspace() or c in "\\\"'" for c in raw):
        raise refuse("it contains a space, a quote or a backslash")
    codec = dns.name.IDNA_2008_Practical if dns.name.have_idna_2008 else dns.name.IDNA_2003
    try:
        ascii_name = dns.name.from_text(raw, idna_codec=codec).to_text(omit_final_dot=True).lower()
    except dns.name.EmptyLabel:
        raise refuse("it has an empty label (two dots in a row, or a leading dot)") from None
    except dns.name.LabelTooLong:
        raise refuse("a label is longer than 63 octets") from None
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise refuse(f"it cannot be converted to IDNA A-labels ({_reason(exc)})") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise refuse("a domain has at least two labels")
    if len(ascii_name) > 253:
        raise refuse(f"it is {len(ascii_name)} octets long; the limit is 253")
    for label in labels:
        if not _LDH.fullmatch(label):
            why = ("starts or ends with a hyphen" if label.startswith("-") or label.endswith("-")
                   else "has a character other than letters, digits and hyphens")
            raise refuse(f"the label {label!r} {why}")
    if labels[-1].isdigit():
        raise refuse("the last label is a number (an IP address is not a domain)")
    try:
        unicode_name = dns.name.from_text(ascii_name).to_unicode(omit_final_dot=True, idna_codec=codec)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise refuse(f"an xn-- label is not a valid A-label ({_reason(exc)})") from None
    return ascii_name, unicode_name


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.removeprefix("IDNA processing exception: ") or type(exc).__name__
