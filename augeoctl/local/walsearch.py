"""Finding the moment data was destroyed: committed transactions read from archived WAL.

``pg_waldump`` prints one line per WAL record. This module reads those lines and keeps,
per transaction, what destroys data:

- heap ``DELETE`` and ``UPDATE`` / ``HOT_UPDATE`` records, counted per relation file;
- relation files dropped at commit (the commit record's ``rels:`` list). A dropped file
  whose relation's statistics are dropped too (``dropped stats: 2/DB/OID``) is a DROP
  TABLE (a DROP SCHEMA when its schema is gone as well); one replaced by a new, empty
  file of the same table created in the same transaction (``Storage CREATE`` with no
  page written to it) is a TRUNCATE. A rewrite (VACUUM FULL, CLUSTER, ALTER TABLE)
  also replaces a file, but writes its rows into the new one, so it is not reported;
  nor, for the same reason, is a TRUNCATE followed by writes to that table in the same
  transaction.

Relation files are named by relfilenode; names come from the source's catalog
(``Catalog``): the current one, and the one remembered at each backup and each search,
so a table dropped since is still named. Only committed transactions count; records of
subtransactions are counted with their top-level transaction.

The record formats are PostgreSQL's ``heapdesc.c``, ``xactdesc.c`` and ``smgrdesc.c``
(PostgreSQL 15: ``desc: COMMIT 2026-11-28 21:44:35.300425 UTC; rels: base/16384/16432``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from augeoctl.timeparse import format_time

ONE_MICROSECOND = timedelta(microseconds=1)
FIRST_NORMAL_OID = 16384  # relfilenodes below it are the system catalogs' own

_RECORD = re.compile(
    r"^rmgr: (\S+)\s+len \(rec/tot\):\s*\d+/\s*\d+, tx:\s+(\d+), lsn: ([0-9A-F]+/[0-9A-F]+), "
    r"prev [0-9A-F]+/[0-9A-F]+, desc: (.*)$"
)
_BLKREF = re.compile(r"blkref #\d+: rel (\d+)/(\d+)/(\d+)")
_XACT_END = re.compile(
    r"^(COMMIT|ABORT)(?:_PREPARED)? (?:(\d+): )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ?(?:UTC)?(.*)$"
)
_FILE = re.compile(r"base/(\d+)/(\d+)\b")
_STATS = re.compile(r"\b2/(\d+)/(\d+)\b")
_UPDATES = ("UPDATE", "HOT_UPDATE")


def _pg_time(text: str) -> datetime:
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


@dataclass
class _Xact:
    deletes: dict[tuple[int, int], int] = field(default_factory=dict)  # (db, relfilenode) -> rows
    updates: dict[tuple[int, int], int] = field(default_factory=dict)
    created: set[tuple[int, int]] = field(default_factory=set)  # Storage CREATE
    written: set[tuple[int, int]] = field(default_factory=set)  # files with a page written


@dataclass(frozen=True)
class Ended:
    """A committed transaction as the WAL shows it."""

    xid: int
    lsn: str
    committed_at: datetime
    deletes: dict[tuple[int, int], int]
    updates: dict[tuple[int, int], int]
    created: frozenset[tuple[int, int]]
    written: frozenset[tuple[int, int]]
    dropped_files: tuple[tuple[int, int], ...]  # (db, relfilenode)
    dropped_stats: tuple[tuple[int, int], ...]  # (db, relation oid)


class WalReader:
    """Feeds on pg_waldump's lines; yields each committed transaction as it ends."""

    def __init__(self) -> None:
        self._open: dict[int, _Xact] = {}

    def feed(self, line: str) -> Ended | None:
        m = _RECORD.match(line)
        if not m:
            return None
        rmgr, xid, lsn, desc = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        if rmgr == "Transaction":
            return self._end(xid, lsn, desc)
        if xid == 0:
            return None
        ref = _BLKREF.search(desc)
        x = self._open.setdefault(xid, _Xact())
        op = desc.split(" ", 1)[0].split("+", 1)[0]
        if rmgr == "Heap" and ref:
            key = (int(ref.group(2)), int(ref.group(3)))
            if op == "DELETE":
                x.deletes[key] = x.deletes.get(key, 0) + 1
            elif op in _UPDATES:
                x.updates[key] = x.updates.get(key, 0) + 1
        elif rmgr == "Storage" and op == "CREATE":
            f = _FILE.search(desc)
            if f:
                x.created.add((int(f.group(1)), int(f.group(2))))
        for r in _BLKREF.finditer(desc):
            x.written.add((int(r.group(2)), int(r.group(3))))
        return None

    def _end(self, xid: int, lsn: str, desc: str) -> Ended | None:
        m = _XACT_END.match(desc)
        if not m:
            return None
        top = int(m.group(2)) if m.group(2) else xid
        rest = m.group(4) or ""
        subs = [int(s) for s in re.findall(r"\d+", _part(rest, "subxacts"))]
        parts = [self._open.pop(x, _Xact()) for x in (xid, top, *subs)]
        if m.group(1) == "ABORT":
            return None
        merged = _Xact()
        for p in parts:
            for src, dst in ((p.deletes, merged.deletes), (p.updates, merged.updates)):
                for k, v in src.items():
                    dst[k] = dst.get(k, 0) + v
            merged.created |= p.created
            merged.written |= p.written
        return Ended(
            xid=top, lsn=lsn, committed_at=_pg_time(m.group(3)),
            deletes=merged.deletes, updates=merged.updates,
            created=frozenset(merged.created), written=frozenset(merged.written),
            dropped_files=tuple((int(a), int(b)) for a, b in _FILE.findall(_part(rest, "rels"))),
            dropped_stats=tuple((int(a), int(b)) for a, b in _STATS.findall(_part(rest, "dropped stats"))),
        )


def _part(rest: str, name: str) -> str:
    """One ``; name: ...`` part of a transaction-end record's description."""
    for chunk in rest.split(";"):
        key, _, value = chunk.strip().partition(":")
        if key == name:
            return value
    return ""


@dataclass(frozen=True)
class Relation:
    database: str
    schema: str
    name: str
    kind: str  # pg_class.relkind
    oid: int
    rows_estimate: int | None = None  # pg_class.reltuples when it was read

    def label(self, app_db: str) -> str:
        qualified = f"{self.schema}.{self.name}"
        return qualified if self.database == app_db else f"{self.database}:{qualified}"

    @property
    def is_user_table(self) -> bool:
        return self.kind in ("r", "p", "m") and self.schema not in ("pg_catalog", "information_schema") \
            and not self.schema.startswith(("pg_toast", "pg_temp"))

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "schema": self.schema, "name": self.name, "kind": self.kind,
                "oid": self.oid, "rows_estimate": self.rows_estimate}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Relation:
        return cls(database=str(d["database"]), schema=str(d["schema"]), name=str(d["name"]),
                   kind=str(d["kind"]), oid=int(d["oid"]),
                   rows_estimate=int(d["rows_estimate"]) if d.get("rows_estimate") is not None else None)


@dataclass
class Catalog:
    """Relation names by (database oid, relfilenode) and by (database oid, oid).

    ``current`` is the source's catalog now; ``remembered`` what earlier reads saw (a
    relation dropped since is only there). The current name wins.
    """

    by_file: dict[tuple[int, int], Relation] = field(default_factory=dict)
    by_oid: dict[tuple[int, int], Relation] = field(default_factory=dict)
    current_files: set[tuple[int, int]] = field(default_factory=set)
    schemas: dict[int, set[str]] = field(default_factory=dict)  # current schemas per database
    databases: dict[int, str] = field(default_factory=dict)

    def add(self, db: int, relfilenode: int, rel: Relation, *, current: bool) -> None:
        if current or (db, relfilenode) not in self.current_files:
            self.by_file[(db, relfilenode)] = rel
        if current or (db, rel.oid) not in self.by_oid:
            self.by_oid[(db, rel.oid)] = rel
        if current:
            self.current_files.add((db, relfilenode))
            self.schemas.setdefault(db, set()).add(rel.schema)
            self.databases[db] = rel.database

    def to_json(self) -> dict[str, Any]:
        return {f"{db}/{node}": rel.to_dict() for (db, node), rel in sorted(self.by_file.items())}

    def load(self, data: dict[str, Any]) -> None:
        for key, value in data.items():
            try:
                db, node = (int(x) for x in key.split("/"))
                self.add(db, node, Relation.from_dict(value), current=False)
            except (ValueError, KeyError, TypeError):
                continue


@dataclass(frozen=True)
class Operation:
    op: str  # DELETE, UPDATE, TRUNCATE, DROP TABLE, DROP SCHEMA
    relation: str  # its name, or "relation DB/RELFILENODE (unknown)"
    rows: int | None  # rows deleted or updated; None for TRUNCATE and DROP (all of them)
    rows_estimate: int | None = None  # for TRUNCATE and DROP: the table's size when last read

    def text(self) -> str:
        if self.rows is not None:
            return f"{self.op} {self.rows} row(s) of {self.relation}"
        size = f" (about {self.rows_estimate} rows)" if self.rows_estimate is not None else ""
        return f"{self.op} {self.relation}{size}"


@dataclass(frozen=True)
class Damage:
    """A committed transaction that destroyed data."""

    xid: int
    committed_at: datetime
    lsn: str
    operations: tuple[Operation, ...]

    @property
    def restore_point(self) -> datetime:
        """Just before the commit: what ``restore --to-time`` takes to undo it."""
        return self.committed_at - ONE_MICROSECOND

    def to_dict(self) -> dict[str, Any]:
        return {
            "xid": str(self.xid),
            "committed_at": format_time(self.committed_at),
            "restore_point": format_time(self.restore_point),
            "commit_lsn": self.lsn,
            "operations": [{"op": o.op, "relation": o.relation, "rows": o.rows,
                            "rows_estimate": o.rows_estimate} for o in self.operations],
            "summary": "; ".join(o.text() for o in self.operations),
        }


def classify(x: Ended, catalog: Catalog, min_rows: int, app_db: str) -> Damage | None:
    """What ``x`` destroyed (None: nothing worth reporting)."""
    ops: list[Operation] = []

    for op, counts in (("DELETE", x.deletes), ("UPDATE", x.updates)):
        for key, rows in sorted(counts.items()):
            rel = catalog.by_file.get(key)
            if rows < min_rows or (rel is None and key[1] < FIRST_NORMAL_OID) \
                    or (rel is not None and not rel.is_user_table):
                continue
            label = rel.label(app_db) if rel else f"relation {key[0]}/{key[1]} (not in the catalog)"
            ops.append(Operation(op, label, rows))

    dropped_oids = set(x.dropped_stats)
    # Files dropped without their relation's statistics: the relation lives on in a new file.
    kept = [k for k in x.dropped_files if k not in dropped_oids
            and (k not in catalog.by_file or (k[0], catalog.by_file[k].oid) not in dropped_oids)]
    kept_oids = {(k[0], catalog.by_file[k].oid) for k in kept if k in catalog.by_file}
    truncated: dict[str, int | None] = {}
    for key in sorted(x.created - x.written):
        rel = catalog.by_file.get(key)
        if rel is None or key not in catalog.current_files or not rel.is_user_table:
            continue
        # Its old file dropped here (remembered), or a file that is not its first one
        # while this transaction dropped files it kept the relations of.
        if (key[0], rel.oid) in kept_oids or (rel.oid != key[1] and kept):
            old = next((catalog.by_file[k] for k in kept if k in catalog.by_file
                        and catalog.by_file[k].oid == rel.oid), None)
            truncated[rel.label(app_db)] = old.rows_estimate if old else None
    ops.extend(Operation("TRUNCATE", label, None, rows) for label, rows in truncated.items())

    gone_schemas: dict[str, list[str]] = {}
    for key in x.dropped_files:
        if key not in dropped_oids and (key not in catalog.by_file
                                        or (key[0], catalog.by_file[key].oid) not in dropped_oids):
            continue  # not a dropped relation's file (truncated or rewritten)
        dropped = catalog.by_file.get(key) or catalog.by_oid.get(key)
        if dropped is None:
            if key[1] >= FIRST_NORMAL_OID:
                ops.append(Operation("DROP", f"relation {key[0]}/{key[1]} (not in the catalog)", None))
            continue
        if not dropped.is_user_table:
            continue
        db_schemas = catalog.schemas.get(key[0])
        if db_schemas is not None and dropped.schema not in db_schemas:
            where = dropped.schema if dropped.database == app_db else f"{dropped.database}:{dropped.schema}"
            gone_schemas.setdefault(where, []).append(dropped.label(app_db))
        ops.append(Operation("DROP TABLE", dropped.label(app_db), None, dropped.rows_estimate))
    for schema, tables in gone_schemas.items():
        ops.insert(0, Operation("DROP SCHEMA", f"{schema} (with {', '.join(tables)})", None))
    if not ops:
        return None
    return Damage(xid=x.xid, committed_at=x.committed_at, lsn=x.lsn, operations=tuple(ops))


def search(lines: Iterable[str], catalog: Catalog, *, min_rows: int, app_db: str,
           since: datetime | None = None, until: datetime | None = None) -> list[Damage]:
    """The damaging transactions in pg_waldump's output, committed within [since, until]."""
    reader = WalReader()
    found = []
    for line in lines:
        ended = reader.feed(line)
        if ended is None:
            continue
        if since is not None and ended.committed_at < since or until is not None and ended.committed_at > until:
            continue
        damage = classify(ended, catalog, min_rows, app_db)
        if damage is not None:
            found.append(damage)
    return found
