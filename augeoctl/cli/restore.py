"""``augeoctl restore`` and ``augeoctl targets``: point-in-time restore into a new target."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click

from augeoctl.backends.base import check_target_name
from augeoctl.backends.verification import FULL_VERIFY_MAX_BYTES, MODES
from augeoctl.cli.common import (
    command_lock,
    common_options,
    complete_backups,
    complete_targets,
    confirm_by_name,
    emit,
    exclusive,
    reporter,
    settings,
    table,
    wait_option,
)
from augeoctl.drill.journal import refuse_if_unfinished
from augeoctl.errors import UsageError
from augeoctl.platform import platform_for
from augeoctl.timeparse import format_duration, parse_time


def _plan_text(p: dict[str, Any]) -> str:
    if p["backup"]["start_lsn"] is None and "network" in p:
        return _cloud_plan_text(p)
    lines = [
        "restore plan (dry run: nothing was changed)",
        f"  target        {p['target']} (new instance)",
        f"  backup        {p['backup']['id']} (finished {p['backup']['finished_at']}, "
        f"WAL {p['backup']['start_lsn']}..{p['backup']['stop_lsn']})",
        (f"  recover to    just before transaction {p['before_xid']} commits (at {p['xid_committed_at']})"
         if p["mode"] == "xid" else
         f"  recover to    {p['to_time'] or 'the newest archived transaction'}"
         + (" (replay all archived WAL)" if p["mode"] == "end" else "")),
        f"  WAL to replay {p['wal_first']} .. {p['wal_last']}",
        f"  window        {p['window']['earliest']} .. {p['window']['latest']}",
    ]
    if p["cleanup"]:
        lines.append(f"  will remove   half-made target(s): {', '.join(p['cleanup'])}")
    for b in p.get("skipped_damaged") or []:
        lines.append(f"  skipped       damaged backup {b['id']}: {b['damaged']}")
    return "\n".join(lines)


def _network_text(n: dict[str, Any]) -> str:
    if n.get("delegated_subnet_resource_id"):
        return (f"subnet {n['delegated_subnet_resource_id']}, private DNS zone "
                f"{n.get('private_dns_zone_arm_resource_id') or '-'}")
    return f"public network access {n.get('public_network_access') or 'default'}"


def _cloud_plan_text(p: dict[str, Any]) -> str:
    """A plan of a cloud restore (a new server, no WAL of ours to replay)."""
    return "\n".join([
        "restore plan (dry run: nothing was changed)",
        f"  target        {p['target']} (new server in {p.get('location')})",
        f"  recover to    {p['to_time'] or ('the newest geo-replicated backup' if p['mode'] == 'geo' else 'now')}",
        f"  window        {p['window']['earliest']} .. {p['window']['latest']}",
        f"  network       {_network_text(p['network'])}",
    ])


def _reapplied_text(a: dict[str, Any]) -> list[str]:
    lines = [f"  re-applied      {a['firewall_rules']} firewall rule(s), {a['server_parameters']} server "
             f"parameter(s)" + (f": {', '.join(a['parameters'])}" if a.get("parameters") else "")]
    if a.get("read_only_skipped"):
        lines.append(f"  not re-applied  {', '.join(a['read_only_skipped'])} (read-only, managed by Azure)")
    if a.get("static"):
        lines.append(f"  restarted for   {', '.join(a['static'])} (static parameters)")
    if a.get("pending_restart"):
        lines.append(f"  PENDING RESTART {', '.join(a['pending_restart'])}")
    return lines


def _result_text(r: dict[str, Any]) -> str:
    lines = [
        f"restored into new target {r['target']}",
        f"  dsn             {r['dsn']}",
        f"  requested       {r['requested'] or 'latest'}"
        + (f" (before transaction {r['before_xid']})" if r.get("before_xid") else ""),
        f"  recovery point  {r['recovery_point'] or 'no transaction replayed'} (newest replayed commit)",
        *([f"  archive end     {r['archive_end']} (newest archived commit)"] if r.get("archive_end") else []),
        *(["  PARTIAL         replay stopped before the point the archive holds (--allow-partial)"]
          if r.get("partial") else []),
        *([f"  from backup     {r['backup_id']}, {r['wal_segments_replayed']} WAL segment(s) replayed"]
          if "reapplied" not in r else [f"  server          {r.get('location')}, {_network_text(r['network'])}",
                                        *_reapplied_text(r["reapplied"])]),
        "",
        table([[p["name"], format_duration(p["seconds"])] for p in r["phases"]]
              + [["total", format_duration(r["total_seconds"])]], ["PHASE", "TIME"]),
        "",
        f"verification ({r.get('verify', 'full')}):",
    ]
    for c in r["verification"]:
        lines.append(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}")
    if r["tables"]:
        guessed = set(r.get("estimated_tables", []))
        lines.append("tables: " + ", ".join(f"{k}={'~' if k in guessed else ''}{v}" for k, v in r["tables"].items())
                     + (" (~: the planner's estimate, --verify quick)" if guessed else ""))
    return "\n".join(lines)


@click.command()
@click.option("--to-time", "to_time", metavar="TIME",
              help="Recovery target: RFC 3339 with offset or Z, `now`, or relative like -15m.")
@click.option("--latest", is_flag=True, help="Recover to the newest archived transaction.")
@click.option("--before-xid", "before_xid", metavar="XID",
              help="Recover to just before transaction XID commits (as `augeoctl wal search` "
                   "prints it): recovery_target_xid, not inclusive.")
@click.option("--target", metavar="NAME", help="Name of the new target (default: generated).")
@click.option("--geo", is_flag=True,
              help="Azure: restore the newest geo-replicated backup (up to an hour behind the server) "
                   "into the paired region of the server's region, or the environment's geo_location. "
                   "Azure offers no point in time there, so it takes no --to-time.")
@click.option("--redis", "redis_", is_flag=True,
              help="Restore a Redis backup (the newest, or --backup ID) into a NEW redis-server "
                   "target and count its keys; the live Redis is untouched. Local sandbox only.")
@click.option("--backup", "backup_id", metavar="ID", shell_complete=complete_backups,
              help="With --redis: the Redis backup to restore.")
@click.option("--subnet", metavar="ID",
              help="Azure: delegated subnet (resource id) of the new server; default: the source's.")
@click.option("--private-dns-zone", "private_dns_zone", metavar="ID",
              help="Azure: private DNS zone (resource id) of the new server; default: the source's.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--verify", "verify", type=click.Choice(MODES), default="auto", show_default=True,
              help="How deep the new target is checked: full (pg_amcheck of every page and index, "
                   "exact row counts), quick (sampled heap checks, row estimates), auto (full up to "
                   f"{FULL_VERIFY_MAX_BYTES // 2**30} GiB of data, quick above).")
@click.option("--allow-partial", is_flag=True,
              help="Keep a restore whose replay stopped before the point the archive holds "
                   "(damaged or missing WAL): exit 0 with a warning and `partial: true`.")
@wait_option
@common_options
def restore(to_time: str | None, latest: bool, before_xid: str | None, target: str | None, geo: bool,
            redis_: bool, backup_id: str | None, subnet: str | None, private_dns_zone: str | None,
            dry_run: bool, allow_partial: bool, verify: str, wait: str) -> None:
    """Point-in-time restore into a NEW target, then verify it.

    Picks the newest base backup that finished before the time, copies it into a new
    instance, replays archived WAL up to the time and promotes, then checks it with
    pg_amcheck and queries. The source is never stopped, written to or reconfigured.

    Where replay stopped is compared with what the archive holds (--latest: its newest
    transaction; --to-time: the requested time). Short of it (a damaged or missing WAL
    segment), the restore fails (exit 1) and the target is kept, marked failed, unless
    --allow-partial is given. A --to-time restore never recovers past the requested time.

    --before-xid XID stops replay right before that transaction's commit record (found
    in the archived WAL), so it and everything committed after it are not replayed; the
    restore fails unless replay read that commit. Local sandbox only.

    On Azure the target is a new Flexible Server: point-in-time in the source's region, or
    with --geo from the newest geo-replicated backup in the paired region (or geo_location;
    it trails the server by up to an hour, and Azure restores no other point there), in the
    source's network unless --subnet / --private-dns-zone override it. Read-only
    server parameters are not re-applied (named); static ones are followed by a restart.
    A server with private access is verified only from inside its virtual network (exit 3
    otherwise). A failure after the server was created names it and `targets drop`.

    Holds the AUGEO_HOME lock while it runs (one writer at a time; not with --dry-run):
    while another command holds it, exits 3 naming that command, or waits up to --wait.
    """
    if redis_ or backup_id is not None:
        _restore_redis(redis_, backup_id, target, dry_run, wait,
                       others=[name for name, given in (("--to-time", to_time), ("--latest", latest),
                                                        ("--before-xid", before_xid), ("--geo", geo),
                                                        ("--subnet", subnet), ("--private-dns-zone", private_dns_zone),
                                                        ("--allow-partial", allow_partial),
                                                        ("--verify", verify != "auto")) if given])
        return
    xid = _xid(before_xid) if before_xid is not None else None
    if xid is not None and (to_time is not None or latest or geo):
        raise UsageError("--before-xid is the recovery target: give it without --to-time, --latest or --geo",
                         hint="e.g. --before-xid 7352 (the xid `augeoctl wal search` prints)")
    if geo and to_time is not None:
        # Microsoft's backup documentation: a geo-restore recovers the last backup data the
        # paired region holds; point-in-time restore of geo-redundant backups is not offered.
        raise UsageError("--geo restores the newest geo-replicated backup; Azure restores no other point "
                         "in the paired region, so it takes no --to-time",
                         hint="restore --geo --latest; for a point in time, restore in the server's own "
                              "region: restore --to-time T")
    if geo:
        latest = True  # the newest geo-replicated backup
    if xid is None and (to_time is None) == (not latest):
        raise UsageError("give exactly one of --to-time TIME, --before-xid XID and --latest",
                         hint="e.g. --to-time 2026-11-24T18:05:00Z, --to-time -15m, or --latest")
    when = parse_time(to_time) if to_time is not None else None
    if target is not None:
        check_target_name(target)  # bad input is refused before the lock creates anything
    platform = platform_for(settings())
    with nullcontext() if dry_run else command_lock(wait):  # planned under the lock too
        refuse_if_unfinished(platform)  # a drill left the sandbox damaged: repair it first
        backend = platform.postgres()
        if geo:
            plan = platform.plan_geo_restore(target)
        elif xid is not None:
            plan = backend.plan_restore_before_xid(xid, target)
        else:
            plan = backend.plan_restore(when, target)
        plan = platform.place_restore(plan, subnet, private_dns_zone)
        plan = replace(plan, allow_partial=allow_partial, verify=verify)
        if dry_run:
            emit({"dry_run": True, "plan": plan.to_dict()}, lambda r: _plan_text(r["plan"]))
            return
        result = backend.restore(plan, reporter())
    emit(result.to_dict(), _result_text)


def _restore_redis(redis_: bool, backup_id: str | None, target: str | None, dry_run: bool, wait: str,
                   others: list[str]) -> None:
    """``restore --redis``: a stored RDB into a new redis-server target."""
    if not redis_:
        raise UsageError("--backup names a Redis backup: give it with --redis",
                         hint="e.g. augeoctl restore --redis --backup redis-20261124T180500Z")
    if others:
        raise UsageError(f"--redis restores an RDB snapshot; it takes no {', '.join(others)}",
                         hint="augeoctl restore --redis [--backup ID] [--target NAME]")
    name = check_target_name(target) if target else "redis-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    platform = platform_for(settings())
    with nullcontext() if dry_run else command_lock(wait):
        refuse_if_unfinished(platform)
        chosen = platform.redis_restore_source(backup_id)  # the newest when no ID; a bad ID exits 2 here
        if dry_run:
            emit({"dry_run": True, "plan": {"kind": "redis", "target": name, "backup_id": chosen.id}},
                 lambda r: "restore plan (dry run: nothing was changed)\n"
                           f"  target        {r['plan']['target']} (new redis-server)\n"
                           f"  backup        {r['plan']['backup_id']}")
            return
        with reporter().step(f"restoring Redis backup {chosen.id} into new target {name}"):
            made = platform.restore_redis_target(chosen.id, name)
    emit({"kind": "redis", "target": made.name, "url": made.url, "backup_id": made.backup_id, "keys": made.keys},
         lambda r: f"restored Redis backup {r['backup_id']} into new target {r['target']}: {r['keys']} keys at "
                   f"{r['url']}\n  drop it with: augeoctl targets drop {r['target']}")


def _xid(text: str) -> int:
    """A transaction id as PostgreSQL prints it (a positive integer)."""
    if not text.strip().isdigit() or not 3 <= int(text) < 2**63:
        raise UsageError(f"--before-xid {text!r} is not a transaction id",
                         hint="give the xid `augeoctl wal search` prints, e.g. --before-xid 7352")
    return int(text)


@click.group()
@common_options
def targets() -> None:
    """Instances made by restores: list and drop them."""


@targets.command("list")
@common_options
def targets_list() -> None:
    """List restored targets with their state and recovery point."""
    items = [t.to_dict() for t in platform_for(settings()).postgres().list_targets()]

    def text(r: dict[str, Any]) -> str:
        if not r["targets"]:
            return "no restored targets"
        return table([[t["name"], t["status"], t["reached"] or "-", t["dsn"] or "-"]
                      for t in r["targets"]], ["NAME", "STATUS", "RECOVERY POINT", "DSN"])

    emit({"targets": items}, text)


@targets.command("copy-back")
@click.argument("name", shell_complete=complete_targets)
@click.option("--replace", is_flag=True,
              help="Overwrite keys the live Redis holds (default: keep them: they were written since it came back).")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; write nothing.")
@common_options
@exclusive
def targets_copy_back(name: str, replace: bool, dry_run: bool) -> None:
    """Copy a restored Redis target's keys into the live Redis (sandbox).

    Each key goes with its remaining time to live (DUMP/RESTORE). Keys the live Redis
    already holds are kept unless --replace; keys that expired meanwhile are skipped. The
    target stays until `targets drop`. On Azure the cache is restored by importing an
    export instead (runbooks/redis-loss.md).
    """
    result = platform_for(settings()).copy_back_redis_target(name, replace=replace, dry_run=dry_run)
    verb = "would copy" if dry_run else "copied"
    emit(result, f"{verb} {result['copied']} key(s) from {name} into {result['into']}; "
                 f"kept {result['kept_live']} the live Redis already held"
                 + (f"; {result['expired']} expired meanwhile" if result["expired"] else ""))


@targets.command("drop")
@click.argument("name", shell_complete=complete_targets)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for the name to be typed.")
@common_options
@exclusive
def targets_drop(name: str, yes: bool) -> None:
    """Stop and delete a restored target (asks for its name unless --yes).

    Holds the AUGEO_HOME lock (one writer at a time): while another command (a restore)
    holds it, exits 3 naming that command, or waits up to --wait. A target whose restore
    is still running is refused (exit 3) in any case.
    """
    backend = platform_for(settings()).postgres()
    known = {t.name for t in backend.list_targets()}
    if name not in known:
        raise UsageError(f'no restored target "{name}"', hint="`augeoctl targets list` shows them")
    confirm_by_name(name, yes, f"dropping target {name}")
    backend.drop_target(name, reporter())
    emit({"dropped": name}, f"dropped target {name}")
