"""The ``bad-migration`` DR drill on the local sandbox.

The disaster is a schema migration that destroys data: the drill-only revision ``d001``
(``augeoctl/migrations/drill``) drops ``app.events.created_at``. It is applied with
``augeoctl migrate``'s code (``migrate.Migrator``) while the write workload runs, so a
base backup and the pre-migration point are taken first, as they would be for a real
release. The recovery is the runbook's: a point-in-time restore to the pre-migration
point into a new target; the verification checks that copy (the workload's writes, the
application's rows, the schema at the revision before the migration). The repair
downgrades the sandbox (``d001``'s downgrade puts the column back, last in the table, as
it was, with the downgrade's time in it) and merges the column's values back from the
recovered copy by primary key: only rows that existed at the pre-migration point are
given their value back, a row written after it is never touched; checked by identity
(every recovered id is in the sandbox with the recovered value) and by the table's
layout (columns, types, defaults, indexes as in the recovered copy).

Each step is journaled first (``migration``: marking, migrating with the point,
migrated, downgraded), so ``augeoctl sandbox repair`` finishes it after a killed drill.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from augeoctl import drivers
from augeoctl.drill import model
from augeoctl.drill.context import DrillContext
from augeoctl.drill.local import EVENTS, PostgresScenario
from augeoctl.drill.model import Check
from augeoctl.drill.scenario import Outcome
from augeoctl.errors import PreflightFailed, RepairFailed
from augeoctl.migrate import MigrationRecord, Migrator
from augeoctl.schema import AlembicProject, MigrationError, drill_versions

DRILL_REVISION = "d001"  # drops app.events.created_at
COLUMN = "created_at"


def _layout(conn: Any, table: str) -> list[tuple[str, ...]]:
    """A table's columns in order (name, type, nullability, default) and its indexes."""
    cols = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull::text,"
        " COALESCE(pg_get_expr(d.adbin, d.adrelid), '')"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table,)).fetchall()
    idx = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname || '.' || tablename = %s ORDER BY 1",
        (table,)).fetchall()
    cons = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1",
        (table,)).fetchall()
    return [tuple(r) for r in cols] + [("index", *r) for r in idx] + [("constraint", *r) for r in cons]


def put_back_column(recovered_dsn: str, source_dsn: str) -> tuple[int, int]:
    """Give the rows of app.events their created_at back from a copy recovered to the
    pre-migration point: matched by primary key, only rows the copy has (rows written
    after the point are never overwritten). Verified by identity: every id of the copy is
    in the source with the copy's value, and the table's layout equals the copy's
    (``RepairFailed`` otherwise). Returns the rows changed and the ids verified."""
    import psycopg

    with drivers.translated("putting app.events.created_at back"), \
            psycopg.connect(recovered_dsn, autocommit=True) as src, \
            psycopg.connect(source_dsn, autocommit=True) as dst:
        with dst.transaction():
            dst.execute("CREATE TEMP TABLE drill_column (id bigint PRIMARY KEY, value timestamptz)"
                        " ON COMMIT DROP")
            with src.cursor().copy(f"COPY (SELECT id, {COLUMN} FROM {EVENTS}) TO STDOUT") as out, \
                    dst.cursor().copy("COPY drill_column (id, value) FROM STDIN") as into:
                for chunk in out:
                    into.write(chunk)
            changed = dst.execute(
                f"UPDATE {EVENTS} e SET {COLUMN} = r.value FROM drill_column r"
                f" WHERE e.id = r.id AND e.{COLUMN} IS DISTINCT FROM r.value").rowcount
        recovered: dict[int, Any] = dict(src.execute(f"SELECT id, {COLUMN} FROM {EVENTS}").fetchall())
        have: dict[int, Any] = dict(dst.execute(f"SELECT id, {COLUMN} FROM {EVENTS} WHERE id = ANY(%s)",
                                (sorted(recovered),)).fetchall())
        layout_recovered, layout_source = _layout(src, EVENTS), _layout(dst, EVENTS)
    wrong = sorted(i for i, v in recovered.items() if have.get(i) != v)
    if wrong:
        raise RepairFailed(f"{len(wrong)} row(s) of {EVENTS} do not hold their recovered {COLUMN} "
                           f"after the merge (e.g. id {', '.join(str(i) for i in wrong[:5])})")
    if layout_recovered != layout_source:
        differ = [a for a, b in zip(layout_source, layout_recovered, strict=False) if a != b][:3]
        raise RepairFailed(f"{EVENTS} is not laid out as before the migration: {differ or 'columns differ'}")
    return max(changed, 0), len(recovered)


class BadMigration(PostgresScenario):
    name = "bad-migration"
    damage = (f"apply a migration that drops {EVENTS}.{COLUMN} (and its data) in the local sandbox")

    def _migrator(self) -> Migrator:
        return Migrator(self.platform, self.reporter, extra_versions=(drill_versions(),))

    def _project(self) -> AlembicProject:
        return AlembicProject.shipped(self.platform.pg_dsn(), extra_versions=(drill_versions(),))

    def preflight(self, ctx: DrillContext) -> None:
        super().preflight(ctx)
        plan = self._migrator().plan(DRILL_REVISION)
        if [r.id for r in plan.pending] != [DRILL_REVISION]:
            raise PreflightFailed(
                f"the sandbox's schema is at revision {plan.current or '(none)'}, not the one the "
                f"drill's migration {DRILL_REVISION} follows",
                hint="`augeoctl migrate` to the shipped head first (or recreate the sandbox)")
        ctx.checks.append(Check("preflight-schema", True,
                                f"schema at revision {plan.current}; the drill applies {DRILL_REVISION}"))

    def disaster(self, ctx: DrillContext) -> Outcome:
        migrator = self._migrator()
        plan = migrator.plan(DRILL_REVISION)
        ctx.journal.note("migration", {"state": "marking", "from": plan.current, "revision": DRILL_REVISION})

        def noted(record: MigrationRecord) -> None:
            assert record.point is not None
            ctx.journal.note("migration", {"state": "migrating", "from": plan.current,
                                           "revision": DRILL_REVISION, "record": record.id,
                                           "point": model.format_time(record.point.at),
                                           "backup_id": record.point.backup_id})

        record = migrator.run(plan, on_point=noted)
        assert record.point is not None
        import psycopg

        # The migration's commit: the transaction that moved alembic_version to d001.
        with drivers.translated("reading when the migration committed"), \
                psycopg.connect(self.platform.pg_dsn(), autocommit=True) as conn:
            committed = conn.execute(
                "SELECT pg_xact_commit_timestamp(xmin) FROM alembic_version").fetchone()[0]  # type: ignore[index]
        ctx.disaster_at = committed
        ctx.expected_point = record.point.at
        ctx.journal.note("migration", {**ctx.journal.get("migration"), "state": "migrated",
                                       "disaster_at": model.format_time(committed)})
        return Outcome(f"migration {record.id} applied {DRILL_REVISION} (DROP COLUMN {EVENTS}.{COLUMN}); "
                       f"pre-migration point {model.format_time(record.point.at)}, backup "
                       f"{record.point.backup_id}; undo: {record.restore_command}")

    def recovery_target(self, ctx: DrillContext) -> datetime | None:
        # The runbook: restore to the pre-migration point the migration recorded (its WAL
        # was archived when the point was marked).
        return ctx.expected_point

    def verify(self, ctx: DrillContext) -> None:
        super().verify(ctx)
        import psycopg

        restored = self._restored(ctx)
        with drivers.translated("reading the recovered schema"), \
                psycopg.connect(restored.dsn, autocommit=True) as conn:
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            has_column = conn.execute(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s"
                " AND NOT attisdropped", (EVENTS, COLUMN)).fetchone()[0]  # type: ignore[index]
        before = (ctx.journal.get("migration") or {}).get("from")
        ok = version is not None and version[0] == before and has_column == 1
        ctx.checks.append(Check("pre-migration-schema", ok,
                                f"recovered copy at revision {version[0] if version else None} with "
                                f"{EVENTS}.{COLUMN}" if ok else
                                f"recovered copy at revision {version[0] if version else None}, "
                                f"{EVENTS}.{COLUMN} {'present' if has_column else 'missing'}; "
                                f"expected revision {before} with the column"))

    def repair(self, ctx: DrillContext) -> list[str]:
        """Downgrade the sandbox to the revision before the drill's migration and merge the
        dropped column's values back from a copy recovered to the pre-migration point."""
        migration = ctx.journal.get("migration")
        if not migration:
            return []  # stopped before the disaster
        self.platform.ensure_up(self.reporter)
        project = self._project()
        notes: list[str] = []
        at_drill_revision = project.current() == DRILL_REVISION
        if at_drill_revision:
            if not migration.get("point"):
                raise RepairFailed(f"the sandbox is at the drill's revision {DRILL_REVISION} but the "
                                   "journal has no pre-migration point")
            if migration.get("state") != "migrated":
                migration = {**migration, "state": "migrated"}
                ctx.journal.note("migration", migration)
        elif migration.get("state") not in ("migrated", "downgraded"):
            return [f"the drill's migration {DRILL_REVISION} never committed: nothing to put back"]
        # The recovered copy first: should it fail, the sandbox stays as the journal says.
        point = datetime.fromisoformat(str(migration["point"]).replace("Z", "+00:00"))
        dsn, name = self.recovered_copy(ctx, point, f"{EVENTS}.{COLUMN}")
        if at_drill_revision:
            try:
                project.downgrade(str(migration["from"]))
            except MigrationError as exc:
                raise RepairFailed(f"the downgrade of {DRILL_REVISION} failed: {exc}") from None
            migration = {**migration, "state": "downgraded"}
            ctx.journal.note("migration", migration)
            notes.append(f"migration {DRILL_REVISION} downgraded to {migration['from']}: {EVENTS}.{COLUMN} is back")
        changed, verified = put_back_column(dsn, self.platform.pg_dsn())
        return notes + [f"{EVENTS}.{COLUMN} merged back from {name} by id ({changed} row(s) given their value), "
                        f"checked by identity: all {verified} rows of the recovered copy hold their value, "
                        "and the table is laid out as before"]
SCENARIOS: tuple[type[PostgresScenario], ...] = (BadMigration,)
