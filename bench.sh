#!/usr/bin/env bash
# Runs the load and endurance harness against the lab Asterisk and writes docs/performance.md.
# ./bench.sh --short (about 6 minutes) or ./bench.sh --full (ramp to the ceiling, 30 min soak).
# Installs what is missing first, like run.sh; needs root (SIPp plays RTP through a raw socket).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/python -m bench "$@"
