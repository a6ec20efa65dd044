"""WAL arithmetic and reading archived WAL: segment names, continuity, content, commit times."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
_SEGMENT_RE = re.compile(r"^[0-9A-F]{24}$")


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
    """A time as pg_waldump prints it (``2026-11-29 10:57:53.494114``, the regex's match),
    read with ``fromisoformat``: a planning reads thousands, and ``strptime`` took 20 µs each."""
    # pg_waldump prints times in the server's log time zone; the sandbox runs UTC.
    if zone and zone not in ("UTC", "GMT", "+00"):
        raise ValueError(f"unexpected time zone {zone} in pg_waldump output")
    return datetime.fromisoformat(date).replace(tzinfo=UTC)


@dataclass(frozen=True)
class SegmentCheck:
    """What reading one archived segment with pg_waldump found."""

    first: datetime | None  # first transaction end (commit or abort) recorded in it
    last: datetime | None  # last one; for a damaged segment, the last before the damage
    damaged: str | None = None  # pg_waldump's words, when a record could not be read
    error_lsn: int | None = None  # where reading failed (the first unreadable byte's record)


# A transaction-end record as pg_waldump prints it: its LSN, then its time.
_XACT_LINE = re.compile(
    r"lsn: ([0-9A-F]+/[0-9A-F]+),.*?desc: (?:COMMIT|ABORT)(?:_PREPARED)? (?:\d+: )?"
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ?([A-Z]{3,5}|[+-]\d\d)?"
)
_ERROR_SEGMENT = re.compile(r"in log segment ([0-9A-F]{24}), offset (\d+)")
_LSN_TEXT = re.compile(r"\b([0-9A-F]{1,8}/[0-9A-F]{1,8})\b")


def _waldump_range(
    pg_waldump: str, paths: list[Path], seg_size: int
) -> tuple[dict[int, list[datetime]], str | None, int | None]:
    """Read consecutive segments in one pg_waldump pass.

    One pass, not one per segment, so that a record crossing from one segment into the
    next is read whole and its CRC checked. Returns the transaction-end times per
    segment number, and on failure pg_waldump's message and the LSN where it failed.
    """
    times: dict[int, list[datetime]] = {}
    with tempfile.TemporaryDirectory(prefix="augeo-waldump-") as tmp:
        # pg_waldump reads one folder; the segments may be spread over the archive and
        # the streaming folder, so it is given links to exactly these.
        for path in paths:
            os.symlink(os.path.abspath(path), os.path.join(tmp, path.name))
        proc = subprocess.run(
            [pg_waldump, "--rmgr=Transaction", "-p", tmp, paths[0].name, paths[-1].name],
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": "UTC", "PGTZ": "UTC"},
        )
    for m in _XACT_LINE.finditer(proc.stdout):
        times.setdefault(segment_number(parse_lsn(m.group(1)), seg_size), []).append(
            _parse_pg_time(m.group(2), m.group(3))
        )
    if proc.returncode == 0:
        return times, None, None
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    message = (lines[-1] if lines else f"pg_waldump exited with code {proc.returncode}")
    message = message.removeprefix("pg_waldump: ").removeprefix("error: ").strip()
    seg = _ERROR_SEGMENT.search(message)
    if seg:
        error_lsn = parse_segment(seg.group(1), seg_size)[1] * seg_size + int(seg.group(2))
    else:
        # "error in WAL record at A: ... in record at B": B is where reading failed.
        found = _LSN_TEXT.findall(message)
        first_segno = parse_segment(paths[0].name, seg_size)[1]
        error_lsn = parse_lsn(found[-1]) if found else first_segno * seg_size
    return times, message, error_lsn


# Where the sandbox's archive command leaves what pg_waldump found in each segment it
# archived (see archive-wal.sh), beside the segments.
INDEX_DIR = ".index"


class SegmentIndex:
    """A cache of what pg_waldump found in each archived segment.

    For each segment the cache (``wal-index.json`` in the backup store) holds its size
    and modification time (in nanoseconds), the first and last transaction-end time in
    it, and, when a record could not be read (a bad CRC, a bad page header), pg_waldump's
    message and the LSN where it failed. An entry is used only while the segment's size
    and mtime are unchanged: archived segments are written once (the archive command
    refuses to overwrite one with different content), so each is read once, and a
    segment rewritten in place (damaged) is read again; one changed with its size and
    mtime put back is not (a full re-read: delete the file). Segments are read in runs of
    consecutive segments, one pg_waldump pass per run, starting one segment before the
    first one not yet read, so a record that crosses into it is checked whole.

    The archive command indexes each segment as it archives it, so a restore finds almost
    every entry made: a clean entry of the archive command is taken as it is; a missing,
    stale or failed one makes the segment read here, as if there were none.
    """

    def __init__(
        self, archive: WalDirs, index_file: Path, pg_waldump: str, seg_size: int = DEFAULT_SEGMENT_SIZE
    ) -> None:
        self.archive = archive
        self.index_file = index_file
        self.pg_waldump = pg_waldump
        self.seg_size = seg_size
        self._data: dict[str, dict[str, str | int | None]] = {}
        try:
            data = json.loads(index_file.read_text())
            self._data = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self._data = {}
        self._dirty = False
        self._stats: dict[Path, os.stat_result] = {}  # segments are stat'ed once per planning

    def _stat(self, path: Path) -> os.stat_result:
        stat = self._stats.get(path)
        if stat is None:
            stat = self._stats[path] = path.stat()
        return stat

    def _fresh(self, segment: str, path: Path) -> bool:
        entry = self._data.get(segment)
        if not isinstance(entry, dict):
            return False
        stat = self._stat(path)
        return entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns

    def check(self, segments: list[str]) -> None:
        """Make sure every given segment (of one timeline) has been read."""
        numbered = sorted({parse_segment(s, self.seg_size): s for s in segments}.items())
        runs: list[list[str]] = []
        prev: tuple[int, int] | None = None
        for (tli, segno), name in numbered:
            if prev is not None and prev == (tli, segno - 1):
                runs[-1].append(name)
            else:
                runs.append([name])
            prev = (tli, segno)
        for run in runs:
            paths = [locate(self.archive, s) for s in run]
            stale = [i for i, (s, p) in enumerate(zip(run, paths, strict=True))
                     if not self._fresh(s, p) and not self._adopt(s, p)]
            while stale:
                # One run of consecutive stale segments, with a neighbour on each side.
                i0 = stale[0]
                i1 = i0
                while i1 + 1 < len(run) and i1 + 1 in stale:
                    i1 += 1
                self._read(run[max(i0 - 1, 0): i1 + 2], paths[max(i0 - 1, 0): i1 + 2])
                stale = [i for i in stale if i > i1]

    def _adopt(self, segment: str, path: Path) -> bool:
        """Take the entry the archive command wrote for a segment (``.index/NAME`` beside
        it, see archive-wal.sh) when it is whole, clean and of the segment as it is now."""
        try:
            head, error, *lines = (path.parent / INDEX_DIR / segment).read_text().split("\n")
            magic, version, size, mtime, rc = head.split()
            sec, _, frac = mtime.partition(".")
            mtime_ns = int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])
            stat = self._stat(path)
        except (OSError, ValueError):
            return False
        if (magic, version, rc, error) != ("augeo-wal-index", "1", "0", "") or \
                (int(size), mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            return False  # missing, stale or not clean: read by pg_waldump here
        segno = parse_segment(segment, self.seg_size)[1]
        found = sorted(_parse_pg_time(m.group(2), m.group(3)) for m in _XACT_LINE.finditer("\n".join(lines))
                       if segment_number(parse_lsn(m.group(1)), self.seg_size) == segno)
        self._data[segment] = {
            "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "first": found[0].isoformat() if found else None,
            "last": found[-1].isoformat() if found else None,
            "damaged": None, "error_lsn": None,
        }
        self._dirty = True
        return True

    def _read(self, names: list[str], paths: list[Path]) -> None:
        first = 0
        while first < len(names):
            stats = [p.stat() for p in paths[first:]]
            self._stats.update(zip(paths[first:], stats, strict=True))
            times, message, error_lsn = _waldump_range(self.pg_waldump, paths[first:], self.seg_size)
            bad = len(names)
            if message is not None and error_lsn is not None:
                error_segno = segment_number(error_lsn, self.seg_size)
                numbers = [parse_segment(n, self.seg_size)[1] for n in names]
                bad = next((i for i in range(first, len(names)) if numbers[i] >= error_segno), len(names) - 1)
            for i in range(first, min(bad + 1, len(names))):
                segno = parse_segment(names[i], self.seg_size)[1]
                found = times.get(segno, [])
                damaged = i == bad
                self._data[names[i]] = {
                    "size": stats[i - first].st_size,
                    "mtime_ns": stats[i - first].st_mtime_ns,
                    "first": found[0].isoformat() if found else None,
                    "last": found[-1].isoformat() if found else None,
                    "damaged": message if damaged else None,
                    "error_lsn": format_lsn(error_lsn) if damaged and error_lsn is not None else None,
                }
            self._dirty = True
            first = bad + 1  # the segments after a damaged one are read on their own

    def _entry(self, segment: str) -> dict[str, str | int | None]:
        path = locate(self.archive, segment)
        if not self._fresh(segment, path):
            self.check([segment])
        return self._data[segment]

    def result(self, segment: str) -> SegmentCheck:
        entry = self._entry(segment)
        first_s, last_s, lsn = entry.get("first"), entry.get("last"), entry.get("error_lsn")
        return SegmentCheck(
            first=datetime.fromisoformat(str(first_s)) if first_s else None,
            last=datetime.fromisoformat(str(last_s)) if last_s else None,
            damaged=str(entry["damaged"]) if entry.get("damaged") else None,
            error_lsn=parse_lsn(str(lsn)) if lsn else None,
        )

    def times(self, segment: str) -> tuple[datetime | None, datetime | None]:
        r = self.result(segment)
        return r.first, r.last

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

    def forget(self, segments: list[str]) -> None:
        """Drop the entries of segments that are gone (expired)."""
        for name in segments:
            if self._data.pop(name, None) is not None:
                self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        tmp = self.index_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._data, sort_keys=True))  # no indent: the C encoder
        os.replace(tmp, self.index_file)
        self._dirty = False
