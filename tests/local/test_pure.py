"""Pure logic: time parsing, WAL arithmetic, restore windows. No servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from augeoctl.backends.base import RestorableWindow, Window
from augeoctl.errors import TimeParseError
from augeoctl.local import wal
from augeoctl.timeparse import format_time, parse_duration, parse_time

NOW = datetime(2026, 11, 24, 18, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T18:05:00Z", datetime(2026, 11, 24, 18, 5, tzinfo=UTC)),
        ("2026-11-24T18:05:00.250z", datetime(2026, 11, 24, 18, 5, 0, 250000, tzinfo=UTC)),
        ("2026-11-24 19:05:00+01:00", datetime(2026, 11, 24, 18, 5, tzinfo=UTC)),
        ("2026-11-24T13:05:00-0500", datetime(2026, 11, 24, 18, 5, tzinfo=UTC)),
        ("2026-11-24T18:05:00.123456789Z", datetime(2026, 11, 24, 18, 5, 0, 123456, tzinfo=UTC)),
        ("now", NOW),
        ("NOW", NOW),
        ("-15m", NOW - timedelta(minutes=15)),
        ("-2h", NOW - timedelta(hours=2)),
        ("-1h30m", NOW - timedelta(minutes=90)),
        ("-90s", NOW - timedelta(seconds=90)),
        ("-1d", NOW - timedelta(days=1)),
    ],
)
def test_parse_time_accepts(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2026-11-24T18:05:00", "no UTC offset"),
        ("2026-11-24 18:05", "not an RFC 3339"),
        ("yesterday", "not an RFC 3339"),
        ("-15x", "not a relative time"),
        ("", "empty"),
        ("2026-13-40T18:05:00Z", "not a valid time"),
    ],
)
def test_parse_time_refuses_with_reason(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError) as err:
        parse_time(text, now=NOW)
    assert fragment in err.value.message
    assert err.value.hint


def test_no_offset_hint_suggests_the_fix() -> None:
    with pytest.raises(TimeParseError) as err:
        parse_time("2026-11-24T18:05:00")
    assert "2026-11-24T18:05:00Z" in (err.value.hint or "")


def test_durations() -> None:
    assert parse_duration("4h") == timedelta(hours=4)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("250ms") == timedelta(milliseconds=250)
    assert parse_duration("900") == timedelta(seconds=900)
    for bad in ("", "h", "4 hours", "1h-5m"):
        with pytest.raises(TimeParseError):
            parse_duration(bad)


def test_format_time_is_utc_z() -> None:
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"
    assert format_time(None) is None


def test_segment_names_round_trip() -> None:
    lsn = wal.parse_lsn("1/A3000028")
    assert wal.format_lsn(lsn) == "1/A3000028"
    segno = wal.segment_number(lsn)
    name = wal.segment_name(1, segno)
    assert name == "0000000100000001000000A3"
    assert wal.parse_segment(name) == (1, segno)
    # crossing the 4 GiB "xlogid" boundary
    assert wal.segment_name(2, 0x100) == "000000020000000100000000"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("desc: COMMIT 2026-11-29 10:57:53.494114 UTC", datetime(2026, 11, 29, 10, 57, 53, 494114, tzinfo=UTC)),
        ("desc: COMMIT 2026-11-29 10:57:53 UTC", datetime(2026, 11, 29, 10, 57, 53, tzinfo=UTC)),
        ("desc: ABORT 2026-11-29 10:57:53.5 GMT", datetime(2026, 11, 29, 10, 57, 53, 500000, tzinfo=UTC)),
        ("desc: COMMIT_PREPARED 7: 2026-02-28 23:59:59.000001 +00",
         datetime(2026, 2, 28, 23, 59, 59, 1, tzinfo=UTC)),
    ],
)
def test_pg_waldump_times_are_read_as_utc(line: str, expected: datetime) -> None:
    m = wal._XACT_LINE.search(f"rmgr: Transaction len (rec/tot): 34/34, tx: 9, lsn: 0/04000068, prev 0/0, {line}")
    assert m is not None
    assert wal._parse_pg_time(m.group(2), m.group(3)) == expected


def test_pg_waldump_times_in_another_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone CET"):
        wal._parse_pg_time("2026-11-29 10:57:53", "CET")


def test_continuity_reports_every_missing_segment(tmp_path) -> None:
    for segno in (3, 4, 5, 7, 9):
        (tmp_path / wal.segment_name(1, segno)).write_bytes(b"x")
    (tmp_path / "00000002.history").write_text("")
    cont = wal.continuity(tmp_path, 1, 3)
    assert cont.missing == (wal.segment_name(1, 6), wal.segment_name(1, 8))
    assert cont.last_contiguous == wal.segment_name(1, 5)
    assert cont.newest == wal.segment_name(1, 9)
    assert not cont.ok
    assert wal.continuity(tmp_path, 1, 7).missing == (wal.segment_name(1, 8),)
    assert wal.continuity(tmp_path, 1, 9).ok
    empty = wal.continuity(tmp_path, 1, 20)
    assert empty.last_contiguous is None and not empty.ok


def _w(bid: str, start_min: int, end_min: int | None, gap: tuple[str, ...] = ()) -> Window:
    return Window(
        backup_id=bid,
        earliest=NOW + timedelta(minutes=start_min),
        latest=None if end_min is None else NOW + timedelta(minutes=end_min),
        gap=gap,
    )


def test_window_union_and_containment() -> None:
    win = RestorableWindow(windows=(_w("a", 0, 30, ("X",)), _w("b", 40, 90)))
    assert win.earliest == NOW
    assert win.latest == NOW + timedelta(minutes=90)
    assert win.windows[0].contains(NOW + timedelta(minutes=30))
    assert not win.windows[0].contains(NOW + timedelta(minutes=31))
    assert not win.windows[1].contains(NOW + timedelta(minutes=35))
    assert "nothing" in RestorableWindow(windows=(_w("c", 0, None),)).describe()
    assert RestorableWindow(windows=(_w("c", 0, None),)).earliest is None


def test_recovery_watch_tells_client_refusals_from_recovery_failures(tmp_path) -> None:
    from augeoctl.backends.local_recovery import _RecoveryWatch

    log = tmp_path / "postgres.log"
    log.write_text(
        "2026-11-24 18:00:00.100 UTC [11] LOG:  restored log file \"000000010000000000000003\" from archive\n"
        "2026-11-24 18:00:00.200 UTC [12] FATAL:  the database system is not accepting connections\n"
        "2026-11-24 18:00:00.210 UTC [13] FATAL:  the database system is starting up\n"
        "2026-11-24 18:00:00.300 UTC [11] LOG:  restored log file \"000000010000000000000004\" from archive\n"
        "2026-11-24 18:00:00.400 UTC [11] LOG:  redo done at 0/4000100 system usage: CPU\n"
        "2026-11-24 18:00:00.401 UTC [11] LOG:  last completed transaction was at log time "
        "2026-11-24 17:59:58.123456+00\n"
    )
    watch = _RecoveryWatch(log, tmp_path)
    watch.poll()
    assert watch.fatal is None
    assert watch.segments == 2 and watch.last_segment == "000000010000000000000004"
    assert watch.redo_done and watch.redo_done_at == datetime(2026, 11, 24, 18, 0, 0, 400000, tzinfo=UTC)
    assert watch.last_xact == datetime(2026, 11, 24, 17, 59, 58, 123456, tzinfo=UTC)
    with log.open("a") as fh:
        fh.write("2026-11-24 18:00:01.000 UTC [11] FATAL:  recovery ended before configured recovery "
                 "target was reached\n")
    watch.poll()
    assert watch.fatal and "recovery ended before" in watch.fatal


def test_durations_have_one_format_everywhere() -> None:
    from datetime import UTC, datetime, timedelta

    from augeoctl.dashboard.panel import ago
    from augeoctl.timeparse import format_duration

    assert format_duration(0.036) == "36 ms"  # an RPO of 36 ms is not "0.0 s"
    assert format_duration(358) == "5 min 58 s" and format_duration(3 * 3600) == "3 h 00 min"
    now = datetime(2026, 11, 29, tzinfo=UTC)
    assert ago(now - timedelta(seconds=358), now) == format_duration(358)
    assert ago(None, now) == "never"


def test_quick_verification_samples_spread_ranges_including_both_ends() -> None:
    from augeoctl.backends.verification import FULL_VERIFY_MAX_BYTES, resolve, sample_ranges

    assert sample_ranges(0) == []
    assert sample_ranges(100) == [(0, 99)]  # small: every block
    ranges = sample_ranges(100_000, ranges=16, width=8)
    assert len(ranges) == 16 and ranges[0] == (0, 7) and ranges[-1] == (99_992, 99_999)
    assert all(b - a == 7 for a, b in ranges) and ranges == sorted(ranges)
    assert all(ranges[i][1] < ranges[i + 1][0] for i in range(15))  # no block twice
    assert resolve("auto", FULL_VERIFY_MAX_BYTES) == "full"
    assert resolve("auto", FULL_VERIFY_MAX_BYTES + 1) == "quick"
    assert resolve("full", 10**15) == "full" and resolve("quick", 1) == "quick"


class _Quiet:
    def status(self, text: str) -> None:
        self.last = text


def test_the_base_backup_copy_keeps_every_file_and_link_and_stops_on_the_first_error(tmp_path) -> None:
    import os
    import shutil
    import threading

    from augeoctl.backends.local_recovery import COPY_THREADS, _copy_tree

    src = tmp_path / "backup"
    (src / "base" / "1").mkdir(parents=True)
    for i in range(3 * COPY_THREADS):
        (src / "base" / "1" / str(i)).write_bytes(os.urandom(1000 * (i + 1)))
    (src / "PG_VERSION").write_text("15\n")
    (src / "PG_VERSION").chmod(0o600)
    (src / "meta.json").write_text("{}")
    (src / "pg_wal").mkdir()
    os.symlink("/elsewhere/tablespace", src / "tblspc")
    _copy_tree(src, tmp_path / "data", 0, _Quiet())
    data = tmp_path / "data"
    for i in range(3 * COPY_THREADS):
        assert (data / "base" / "1" / str(i)).read_bytes() == (src / "base" / "1" / str(i)).read_bytes()
    assert (data / "PG_VERSION").stat().st_mode & 0o777 == 0o600
    assert not (data / "meta.json").exists() and (data / "pg_wal").is_dir()
    assert os.readlink(data / "tblspc") == "/elsewhere/tablespace"

    os.mkfifo(src / "base" / "1" / "not-a-file")  # copyfile refuses a named pipe
    shutil.rmtree(data)
    with pytest.raises(shutil.SpecialFileError):
        _copy_tree(src, data, 0, _Quiet())
    assert not [t for t in threading.enumerate() if t.name.startswith("copy")]
