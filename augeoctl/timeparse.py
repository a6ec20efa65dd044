"""Parsing of time arguments such as ``--to-time`` and durations such as ``--rto``.

Accepted times: RFC 3339 with an explicit offset or ``Z``
(``2026-11-24T18:05:00Z``, ``2026-11-24 18:05:00.250+01:00``), ``now``, and times
relative to now (``-15m``, ``-2h``, ``-90s``, ``-1d``, ``-1h30m``). A time without an
offset is refused: a restore target must never depend on the machine's time zone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from augeoctl.errors import TimeParseError

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2})?$"
)


def parse_duration(text: str) -> timedelta:
    """``15m``, ``4h``, ``1h30m``, ``90s``, ``250ms`` or plain seconds (``900``)."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return _timedelta(text, float(value))
    pos, total, matched = 0, 0.0, False
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
        matched = True
    if not matched or pos != len(value):
        raise TimeParseError(
            f'"{text}" is not a duration',
            hint="write it like 90s, 15m, 4h, 1h30m or 1d",
        )
    return _timedelta(text, total)


class _TooLong(TimeParseError):
    """A duration beyond what a ``timedelta`` holds."""


def _timedelta(text: str, seconds: float) -> timedelta:
    """A duration Python can hold (a few million years at most); absurd ones are refused."""
    try:
        if not math.isfinite(seconds):
            raise OverflowError
        return timedelta(seconds=seconds)
    except OverflowError:
        raise _TooLong(
            f'"{text}" is too long a duration',
            hint="write a realistic one, like 90s, 15m, 4h, 1h30m or 7d",
        ) from None


def _out_of_range(text: str) -> TimeParseError:
    return TimeParseError(
        f'"{text}" is out of range: times must fall between the years 1 and 9999',
        hint="give a realistic time, e.g. 2026-11-24T18:05:00Z, now, -15m or -2h",
    )


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """Parse a point in time; the result is timezone-aware in UTC."""
    now = now or datetime.now(UTC)
    value = text.strip()
    if not value:
        raise TimeParseError("the time is empty", hint="give RFC 3339 with an offset, now or -15m")
    if value.lower() == "now":
        return now
    if value[0] in "+-" and not _RFC3339.match(value):
        sign = -1 if value[0] == "-" else 1
        try:
            delta = parse_duration(value[1:])
        except _TooLong:
            raise _out_of_range(text) from None
        except TimeParseError:
            raise TimeParseError(
                f'"{text}" is not a relative time', hint="write it like -15m, -2h or -1h30m"
            ) from None
        try:
            return now + sign * delta
        except OverflowError:
            raise _out_of_range(text) from None
    m = _RFC3339.match(value)
    if not m:
        raise TimeParseError(
            f'"{text}" is not an RFC 3339 time',
            hint="write it like 2026-11-24T18:05:00Z, 2026-11-24T19:05:00+01:00, now or -15m",
        )
    if not m.group("tz"):
        raise TimeParseError(
            f'"{text}" has no UTC offset',
            hint=f'add Z for UTC or an offset, e.g. "{value}Z" or "{value}+01:00"',
        )
    iso = value.replace(" ", "T").replace("t", "T")
    if iso.endswith(("Z", "z")):
        iso = iso[:-1] + "+00:00"
    frac = m.group(7)
    if frac and len(frac) > 7:  # Python keeps microseconds: truncate nanoseconds
        iso = iso.replace(frac, frac[:7], 1)
    tz = m.group("tz")
    if tz and tz not in ("Z", "z") and ":" not in tz:
        iso = iso[: -len(tz)] + tz[:3] + ":" + tz[3:]
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise TimeParseError(
            f'"{text}" is not a valid time: {exc}', hint="check the date and time fields"
        ) from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise _out_of_range(text) from None


def format_time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds, as reported in JSON."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 120:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
