# Sourced by tools/run.sh and tools/test.sh: make .venv and install Multisite into it.
# Usage: . tools/venv.sh [EXTRAS]   (e.g. "test")
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
    .venv/bin/pip install -q -U pip
fi
.venv/bin/pip install -q -e ".${1:+[$1]}"
