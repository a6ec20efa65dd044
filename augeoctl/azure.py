"""Azure plumbing shared by the Azure backends: credentials, client options, errors.

Credentials come from ``azure-identity``'s ``DefaultAzureCredential`` (an Azure CLI login
for people, a managed identity on Azure, workload-identity federation in GitHub
Actions). Sovereign clouds set ``arm_endpoint``, ``authority`` and ``credential_scope``
in the environment's config; ``ca_bundle`` trusts a private certificate authority (a
TLS-inspecting proxy). The Azure SDKs are imported only when an Azure environment is
used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from augeoctl.config import Environment
from augeoctl.errors import AuthError, DependencyError, NotFound, OperationFailed, UsageError

DEFAULT_ARM = "https://management.azure.com"

_credential_factory: Callable[[Environment], Any] | None = None


def set_credential_factory(factory: Callable[[Environment], Any] | None) -> None:
    """Use another TokenCredential source (embedding augeoctl, or a test credential)."""
    global _credential_factory
    _credential_factory = factory


def credential(env: Environment) -> Any:
    if _credential_factory is not None:
        return _credential_factory(env)
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:  # pragma: no cover - a dependency of the package
        raise DependencyError("azure-identity is not installed", hint="pip install azure-identity") from None
    kwargs: dict[str, Any] = {}
    if env.get("authority"):
        kwargs["authority"] = env.get("authority")
    if env.get("tenant_id"):
        kwargs["additionally_allowed_tenants"] = [env.get("tenant_id")]
    return DefaultAzureCredential(**kwargs)


def arm_endpoint(env: Environment) -> str:
    return str(env.get("arm_endpoint") or DEFAULT_ARM).rstrip("/")


def client_kwargs(env: Environment) -> dict[str, Any]:
    """Options for a management client: endpoint, token scope, trust store, retries."""
    base = arm_endpoint(env)
    kwargs: dict[str, Any] = {
        "base_url": base,
        "credential_scopes": [str(env.get("credential_scope") or base + "/.default")],
        "retry_total": int(env.get("retry_total", 6)),
        "retry_backoff_max": 60,
    }
    if env.get("ca_bundle"):
        kwargs["connection_verify"] = str(env.get("ca_bundle"))
    return kwargs


def read_secret(env: Environment, name: str, cred: Any = None) -> str:
    """A secret's value from the environment's Key Vault; never printed or logged."""
    vault = env.get("key_vault_url") or (
        f"https://{env.get('key_vault')}.vault.azure.net" if env.get("key_vault") else None)
    if not vault:
        raise UsageError(f'reading the secret "{name}" needs key_vault (or key_vault_url) in the config')
    from azure.keyvault.secrets import SecretClient

    kwargs: dict[str, Any] = {}
    if env.get("ca_bundle"):
        kwargs["connection_verify"] = str(env.get("ca_bundle"))
    if env.get("key_vault_url"):
        # A vault reached through a private endpoint or proxy name answers its
        # challenge for the public vault domain.
        kwargs["verify_challenge_resource"] = False
    with translated(f"reading secret {name} from Key Vault"):
        return str(SecretClient(str(vault), cred or credential(env), **kwargs).get_secret(name).value)


def resource_id(env: Environment, provider: str, kind: str, name: str, group: str | None = None) -> str:
    return (
        f"/subscriptions/{env.get('subscription_id')}/resourceGroups/{group or env.get('resource_group')}"
        f"/providers/{provider}/{kind}/{name}"
    )


def _message(exc: Any) -> str:
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    msg = getattr(err, "message", None) or getattr(exc, "message", None) or str(exc)
    first = str(msg).strip().splitlines()[0] if str(msg).strip() else type(exc).__name__
    return f"{code}: {first}" if code and code not in first else first


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn Azure SDK exceptions into the project's exception tree."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        yield
    except ClientAuthenticationError as exc:
        status = getattr(exc, "status_code", None)
        raise AuthError(
            f"{what}: Azure refused the credentials" + (f" (HTTP {status})" if status else "")
            + f": {_message(exc)}",
            hint="log in with `az login`, or check the identity's role assignments on the resource group",
        ) from None
    except ResourceNotFoundError as exc:
        raise NotFound(f"{what}: not found: {_message(exc)}",
                       hint="check the names in the environment's config") from None
    except ResourceExistsError as exc:
        raise UsageError(f"{what}: already exists: {_message(exc)}") from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise DependencyError(f"{what}: cannot reach Azure Resource Manager: {_message(exc)}",
                              hint="check the network and the arm_endpoint setting") from None
    except HttpResponseError as exc:
        status = getattr(exc, "status_code", None)
        if status in (401, 403):
            raise AuthError(f"{what}: Azure refused the request (HTTP {status}): {_message(exc)}",
                            hint="check the identity's role assignments") from None
        if status is not None and (status == 429 or status >= 500):
            raise DependencyError(
                f"{what}: Azure kept failing (HTTP {status}) after retries: {_message(exc)}",
                hint="try again later",
            ) from None
        raise OperationFailed(f"{what}: {_message(exc)}") from None
