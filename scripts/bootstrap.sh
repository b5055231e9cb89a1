#!/usr/bin/env bash
# Installs what cti needs on a Debian or Ubuntu machine, as root, and nothing it already has:
# the Debian packages (lab builder, SIP test clients, prompt generator) and the Python virtual
# environment in .venv. Both README commands (./run.sh and ./test.sh) start with it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    say "run as root (the lab builds a root filesystem and runs Asterisk under chroot)"
    exit 1
fi

packages=(
    python3 python3-venv   # the worker's runtime
    debootstrap            # builds the lab's Debian sid root filesystem with Asterisk 22
    espeak-ng sox          # generate the voice prompts
    sip-tester baresip-core  # real SIP clients for the tests (SIPp, baresip)
    linphone-cli           # linphonec: the SIP client the tests use for a phone's attended transfer
    iproute2 procps        # ss/ps: the lab names the program holding a busy port
    whois                  # mkpasswd: the Docker entrypoint's ARI hash, run by a unit test
    chromium chromium-driver  # a real browser for the web console's tests (Selenium drives it)
)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's own python3 (installed above) rather than whichever comes first in PATH: the worker
# runs as the unprivileged account `cti` (stasis_app/lab/worker_account.py), which must be able
# to read the interpreter, and a Python under /root (pyenv, say) is unreadable to it.
python=/usr/bin/python3
if ! [ -x "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    python=python3
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "Python >= 3.11 is required; $("$python" --version) found"
    exit 1
fi

# Reinstall the venv only when the dependency list, the lock or the interpreter changed. The product's packages
# come from requirements.lock (what the Docker image runs); the dev extras (test tools) are
# resolved around them and never enter the image.
stamp=.venv/.cti-deps
want=$( (cat pyproject.toml requirements.lock; readlink -f "$(command -v "$python")") | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/cti ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "creating the Python environment in .venv"
    rm -rf .venv  # a venv keeps the interpreter it was made with
    "$python" -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
    echo "$want" > "$stamp"
fi
