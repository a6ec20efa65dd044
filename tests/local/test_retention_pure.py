"""Which backups a retention policy keeps: the newest N, or a window, and always the newest
verified one; damaged backups go only when older than every kept one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from augeoctl.backends.base import BackupInfo
from augeoctl.catalogue import decide
from augeoctl.errors import UsageError
from augeoctl.retention import policy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _backup(days_ago: float) -> BackupInfo:
    at = NOW - timedelta(days=days_ago)
    return BackupInfo(id="pg-" + at.strftime("%Y%m%dT%H%M%SZ"), kind="postgres", started_at=at, finished_at=at)


def _damaged(days_ago: float) -> BackupInfo:
    at = NOW - timedelta(days=days_ago)
    return BackupInfo(id="pg-" + at.strftime("%Y%m%dT%H%M%SZ"), kind="postgres", started_at=None,
                      finished_at=None, damaged="meta.json is not valid JSON")


BACKUPS = [_backup(d) for d in (20, 10, 6, 3, 1)]


def _ids(found) -> list[str]:
    return sorted(b.id for b in found)


def test_full_keeps_the_newest_n() -> None:
    d = decide(policy(2, None), BACKUPS, [], set(), NOW)
    assert _ids(d.keep) == _ids(BACKUPS[-2:]) and _ids(d.expire) == _ids(BACKUPS[:-2])


def test_a_window_keeps_what_finished_inside_it_and_the_base_of_its_start() -> None:
    d = decide(policy(None, "7d"), BACKUPS, [], set(), NOW)
    # 6, 3 and 1 days ago are inside; the one 10 days ago is the base for 7 days ago
    assert _ids(d.keep) == _ids(BACKUPS[1:]) and _ids(d.expire) == _ids(BACKUPS[:1])
    assert "base of the window" in d.reasons[BACKUPS[1].id]


def test_the_newest_verified_backup_is_always_kept() -> None:
    d = decide(policy(1, None), BACKUPS, [], {BACKUPS[1].id, BACKUPS[2].id}, NOW)
    assert _ids(d.keep) == _ids([BACKUPS[2], BACKUPS[4]])
    assert d.reasons[BACKUPS[2].id] == "the newest verified backup (always kept)"


def test_damaged_backups_go_only_when_older_than_every_kept_one() -> None:
    old, new = _damaged(30), _damaged(2)
    d = decide(policy(2, None), BACKUPS, [old, new], set(), NOW)
    assert old in d.expire and new in d.keep


def test_no_policy_expires_nothing() -> None:
    d = decide(policy(None, None), BACKUPS, [], set(), NOW)
    assert not d.expire and len(d.keep) == len(BACKUPS)


@pytest.mark.parametrize(("full", "window", "fragment"), [
    (0, None, "must be 1 or more"),
    (-3, None, "must be 1 or more"),
    (None, "soon", "is not a duration"),
    (None, "0s", "longer than zero"),
    (2, "7d", "choose one"),
])
def test_bad_policies_are_refused_naming_what_is_wrong(full, window, fragment) -> None:
    with pytest.raises(UsageError) as err:
        policy(full, window)
    assert fragment in err.value.message and err.value.hint
