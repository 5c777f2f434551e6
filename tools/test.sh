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
if [ "${CI:-}" = "true" ]; then
    # MariaDB's default of 151 connections: the full devcloud's services hold ~120 in
    # their pools, the two-keystone devcloud ~30, the database tests theirs
    .venv/bin/python - <<'PY'
import pymysql
conn = pymysql.connect(host="127.0.0.1", port=3306, user="root")
with conn.cursor() as cur:
    cur.execute("SET GLOBAL max_connections = GREATEST(@@max_connections, 500)")
    cur.execute("SELECT @@max_connections")
    print("== MariaDB max_connections", cur.fetchone()[0])
conn.close()
PY
fi
# The full devcloud (tests marked `full`) takes minutes to install and start: on a whole
# CI run (or MULTISITE_DEVCLOUD_PRESTART=1) it is brought up in the background while the
# lint and the tests that need no devcloud run; its fixture then finds it up (or waits for
# the `up` under way: `up` takes the base's lock) and stops it at the end as its own.
prestart=""
if { [ "${CI:-}" = "true" ] && [ $# -eq 0 ]; } || [ "${MULTISITE_DEVCLOUD_PRESTART:-}" = "1" ]; then
    full_base="${MULTISITE_DEVCLOUD_FULL_BASE:-$PWD/.devcloud-full}"
    main_base="${MULTISITE_DEVCLOUD_BASE:-$PWD/.devcloud}"
    mkdir -p "$full_base/logs"
    echo "== the full devcloud starts in the background (log $full_base/logs/prestart.log)"
    (
        .venv/bin/python -m multisite.devcloud --base "$main_base" install
        [ -e "$full_base/venv" ] || ln -s "$main_base/venv" "$full_base/venv"
        exec .venv/bin/python -m multisite.devcloud --base "$full_base" up --profile full \
            --regions 3 --keystones 2 \
            --port-offset "${MULTISITE_DEVCLOUD_FULL_PORT_OFFSET:-100}"
    ) > "$full_base/logs/prestart.log" 2>&1 < /dev/null &
    prestart=$!
    export MULTISITE_DEVCLOUD_FULL_PRESTARTED="$full_base"
fi
echo "== ruff"
.venv/bin/ruff check multisite tests bench
echo "== import-linter (layer contracts)"
.venv/bin/lint-imports
echo "== pytest"
report=$(mktemp -d)/junit.xml
rc=0
.venv/bin/pytest -p no:cacheprovider -rfE --durations=15 --junitxml="$report" "$@" || rc=$?
if [ -n "$prestart" ] && kill -0 "$prestart" 2>/dev/null; then
    # no full test asked for it (or they failed before): no `up` left behind
    kill "$prestart" 2>/dev/null || true
    wait "$prestart" 2>/dev/null || true
fi
# The verdict last, whatever the run printed after pytest's own summary.
.venv/bin/python tools/junit_summary.py "$report" || true
rm -rf "$(dirname "$report")"
exit "$rc"
