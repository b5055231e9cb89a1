#!/usr/bin/env bash
# Runs the whole test suite: lint, strict typing, unit tests and the integration tests against
# the real lab Asterisk with real SIP clients. Installs what is missing first. Extra arguments go
# to pytest (e.g. ./test.sh tests/unit -k ivr).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
if [ $# -eq 0 ]; then
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/mypy
fi
exec .venv/bin/pytest "$@"
