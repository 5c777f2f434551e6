#!/usr/bin/env bash
# Install Multisite with its test dependencies into .venv, then lint and run every test.
# Extra arguments go to pytest (e.g. tools/test.sh -k quotas).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/venv.sh test
# the devcloud's full profile (tests marked `full`): cinder's NFS driver needs mount.nfs and,
# for snapshots, qemu-img; a clean CI machine gets them from Debian
if [ "${CI:-}" = "true" ] && ! { command -v mount.nfs && command -v qemu-img; } >/dev/null; then
    echo "== apt-get install nfs-common qemu-utils (devcloud full profile)"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        nfs-common qemu-utils
fi
# The dashboard's browser tests drive Debian's Chromium and Firefox ESR (never a
# downloaded browser; Firefox through its own Marionette server, no geckodriver).
if [ "${CI:-}" = "true" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/firefox-esr ]; }; then
    echo "== apt-get install chromium chromium-driver firefox-esr (dashboard browser tests)"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver firefox-esr
fi
echo "== ruff"
.venv/bin/ruff check multisite tests bench
echo "== import-linter (layer contracts)"
.venv/bin/lint-imports
echo "== pytest"
report=$(mktemp -d)/junit.xml
rc=0
.venv/bin/pytest -p no:cacheprovider -rfE --durations=15 --junitxml="$report" "$@" || rc=$?
# The verdict last, whatever the run printed after pytest's own summary.
.venv/bin/python tools/junit_summary.py "$report" || true
exit "$rc"
