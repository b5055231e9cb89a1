"""The lab's own credentials: the only place a default secret exists.

``asterisk/etc/ari.conf`` holds the SHA-512 crypt hash of :data:`LAB_ARI_PASSWORD`. Production
settings never fall back to these: ``Settings.from_environ`` requires the variables, and only the
lab commands (``cti run --lab``, the test suite) fill them in with :func:`lab_environ`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

# Defined beside the secret checks, which accept it only for an ARI on loopback.
from stasis_app.settings import (
    API_TOKEN,
    ARI_PASSWORD,
    ARI_URL,
    ARI_USER,
    DATA_DIR,
    LAB_ARI_PASSWORD,
)

LAB_ARI_USER = "cti"
LAB_DATA_DIR = Path("/var/lib/cti")


def lab_api_token(data_dir: Path) -> str:
    """The lab's REST API token: made once, kept in ``data_dir/api-token`` (mode 0600)."""
    path = data_dir / "api-token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def lab_environ(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the lab's settings filled in wherever the caller has not set them."""
    env = dict(base)
    for var, value in (
        (ARI_URL, "http://127.0.0.1:8088"),
        (ARI_USER, LAB_ARI_USER),
        (ARI_PASSWORD, LAB_ARI_PASSWORD),
        (DATA_DIR, str(LAB_DATA_DIR)),
    ):
        if not env.get(var.name):  # empty counts as unset, as everywhere in settings
            env[var.name] = value
    if not env.get(API_TOKEN.name):
        env[API_TOKEN.name] = lab_api_token(DATA_DIR.value(env))
    return env


__all__ = ["LAB_ARI_PASSWORD", "LAB_ARI_USER", "LAB_DATA_DIR", "lab_api_token", "lab_environ"]
