"""Limits and patterns of config values, shared by the config loader and its models.

Apart from :mod:`augeoctl.config_models` so that resolving settings with no config file
(the local sandbox's zero-config default) does not import pydantic.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

WalStreaming = Literal["off", "async", "sync"]
WAL_STREAMING: tuple[str, ...] = get_args(WalStreaming)
ARCHIVE_TIMEOUT = (1, 86400)
SERVICE_WORKERS = (1, 16)
CONNECT_WAIT_MAX = 86400
# An App Service app name (the DNS label of NAME.azurewebsites.net), and a slot's base URL
# for health probes: no credentials, query or fragment, since paths are appended to it.
WEBAPP_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])")
BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
REGION = re.compile(r"[a-z][a-z0-9]{2,39}")
