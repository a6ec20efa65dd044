"""The drill's integrity rules: the writers' acknowledged writes compared with what the
recovered PostgreSQL and Redis hold. Pure functions, tested on built states.

A write acknowledged before the disaster and absent is lost (``lost_writes``); one
acknowledged by the point the recovery must reach and absent is a recovery defect
(``missing_before_recovery_point``). Without a disaster time every acknowledged write
counts as before it.
"""

from __future__ import annotations

from datetime import datetime

from augeoctl.drill.model import Integrity


def _compare(store: str, acks: dict[int, datetime], present: list[int], expected: set[int], extra: int,
             after: int, disaster_at: datetime | None) -> Integrity:
    """The counts both stores report, from what each one decided was expected and extra."""
    present_set = set(present)
    missing = sorted(expected - present_set)
    lost = sum(1 for s, at in acks.items() if s not in present_set and (disaster_at is None or at <= disaster_at))
    return Integrity(
        store=store,
        acknowledged=len(acks),
        expected_present=len(expected),
        present=len(present_set),
        missing_before_recovery_point=len(missing),
        extra=extra,
        duplicates=len(present) - len(present_set),
        after_recovery_point=after,
        lost_writes=lost,
        missing_sample=tuple(missing[:10]),
    )


def pg_integrity(
    acks: dict[int, datetime],
    rows: list[tuple[int, datetime | None]],
    expected_point: datetime | None,
    newest_allowed: datetime | None,
    attempted: int,
    disaster_at: datetime | None = None,
) -> Integrity:
    """Compare acknowledged writes with recovered rows ``(seq, commit time)``.

    Every write acknowledged at or before ``expected_point`` must be present; a row
    committed after ``newest_allowed`` (the recovery target), or one never written,
    is extra; a sequence number present twice is a duplicate.
    """
    present = [seq for seq, _ in rows]
    expected = {s for s, at in acks.items() if expected_point is not None and at <= expected_point}
    extra = sum(
        1
        for seq, ts in rows
        if seq > attempted or seq < 1 or (newest_allowed is not None and ts is not None and ts > newest_allowed)
    )
    after = sum(1 for at in acks.values() if expected_point is None or at > expected_point)
    return _compare("postgres", acks, present, expected, extra, after, disaster_at)


def redis_integrity(acks: dict[int, datetime], present: list[int], last: int | None, attempted: int,
                    disaster_at: datetime | None = None) -> Integrity:
    """A Redis snapshot must hold every acknowledged write up to its newest one, and no later one."""
    upto = last or 0
    expected = {s for s in acks if s <= upto}
    extra = sum(1 for s in set(present) if s > upto or s > attempted or s < 1)
    return _compare("redis", acks, present, expected, extra, sum(1 for s in acks if s > upto), disaster_at)
