#!/usr/bin/env bash
# Install Multisite with its test dependencies into .venv, then lint and run every test.
# Extra arguments go to pytest (e.g. tools/test.sh -k quotas).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/venv.sh test
echo "== ruff"
.venv/bin/ruff check multisite tests bench
echo "== import-linter (layer contracts)"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/pytest -p no:cacheprovider "$@"
