"""The ARI password hash, in the lab's ari.conf and as the Docker entrypoint writes it.

Asterisk checks the hash on every ARI request (docs/decisions/0005), so its cost is part of
every call: both must be SHA-512 crypt at 1000 rounds, and both must verify the right password.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from stasis_app.lab.credentials import LAB_ARI_PASSWORD
from stasis_app.settings import REPO_ROOT

with warnings.catch_warnings():
    # Deprecated since 3.11 (gone in 3.13) but it is libcrypt itself, as Asterisk uses it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

ARI_CONF = REPO_ROOT / "asterisk" / "etc" / "ari.conf"
ENTRYPOINT = REPO_ROOT / "docker" / "asterisk-entrypoint.sh"
CHEAP_SHA512 = re.compile(r"^\$6\$rounds=1000\$[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$")


def _password_line(conf: str) -> str:
    [value] = re.findall(r"^password = (\S+)$", conf, flags=re.MULTILINE)
    return str(value)


def test_lab_hash_is_sha512_at_1000_rounds_of_the_lab_password() -> None:
    stored = _password_line(ARI_CONF.read_text())
    assert CHEAP_SHA512.match(stored), stored
    assert crypt.crypt(LAB_ARI_PASSWORD, stored) == stored
    assert crypt.crypt(LAB_ARI_PASSWORD + "x", stored) != stored


def test_entrypoint_writes_a_1000_round_hash_of_the_deployment_password(tmp_path: Path) -> None:
    """Run the entrypoint's own hash and sed lines against a copy of ari.conf (mkpasswd comes
    from the whois package: scripts/bootstrap.sh installs it, the image too)."""
    lines = ENTRYPOINT.read_text().splitlines()
    [make_hash] = [ln for ln in lines if ln.startswith("hash=")]
    [replace] = [ln for ln in lines if ln.startswith("sed -i") and "ari.conf" in ln]
    conf = tmp_path / "ari.conf"
    shutil.copy(ARI_CONF, conf)
    script = f"set -eu\n{make_hash}\n{replace.replace('/etc/asterisk/ari.conf', str(conf))}\n"
    secret = "deploy s3cret 'quoted'"
    subprocess.run(
        ["sh", "-c", script],
        env={"CTI_ARI_PASSWORD": secret, "PATH": os.environ["PATH"]},
        check=True,
    )
    stored = _password_line(conf.read_text())
    assert CHEAP_SHA512.match(stored), stored
    assert crypt.crypt(secret, stored) == stored
    assert crypt.crypt(LAB_ARI_PASSWORD, stored) != stored
