#!/usr/bin/env bash
# Every check of deploy/ and scripts/install.sh; each says what it skipped for a missing tool.
# Cheap except check_container.sh where a container engine works (a release build in the image).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
status=0
run() {
    echo "== $*"
    "$@" || status=1
}
run bash -n "$root/scripts/install.sh"
if command -v shellcheck >/dev/null; then
    run shellcheck "$root/scripts/install.sh" "$here"/*.sh
else
    echo "SKIPPED: shellcheck not found"
fi
run python3 "$here/check_config.py"
run python3 "$here/check_dashboard.py"
run bash "$here/check_unit.sh"
run bash "$here/check_install.sh"
run bash "$here/check_container.sh"
exit $status
