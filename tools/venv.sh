# Sourced by tools/run.sh and tools/test.sh: make .venv and install Multisite into it.
# Usage: . tools/venv.sh EXTRAS   ("" for none, "test" for the test dependencies).
# Always pass EXTRAS: a sourced script given no arguments sees its caller's.
#
# Installed once: a stamp in .venv records what was installed (the pyproject.toml it was
# installed from, the extras, the interpreter), and while it matches nothing is fetched,
# so a service restarts without the package index. Code changes need no reinstall (the
# install is editable); a changed pyproject.toml installs again.
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
    .venv/bin/pip install -q -U pip
fi
_ms_extras=${1:-}
_ms_inputs=$( (sha256sum pyproject.toml; .venv/bin/python -V) 2>&1 | sha256sum | cut -c1-16)
# the base install is part of every extras' install
if [ -n "$_ms_extras" ]; then _ms_stamps=".venv/.multisite-installed-$_ms_extras"
else _ms_stamps=$(ls .venv/.multisite-installed-* 2>/dev/null || true); fi
_ms_done=
for _ms_stamp in $_ms_stamps; do
    if [ "$(cat "$_ms_stamp" 2>/dev/null)" = "$_ms_inputs" ]; then _ms_done=1; fi
done
if [ -z "$_ms_done" ]; then
    .venv/bin/pip install -q -e ".${_ms_extras:+[$_ms_extras]}"
    echo "$_ms_inputs" > ".venv/.multisite-installed-${_ms_extras:-base}"
fi
unset _ms_extras _ms_inputs _ms_stamps _ms_stamp _ms_done
