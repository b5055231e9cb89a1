#!/usr/bin/env bash
# Generate the IVR's voice prompts before start-up: sounds/<lang>/<prompt>.wav and .ulaw
# (8 kHz mono) from sounds/prompts.toml, with espeak-ng and sox, and the music on hold
# (sounds/moh/music.wav and .ulaw, sox). Only what changed is regenerated, so running it on
# every start is cheap. Arguments go to `cti sounds build`, e.g. --only-lang ko, --verbose.
# Installing the prompts for Asterisk: `cti sounds install` (the lab and the Docker image also
# install the music; see docs/prompts.md).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

if [[ ! -x .venv/bin/cti ]]; then
    echo "prepare-sounds: $repo_root/.venv is missing; run ./run.sh or ./test.sh first" >&2
    exit 1
fi

exec .venv/bin/cti sounds build "$@"
