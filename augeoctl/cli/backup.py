"""``augeoctl backup``: take, list and verify backups."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from augeoctl import catalogue, retention
from augeoctl.cli.common import (
    common_options,
    complete_backups,
    emit,
    exclusive,
    human_bytes,
    reporter,
    settings,
    table,
)
from augeoctl.errors import UsageError, VerdictFailed
from augeoctl.platform import platform_for
from augeoctl.timeparse import format_time


@click.group()
@common_options
def backup() -> None:
    """Base backups (PostgreSQL) and RDB copies (Redis), verified."""


def _backup_text(b: dict[str, Any]) -> str:
    lines = [f"backup {b['id']} ({b['kind']})",
             f"  started   {b['started_at']}", f"  finished  {b['finished_at']}",
             f"  size      {human_bytes(b.get('size_bytes'))}"]
    if b["kind"] == "postgres":
        lines.append(f"  WAL       {b['start_lsn']} .. {b['stop_lsn']} (timeline {b['timeline']})")
    else:
        lines.append(f"  keys      {b['extra'].get('key_count')}")
    lines.append(f"  location  {b['location']}")
    return "\n".join(lines)


@backup.command()
@click.option("--kind", type=click.Choice(["postgres", "redis", "all"]), default=None,
              help="What to back up: PostgreSQL (the default), Redis (an RDB copy) or both.")
@click.option("--redis", "legacy", flag_value="redis", multiple=True, hidden=True)
@click.option("--all", "legacy", flag_value="all", multiple=True, hidden=True)
@click.option("--postgres", "legacy", flag_value="postgres", multiple=True, hidden=True)
@common_options
@exclusive
def create(kind: str | None, legacy: tuple[str, ...]) -> None:
    """Take a backup into the environment's backup store (--kind postgres|redis|all).

    Holds the AUGEO_HOME lock while it runs (one writer at a time): while another command
    holds it, exits 3 naming that command, or waits up to --wait for it. Leftover
    `.partial` folders of a backup that was killed are removed first, and said.
    """
    what = _kind(kind, legacy)
    s = settings()
    rep = reporter()
    pol = retention.configured(s.env)
    made = []
    expired = None
    if what in ("postgres", "all"):
        pg = platform_for(s).postgres()
        made.append(pg.create_backup(rep).to_dict())
        if pol.given and pg.managed_retention() is None:  # the configured retention, applied after
            expired = _apply(pg, pol, dry_run=False)
    if what in ("redis", "all"):
        made.append(platform_for(s).redis().create_backup(rep).to_dict())
    emit({"backups": made, **({"expiry": expired} if expired else {})},
         lambda r: "\n".join(_backup_text(b) for b in r["backups"])
         + (f"\n\n{_expire_text(r['expiry'])}" if r.get("expiry") else ""))


def _apply(pg: Any, pol: retention.Policy, *, dry_run: bool) -> dict[str, Any]:
    """Apply a retention policy; the expired backups' verification records go with them."""
    s = settings()
    known = catalogue.verifications(s.home, s.env.name)
    verified = {i for i, v in known.items() if isinstance(v, dict) and v.get("ok")}
    result = catalogue.expire(pg, pol, verified, datetime.now(UTC), reporter(), dry_run=dry_run)
    if not dry_run:
        catalogue.forget(s.home, s.env.name, [b["id"] for b in result["expired"]])
    # the window the kept backups leave (a dry run: the window the expiry would leave)
    w = pg.window()
    kept = {b["id"] for b in result["kept"]}
    starts = [x.earliest for x in w.windows if x.backup_id in kept and not x.empty]
    result["window"] = {"earliest": format_time(min(starts)) if starts else None, "latest": format_time(w.latest)}
    return result


def _expire_text(r: dict[str, Any]) -> str:
    verb = "would expire" if r["dry_run"] else "expired"
    lines = [f"retention: {r['policy']['description']}"]
    if r["expired"]:
        lines.append(table([[b["id"], b["finished_at"] or "-", human_bytes(b.get("size_bytes")), b["reason"]]
                            for b in r["expired"]], ["EXPIRED" if not r["dry_run"] else "WOULD EXPIRE",
                                                     "FINISHED", "SIZE", "WHY"]))
    else:
        lines.append(f"nothing {verb}: every backup is within the policy")
    lines.append(table([[b["id"], b["finished_at"] or "-", b["reason"]] for b in r["kept"]],
                       ["KEPT", "FINISHED", "WHY"]))
    wal_ = r["wal"]
    if wal_["files"]:
        lines.append(f"WAL: {verb} {wal_['segments']} segment(s) ({human_bytes(wal_['bytes'])}) before "
                     f"{wal_['before']}, which no kept backup needs")
    w = r.get("window") or {}
    lines.append(f"restorable window{' after it' if r['dry_run'] else ' now'}: {w.get('earliest') or '-'} .. "
                 f"{w.get('latest') or '-'}")
    return "\n".join(lines)


@backup.command()
@click.option("--retention-full", "retention_full", type=int, metavar="N",
              help="Keep the newest N base backups (pgBackRest repo-retention-full).")
@click.option("--window", "window", metavar="DURATION",
              help="Keep every point of the last DURATION restorable, like 7d or 36h (Barman's recovery window).")
@click.option("--dry-run", is_flag=True, help="Say what would be expired and change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing backups.")
@common_options
@exclusive
def expire(retention_full: int | None, window: str | None, dry_run: bool, yes: bool) -> None:
    """Remove base backups beyond a retention policy, and the archived WAL no kept backup needs.

    The policy is --retention-full N or --window DURATION, else the environment's
    backup_retention_full / backup_retention_window (which `backup create` also applies
    after each backup). The newest verified backup is always kept. The restorable window
    shrinks accordingly: `backup list` and `restore` use the new one.

    Holds the AUGEO_HOME lock (one writer at a time), so a running restore or drill keeps
    every WAL segment it reads: while one runs, this exits 3 naming it, or waits --wait.
    On Azure the server's backup retention applies: it is shown, nothing is removed.
    """
    s = settings()
    pg = platform_for(s).postgres()
    managed = pg.managed_retention()
    if managed is not None:
        if retention_full is not None or window is not None:
            raise UsageError(f"{s.env.name}: backups are kept and expired by Azure "
                             f"({managed['retention_days']} days); augeoctl does not expire them",
                             hint="change backup_retention_days in Terraform, or run without options to see it")
        emit({"managed": managed, "expired": []},
             lambda r: f"{s.env.name}: Azure keeps backups of {r['managed']['server']} for "
                       f"{r['managed']['retention_days']} days (earliest restore {r['managed']['earliest_restore_date']}); "
                       "nothing to expire here")
        return
    pol = retention.policy(retention_full, window) if retention_full is not None or window is not None \
        else retention.configured(s.env)
    if not pol.given:
        raise UsageError("no retention policy: give --retention-full N or --window DURATION, or configure "
                         f"backup_retention_full / backup_retention_window for {s.env.name}",
                         hint="e.g. augeoctl backup expire --retention-full 7 --dry-run")
    if not dry_run and not yes:
        planned = _apply(pg, pol, dry_run=True)
        if planned["expired"] or planned["wal"]["files"]:
            if not sys.stdin.isatty():
                raise UsageError(f"expiring {len(planned['expired'])} backup(s) needs confirmation and there is no "
                                 "terminal to ask on", hint="pass --yes, or see them first with --dry-run")
            click.echo(_expire_text(planned), err=True)
            if not click.confirm("Remove them?", err=True, default=False):
                raise UsageError("not confirmed; nothing was changed")
    emit(_apply(pg, pol, dry_run=dry_run), _expire_text)


def _kind(kind: str | None, legacy: tuple[str, ...]) -> str:
    """--kind, or one of the older flags (--redis, --all, --postgres) alone; any mix is
    refused rather than one of them silently winning."""
    chosen = ([kind] if kind else []) + [f"--{v}" for v in legacy]
    if len(chosen) > 1:
        raise UsageError(f"choose one of {', '.join(repr(c) for c in chosen)}",
                         hint="use --kind postgres|redis|all")
    return kind or (legacy[0] if legacy else "postgres")


def _verified_text(v: dict[str, Any] | None) -> str:
    if not v:
        return "never"
    return f"{'ok' if v['ok'] else 'FAILED'} {v['verified_at']}"


def _list_text(r: dict[str, Any]) -> str:
    rows = [[b["id"], b["kind"], "DAMAGED" if b.get("damaged") else "ok", b["finished_at"] or "-",
             _verified_text(b.get("verified")), human_bytes(b.get("size_bytes")),
             ("-" if b.get("damaged") or b.get("start_lsn") is None else f"{b['start_lsn']}..{b['stop_lsn']}")
             if b["kind"] == "postgres"
             else f"{b['extra'].get('key_count')} keys"] for b in r["backups"]]
    out = [table(rows, ["ID", "KIND", "STATUS", "FINISHED", "VERIFIED", "SIZE", "WAL / KEYS"])
           if rows else "no backups"]
    for b in r["backups"]:
        if b.get("damaged"):
            out.append(f"  backup {b['id']} is damaged and not used: {b['damaged']}")
    w = r.get("window")
    if w is not None:
        out.append("")
        if w["earliest"]:
            out.append(f"restorable window: {w['earliest']} .. {w['latest']}")
        else:
            out.append("restorable window: none yet (no transaction archived after a backup)")
        gaps = [x for x in w["windows"] if x["ends_at_gap"]]
        for x in gaps:
            out.append(f"  backup {x['backup_id']}: window ends at the missing segment {x['ends_at_gap'][0]}")
        for x in w["windows"]:
            if x.get("ends_at_damaged"):
                out.append(f"  backup {x['backup_id']}: window ends before the damaged segment "
                           f"{x['ends_at_damaged'][0]} (`augeoctl backup verify` says what is wrong)")
        if w.get("damaged_segments"):
            out.append("damaged WAL segments: " + ", ".join(w["damaged_segments"]))
        if w["missing_segments"]:
            out.append("missing WAL segments: " + ", ".join(w["missing_segments"]))
        if w["archived_segments"] or w["newest_segment"]:
            out.append(f"WAL archive: {w['archived_segments']} segment(s), newest {w['newest_segment'] or '-'}")
    st = dict(r.get("settings") or {})
    redis = st.pop("redis", None)
    if st:
        out.append("PostgreSQL: " + ", ".join(f"{k}={v}" for k, v in st.items()))
    if redis:
        out.append("Redis: " + ", ".join(f"{k}={v}" for k, v in redis.items()))
    return "\n".join(out)


@backup.command("list")
@click.option("--plot", is_flag=True,
              help="Also draw the restorable window on one time axis (backups, what can be restored to, where "
                   "WAL ends, now): in the terminal, and as backup-window.svg in AUGEO_HOME.")
@common_options
def list_(plot: bool) -> None:
    """List backups and the restorable window (earliest and latest restorable time).

    A backup whose metadata is unreadable or incomplete is listed as damaged, with the
    reason (`damaged` in JSON), and is not used by restores.
    """
    platform = platform_for(settings())
    pg = platform.postgres()
    settings_ = pg.backup_settings()
    if platform.has_redis():
        settings_ = {**settings_, "redis": platform.redis().describe()}
    result: dict[str, Any] = {"backups": _catalogued(platform), "window": pg.window().to_dict(), "settings": settings_}
    if not plot:
        emit(result, _list_text)
        return
    from augeoctl import charts

    drawn = catalogue.window_chart(result["backups"], result["window"], datetime.now(UTC))
    path = settings().home / "backup-window.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(charts.timeline_svg("Restorable window", drawn["lanes"], drawn["start"], drawn["end"],
                                        drawn["ticks"], now=drawn["end"]))
    result["plot"] = str(path)
    emit(result, lambda r: f"{_list_text(r)}\n\n"
                           + charts.timeline_text(drawn["lanes"], drawn["start"], drawn["end"], drawn["labels"])
                           + f"svg: {r['plot']}")


def _catalogued(platform: Any) -> list[dict[str, Any]]:
    """Every backup (damaged ones too, and Redis's), each with its last verification (None:
    never verified) and its age."""
    pg = platform.postgres()
    found = pg.list_backups() + pg.damaged_backups() + (platform.redis().list_backups() if platform.has_redis() else [])
    s = settings()
    known = catalogue.verifications(s.home, s.env.name)
    now = datetime.now(UTC)
    out = []
    for b in (x.to_dict() for x in found):
        finished = b.get("finished_at")
        age = (now - datetime.fromisoformat(finished)).total_seconds() if finished else None
        out.append({**b, "verified": known.get(b["id"]), "age_seconds": round(age) if age is not None else None})
    return out


@backup.command("show")
@click.argument("backup_id", shell_complete=complete_backups)
@common_options
def show(backup_id: str) -> None:
    """Show one backup in full: where it is, its size, WAL range, restorable window and
    its last verification (`backup verify` records each)."""
    platform = platform_for(settings())
    pg = platform.postgres()
    match = [b for b in _catalogued(platform) if b["id"] == backup_id]
    if not match:
        from augeoctl.errors import NotFound

        raise NotFound(f'no backup "{backup_id}"', hint="`augeoctl backup list` shows them")
    item = match[0]
    window = next((w for w in pg.window().to_dict()["windows"] if w["backup_id"] == backup_id), None)

    def text(r: dict[str, Any]) -> str:
        b = r["backup"]
        lines = [f"backup {b['id']} ({b['kind']})"]
        for key in ("started_at", "finished_at", "size_bytes", "start_lsn", "stop_lsn", "timeline", "location"):
            if b.get(key) is not None:
                lines.append(f"  {key:<14}{human_bytes(b[key]) if key == 'size_bytes' else b[key]}")
        if b.get("damaged"):
            lines.append(f"  damaged       {b['damaged']} (not used by restores)")
        v = b.get("verified")
        lines.append(f"  verified      {_verified_text(v)}" + (f": failed {', '.join(v['failed'])}" if v and v["failed"] else ""))
        if r["window"]:
            w = r["window"]
            lines.append(f"  window        {w['earliest'] or '-'} .. {w['latest'] or '-'} "
                         f"(WAL {w['first_segment']} .. {w['last_segment']})")
        return "\n".join(lines)

    emit({"backup": item, "window": window}, text)


def _verify_text(r: dict[str, Any]) -> str:
    out = []
    for v in r["results"]:
        out.append(f"{v['backup_id']} ({v['kind']}): {'OK' if v['ok'] else 'FAILED'}")
        for c in v["checks"]:
            out.append(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}")
    return "\n".join(out)


@backup.command()
@click.argument("backup_id", required=False, shell_complete=complete_backups)
@click.option("--redis", is_flag=True, help="Verify a Redis backup (the newest when no ID is given).")
@common_options
def verify(backup_id: str | None, redis: bool) -> None:
    """Verify a backup (default: the newest PostgreSQL backup).

    PostgreSQL: pg_verifybackup against the manifest, WAL continuity from the backup's
    start to the newest archived segment, and every one of those segments read through
    with pg_waldump (results cached per segment). With no ID, the newest usable backup;
    a damaged backup (bad metadata) fails. Redis: load the RDB into a throwaway
    redis-server and compare the key count and a sample of values. Exits 4 when a
    check fails.
    """
    s = settings()
    rep = reporter()
    if redis or (backup_id and backup_id.startswith("redis-")):
        result = platform_for(s).redis().verify_backup(backup_id, rep)
    else:
        result = platform_for(s).postgres().verify_backup(backup_id, rep)
    catalogue.record(s.home, s.env.name, result, datetime.now(UTC))
    emit({"results": [result.to_dict()], "ok": result.ok}, _verify_text)
    if not result.ok:
        failed = ", ".join(c.name for c in result.checks if not c.ok)
        raise VerdictFailed(f"backup {result.backup_id} failed verification: {failed}")


__all__ = ["backup", "format_time"]
