"""What every DR drill scenario on the local sandbox shares: the preflight (sandbox up,
WAL archiving working, a verified base backup, disk for the restore), the workload's
table and reference row counts, the reference service run against the recovered data,
and the cleanup that repairs the sandbox and drops the drill's targets.

Every step that damages the sandbox or starts something beside it is noted in the drill
journal first (``drill.journal``), and the cleanup works from the journal and the
sandbox as they are: it is also what ``augeoctl sandbox repair`` runs after a drill was
killed. When the repair fails, the drill's targets are kept (the data to repair from)
and named, and the journal stays.
"""

from __future__ import annotations

import shutil
from abc import abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from augeoctl import drivers
from augeoctl.drill import history
from augeoctl.drill.context import DrillConfig, DrillContext, Target
from augeoctl.drill.journal import REPAIR_COMMAND
from augeoctl.drill.model import Check
from augeoctl.drill.scenario import Confirmation, Outcome, Scenario
from augeoctl.drill.workload import DRILL_TABLE, REDIS_PREFIX, WriteTarget, prepare_table
from augeoctl.errors import AugeoError, PreflightFailed, RepairFailed
from augeoctl.platform.local import LocalPlatform, ReferenceService


def app_counts(dsn: str) -> dict[str, int]:
    """Row counts of the application's tables (schema ``app``)."""
    import psycopg

    with drivers.translated("counting application rows"), psycopg.connect(dsn, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
            " WHERE schemaname = 'app' ORDER BY 1").fetchall()]
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


class SandboxScenario(Scenario[LocalPlatform]):
    """What every sandbox scenario shares: the preflight, the workload's table and
    reference, the reference service against the recovered data, and the cleanup."""

    platform_type = LocalPlatform
    runs_workload = True
    verifies = True
    checks_service = True
    journaled = True
    cleanup_label = "cleanup and repair of the sandbox"
    damage: ClassVar[str]  # what the disaster does, for the confirmation

    service: ReferenceService | None = None

    def confirmation(self, config: DrillConfig) -> Confirmation:
        return Confirmation(self.name, f"a drill that will {self.damage} (repaired afterwards)")

    def preflight(self, ctx: DrillContext) -> None:
        try:
            self.platform.ensure_up(self.reporter)
        except AugeoError as exc:
            raise PreflightFailed(f"the sandbox is not usable: {exc.message}") from None
        pg = self.platform.postgres()
        with drivers.translated("checking WAL archiving"):
            problem = pg.source_problem()
        if problem:
            raise PreflightFailed(problem)
        if not pg.list_backups():
            self.reporter.info("preflight: no base backup yet, taking one")
            pg.create_backup(self.reporter)
        verified = pg.verify_backup(None, self.reporter)
        if not verified.ok:
            bad = "; ".join(f"{c.name}: {c.detail}" for c in verified.checks if not c.ok)
            raise PreflightFailed(f"backup {verified.backup_id} failed verification ({bad})")
        backup = pg.get_backup(verified.backup_id)
        if backup.finished_at is not None and backup.finished_at > datetime.now(UTC):
            raise PreflightFailed("the newest backup finishes in the future: check the clock")
        free = shutil.disk_usage(self.platform.targets_dir).free
        need = int((backup.size_bytes or 0) * 1.1) + 64 * 2**20 + ctx.config.disk_reserve
        if free < need:
            raise PreflightFailed(
                f"not enough disk for the restore: {need // 2**20} MiB needed "
                f"(backup {backup.size_bytes // 2**20 if backup.size_bytes else 0} MiB + reserve), "
                f"{free // 2**20} MiB free in {self.platform.targets_dir}"
            )
        ctx.checks.append(Check("preflight", True,
                                f"backup {backup.id} verified, WAL continuous, {free // 2**20} MiB free"))

    def prepare_workload(self, ctx: DrillContext) -> WriteTarget:
        dsn = self.platform.pg_dsn()
        with drivers.translated("preparing the drill table"):
            prepare_table(dsn)
        ctx.reference = app_counts(dsn)
        # The reference state must be recoverable: have the archive hold it.
        self.platform.archive_current_wal()
        return WriteTarget(dsn, self.platform.redis_url())

    @abstractmethod
    def recovered_endpoints(self, ctx: DrillContext) -> tuple[str, str]:
        """The PostgreSQL DSN and Redis URL the application uses after the recovery."""

    def start_service(self, ctx: DrillContext, pg_dsn: str, redis_url: str) -> None:
        self.stop_service()
        folder = history.folder(self.platform.home) / f"{ctx.drill_id}-service"
        ctx.journal.add("services", str(folder / "service.pid"))
        self.service = self.platform.start_service(pg_dsn, redis_url, folder)

    def stop_service(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def check_service(self, ctx: DrillContext) -> None:
        pg_dsn, redis_url = self.recovered_endpoints(ctx)
        if self.service is None or not self.service.serves(pg_dsn, redis_url):
            self.start_service(ctx, pg_dsn, redis_url)
        assert self.service is not None
        timeout = ctx.config.service_timeout
        try:
            ready, body = self.service.wait_ready(timeout)
            ctx.service = {"url": self.service.url, "ready": ready, "body": body}
            if ready:
                ctx.service_ready_at = datetime.now(UTC)
            ctx.checks.append(Check("service-ready", ready,
                                    "/health/ready is 200 against the recovered data" if ready
                                    else f"/health/ready not ready within {timeout:g} s: {body}"))
        finally:
            self.stop_service()

    @abstractmethod
    def repair(self, ctx: DrillContext) -> list[str]:
        """Undo the disaster on the sandbox from ``ctx.journal``; returns notes for the
        report, raises an ``AugeoError`` when it could not be undone and verified."""

    @abstractmethod
    def drop(self, target: Target) -> None:
        """Remove a target the recovery made (a half-made one too)."""

    def describe(self, target: Target) -> str:
        """Where a target is, for a message: its name, folder and address."""
        try:
            found = [t for t in self.platform.postgres().list_targets() if t.name == target.name]
        except (AugeoError, OSError):
            found = []
        where = ", ".join([str(self.platform.targets_dir / target.name)] + [t.dsn for t in found if t.dsn])
        return f"{target.name} ({where})"

    def cleanup(self, ctx: DrillContext) -> Outcome:
        self.stop_service()
        notes = [f"leftover reference service stopped ({p})" for p in ctx.journal.get("services", [])
                 if ReferenceService.stop_leftover(Path(p))]
        try:
            notes += self.repair(ctx)
            self.platform.ensure_up(self.reporter)  # after a power cut nothing runs
        except AugeoError as exc:
            # What the repair needs (the recovered copy) stays, and the journal with it.
            kept = ", ".join(self.describe(t) for t in ctx.targets) or "none"
            message = (f"the sandbox was NOT repaired: {exc.message}; drill target(s) kept: {kept}; "
                       f"run `{REPAIR_COMMAND}` once the cause is fixed")
            self.reporter.warn(message)
            raise RepairFailed(message, hint=exc.hint) from None
        try:
            self._remove_drill_writes(ctx)
        except AugeoError as exc:
            notes.append(f"drill rows not removed from the sandbox: {exc.message}")
        names = ", ".join(t.name for t in ctx.targets)
        if ctx.config.keep:
            if names:
                notes.append("drill target(s) kept: " + ", ".join(self.describe(t) for t in ctx.targets))
        else:
            for t in ctx.targets:
                self.drop(t)
            if names:
                notes.append(f"drill target(s) removed: {names}")
        return Outcome("; ".join(notes))

    def _remove_drill_writes(self, ctx: DrillContext) -> None:
        import psycopg
        import redis

        with drivers.translated("removing the drill's writes"):
            with psycopg.connect(self.platform.pg_dsn(), autocommit=True) as conn:
                conn.execute(f"DELETE FROM {DRILL_TABLE} WHERE drill_id = %s", (ctx.drill_id,))
            client = redis.Redis.from_url(self.platform.redis_url())
            keys = list(client.scan_iter(f"{REDIS_PREFIX}{ctx.drill_id}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i:i + 500])
