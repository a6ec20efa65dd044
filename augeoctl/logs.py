"""Diagnostics through ``logging``, set by ``-v`` (stderr only; stdout stays results).

- default: warnings of augeoctl; the Azure SDKs' errors only (azure-identity's
  credential-chain dump, a dozen lines on every failed sign-in, is not shown);
- ``-v``: augeoctl's INFO, and azure-identity's account of the credential chain;
- ``-vv``: augeoctl's DEBUG (each DNS query with its server and answer) and the Azure
  SDK's HTTP logging (method, URL, status and headers; ``Authorization`` and other
  secrets are redacted by the SDK's ``HttpLoggingPolicy``).
"""

from __future__ import annotations

import logging
import sys

_HANDLER_NAME = "augeoctl-stderr"
HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


def configure(verbose: int) -> None:
    """Route the loggers for a verbosity (0, 1, 2+; -1 for -q) to stderr, once per process."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    # The handler writes to the stderr of the moment (CliRunner swaps it per invocation).
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)
    root.setLevel(logging.WARNING)
    levels = {
        "augeoctl": logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING,
        "azure": logging.ERROR,
        "azure.identity": logging.INFO if verbose >= 1 else logging.ERROR,
        HTTP_LOGGER: logging.INFO if verbose >= 2 else logging.ERROR,
    }
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
