"""``wal search`` on the sandbox: the archived WAL read with pg_waldump over a window.

Reads the archived (and streamed) segments whose transactions fall in the window, one
pg_waldump pass per run of consecutive segments, and hands the records to
``local.walsearch``; relation names come from the source's catalog, read now and
remembered in the backup store (``relations.json``, also written at each backup), so a
table dropped since the last backup or search is still named. Also finds the commit of
one transaction, for ``restore --before-xid``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from augeoctl import drivers
from augeoctl.errors import AugeoError, RestoreRefused
from augeoctl.local import wal, walsearch
from augeoctl.local.endpoints import APP_DB
from augeoctl.local.sandbox import Sandbox
from augeoctl.progress import Reporter
from augeoctl.timeparse import format_time

RELATIONS_FILE = "relations.json"

_CATALOG_SQL = (
    "SELECT pg_relation_filenode(c.oid), c.oid, n.nspname, c.relname, c.relkind, c.reltuples::bigint"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE pg_relation_filenode(c.oid) IS NOT NULL"
)


@dataclass(frozen=True)
class SearchResult:
    since: datetime | None
    until: datetime | None
    min_rows: int
    segments: tuple[str, ...]
    found: tuple[walsearch.Damage, ...]
    unreadable: str | None  # pg_waldump's words when a segment could not be read through
    catalog: str  # where the relation names came from

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": format_time(self.since), "until": format_time(self.until), "min_rows": self.min_rows,
            "segments_read": len(self.segments),
            "first_segment": self.segments[0] if self.segments else None,
            "last_segment": self.segments[-1] if self.segments else None,
            "catalog": self.catalog, "unreadable": self.unreadable,
            "transactions": [d.to_dict() for d in self.found],
        }


class DamageSearch:
    def __init__(self, sandbox: Sandbox, index: wal.SegmentIndex, seg_size: int) -> None:
        self.sandbox = sandbox
        self.index = index
        self.seg_size = seg_size

    # -- the catalog ---------------------------------------------------------------

    @property
    def relations_file(self) -> Path:
        return self.sandbox.store / RELATIONS_FILE

    def remember_catalog(self) -> walsearch.Catalog:
        """Read the source's catalog, merge it into the remembered one, and save that."""
        catalog = walsearch.Catalog()
        remembered = self._remembered()
        port = self.sandbox.pg_port()
        from augeoctl.backends.local_recovery import connect

        with drivers.translated("reading the source's catalog"):
            with connect(self.sandbox, port, "postgres") as conn:
                dbs = conn.execute(
                    "SELECT oid, datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"
                ).fetchall()
            for db_oid, datname in dbs:
                with connect(self.sandbox, port, datname) as conn:
                    catalog.schemas.setdefault(int(db_oid), set())
                    for node, oid, nsp, rel, kind, tuples in conn.execute(_CATALOG_SQL).fetchall():
                        catalog.add(int(db_oid), int(node), walsearch.Relation(
                            database=datname, schema=nsp, name=rel, kind=kind, oid=int(oid),
                            rows_estimate=int(tuples) if tuples is not None and tuples >= 0 else None,
                        ), current=True)
                    for (nsp,) in conn.execute("SELECT nspname FROM pg_namespace").fetchall():
                        catalog.schemas[int(db_oid)].add(nsp)
        catalog.load(remembered)
        merged = {**remembered, **catalog.to_json()}
        tmp = self.relations_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(merged, indent=0, sort_keys=True))
        os.replace(tmp, self.relations_file)
        return catalog

    def _remembered(self) -> dict[str, Any]:
        try:
            data = json.loads(self.relations_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _catalog(self, reporter: Reporter) -> tuple[walsearch.Catalog, str]:
        try:
            return self.remember_catalog(), "the source's catalog now, and as remembered"
        except AugeoError as exc:
            reporter.warn(f"the source's catalog could not be read ({exc.message}): relation names "
                          "are the ones remembered at the last backup or search")
            catalog = walsearch.Catalog()
            catalog.load(self._remembered())
            return catalog, "remembered only (the source could not be read)"

    # -- the WAL -------------------------------------------------------------------

    def _segments(self, since: datetime | None, until: datetime | None, timeline: int) -> list[str]:
        segs = wal.archived_segments(self.sandbox.wal_dirs(), timeline)
        if not segs:
            return []
        self.index.check(segs)
        keep = [i for i, s in enumerate(segs)
                if not (since and (r := self.index.result(s)).last is not None and r.last < since)
                and not (until and (r := self.index.result(s)).first is not None and r.first > until)]
        self.index.save()
        if not keep:
            return []
        # One segment more in front: a transaction's changes may precede its commit's segment.
        return segs[max(keep[0] - 1, 0): keep[-1] + 1]

    def search(self, since: datetime | None, until: datetime | None, min_rows: int, timeline: int,
               reporter: Reporter) -> SearchResult:
        catalog, source = self._catalog(reporter)
        segs = self._segments(since, until, timeline)
        found: list[walsearch.Damage] = []
        errors: list[str] = []
        with reporter.step(f"read {len(segs)} WAL segment(s) with pg_waldump"):
            for run in self._runs(segs):
                with self._waldump(run, []) as (lines, error):
                    found.extend(walsearch.search(lines, catalog, min_rows=min_rows, app_db=APP_DB,
                                                  since=since, until=until))
                if error:
                    errors.append(error[0])
        if errors:
            reporter.warn(f"WAL could not be read through: {'; '.join(errors)}")
        return SearchResult(since=since, until=until, min_rows=min_rows, segments=tuple(segs),
                            found=tuple(found),
                            unreadable="; ".join(errors) or None, catalog=source)

    def find_commit(self, xid: int, timeline: int) -> datetime:
        """When transaction ``xid`` committed, from the archived WAL (RestoreRefused if it did not)."""
        segs = wal.archived_segments(self.sandbox.wal_dirs(), timeline)
        for run in self._runs(segs):
            reader = walsearch.WalReader()
            with self._waldump(run, ["--rmgr=Transaction", f"--xid={xid}"]) as (lines, _error):
                for line in lines:
                    ended = reader.feed(line)
                    if ended is not None and ended.xid == xid:
                        return ended.committed_at
                    if re.search(rf"tx:\s+{xid}, .*desc: ABORT", line):
                        raise RestoreRefused(f"transaction {xid} was rolled back: it changed nothing",
                                             hint="`augeoctl wal search` lists the transactions that did")
        raise RestoreRefused(
            f"no commit of transaction {xid} in the archived WAL",
            hint="`augeoctl wal search` lists the damaging transactions with their xid; a commit "
                 "not archived yet is archived by `augeoctl wal search` too",
        )

    def _runs(self, segs: list[str]) -> list[list[str]]:
        runs: list[list[str]] = []
        prev: int | None = None
        for s in segs:
            n = wal.parse_segment(s, self.seg_size)[1]
            if prev is not None and n == prev + 1:
                runs[-1].append(s)
            else:
                runs.append([s])
            prev = n
        return runs

    @contextmanager
    def _waldump(self, run: list[str], args: list[str]) -> Iterator[tuple[Iterator[str], list[str]]]:
        """pg_waldump's lines over consecutive segments; the error list gets its message."""
        error: list[str] = []
        with tempfile.TemporaryDirectory(prefix="augeo-walsearch-") as tmp:
            for name in run:
                os.symlink(os.path.abspath(wal.locate(self.sandbox.wal_dirs(), name)), os.path.join(tmp, name))
            with tempfile.TemporaryFile() as err:
                proc = subprocess.Popen(
                    [self.sandbox.pg_tool("pg_waldump"), *args, "-p", tmp, run[0], run[-1]],
                    stdout=subprocess.PIPE, stderr=err, text=True,
                    env={**os.environ, "TZ": "UTC", "PGTZ": "UTC"},
                )
                assert proc.stdout is not None
                try:
                    yield iter(proc.stdout), error
                finally:
                    proc.stdout.close()
                    if proc.wait() != 0 and not args:
                        err.seek(0)
                        lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
                        if lines:
                            error.append(lines[-1].removeprefix("pg_waldump: ").removeprefix("error: "))
