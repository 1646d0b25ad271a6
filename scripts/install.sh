#!/usr/bin/env bash
# Builds tandem for release and installs it under PREFIX:
#
#   PREFIX/bin/tandem                                   the broker and CLI (Swift runtime linked in)
#   PREFIX/share/tandem/Web/                            the browser pages (customer, agent console, replay)
#   PREFIX/share/man/man1/tandem.1, tandem.*.1          one manual page per command
#   PREFIX/share/bash-completion/completions/tandem     shell completions
#   PREFIX/share/zsh/site-functions/_tandem
#   PREFIX/share/fish/vendor_completions.d/tandem.fish
#   PREFIX/share/tandem/deploy/                         systemd unit and sysusers file, example
#                                                       tandem.toml, Grafana dashboard
#
# Usage: scripts/install.sh PREFIX        e.g. scripts/install.sh /usr/local
#
# Environment:
#   DESTDIR=/tmp/stage   install into DESTDIR/PREFIX (packaging); paths inside the files stay PREFIX
#   TANDEM_BUILD_DIR=DIR install from an existing build directory (e.g. .build/release)
#                        instead of building; the manual is then skipped
#   TANDEM_SKIP_MAN=1    no manual pages (generating them builds the whole package once more)
#   TANDEM_STRIP=no      keep the debug information (default: strip --strip-debug, which keeps
#                        the symbol names a crash backtrace shows)
#
# Running it again replaces what it installed (files it no longer makes are removed from
# share/tandem/Web and from the tandem manual pages).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}
[[ $# -eq 1 && -n $1 && $1 != -* ]] || usage

prefix=${1%/}
[[ -n $prefix ]] || prefix=/
[[ $prefix == /* ]] || prefix="$PWD/$prefix"
dest="${DESTDIR:-}$prefix"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '%s\n' "$*"; }
installed=()
note() {
    installed+=("$1")
    say "installed $1"
}

build=(swift build -c release --static-swift-stdlib --product tandem)

# 1. Build (and the manual pages, before the release build: the plugin builds every
#    product in release mode without --static-swift-stdlib, relinking .build/release/tandem).
man_pages=()
if [[ -n ${TANDEM_BUILD_DIR:-} ]]; then
    bin_dir=$(cd "$TANDEM_BUILD_DIR" && pwd)
    say "using the build in $bin_dir (no build, no manual pages)"
else
    if [[ ${TANDEM_SKIP_MAN:-0} != 1 ]]; then
        stamp=$(mktemp)
        trap 'rm -f "$stamp"' EXIT
        if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
            man_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
        else
            man_date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
        fi
        say "generating the manual pages (swift-argument-parser's generate-manual plugin)"
        # The plugin writes into its own work directory under .build/plugins; it needs no
        # permission to write into the package.
        swift package plugin generate-manual --multi-page --date "$man_date"
        while IFS= read -r -d '' page; do
            man_pages+=("$page")
        done < <(find .build/plugins -type f \( -name tandem.1 -o -name 'tandem.*.1' \) -newer "$stamp" -print0 | sort -z)
        [[ ${#man_pages[@]} -gt 0 ]] || {
            say "error: the generate-manual plugin made no tandem.1 under .build/plugins" >&2
            exit 1
        }
    fi
    say "building: ${build[*]}"
    "${build[@]}"
    bin_dir=$("${build[@]}" --show-bin-path)
fi

binary="$bin_dir/tandem"
web="$bin_dir/tandem_TandemServer.resources/Web"
[[ -x $binary ]] || { say "error: no executable $binary" >&2; exit 1; }
for page in customer.html agent.html floor.html replay.html audit.html; do
    [[ -f $web/$page ]] || { say "error: $web/$page is missing" >&2; exit 1; }
done
if command -v ldd >/dev/null && ldd "$binary" 2>/dev/null | grep -q 'libswiftCore\.so'; then
    if [[ -z ${TANDEM_BUILD_DIR:-} ]]; then
        say "error: $binary links the Swift runtime dynamically (expected --static-swift-stdlib)" >&2
        exit 1
    fi
    say "warning: $binary needs the Swift runtime libraries at run time (not built with --static-swift-stdlib)"
fi

install -d "$dest/bin" "$dest/share/tandem/deploy" "$dest/share/man/man1" \
    "$dest/share/bash-completion/completions" "$dest/share/zsh/site-functions" \
    "$dest/share/fish/vendor_completions.d"

# 2. The binary: copied beside the old one and renamed over it, so a running broker keeps
#    its file and the next start gets the new one.
install -m 0755 "$binary" "$dest/bin/.tandem.new"
if [[ ${TANDEM_STRIP:-yes} != no ]] && command -v strip >/dev/null; then
    strip --strip-debug "$dest/bin/.tandem.new" || say "warning: strip failed; installed with its debug information"
fi
mv -f "$dest/bin/.tandem.new" "$dest/bin/tandem"
note "$dest/bin/tandem"

# 3. The browser pages, replaced as a whole.
rm -rf "$dest/share/tandem/.Web.new"
cp -R "$web" "$dest/share/tandem/.Web.new"
find "$dest/share/tandem/.Web.new" -type d -exec chmod 0755 {} +
find "$dest/share/tandem/.Web.new" -type f -exec chmod 0644 {} +
rm -rf "$dest/share/tandem/Web"
mv "$dest/share/tandem/.Web.new" "$dest/share/tandem/Web"
note "$dest/share/tandem/Web/ ($(find "$dest/share/tandem/Web" -type f | wc -l) files)"

# The broker finds PREFIX/share/tandem/Web from PREFIX/bin/tandem by itself (WebPages.installedRoot);
# a link left by an older install.sh is removed.
bundle="$dest/bin/tandem_TandemServer.resources"
if [[ -L $bundle ]]; then rm -f "$bundle"; fi

# 4. Manual pages.
if [[ ${#man_pages[@]} -gt 0 ]]; then
    rm -f "$dest/share/man/man1/tandem.1" "$dest/share/man/man1"/tandem.*.1
    for page in "${man_pages[@]}"; do
        install -m 0644 "$page" "$dest/share/man/man1/$(basename "$page")"
    done
    note "$dest/share/man/man1/tandem.1 and $((${#man_pages[@]} - 1)) pages of its commands"
else
    say "skipped the manual pages"
fi

# 5. Shell completions, from the binary itself.
completion() { # shell, target
    "$binary" --generate-completion-script "$1" >"$2.new"
    [[ -s $2.new ]] || { say "error: no $1 completion script from $binary" >&2; exit 1; }
    chmod 0644 "$2.new"
    mv -f "$2.new" "$2"
    note "$2"
}
completion bash "$dest/share/bash-completion/completions/tandem"
completion zsh "$dest/share/zsh/site-functions/_tandem"
completion fish "$dest/share/fish/vendor_completions.d/tandem.fish"

# 6. Deployment files; the unit's ExecStart= names this PREFIX's binary.
sed "s|^ExecStart=/usr/local/bin/tandem |ExecStart=$prefix/bin/tandem |" deploy/tandem.service \
    >"$dest/share/tandem/deploy/tandem.service.new"
grep -q "^ExecStart=$prefix/bin/tandem " "$dest/share/tandem/deploy/tandem.service.new" || {
    say "error: could not point ExecStart= of deploy/tandem.service at $prefix/bin/tandem" >&2
    exit 1
}
chmod 0644 "$dest/share/tandem/deploy/tandem.service.new"
mv -f "$dest/share/tandem/deploy/tandem.service.new" "$dest/share/tandem/deploy/tandem.service"
note "$dest/share/tandem/deploy/tandem.service"
for file in tandem.sysusers tandem.toml grafana-dashboard.json; do
    install -m 0644 "deploy/$file" "$dest/share/tandem/deploy/$file"
    note "$dest/share/tandem/deploy/$file"
done

say ""
say "Installed ${#installed[@]} items under $dest. To run the broker as a service:"
say "  install -m 0644 $prefix/share/tandem/deploy/tandem.sysusers /usr/lib/sysusers.d/tandem.conf && systemd-sysusers"
say "  install -m 0644 $prefix/share/tandem/deploy/tandem.service /etc/systemd/system/"
say "  install -d /etc/tandem && install -m 0644 $prefix/share/tandem/deploy/tandem.toml /etc/tandem/"
say "  systemctl daemon-reload && systemctl enable --now tandem"
