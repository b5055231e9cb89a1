#!/usr/bin/env bash
# Runs the product: the lab Asterisk 22 + the Stasis worker + the REST API on :3000, in the
# foreground. Ctrl-C stops all of it. First run installs what is missing and builds the lab.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/cti run --lab "$@"
