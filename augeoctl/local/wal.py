"""WAL arithmetic and reading archived WAL: segment names, continuity, commit times."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
_SEGMENT_RE = re.compile(r"^[0-9A-F]{24}$")
_XACT_RE = re.compile(
    r"desc: (COMMIT|ABORT)(?:_PREPARED)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ?([A-Z]{3,5}|[+-]\d\d)?"
)


def parse_lsn(text: str) -> int:
    hi, lo = text.strip().split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def segment_number(lsn: int, seg_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    return lsn // seg_size


def segment_name(tli: int, segno: int, seg_size: int = DEFAULT_SEGMENT_SIZE) -> str:
    per_id = 0x100000000 // seg_size
    return f"{tli:08X}{segno // per_id:08X}{segno % per_id:08X}"


def parse_segment(name: str, seg_size: int = DEFAULT_SEGMENT_SIZE) -> tuple[int, int]:
    """(timeline, segment number) of a segment file name."""
    per_id = 0x100000000 // seg_size
    return int(name[:8], 16), int(name[8:16], 16) * per_id + int(name[16:24], 16)


def is_segment(name: str) -> bool:
    return bool(_SEGMENT_RE.match(name))


@dataclass(frozen=True)
class Continuity:
    """Which segments of one timeline are present from a starting segment on."""

    first: str
    last_contiguous: str | None  # newest segment with no gap before it
    newest: str | None  # newest segment present at all
    missing: tuple[str, ...]  # segments absent between first and newest

    @property
    def ok(self) -> bool:
        return not self.missing


WalDirs = Path | Sequence[Path]


def _dirs(archive: WalDirs) -> list[Path]:
    return [archive] if isinstance(archive, Path) else list(archive)


def archived_segments(archive: WalDirs, tli: int) -> list[str]:
    """Complete segments of a timeline found in the archive (and any streaming folder)."""
    prefix = f"{tli:08X}"
    names: set[str] = set()
    for d in _dirs(archive):
        try:
            names.update(os.listdir(d))
        except FileNotFoundError:
            continue
    return sorted(n for n in names if is_segment(n) and n.startswith(prefix))


def locate(archive: WalDirs, segment: str) -> Path:
    for d in _dirs(archive):
        if (d / segment).exists():
            return d / segment
    raise FileNotFoundError(segment)


def continuity(
    archive: WalDirs, tli: int, start_segno: int, seg_size: int = DEFAULT_SEGMENT_SIZE
) -> Continuity:
    present = {parse_segment(n, seg_size)[1] for n in archived_segments(archive, tli)}
    first = segment_name(tli, start_segno, seg_size)
    later = [s for s in present if s >= start_segno]
    if not later:
        return Continuity(first, None, None, (first,))
    newest = max(later)
    missing = [s for s in range(start_segno, newest + 1) if s not in present]
    last_contig_no = (missing[0] - 1) if missing else newest
    last_contig = (
        segment_name(tli, last_contig_no, seg_size) if last_contig_no >= start_segno else None
    )
    return Continuity(
        first=first,
        last_contiguous=last_contig,
        newest=segment_name(tli, newest, seg_size),
        missing=tuple(segment_name(tli, s, seg_size) for s in missing),
    )


def _parse_pg_time(date: str, zone: str | None) -> datetime:
    # pg_waldump prints times in the server's log time zone; the sandbox runs UTC.
    from datetime import UTC

    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in date else "%Y-%m-%d %H:%M:%S"
    value = datetime.strptime(date, fmt)
    if zone and zone not in ("UTC", "GMT", "+00"):
        raise ValueError(f"unexpected time zone {zone} in pg_waldump output")
    return value.replace(tzinfo=UTC)


def segment_xact_times(pg_waldump: str, path: Path) -> tuple[datetime | None, datetime | None]:
    """First and last transaction-end (commit or abort) time recorded in one segment."""
    proc = subprocess.run(
        [pg_waldump, "--rmgr=Transaction", str(path), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", "PGTZ": "UTC"},
    )
    first = last = None
    for m in _XACT_RE.finditer(proc.stdout):
        ts = _parse_pg_time(m.group(2), m.group(3))
        if first is None:
            first = ts
        last = ts
    return first, last


class SegmentIndex:
    """A cache of each archived segment's transaction times.

    Archived segments are immutable (the archive command refuses to overwrite one with
    different content), so a segment's times are read once with pg_waldump.
    """

    def __init__(self, archive: WalDirs, index_file: Path, pg_waldump: str) -> None:
        self.archive = archive
        self.index_file = index_file
        self.pg_waldump = pg_waldump
        self._data: dict[str, dict[str, str | int | None]] = {}
        try:
            self._data = json.loads(index_file.read_text())
        except (OSError, ValueError):
            self._data = {}
        self._dirty = False

    def times(self, segment: str) -> tuple[datetime | None, datetime | None]:
        path = locate(self.archive, segment)
        stat = path.stat()
        entry = self._data.get(segment)
        if entry is None or entry.get("size") != stat.st_size or entry.get("mtime") != int(
            stat.st_mtime
        ):
            first, last = segment_xact_times(self.pg_waldump, path)
            entry = {
                "size": stat.st_size,
                "mtime": int(stat.st_mtime),
                "first": first.isoformat() if first else None,
                "last": last.isoformat() if last else None,
            }
            self._data[segment] = entry
            self._dirty = True
        first_s, last_s = entry.get("first"), entry.get("last")
        return (
            datetime.fromisoformat(str(first_s)) if first_s else None,
            datetime.fromisoformat(str(last_s)) if last_s else None,
        )

    def last_xact_through(self, segments: list[str]) -> tuple[datetime | None, str | None]:
        """Newest transaction time in the given (ordered) segments, scanning from the end."""
        for seg in reversed(segments):
            _first, last = self.times(seg)
            if last is not None:
                return last, seg
        return None, None

    def first_segment_after(self, segments: list[str], when: datetime) -> str | None:
        """The first of the given segments holding a transaction end later than ``when``."""
        for seg in segments:
            _first, last = self.times(seg)
            if last is not None and last > when:
                return seg
        return None

    def save(self) -> None:
        if not self._dirty:
            return
        tmp = self.index_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, indent=0, sort_keys=True))
        os.replace(tmp, self.index_file)
        self._dirty = False
