"""The one exception tree of augeoctl.

Library code raises these; the CLI edge (``augeoctl.cli``) translates them into a
message on stderr and the exit code documented in the README's exit-code table.
"""

from __future__ import annotations

# Exit codes (README "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # the operation was attempted and failed
EXIT_USAGE = 2  # bad input or configuration: nothing was changed
EXIT_UNREACHABLE = 3  # a dependency (PostgreSQL, Redis, Azure, DNS) could not be reached, or is busy
EXIT_VERDICT = 4  # the tool worked, the verdict is FAIL (drill, SLO gate, audit, health)
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM


class AugeoError(Exception):
    """Base of every error augeoctl reports to a user."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AugeoError):
    """The input is wrong; nothing was changed."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The environments configuration is invalid."""


class TerraformOutputError(UsageError):
    """``terraform output -json`` is unreadable or does not meet the augeoctl contract."""


class TimeParseError(UsageError):
    """A time argument could not be understood."""


class RestoreRefused(UsageError):
    """A restore was refused before anything was created (window, gap, name)."""


class TargetExists(RestoreRefused):
    """A restore's new target (PostgreSQL instance, server, Redis) would take a name in use."""

    def __init__(self, name: str, where: str = "") -> None:
        super().__init__(f'a target named "{name}" already exists{where}',
                         hint=f"choose another --target, or `augeoctl targets drop {name}` if augeoctl made it")


class NotFound(UsageError):
    """A named object (backup, target, environment) does not exist."""


class DependencyError(AugeoError):
    """A dependency could not be reached or is not installed."""

    exit_code = EXIT_UNREACHABLE


class ToolMissing(DependencyError):
    """A required program (pg_ctl, redis-server, ...) is not installed."""


class AuthError(DependencyError):
    """Credentials were refused by a cloud API."""


class Busy(DependencyError):
    """Another augeoctl command holds what this one needs: the command lock of AUGEO_HOME,
    or a target a running restore is making. Nothing was changed; the message names the
    holder (pid, command, since when)."""


class OperationFailed(AugeoError):
    """An operation was attempted and failed."""

    exit_code = EXIT_FAILED


class BackupError(OperationFailed):
    """Taking or verifying a backup failed."""


class RestoreError(OperationFailed):
    """A restore was attempted and failed."""


class SandboxError(OperationFailed):
    """The local sandbox could not be started, stopped or inspected."""


class RepairFailed(OperationFailed):
    """Repairing the sandbox after a drill failed; the message says what was kept and where."""


class VerdictFailed(AugeoError):
    """The tool worked, and its verdict is FAIL.

    Carries the result so the CLI can still render it.
    """

    exit_code = EXIT_VERDICT

    def __init__(self, message: str, *, result: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class PreflightFailed(VerdictFailed):
    """A drill's preflight found the environment unfit: the drill stopped before the
    disaster, nothing was damaged, and the report records it as aborted (a FAIL verdict)."""


class UnfinishedDrill(AugeoError):
    """A drill did not finish (killed, power cut, or its repair failed) and left the sandbox
    damaged; what would build on the sandbox refuses until `augeoctl sandbox repair` ran.

    Exit 4 rather than 2: the input is fine, the sandbox's state is what fails the check,
    as with a crashed sandbox server (README "Exit codes").
    """

    exit_code = EXIT_VERDICT


class AuditUnreachable(VerdictFailed):
    """An audit could not get answers from its dependency (DNS); the partial result was written."""

    exit_code = EXIT_UNREACHABLE


class Interrupted(AugeoError):
    """The operation was interrupted (signal); cleanup has run."""

    exit_code = EXIT_INTERRUPTED
