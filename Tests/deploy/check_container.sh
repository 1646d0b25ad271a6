#!/usr/bin/env bash
# Checks deploy/Containerfile.
#
# Always (cheap): the files it copies exist, its Swift image matches `swift --version` here.
# With a working container engine (podman, docker or buildah: `podman info` / `docker info`
# answer): builds the image from a clean context (git's files, not .build) — a full release
# build of the package, minutes of CPU — then runs it and checks that the binary needs no
# Swift runtime library, that /healthz answers over TLS and the health check turns healthy,
# that the browser pages are served, that `tandem users add` works inside it, and that it
# stops on SIGTERM in time. Without one it says the image is unchecked and exits 0.
#
# Usage: Tests/deploy/check_container.sh   (CONTAINER_ENGINE=podman|docker|buildah to choose)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
file=deploy/Containerfile
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# 1. Static checks.
[[ -f $file ]] || { echo "FAIL: no $file"; exit 1; }
while read -r source; do
    case $source in
        Package.*) ls Package.swift >/dev/null ;;
        *) [[ -e ${source%/} ]] || fail "$file copies $source, which does not exist" ;;
    esac
done < <(awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' "$file")
ok "every path $file copies from the context exists"
image_swift=$(sed -n 's/^ARG SWIFT_IMAGE=.*swift:\([0-9.]*\)-.*/\1/p' "$file")
if command -v swift >/dev/null; then
    local_swift=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p' | head -1)
    if [[ $image_swift == "$local_swift" ]]; then
        ok "builder image swift:$image_swift matches swift --version"
    else
        fail "builder image swift:$image_swift but swift --version says $local_swift"
    fi
fi
grep -q -- '--static-swift-stdlib' scripts/install.sh || fail "scripts/install.sh does not build with --static-swift-stdlib"

# 2. A container engine?
engine=${CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
    for candidate in podman docker buildah; do
        command -v "$candidate" >/dev/null || continue
        if "$candidate" info >/dev/null 2>&1; then
            engine=$candidate
            break
        fi
        reason=$({ "$candidate" info 2>&1 || true; } | grep -m1 -iE 'error|cannot' || echo 'no daemon')
        echo "note: $candidate is installed but '$candidate info' fails: $reason"
    done
fi
if [[ -z $engine ]]; then
    if ((failures)); then exit 1; fi
    echo "UNCHECKED: no working container engine (podman, docker or buildah); the image was not built or run"
    exit 0
fi

# 3. Build from a clean context: the tracked and new files, plus Package.resolved (ignored by git).
context=$(mktemp -d)
name=tandem-check-$$
tag=localhost/tandem-check:$$
cleanup() {
    if [[ $engine != buildah ]]; then
        "$engine" rm -f "$name" >/dev/null 2>&1 || true
        "$engine" rmi -f "$tag" >/dev/null 2>&1 || true
    else
        buildah rmi -f "$tag" >/dev/null 2>&1 || true
    fi
    rm -rf "$context"
}
trap cleanup EXIT
{
    git ls-files -co --exclude-standard
    [[ -f Package.resolved ]] && echo Package.resolved
} | tar -cf - -T - | tar -xf - -C "$context"
format=()
[[ $engine == docker ]] || format=(--format docker)
echo "building $tag with $engine (a release build: this takes a while)"
case $engine in
    buildah) buildah bud "${format[@]}" -f "$file" -t "$tag" "$context" ;;
    *) "$engine" build "${format[@]}" -f "$file" -t "$tag" "$context" ;;
esac
ok "image built"
if [[ $engine == buildah ]]; then
    if ((failures)); then exit 1; fi
    echo "PARTLY CHECKED: built with buildah; running it needs podman or docker"
    exit 0
fi

# 4. Run it.
if "$engine" run --rm --entrypoint /bin/sh "$tag" -c 'ldd /usr/local/bin/tandem' | tee /dev/stderr | grep -q 'libswift'; then
    fail "the image's tandem links a Swift runtime library dynamically"
elif "$engine" run --rm --entrypoint /bin/sh "$tag" -c 'ldd /usr/local/bin/tandem' | grep -q 'not found'; then
    fail "a library of tandem is missing from the image"
else
    ok "tandem needs no library the image lacks, and no Swift runtime library"
fi
if [[ $("$engine" run --rm --entrypoint id "$tag" -u) != 0 ]]; then ok "runs as a non-root user"; else fail "runs as root"; fi

"$engine" run -d --name "$name" -p 127.0.0.1::8443 --stop-timeout 30 "$tag" >/dev/null
port=$("$engine" port "$name" 8443/tcp | head -1 | sed 's/.*://')
for _ in $(seq 60); do
    curl -fsk "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 1
done
if [[ $(curl -fsk "https://127.0.0.1:$port/healthz") == ok ]]; then
    ok "/healthz answers over TLS on the published port"
else
    fail "/healthz does not answer"
    "$engine" logs "$name" | tail -20
fi
for page in /agent /help /replay /web/js/agent.js; do
    code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port$page")
    [[ $code == 200 ]] || fail "GET $page: $code (the browser pages are not found)"
done
ok "browser pages served"
if "$engine" exec "$name" tandem users add check-agent --role agent | grep -q 'tdm_'; then
    ok "tandem users add works in the running container"
else
    fail "tandem users add failed"
fi
health=""
if "$engine" inspect --help 2>/dev/null | grep -q -- --format; then
    for _ in $(seq 40); do
        health=$("$engine" inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null || true)
        [[ $health == healthy ]] && break
        if [[ $engine == podman ]]; then podman healthcheck run "$name" >/dev/null 2>&1 || true; fi
        sleep 2
    done
fi
if [[ $health == healthy ]]; then ok "HEALTHCHECK reports healthy"; else fail "HEALTHCHECK status: ${health:-none}"; fi
start=$(date +%s)
"$engine" stop -t 30 "$name" >/dev/null
elapsed=$(($(date +%s) - start))
exit_code=$("$engine" inspect --format '{{.State.ExitCode}}' "$name")
if [[ $exit_code == 0 && $elapsed -lt 30 ]]; then
    ok "stopped on SIGTERM in ${elapsed}s, exit status 0"
else
    fail "stop took ${elapsed}s, exit status $exit_code"
fi

if ((failures)); then
    echo "$failures check(s) failed"
    exit 1
fi
echo "container image checked with $engine"
