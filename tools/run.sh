#!/usr/bin/env bash
# Set up .venv and start Multisite (API + engine in one process).
#
#   tools/run.sh              embedded defaults: SQLite in ./state, in-process messaging,
#                             file locks, noauth, port 8118
#   tools/run.sh --devcloud   the demo: bring up a real 2-region OpenStack on this machine
#                             (multisite-devcloud; first run installs it, a few minutes) and
#                             start Multisite against it with Keystone auth
#                             (MULTISITE_DEMO_PROFILE=full: servers boot, volumes attach)
#
# Other arguments go to multisite-all-in-one (e.g. --config-file my.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/venv.sh ""   # no extras (and not this script's own arguments)
if [ "${1:-}" = "--devcloud" ]; then
    shift
    # An already running devcloud (of any size) is reused as it is.
    .venv/bin/multisite-devcloud status >/dev/null 2>&1 \
        || .venv/bin/multisite-devcloud up --regions "${MULTISITE_DEMO_REGIONS:-2}" \
            --profile "${MULTISITE_DEMO_PROFILE:-api}"
    # the checkout's .devcloud may not exist (a devcloud reused from MULTISITE_DEVCLOUD_BASE)
    mkdir -p .devcloud
    .venv/bin/multisite-devcloud multisite-conf --output .devcloud/multisite.conf
    echo "Multisite on http://127.0.0.1:8118 with Keystone auth; try:"
    echo "  eval \"\$(.venv/bin/multisite-devcloud env)\"; .venv/bin/multisite quota defaults"
    exec .venv/bin/multisite-all-in-one --config-file .devcloud/multisite.conf "$@"
fi
exec .venv/bin/multisite-all-in-one "$@"
