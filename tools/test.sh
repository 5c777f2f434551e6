#!/usr/bin/env bash
# Install Multisite with its test dependencies into .venv, then lint and run every test.
# Extra arguments go to pytest (e.g. tools/test.sh -k quotas).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
    .venv/bin/pip install -q -U pip
fi
.venv/bin/pip install -q -e '.[test]'
echo "== ruff"
.venv/bin/ruff check multisite tests bench
echo "== import-linter (layer contracts)"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/pytest -p no:cacheprovider "$@"
