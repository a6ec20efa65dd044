"""How a restored database is checked: the per-table queries every backend runs.

Two depths, chosen with ``restore --verify``:

- ``full``: an exact ``count(*)`` of every table, by a sequential scan of every heap page
  (index scans are turned off for the counting session; the hint-bit page images those
  first reads write to the WAL are lz4-compressed where the role may set that), beside
  ``pg_amcheck`` of every heap and B-tree index where the backend runs it;
- ``quick``: exact counts of small tables only; for larger ones the planner's row
  estimate (``pg_class.reltuples``, as of the last ANALYZE or VACUUM that reached the
  WAL) and a read of their first row; and, where ``amcheck`` is available,
  ``verify_heapam`` over a sample of block ranges of each table (the first and last
  block and evenly spread ranges) instead of every page, indexes unchecked. Its cost
  grows with the number of tables, not their size.

``auto`` (the default) is ``full`` up to FULL_VERIFY_MAX_BYTES of data and ``quick``
above it; drills always verify ``full``.
"""

from __future__ import annotations

from typing import Any

from augeoctl.core import Check

MODES = ("auto", "quick", "full")
FULL_VERIFY_MAX_BYTES = 10 * 2**30  # above it, ``auto`` verifies quick
SAMPLE_RANGES = 16  # block ranges read per table by a quick heap check
SAMPLE_BLOCKS = 8  # blocks per range
QUICK_COUNT_MAX_BLOCKS = 1024  # quick still counts tables up to 8 MiB (of 8 kB blocks)

_TABLES = (
    "SELECT c.oid::regclass::text, n.nspname, c.relname, c.reltuples::bigint, c.relkind,"
    " pg_relation_size(c.oid) / current_setting('block_size')::int"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 2, 3"
)


def resolve(mode: str, data_bytes: int) -> str:
    """The depth ``auto`` stands for at this size; ``quick`` and ``full`` as given."""
    if mode == "auto":
        return "full" if data_bytes <= FULL_VERIFY_MAX_BYTES else "quick"
    return mode


def data_bytes(conn: Any) -> int:
    """The size of every database of a server, in bytes."""
    row = conn.execute("SELECT coalesce(sum(pg_database_size(datname)), 0)::bigint FROM pg_database"
                       " WHERE datallowconn AND NOT datistemplate").fetchone()
    return int(row[0]) if row else 0


def sample_ranges(blocks: int, ranges: int = SAMPLE_RANGES, width: int = SAMPLE_BLOCKS) -> list[tuple[int, int]]:
    """Block ranges (first, last; inclusive) to check in a table of ``blocks`` blocks: all of
    it when small, else ``ranges`` evenly spread ranges including the first and last block."""
    if blocks <= 0:
        return []
    if blocks <= ranges * width:
        return [(0, blocks - 1)]
    step = (blocks - width) / (ranges - 1)
    starts = sorted({round(i * step) for i in range(ranges)})
    return [(s, min(s + width - 1, blocks - 1)) for s in starts]


def count_tables(conn: Any, mode: str, prefix: str = "") -> tuple[dict[str, int], list[str]]:
    """Rows per table (``schema.table``, after ``prefix``) and the names whose figure is an
    estimate: full counts every table; quick counts tables up to QUICK_COUNT_MAX_BLOCKS
    and takes the planner's estimate of larger ones (a table never analyzed is counted).

    A quick check still reads each estimated table's first row, so a table whose files
    are missing or unreadable fails here as a count would."""
    tables: dict[str, int] = {}
    estimated: list[str] = []
    compress_hint_images(conn)
    # A count reads the heap, page by page: the planner would rather count an index and
    # visit the heap only for pages not all-visible, which after a restore is most of them,
    # one random read each (and checks less: a heap page the index does not reach is not read).
    for setting in ("enable_indexonlyscan", "enable_indexscan", "enable_bitmapscan"):
        conn.execute(f"SET {setting} = off")
    for qualified, nsp, rel, estimate, _kind, blocks in conn.execute(_TABLES).fetchall():
        name = f"{prefix}{nsp}.{rel}"
        if mode == "full" or int(blocks) <= QUICK_COUNT_MAX_BLOCKS or int(estimate) < 0:
            row = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()
            tables[name] = int(row[0]) if row else 0
        else:
            conn.execute(f"SELECT 1 FROM {qualified} LIMIT 1").fetchall()
            tables[name] = int(estimate)
            estimated.append(name)
    return tables, estimated


def compress_hint_images(conn: Any) -> bool:
    """Compress, in this session, the page images its reads write to the WAL.

    The first read of a freshly restored row sets its hint bits, and with data checksums
    on (as in the sandbox) the first such change to a page after a checkpoint writes the
    whole page to the WAL: counting a table just after the restore's end-of-recovery
    checkpoint writes most of it again (640 MiB for the 1 GB bench database). Compressed
    with ``wal_compression = lz4``, that count took 1.33 s instead of 1.80 s. Only a
    superuser may set it; elsewhere (a role without the right, a server built without
    lz4) nothing changes. A connection in autocommit mode is expected, so a refusal
    leaves it usable. Returns whether it took effect."""
    import psycopg

    try:
        conn.execute("SET wal_compression = lz4")
    except psycopg.Error:
        return False
    return True


def heap_sample(conn: Any) -> tuple[int, int, list[str]]:
    """``verify_heapam`` over sampled block ranges of every table of one database (amcheck
    installed if missing); returns (tables, blocks checked, problems found). A page that
    fails its checksum stops the range it is in, named by the range's first block."""
    import psycopg

    conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    problems: list[str] = []
    checked = tables = 0
    for qualified, _nsp, _rel, _estimate, kind, blocks in conn.execute(_TABLES).fetchall():
        if kind != "r":
            continue  # a partitioned table has no storage; its partitions are listed too
        tables += 1
        for first, last in sample_ranges(int(blocks)):
            try:
                rows = conn.execute(
                    "SELECT blkno, offnum, msg FROM verify_heapam(%s::regclass, on_error_stop => false,"
                    " check_toast => true, skip => 'none', startblock => %s, endblock => %s)",
                    (qualified, first, last)).fetchall()
            except psycopg.errors.DataCorrupted as exc:  # a page that fails its checksum or header
                rows = [(first, None, str(exc).strip())]
            checked += last - first + 1
            problems += [f"{qualified} block {b}{'' if o is None else f' offset {o}'}: {m}" for b, o, m in rows]
    return tables, checked, problems


def table_check(tables: dict[str, int], estimated: list[str], databases: int = 1) -> Check:
    """The check that reports the per-table queries."""
    how = (f"counted ({len(estimated)} large one(s) estimated from the planner's statistics and read)"
           if estimated else "counted")
    return Check("query", True, f"{len(tables)} table(s) {how} in {databases} database(s)")
