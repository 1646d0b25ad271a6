#!/usr/bin/env bash
# Checks deploy/tandem.service and deploy/tandem.sysusers.
#
#  1. The settings the broker depends on: the hardening the issue asks for, TimeoutStopSec
#     above --shutdown-timeout's default + the broker's own 10 s, LimitNOFILE, the command line.
#  2. `systemd-analyze verify` (any warning fails; ExecStart= pointed at a stub when
#     /usr/local/bin/tandem is not installed; manual pages not required).
#  3. `systemd-analyze security --offline=yes`: exposure at most MAX_EXPOSURE (2.0).
#  4. `systemd-sysusers --dry-run` on the sysusers file, in an empty root.
#  5. With a tandem binary (TANDEM_BIN, else .build/release/tandem, else .build/debug/tandem)
#     and root: Tests/deploy/confine.py runs the broker as nobody under the unit's system
#     call filter, address families, no-new-privileges and the kernel's MDWE, serves and
#     stops it, runs a short `tandem bench`, and with strace lists its calls and writes.
# Steps whose tool is missing say SKIPPED; the script fails only on a real finding.
#
# Usage: Tests/deploy/check_unit.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
unit=deploy/tandem.service
sysusers=deploy/tandem.sysusers
max_exposure=${MAX_EXPOSURE:-2.0}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIPPED: $*"; }
value() { sed -n "s/^$1=//p" "$unit" | tail -1; }

# 1. Settings.
for setting in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
    ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" RestrictNamespaces=yes LockPersonality=yes \
    MemoryDenyWriteExecute=yes SystemCallFilter=@system-service CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
    AmbientCapabilities=CAP_NET_BIND_SERVICE Restart=on-failure StateDirectory=tandem User=tandem; do
    grep -qxF "$setting" "$unit" || fail "$unit lacks $setting"
done
ok "hardening settings present"
if ! grep -qs '^u tandem ' "$sysusers"; then fail "$sysusers does not create the user tandem"; fi
exec_start=$(value ExecStart)
for part in " serve" "--data-dir /var/lib/tandem" "--config /etc/tandem/tandem.toml"; do
    [[ $exec_start == *"$part"* ]] || fail "ExecStart= lacks '$part'"
done
shutdown_default=$(sed -n 's/.*var shutdownTimeout: Duration = \.seconds(\([0-9]*\)).*/\1/p' Sources/TandemServer/Broker/BrokerConfiguration.swift)
grace=$(sed -n 's/.*let deadline = configuration\.shutdownTimeout + \.seconds(\([0-9]*\)).*/\1/p' Sources/TandemCLI/Serve.swift)
timeout_stop=$(value TimeoutStopSec | sed 's/s$//')
if [[ -n $shutdown_default && -n $grace && -n $timeout_stop ]] && ((timeout_stop > shutdown_default + grace)); then
    ok "TimeoutStopSec=${timeout_stop}s > --shutdown-timeout ${shutdown_default} s + ${grace} s the broker waits at most"
else
    fail "TimeoutStopSec='$timeout_stop' is not above --shutdown-timeout '${shutdown_default}' + '${grace}' s"
fi
nofile=$(value LimitNOFILE)
if [[ $nofile =~ ^[0-9]+$ ]] && ((nofile >= 16384)); then ok "LimitNOFILE=$nofile"; else fail "LimitNOFILE='$nofile' (want 16384 or more)"; fi

binary=${TANDEM_BIN:-}
if [[ -z $binary ]]; then
    for candidate in .build/release/tandem .build/debug/tandem; do
        if [[ -x $candidate ]]; then binary=$candidate; break; fi
    done
fi
if [[ -n $binary ]]; then
    if "$binary" serve --help 2>/dev/null | grep -q -- '--config'; then
        ok "$binary serve takes --config"
    else
        echo "note: $binary serve has no --config (an older build?): the unit's ExecStart= needs it"
    fi
fi

# 2-4. systemd's own tools.
if command -v systemd-analyze >/dev/null; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    copy=$scratch/tandem.service
    if [[ -x /usr/local/bin/tandem ]]; then
        cp "$unit" "$copy"
    else
        printf '#!/bin/sh\n' >"$scratch/tandem"
        chmod +x "$scratch/tandem"
        sed "s|^ExecStart=/usr/local/bin/tandem |ExecStart=$scratch/tandem |" "$unit" >"$copy"
    fi
    if output=$(systemd-analyze verify --man=no "$copy" 2>&1) && [[ -z $output ]]; then
        ok "systemd-analyze verify: no warnings ($(systemd-analyze --version | head -1))"
    else
        fail "systemd-analyze verify:"$'\n'"${output//$scratch/deploy}"
    fi
    exposure=$(systemd-analyze security --offline=yes "$copy" 2>/dev/null | sed -n 's/.*Overall exposure level for tandem.service: \([0-9.]*\).*/\1/p')
    if [[ -n $exposure ]] && awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
        ok "systemd-analyze security: exposure $exposure (at most $max_exposure)"
    else
        fail "systemd-analyze security: exposure '${exposure:-?}' (want at most $max_exposure)"
        systemd-analyze security --offline=yes "$copy" 2>&1 | grep '✗' || true
    fi
else
    skip "systemd-analyze not found: the unit was not verified or scored"
fi
if command -v systemd-sysusers >/dev/null; then
    sysroot=$(mktemp -d)
    mkdir -p "$sysroot/etc"
    touch "$sysroot/etc/passwd" "$sysroot/etc/group" "$sysroot/etc/shadow" "$sysroot/etc/gshadow"
    if output=$(systemd-sysusers --root="$sysroot" --dry-run "$root/$sysusers" 2>&1) && grep -q "Creating user 'tandem'" <<<"$output"; then
        ok "systemd-sysusers --dry-run creates the user and group tandem"
    else
        fail "systemd-sysusers: $output"
    fi
    rm -rf "$sysroot"
else
    skip "systemd-sysusers not found: $sysusers unchecked"
fi

# 5. The broker under the unit's restrictions.
if [[ -z $binary ]]; then
    skip "no tandem binary (TANDEM_BIN, .build/release/tandem, .build/debug/tandem): the broker was not run confined"
elif ! command -v python3 >/dev/null; then
    skip "python3 not found: the broker was not run confined"
else
    echo "running $binary confined as the unit would (Tests/deploy/confine.py)"
    status=0
    python3 Tests/deploy/confine.py --unit "$unit" --binary "$binary" --strace || status=$?
    case $status in
        0) ;;
        77) skip "the confined run (see above)" ;;
        *) fail "the broker does not work under the unit's restrictions (see above)" ;;
    esac
fi

if ((failures)); then
    echo "$failures check(s) failed"
    exit 1
fi
echo "unit checked"
