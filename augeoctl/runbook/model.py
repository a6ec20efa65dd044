"""Runbooks as data: plain Markdown files whose tagged shell blocks are the steps.

The convention (``runbooks/README.md`` documents it for authors):

- A step is a fenced block tagged ``sh {env=local,azure}``; ``destructive`` among the
  attributes (``sh {env=local destructive}``) makes ``runbook run`` ask first. An
  ``sh`` block without attributes is shown, never run.
- Inside a step, ``# capture: NAME=.path[0].field`` reads the step's ``--output json``
  and passes the value on as ``$NAME`` to later steps; ``# if this fails: ...`` is the
  next thing to try, shown when the step fails.
- The step's title is the nearest heading above it.
- Every runbook has the sections ``REQUIRED_SECTIONS`` (headings of level 2).

Runbooks ship inside the package (``augeoctl/runbook/runbooks``, a link to the
repository's ``runbooks/`` folder that the wheel holds as files), so a checkout and an
installed wheel find the same ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from augeoctl.errors import NotFound, UsageError

ENVIRONMENTS = ("local", "azure")
# The level-2 headings every runbook has, in this order (checked by the tests).
REQUIRED_SECTIONS = (
    "Symptoms and how to confirm",
    "Decision points",
    "Steps",
    "Verification",
    "Expected RTO and RPO",
    "Escalation",
)
_FENCE = re.compile(r"^```(\S*)[ \t]*(\{[^}\n]*\})?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_CAPTURE = re.compile(r"^\s*#\s*capture:\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$")
_IF_FAILS = re.compile(r"^\s*#\s*if this fails:\s*(.+?)\s*$", re.I)
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Capture:
    name: str
    path: str  # ``.a.b[0].c``

    def extract(self, document: Any) -> str:
        """The value at ``path`` in a JSON document, as the shell gets it."""
        value = document
        for key, index in _parts(self.path):
            try:
                value = value[key] if key is not None else value[index]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                raise LookupError(f"{self.path} is not in the step's JSON output") from None
        if value is None:
            raise LookupError(f"{self.path} is null in the step's JSON output")
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"  # as JSON writes it
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)


def _parts(path: str) -> list[tuple[str | None, int | None]]:
    if not path.startswith((".", "[")):
        raise ValueError(path)
    parts: list[tuple[str | None, int | None]] = []
    pos = 0
    while pos < len(path):
        m = _PATH_PART.match(path, pos)
        if not m:
            raise ValueError(path)
        parts.append((m.group(1), None) if m.group(1) else (None, int(m.group(2))))
        pos = m.end()
    return parts


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, in the order of the file
    title: str
    script: str
    environments: tuple[str, ...]
    destructive: bool = False
    captures: tuple[Capture, ...] = ()
    if_fails: str | None = None
    line: int = 0  # where the block starts in the file

    def runs_on(self, kind: str) -> bool:
        return kind in self.environments

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "environments": list(self.environments),
                "destructive": self.destructive, "script": self.script,
                "captures": {c.name: c.path for c in self.captures}, "if_fails": self.if_fails}


@dataclass(frozen=True)
class Runbook:
    name: str  # the file name without .md
    title: str
    path: Path
    text: str
    steps: tuple[Step, ...]
    sections: tuple[str, ...] = field(default=())  # its level-2 headings

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(e for e in ENVIRONMENTS if any(s.runs_on(e) for s in self.steps))

    def missing_sections(self) -> list[str]:
        have = [s.lower() for s in self.sections]
        return [s for s in REQUIRED_SECTIONS if not any(h.startswith(s.lower()) for h in have)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "path": str(self.path),
                "environments": list(self.environments), "steps": [s.to_dict() for s in self.steps]}


def parse(text: str, name: str, path: Path) -> Runbook:
    """A runbook from its Markdown; a malformed step tag is a UsageError naming the line."""
    headings = [(m.start(), len(m.group(1)), m.group(2)) for m in _HEADING.finditer(_without_fences(text))]
    title = next((h for _, level, h in headings if level == 1), name)
    steps: list[Step] = []
    for m in _FENCE.finditer(text):
        lang, attrs, body = m.group(1), m.group(2), m.group(3)
        line = text.count("\n", 0, m.start()) + 1
        if attrs is None:
            continue
        where = f"{path.name} line {line}"
        if lang not in ("sh", "bash"):
            raise UsageError(f"{where}: a step is a `sh` block, not `{lang}`",
                             hint="tag it ```sh {env=local}```")
        envs: tuple[str, ...] = ()
        destructive = False
        for token in attrs.strip("{}").split():
            key, eq, value = token.partition("=")
            if key == "env" and eq:
                envs = tuple(v for v in value.split(",") if v)
                unknown = set(envs) - set(ENVIRONMENTS)
                if unknown or not envs:
                    raise UsageError(f"{where}: unknown environment(s) {sorted(unknown) or value!r}",
                                     hint="env= takes local, azure or local,azure")
            elif token == "destructive":
                destructive = True
            else:
                raise UsageError(f"{where}: unknown step attribute {token!r}",
                                 hint="a step takes env=local,azure and destructive")
        if not envs:
            raise UsageError(f"{where}: a step names its environments", hint="e.g. ```sh {env=local}```")
        captures: list[Capture] = []
        fails: list[str] = []
        for ln in body.splitlines():
            c = _CAPTURE.match(ln)
            if c:
                try:
                    _parts(c.group(2))
                except ValueError:
                    raise UsageError(f"{where}: capture path {c.group(2)!r} is not valid",
                                     hint="a path is like .target or .transactions[0].xid") from None
                captures.append(Capture(c.group(1), c.group(2)))
            elif ln.strip().lower().startswith("# capture"):
                raise UsageError(f"{where}: cannot read {ln.strip()!r}", hint="write # capture: NAME=.path")
            f = _IF_FAILS.match(ln)
            if f:
                fails.append(f.group(1))
        step_title = next((h for pos, _lvl, h in reversed(headings) if pos < m.start()), title)
        steps.append(Step(number=len(steps) + 1, title=step_title, script=body, environments=envs,
                          destructive=destructive, captures=tuple(captures),
                          if_fails=" ".join(fails) or None, line=line))
    sections = tuple(h for _, level, h in headings if level == 2)
    return Runbook(name=name, title=title, path=path, text=text, steps=tuple(steps), sections=sections)


def _without_fences(text: str) -> str:
    """The text with code blocks blanked (same length), so a ``#`` comment is no heading."""
    return re.sub(r"^```.*?^```", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.M | re.S)


def runbooks_dir() -> Path:
    """Where the runbooks are: the package's ``runbooks`` folder (the repository's, in a checkout)."""
    return Path(str(resources.files("augeoctl.runbook") / "runbooks"))


def all_runbooks(folder: Path | None = None) -> list[Runbook]:
    folder = folder or runbooks_dir()
    return [load(p.stem, folder) for p in sorted(folder.glob("*.md")) if p.name != "README.md"]


def load(name: str, folder: Path | None = None) -> Runbook:
    """A shipped runbook by NAME, or a Markdown file by path (``./incident.md``): a team's own
    runbook that follows the same convention."""
    if name.endswith(".md"):
        own = Path(name).expanduser()
        if not own.is_file():
            raise NotFound(f"no runbook file {name}", hint="give the path of a Markdown file, or a runbook name "
                                                            "(`augeoctl runbook list`)")
        return parse(own.read_text(), own.stem, own)
    folder = folder or runbooks_dir()
    path = folder / f"{name}.md"
    if not _NAME.fullmatch(name) or not path.is_file():
        names = ", ".join(p.stem for p in sorted(folder.glob("*.md")) if p.name != "README.md")
        raise NotFound(f"no runbook named {name!r}", hint=f"`augeoctl runbook list` shows them: {names}")
    return parse(path.read_text(), name, path)
