"""The sandbox's two API slots: which release each holds, and the releases installed.

``sandbox/slots.json`` holds both slots' records in one file, replaced atomically, so a
swap exchanges them in one step: ``{"production": RELEASE, "staging": RELEASE | null}``.
A release is ``{"version", "description", "faults"?}``; releases are installed as
``AUGEO_HOME/releases/VERSION.json``. The releases augeoctl ships (a good one, one whose
readiness fails, one that breaks an API route) are package resources
``release-VERSION.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from augeoctl.errors import UsageError
from augeoctl.releases import PRODUCTION, STAGING, check_version

INITIAL_RELEASE = "1.0.0"  # what a new sandbox's production slot runs


def shipped_versions() -> list[str]:
    folder = resources.files("augeoctl.local") / "resources"
    return sorted(p.name[len("release-"):-len(".json")] for p in folder.iterdir()
                  if p.name.startswith("release-") and p.name.endswith(".json"))


def _shipped(version: str) -> dict[str, Any] | None:
    res = resources.files("augeoctl.local") / "resources" / f"release-{version}.json"
    return json.loads(res.read_text(encoding="utf-8")) if res.is_file() else None


def _read_release(path: Path) -> dict[str, Any]:
    source = path / "release.json" if path.is_dir() else path
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{source} is not a release: {exc}",
                         hint='a release is a JSON file (or a folder with release.json) like {"version": "1.4.0"}') from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise UsageError(f"{source} is not a release: it names no version",
                         hint='a release is a JSON file (or a folder with release.json) like {"version": "1.4.0"}')
    check_version(data["version"])
    faults = data.get("faults", {})
    if not isinstance(faults, dict) or set(faults) - {"ready", "status_500"}:
        raise UsageError(f"{source}: faults may only be \"ready\" and \"status_500\"")
    return {k: data[k] for k in ("version", "description", "faults") if k in data}


class SlotStore:
    """``slots.json`` and the installed releases of one sandbox."""

    def __init__(self, sandbox_dir: Path, home: Path) -> None:
        self.file = sandbox_dir / "slots.json"
        self.releases = home / "releases"

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {PRODUCTION: None, STAGING: None}
        except ValueError as exc:
            raise UsageError(f"{self.file} is damaged ({exc})",
                             hint="remove it: the production slot starts again with the first release") from None
        return {PRODUCTION: data.get(PRODUCTION), STAGING: data.get(STAGING)}

    def save(self, slots: dict[str, Any]) -> None:
        """Replace both records at once (a swap is one rename)."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".slots-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(slots, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # the service user's workers read it
        os.replace(tmp, self.file)

    def ensure_production(self) -> dict[str, Any]:
        """The production slot's release, the first one when the sandbox is new."""
        slots = self.load()
        if not slots[PRODUCTION]:
            slots[PRODUCTION] = self.resolve(INITIAL_RELEASE)
            self.save(slots)
        return slots[PRODUCTION]

    def resolve(self, artifact: str) -> dict[str, Any]:
        """A release from a path (a JSON file or a folder with release.json), an installed
        version or a shipped one; installed under ``releases/`` when new."""
        path = Path(artifact)
        if os.sep in artifact or artifact.endswith(".json") or path.is_dir():
            if not path.exists():
                raise UsageError(f"no release at {artifact}", hint="give a release file or folder, or a version")
            release = _read_release(path)
        else:
            check_version(artifact)
            installed = self.releases / f"{artifact}.json"
            release = _read_release(installed) if installed.exists() else _shipped(artifact)  # type: ignore[assignment]
            if release is None:
                known = sorted({*shipped_versions(), *(p.stem for p in self.releases.glob("*.json"))})
                raise UsageError(f"no release {artifact} is installed or shipped",
                                 hint="give a release file or folder, or one of: " + ", ".join(known))
        self.releases.mkdir(parents=True, exist_ok=True)
        target = self.releases / f"{release['version']}.json"
        if not target.exists():
            target.write_text(json.dumps(release, indent=2), encoding="utf-8")
        return release
