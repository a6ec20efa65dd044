"""The WAL search's reading of pg_waldump lines, and the xid mode's shortfall, without servers.

The lines are pg_waldump 15's, as a sandbox printed them for the statements named.
"""

from __future__ import annotations

from datetime import UTC, datetime

from augeoctl.backends.base import BackupInfo, RestorableWindow, RestorePlan, Window
from augeoctl.backends.local_recovery import _shortfall
from augeoctl.local import walsearch

DB = 16384
LINES = [
    # BEGIN; DELETE (2 rows of app.events) in a subtransaction; COMMIT
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        732, lsn: 0/02000090, prev 0/02000050, "
    "desc: DELETE off 1 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/16384/16416 blk 0",
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        731, lsn: 0/020000C8, prev 0/02000090, "
    "desc: DELETE off 2 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/16384/16416 blk 0",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        731, lsn: 0/02004260, prev 0/02004228, "
    "desc: COMMIT 2026-11-28 21:44:35.265385 UTC; subxacts: 732",
    # an aborted DELETE
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        740, lsn: 0/02004300, prev 0/02004260, "
    "desc: DELETE off 3 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/16384/16416 blk 0",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        740, lsn: 0/02004340, prev 0/02004300, "
    "desc: ABORT 2026-11-28 21:44:35.270000 UTC",
    # TRUNCATE app.scratch: a new, empty file; the old one dropped at commit
    "rmgr: Storage     len (rec/tot):     42/    42, tx:        733, lsn: 0/02005C80, prev 0/02005C50, "
    "desc: CREATE base/16384/16442",
    "rmgr: Transaction len (rec/tot):    114/   114, tx:        733, lsn: 0/02005DF8, prev 0/02005DB8, "
    "desc: COMMIT 2026-11-28 21:44:35.300425 UTC; rels: base/16384/16432; inval msgs: catcache 55",
    # DROP TABLE app.gone: its file and its statistics dropped
    "rmgr: Transaction len (rec/tot):    469/   469, tx:        734, lsn: 0/02006190, prev 0/02006158, "
    "desc: COMMIT 2026-11-28 21:44:35.301597 UTC; rels: base/16384/16435; dropped stats: 2/16384/16435; "
    "inval msgs: catcache 80",
]


def _catalog() -> walsearch.Catalog:
    cat = walsearch.Catalog()
    cat.add(DB, 16416, walsearch.Relation("augeo", "app", "events", "r", 16416), current=True)
    cat.add(DB, 16442, walsearch.Relation("augeo", "app", "scratch", "r", 16432), current=True)
    # remembered from before: the truncated table's old file, and the dropped table
    cat.load({f"{DB}/16432": {"database": "augeo", "schema": "app", "name": "scratch", "kind": "r",
                              "oid": 16432, "rows_estimate": 40},
              f"{DB}/16435": {"database": "augeo", "schema": "app", "name": "gone", "kind": "r",
                              "oid": 16435, "rows_estimate": 30}})
    return cat


def test_deletes_truncates_and_drops_are_read_with_names() -> None:
    found = walsearch.search(LINES, _catalog(), min_rows=2, app_db="augeo")
    assert [(d.xid, [o.text() for o in d.operations]) for d in found] == [
        (731, ["DELETE 2 row(s) of app.events"]),  # the subtransaction's row counted with it
        (733, ["TRUNCATE app.scratch (about 40 rows)"]),
        (734, ["DROP TABLE app.gone (about 30 rows)"]),
    ]
    assert found[0].to_dict()["restore_point"] == "2026-11-28T21:44:35.265384Z"


def test_min_rows_and_the_window_filter() -> None:
    assert [d.xid for d in walsearch.search(LINES, _catalog(), min_rows=3, app_db="augeo")] == [733, 734]
    since = datetime(2026, 11, 28, 21, 44, 35, 300500, tzinfo=UTC)
    assert [d.xid for d in walsearch.search(LINES, _catalog(), min_rows=1, app_db="augeo", since=since)] == [734]


def test_an_unknown_dropped_relation_is_still_reported() -> None:
    found = walsearch.search(LINES, walsearch.Catalog(), min_rows=100, app_db="augeo")
    assert [o.text() for d in found for o in d.operations] == ["DROP relation 16384/16435 (not in the catalog)"]


def _plan() -> RestorePlan:
    t = datetime(2026, 11, 28, 21, 44, 35, tzinfo=UTC)
    backup = BackupInfo("pg-1", "postgres", t, t, start_lsn="0/2000028", stop_lsn="0/2000100", timeline=1)
    window = RestorableWindow((Window("pg-1", t, datetime(2026, 11, 28, 22, tzinfo=UTC),
                                      archive_end=datetime(2026, 11, 28, 22, tzinfo=UTC)),))
    return RestorePlan(target="x", backup=backup, to_time=datetime(2026, 11, 28, 21, 50, tzinfo=UTC),
                       mode="xid", wal_first=None, wal_last=None, window=window,
                       extra={"before_xid": "731", "xid_committed_at": "2026-11-28T21:50:00.000001Z"})


def test_before_xid_is_short_unless_replay_read_that_commit() -> None:
    reached = datetime(2026, 11, 28, 21, 49, tzinfo=UTC)
    assert _shortfall(_plan(), reached, target_passed=True) is None
    short = _shortfall(_plan(), reached, target_passed=False)
    assert short is not None and "before the commit of transaction 731" in short
