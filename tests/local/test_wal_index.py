"""The WAL index is made as segments are archived: planning a restore reads no segment the
archive command indexed, and a missing, stale or failed entry is read again, never trusted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from augeoctl.local import wal
from tests.conftest import SandboxHandle, wait_for

pytestmark = pytest.mark.integration

NO_WALDUMP = "/nonexistent/pg_waldump"  # an index that had to read a segment would fail


@pytest.fixture(scope="module")
def archived(sandbox: SandboxHandle) -> list[str]:
    """Segments with commits in them, archived, each with the archive command's entry."""
    sandbox.sql("CREATE TABLE IF NOT EXISTS app.filler (x text)")
    for _ in range(4):
        for _ in range(20):
            sandbox.sql("INSERT INTO app.filler SELECT repeat('x', 1000) FROM generate_series(1, 500)")
        sandbox.switch_wal_and_wait()
    segs = wal.archived_segments(sandbox.sandbox.wal_dirs(), 1)
    index_dir = sandbox.sandbox.wal_archive / wal.INDEX_DIR
    # indexed in the background after each archive: wait for the entries
    wait_for(lambda: all((index_dir / s).exists() for s in segs), what="an index entry per archived segment")
    return segs


def _index(folder: Path, pg_waldump: str, dirs: list[Path]) -> wal.SegmentIndex:
    return wal.SegmentIndex(dirs, folder / "wal-index.json", pg_waldump)


def test_planning_takes_the_archive_commands_entries_and_reads_nothing(
        sandbox: SandboxHandle, archived: list[str], tmp_path: Path) -> None:
    dirs = sandbox.sandbox.wal_dirs()
    (tmp_path / "a").mkdir()
    taken = _index(tmp_path / "a", NO_WALDUMP, dirs)
    taken.check(archived)  # would raise FileNotFoundError if it ran pg_waldump
    read = _index(tmp_path, sandbox.sandbox.pg_tool("pg_waldump"), dirs)
    read.check(archived)
    assert [taken.result(s) for s in archived] == [read.result(s) for s in archived]
    assert all(taken.result(s).last is not None and not taken.result(s).damaged for s in archived[1:])


def _copy(sandbox: SandboxHandle, archived: list[str], dest: Path) -> Path:
    """The archive and its index, copied with their mtimes, to change one without harm."""
    src = sandbox.sandbox.wal_archive
    dest.mkdir()
    (dest / wal.INDEX_DIR).mkdir()
    for seg in archived:
        shutil.copy2(src / seg, dest / seg)
        shutil.copy2(src / wal.INDEX_DIR / seg, dest / wal.INDEX_DIR / seg)
    return dest


def test_a_segment_changed_after_indexing_is_read_again_and_found_damaged(
        sandbox: SandboxHandle, archived: list[str], tmp_path: Path) -> None:
    copy = _copy(sandbox, archived, tmp_path / "wal")
    seg = archived[-2]
    with open(copy / seg, "r+b") as fh:  # damage records in the middle of the segment
        fh.seek(8 * 1024 * 1024)
        fh.write(b"\xde\xad\xbe\xef" * 4096)
    with pytest.raises(FileNotFoundError):
        _index(tmp_path, NO_WALDUMP, [copy]).check(archived)  # its entry is stale: it must be read
    index = _index(tmp_path, sandbox.sandbox.pg_tool("pg_waldump"), [copy])
    index.check(archived)
    assert index.result(seg).damaged
    assert not index.result(archived[-3]).damaged


@pytest.mark.parametrize("entry", [
    "",  # empty (a write cut short)
    "augeo-wal-index 1 {size} {mtime} 1\npg_waldump: error: error in WAL record at 0/0: invalid record length\n",
    "augeo-wal-index 9 {size} {mtime} 0\n\n",  # a format this version does not know
    "augeo-wal-index 1 {size} not-a-time 0\n\n",
], ids=["empty", "failed", "unknown-version", "garbled"])
def test_an_entry_that_is_not_whole_and_clean_is_not_trusted(
        sandbox: SandboxHandle, archived: list[str], tmp_path: Path, entry: str) -> None:
    copy = _copy(sandbox, archived, tmp_path / "wal")
    seg = archived[-1]
    st = os.stat(copy / seg)
    (copy / wal.INDEX_DIR / seg).write_text(
        entry.format(size=st.st_size, mtime=f"{st.st_mtime_ns // 10**9}.{st.st_mtime_ns % 10**9:09d}"))
    with pytest.raises(FileNotFoundError):
        _index(tmp_path, NO_WALDUMP, [copy]).check(archived)
    index = _index(tmp_path, sandbox.sandbox.pg_tool("pg_waldump"), [copy])
    index.check(archived)
    assert not index.result(seg).damaged and index.result(seg).last is not None


def test_the_prefetch_keeps_the_next_segments_ready_and_drops_what_replay_passed(tmp_path: Path) -> None:
    from augeoctl.backends.local_recovery import PREFETCH_AHEAD, _Prefetch
    from tests.conftest import wait_for

    archive, spool = tmp_path / "archive", tmp_path / "spool"
    archive.mkdir()
    spool.mkdir()
    names = [wal.segment_name(1, n) for n in range(1, 13)]
    for i, name in enumerate(names):
        (archive / name).write_bytes(bytes([i]) * 4096)
    position: list[str | None] = [None]
    pre = _Prefetch(names, [archive], spool, lambda p: None, lambda: position[0])
    pre.start()
    try:
        ahead = names[:PREFETCH_AHEAD]
        wait_for(lambda: sorted(f.name for f in spool.iterdir()) == ahead, what="the first segments spooled")
        assert all((spool / n).read_bytes() == (archive / n).read_bytes() for n in ahead)
        (spool / names[0]).rename(tmp_path / "RECOVERYXLOG")  # the restore command takes one
        position[0] = names[2]  # replay has read up to the third (two from the archive itself)
        wait_for(lambda: sorted(f.name for f in spool.iterdir()) == names[3:3 + PREFETCH_AHEAD],
                 what="the passed segments dropped and the next ones spooled")
    finally:
        pre.stop()
    assert not pre.is_alive()
    assert not [f for f in spool.iterdir() if f.name.startswith(".")]  # no partial copy left
    assert sorted(p.name for p in archive.iterdir()) == names  # the archive is only read

