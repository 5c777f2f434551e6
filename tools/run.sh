#!/usr/bin/env bash
# Set up .venv and start Multisite (API + engine in one process) on the embedded
# defaults: SQLite in ./state, in-process messaging, file locks, noauth, port 8118.
# Extra arguments go to multisite-all-in-one (e.g. --config-file my.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
    .venv/bin/pip install -q -U pip
fi
.venv/bin/pip install -q -e .
exec .venv/bin/multisite-all-in-one "$@"
