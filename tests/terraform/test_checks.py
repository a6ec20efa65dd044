"""Offline static checks of terraform/: ``terraform fmt`` and checkov.

Checkov pins an old ``packaging`` that conflicts with pytest, so it lives in its own
virtualenv: the test runs the executable named by ``AUGEO_CHECKOV`` (the nox sessions set
it), else ``checkov`` on PATH. Every check skipped inline must say why:
``#checkov:skip=CKV_AZURE_225:<reason>``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tfparse

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = tfparse.ROOT
CHECKOV_ARGS = ("--skip-download", "--framework", "terraform", "--output", "json", "--quiet")

# Checkov reads `checkov:skip=ID[:comment]` (and the older `bridgecrew:skip=`) in comments.
_SKIP = re.compile(r"(?:checkov|bridgecrew):skip=\s*([^\s:]*)(?::(.*))?")


@dataclass(frozen=True)
class Failed:
    check_id: str
    name: str
    resource: str
    file: str
    lines: tuple[int, int]

    def __str__(self) -> str:
        return (f"{self.check_id} {self.resource} ({self.file}:{self.lines[0]}-{self.lines[1]}): "
                f"{self.name}")


def _tf_files(root: Path = TERRAFORM) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)


def _require_terraform() -> None:
    if not _tf_files():
        pytest.skip(f"no .tf files under {TERRAFORM.relative_to(REPO)} yet")


def checkov_executable() -> str | None:
    return os.environ.get("AUGEO_CHECKOV") or shutil.which("checkov")


def failed_checks(report: Any) -> list[Failed]:
    """The failed checks of checkov's JSON output (one report, or a list of reports)."""
    reports = report if isinstance(report, list) else [report]
    out: list[Failed] = []
    for rep in reports:
        for item in (rep.get("results") or {}).get("failed_checks", []):
            out.append(Failed(
                check_id=item.get("check_id", "?"),
                name=item.get("check_name", ""),
                resource=item.get("resource", "?"),
                file=item.get("repo_file_path") or item.get("file_path", "?"),
                lines=tuple(item.get("file_line_range") or (0, 0)),  # type: ignore[arg-type]
            ))
    return out


def parsing_errors(report: Any) -> int:
    reports = report if isinstance(report, list) else [report]
    return sum(int((rep.get("summary") or {}).get("parsing_errors", 0)) for rep in reports)


def run_checkov(folder: Path, executable: str) -> Any:
    done = subprocess.run([executable, "-d", str(folder), *CHECKOV_ARGS], capture_output=True,
                          text=True, timeout=600, check=False)
    # Exit 1 means "some checks failed"; anything else, or no JSON, means checkov broke.
    if done.returncode not in (0, 1):
        pytest.fail(f"checkov exited {done.returncode}:\n{done.stderr[-3000:]}", pytrace=False)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}",
                    pytrace=False)


def skips_without_reason(text: str, file: str) -> list[str]:
    """``checkov:skip`` comments in ``text`` that lack a check id or a reason."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if "#" not in line and "//" not in line and "/*" not in line:
            continue
        for match in _SKIP.finditer(line):
            check_id, reason = match.group(1), (match.group(2) or "").strip().rstrip("*/").strip()
            if not re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check_id):
                out.append(f"{file}:{number}: {check_id or '(empty)'} is not a checkov check id")
            elif not reason:
                out.append(f"{file}:{number}: skip of {check_id} gives no reason "
                           f"(write #checkov:skip={check_id}:<why>)")
    return out


# --- terraform/ -----------------------------------------------------------------------------


def test_terraform_fmt() -> None:
    _require_terraform()
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    done = subprocess.run([terraform, "fmt", "-check", "-recursive", "-diff", "terraform"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, (
        f"terraform fmt -check failed (run `terraform fmt -recursive terraform`):\n"
        f"{done.stdout}{done.stderr}")


def test_checkov_passes() -> None:
    _require_terraform()
    executable = checkov_executable()
    if executable is None:
        pytest.skip("checkov not found: set AUGEO_CHECKOV or run `nox -s terraform`")
    report = run_checkov(TERRAFORM, executable)
    assert parsing_errors(report) == 0, f"checkov could not parse some files: {report}"
    failed = failed_checks(report)
    assert not failed, f"{len(failed)} failed checkov checks:\n  " + "\n  ".join(map(str, failed))


def test_checkov_skips_give_reasons() -> None:
    _require_terraform()
    problems: list[str] = []
    for path in _tf_files():
        problems += skips_without_reason(path.read_text(), str(path.relative_to(REPO)))
    assert not problems, "\n".join(problems)


# --- the checks themselves ------------------------------------------------------------------


def test_skip_scanner() -> None:
    text = """resource "azurerm_key_vault" "kv" {
  #checkov:skip=CKV_AZURE_109:network ACLs come from the private endpoint
  # checkov:skip=CKV_AZURE_42
  #checkov:skip=CKV2_AZURE_32:\t
  // checkov:skip=CKV_AZURE_110:purge protection off in dev only
  /* checkov:skip=CKV_AZURE_189: */
  #checkov:skip=:no id
  name = "checkov:skip=CKV_AZURE_1 in a string is not a comment"
}
"""
    assert skips_without_reason(text, "main.tf") == [
        "main.tf:3: skip of CKV_AZURE_42 gives no reason (write #checkov:skip=CKV_AZURE_42:<why>)",
        "main.tf:4: skip of CKV2_AZURE_32 gives no reason (write #checkov:skip=CKV2_AZURE_32:<why>)",
        "main.tf:6: skip of CKV_AZURE_189 gives no reason (write #checkov:skip=CKV_AZURE_189:<why>)",
        "main.tf:7: (empty) is not a checkov check id",
    ]


def test_failed_checks_reads_single_and_multiple_reports() -> None:
    item = {"check_id": "CKV_AZURE_189", "check_name": "Key Vault disables public access",
            "resource": "azurerm_key_vault.kv", "repo_file_path": "/terraform/main.tf",
            "file_line_range": [1, 9]}
    single = {"check_type": "terraform", "results": {"failed_checks": [item]}}
    assert [str(f) for f in failed_checks(single)] == [
        "CKV_AZURE_189 azurerm_key_vault.kv (/terraform/main.tf:1-9): "
        "Key Vault disables public access"]
    assert len(failed_checks([single, single])) == 2
    # What checkov prints when a folder has nothing to check.
    assert failed_checks({"passed": 0, "failed": 0, "skipped": 0}) == []


def test_checkov_reports_a_bad_resource(tmp_path: Path) -> None:
    executable = checkov_executable()
    if executable is None:
        pytest.skip("checkov not found: set AUGEO_CHECKOV or run `nox -s terraform`")
    (tmp_path / "main.tf").write_text('''resource "azurerm_key_vault" "kv" {
  #checkov:skip=CKV_AZURE_109:proves that an inline skip is honoured
  name                          = "kv-example"
  location                      = "westeurope"
  resource_group_name           = "rg-example"
  tenant_id                     = "00000000-0000-0000-0000-000000000000"
  sku_name                      = "standard"
  public_network_access_enabled = true
}
''')
    report = run_checkov(tmp_path, executable)
    ids = {f.check_id for f in failed_checks(report)}
    assert "CKV_AZURE_189" in ids  # public network access enabled
    assert "CKV_AZURE_109" not in ids
    assert report["summary"]["skipped"] == 1  # --quiet lists failed checks only
