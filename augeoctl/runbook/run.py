"""Running a runbook's steps, and the run records kept as evidence.

Each step runs as one ``bash`` script (``set -euo pipefail``) with ``augeoctl`` on the
PATH resolving to this installation (``sys.executable -m augeoctl``), the caller's
variables (``AUGEO_HOME``, ``AUGEO_ENV`` of the run) and the values captured by earlier
steps as variables.
Steps run in order; the first failure stops the run. A destructive step is confirmed
first (the caller's ``confirm``) unless ``yes``; with no way to ask, nothing runs.

The record of a run (``AUGEO_HOME/runbook-runs/ID.json`` and ``ID.md``) says who ran
what, when, on which environment, and per step its time, exit code, output excerpt and
captured values; it is rewritten after every step, so a killed run leaves its evidence.
Secrets (passwords in URLs and DSNs, ``password=`` pairs, the values of environment
variables named like secrets) are masked in everything written.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from augeoctl.errors import Interrupted, OperationFailed, UsageError
from augeoctl.progress import Reporter
from augeoctl.runbook.model import Runbook, Step
from augeoctl.timeparse import format_duration, format_time

RUNS_DIR = "runbook-runs"
EXCERPT_LINES = 40
EXCERPT_CHARS = 4000
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|ACCESS_KEY|CONNECTION_STRING", re.I)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.I)
_PAIR_PASSWORD = re.compile(r"\b(password|passwd|pwd|secret|token)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)", re.I)
MASK = "***"


class RunbookFailed(OperationFailed):
    """A step of a runbook failed (or was not confirmed); the run stopped there."""


STEP_GRACE_SECONDS = 30  # an interrupted step's processes may take this long to stop on SIGINT


def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
    """``sig`` to every process of a step's group (the group outlives its leader)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def mask(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with secrets replaced by ``***``."""
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    text = _PAIR_PASSWORD.sub(rf"\g<1>\g<2>{MASK}", text)
    for name, value in (environ if environ is not None else os.environ).items():
        if _SECRET_NAME.search(name) and len(value) >= 4:
            text = text.replace(value, MASK)
    return text


@dataclass
class StepRecord:
    number: int
    title: str
    destructive: bool
    status: str  # ok, failed, declined, interrupted, skipped (before --from-step)
    started_at: str | None = None
    seconds: float | None = None
    exit_code: int | None = None
    output: str = ""  # the excerpt: the last lines of stdout and stderr, as they came
    captured: dict[str, str] = field(default_factory=dict)
    detail: str | None = None
    if_fails: str | None = None


@dataclass
class RunRecord:
    id: str
    runbook: str
    title: str
    environment: str
    kind: str
    who: str
    command: str
    started_at: str
    finished_at: str | None = None
    result: str = "running"  # passed, failed, declined, interrupted
    from_step: int = 1
    resumed_from: str | None = None
    seconds: float | None = None
    steps: list[StepRecord] = field(default_factory=list)
    captured: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        steps = [StepRecord(**s) for s in d.get("steps", [])]
        return cls(**{**d, "steps": steps})


def runs_dir(home: Path) -> Path:
    return home / RUNS_DIR


def read_records(home: Path, runbook: str | None = None) -> list[RunRecord]:
    """Run records, oldest first; unreadable ones are skipped."""
    out = []
    for p in sorted(runs_dir(home).glob("*.json")):
        try:
            record = RunRecord.from_dict(json.loads(p.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if runbook is None or record.runbook == runbook:
            out.append(record)
    return sorted(out, key=lambda r: r.started_at)


def markdown(record: RunRecord) -> str:
    """The run record as a Markdown report."""
    lines = [
        f"# Runbook run: {record.title}",
        "",
        "| | |", "|---|---|",
        f"| runbook | `{record.runbook}` |", f"| result | **{record.result.upper()}** |",
        f"| environment | {record.environment} ({record.kind}) |", f"| who | {record.who} |",
        f"| started | {record.started_at} |", f"| finished | {record.finished_at or '-'} |",
        f"| time | {format_duration(record.seconds)} |", f"| command | `{record.command}` |",
    ]
    if record.from_step > 1:
        lines.append(f"| resumed | from step {record.from_step}"
                     + (f", after run {record.resumed_from}" if record.resumed_from else "") + " |")
    lines += ["", "| step | title | result | time | exit |", "|---|---|---|---|---|"]
    for s in record.steps:
        lines.append(f"| {s.number} | {s.title}{' (destructive)' if s.destructive else ''} | {s.status} "
                     f"| {format_duration(s.seconds)} | {'-' if s.exit_code is None else s.exit_code} |")
    for s in record.steps:
        if s.status == "skipped":
            continue
        lines += ["", f"## Step {s.number}: {s.title}", "", f"{s.status}, started {s.started_at}, "
                  f"{format_duration(s.seconds)}" + (f": {s.detail}" if s.detail else "")]
        if s.captured:
            lines.append("")
            lines += [f"- captured `{k}` = `{v}`" for k, v in s.captured.items()]
        if s.status == "failed" and s.if_fails:
            lines += ["", f"If this fails: {s.if_fails}"]
        if s.output:
            lines += ["", "```text", s.output.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


class Runner:
    """Runs the steps of one runbook for one environment and records the run."""

    def __init__(self, runbook: Runbook, *, kind: str, environment: str, home: Path, reporter: Reporter,
                 yes: bool = False, confirm: Callable[[Step], bool] | None = None, from_step: int = 1,
                 command: str = "", environ: dict[str, str] | None = None) -> None:
        self.runbook = runbook
        self.kind = kind
        self.environment = environment
        self.home = home
        self.reporter = reporter
        self.yes = yes
        self.confirm = confirm
        self.from_step = from_step
        self.command = command
        self.environ = dict(environ or {})  # what the steps' augeoctl needs: AUGEO_HOME, AUGEO_ENV

    # -- before anything runs ---------------------------------------------------------

    def _plan(self) -> tuple[list[Step], dict[str, str], RunRecord | None]:
        """The steps to run, the captures carried over from the last run, and that run."""
        steps = [s for s in self.runbook.steps if s.runs_on(self.kind)]
        if not steps:
            raise UsageError(f"runbook {self.runbook.name} has no steps for {self.kind} environments",
                             hint=f"it runs on: {', '.join(self.runbook.environments) or 'nothing (no tagged steps)'}")
        numbers = [s.number for s in steps]
        if self.from_step < 1 or self.from_step > max(numbers):
            raise UsageError(f"--from-step {self.from_step} is not a step of {self.runbook.name} on {self.kind}",
                             hint=f"its steps are {', '.join(map(str, numbers))} (`augeoctl runbook show "
                                  f"{self.runbook.name}` lists them)")
        todo = [s for s in steps if s.number >= self.from_step]
        if not self.yes and any(s.destructive for s in todo) and self.confirm is None:
            first = next(s for s in todo if s.destructive)
            raise UsageError(
                f"step {first.number} ({first.title}) of {self.runbook.name} is destructive and needs "
                "confirmation, and there is no terminal to ask on; nothing was run",
                hint="pass --yes to confirm every destructive step",
            )
        carried: dict[str, str] = {}
        previous = None
        needed = {c.name: s.number for s in steps if s.number < self.from_step for c in s.captures}
        if needed:
            runs = [r for r in read_records(self.home, self.runbook.name) if r.environment == self.environment]
            previous = runs[-1] if runs else None
            have = previous.captured if previous else {}
            missing = {n: k for n, k in needed.items() if n not in have or MASK in have[n]}
            if missing:
                name, number = min(missing.items(), key=lambda item: item[1])
                raise UsageError(
                    f"step {number} captures ${name}, and no earlier run of {self.runbook.name} on "
                    f"{self.environment} recorded it" + (" (its value was masked)" if name in have else ""),
                    hint=f"resume from step {number} or earlier (--from-step {number})",
                )
            carried = {n: have[n] for n in needed}
        return todo, carried, previous

    # -- the run ----------------------------------------------------------------------

    def run(self) -> RunRecord:
        todo, captured, previous = self._plan()
        started = datetime.now(UTC)
        t0 = time.monotonic()
        record = RunRecord(
            id=self._new_id(started), runbook=self.runbook.name, title=self.runbook.title,
            environment=self.environment, kind=self.kind, who=_who(), command=mask(self.command),
            started_at=format_time(started) or "", from_step=self.from_step,
            resumed_from=previous.id if previous else None, captured=dict(captured),
            steps=[StepRecord(s.number, s.title, s.destructive, "skipped")
                   for s in self.runbook.steps if s.runs_on(self.kind) and s.number < self.from_step],
        )
        self._save(record)
        own_term = threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)

        def on_term(_signum: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        old_term = signal.signal(signal.SIGTERM, on_term) if own_term else None
        try:
            with tempfile.TemporaryDirectory(prefix="augeo-runbook-") as shim:
                _write_shim(Path(shim))
                for step in todo:
                    if not self._step(step, record, Path(shim)):
                        break
                else:
                    record.result = "passed"
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
            record.finished_at = format_time(datetime.now(UTC))
            record.seconds = time.monotonic() - t0
            if record.result == "running":
                record.result = "interrupted"
            self._save(record)
        failed = record.steps[-1]
        if record.result == "declined":
            raise RunbookFailed(f"step {failed.number} ({failed.title}) was not confirmed: the run stopped "
                                f"before it; record {self.record_path(record, 'md')}",
                                hint=f"resume with --from-step {failed.number}")
        if record.result == "failed":
            raise RunbookFailed(
                f"step {failed.number} ({failed.title}) failed: {failed.detail}; record "
                f"{self.record_path(record, 'md')}",
                hint=(f"{failed.if_fails} " if failed.if_fails else "see the runbook's Escalation section; ")
                + f"then resume with --from-step {failed.number}",
            )
        return record

    def _step(self, step: Step, record: RunRecord, shim: Path) -> bool:
        rec = StepRecord(step.number, step.title, step.destructive, "running", if_fails=step.if_fails)
        if step.destructive and not self.yes:
            assert self.confirm is not None
            if not self.confirm(step):
                rec.status = "declined"
                record.steps.append(rec)
                record.result = "declined"
                return False
        record.steps.append(rec)
        self.reporter.info(f"step {step.number}: {step.title}")
        rec.started_at = format_time(datetime.now(UTC))
        t0 = time.monotonic()
        env = {k: v for k, v in os.environ.items() if k != "AUGEO_OUTPUT"}
        env.update(record.captured)
        env.update(self.environ)
        env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '')}"
        shell = shutil.which("bash") or "/bin/sh"
        script = ("set -euo pipefail\n" if shell.endswith("bash") else "set -eu\n") + step.script
        try:
            code, stdout, excerpt = self._execute([shell, "-c", script], env)
        except KeyboardInterrupt:
            rec.status, rec.seconds = "interrupted", time.monotonic() - t0
            rec.detail = "interrupted (Ctrl-C or SIGTERM)"
            record.result = "interrupted"
            self._save(record)
            raise Interrupted(f"runbook {self.runbook.name} interrupted at step {step.number} ({step.title}); "
                              f"record {self.record_path(record, 'md')}") from None
        rec.seconds = time.monotonic() - t0
        rec.exit_code = code
        rec.output = mask(excerpt)
        if code != 0:
            rec.status, rec.detail = "failed", f"exit code {code}"
        else:
            try:
                for c in step.captures:
                    value = c.extract(_last_json(stdout, c))
                    record.captured[c.name] = rec.captured[c.name] = mask(value)
                    env[c.name] = value
                rec.status = "ok"
            except LookupError as exc:
                rec.status, rec.detail = "failed", f"capture: {exc}"
        self.reporter.info(f"step {step.number}: {rec.status} ({format_duration(rec.seconds)})"
                           + (f": {rec.detail}" if rec.detail else ""))
        if rec.status == "failed":
            record.result = "failed"
            if rec.output:
                self.reporter.info("its output ended with:\n" + _indent(rec.output, 12))
        self._save(record)
        return rec.status == "ok"

    def _execute(self, cmd: list[str], env: dict[str, str]) -> tuple[int, str, str]:
        """Run a step; its output is shown on stderr as it comes. (exit code, stdout, excerpt)."""
        # Its own process group: an interruption reaches every process of the step (a shell
        # waiting on a child ignores a SIGINT the child did not get), and nothing outlives it.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
        lines: list[str] = []
        out: list[str] = []
        lock = threading.Lock()

        def pump(stream: Any, keep: list[str] | None) -> None:
            for line in stream:
                with lock:
                    lines.append(line)
                    if keep is not None:
                        keep.append(line)
                self.reporter.info("  | " + mask(line.rstrip("\n")))

        threads = [threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
                   threading.Thread(target=pump, args=(proc.stderr, None), daemon=True)]
        for t in threads:
            t.start()
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM reached us: pass SIGINT on to the step's whole group; SIGKILL
            # the group if the step has not stopped after a grace period.
            _signal_group(proc, signal.SIGINT)
            try:
                proc.wait(STEP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            raise
        for t in threads:
            t.join()
        return code, "".join(out), _excerpt(lines)

    # -- records ----------------------------------------------------------------------

    def _new_id(self, started: datetime) -> str:
        base = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{self.runbook.name}"
        folder = runs_dir(self.home)
        n, rid = 1, base
        while (folder / f"{rid}.json").exists():
            n += 1
            rid = f"{base}-{n}"
        return rid

    def record_path(self, record: RunRecord, ext: str) -> Path:
        return runs_dir(self.home) / f"{record.id}.{ext}"

    def _save(self, record: RunRecord) -> None:
        folder = runs_dir(self.home)
        folder.mkdir(parents=True, exist_ok=True)
        for ext, text in (("json", json.dumps(record.to_dict(), indent=2)), ("md", markdown(record))):
            path = self.record_path(record, ext)
            tmp = path.with_suffix(f".{ext}.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)


def _write_shim(folder: Path) -> None:
    """``augeoctl`` for the steps: this interpreter, so this installation."""
    shim = folder / "augeoctl"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m augeoctl \"$@\"\n")
    shim.chmod(0o755)


def _last_json(stdout: str, capture: Any) -> Any:
    """The JSON document in a step's stdout holding the capture (the last one that does)."""
    try:
        return json.loads(stdout)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    docs = []
    for m in re.finditer(r"^[\[{]", stdout, re.M):
        try:
            docs.append(decoder.raw_decode(stdout, m.start())[0])
        except ValueError:
            continue
    for doc in reversed(docs):
        try:
            capture.extract(doc)
            return doc
        except LookupError:
            continue
    if not docs:
        raise LookupError("the step printed no JSON (capturing needs --output json)")
    return docs[-1]


def _excerpt(lines: list[str]) -> str:
    text = "".join(lines[-EXCERPT_LINES:])
    return text[-EXCERPT_CHARS:]


def _indent(text: str, last: int) -> str:
    return "\n".join("  | " + ln for ln in text.rstrip("\n").splitlines()[-last:])


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    sudo = os.environ.get("SUDO_USER")
    return f"{user}{f' (sudo by {sudo})' if sudo else ''}@{socket.gethostname()}"
