#!/bin/sh
# Builds tandem-device and its C tests with cc directly, from the same sources SwiftPM
# compiles (Sources/tandem-device/*.c), for systems without the SwiftPM target.
#
# usage: Tests/device/build.sh OUTDIR   ->  OUTDIR/tandem-device, OUTDIR/vectors_test, OUTDIR/unit_test
# Needs: a C11 compiler, pkg-config, libwebsockets-dev (4.1), libssl-dev, libcjson-dev.
# CC and CFLAGS are honoured (default: cc, -O2 -g).
set -eu
OUT=${1:?usage: build.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC="$ROOT/Sources/tandem-device"
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g}
WARN="-std=c11 -Wall -Wextra -Werror"
mkdir -p "$OUT"
LWS=$(pkg-config --cflags --libs libwebsockets)
SSL=$(pkg-config --cflags --libs openssl)
CJSON=$(pkg-config --cflags --libs libcjson)
# shellcheck disable=SC2086
$CC $WARN $CFLAGS -o "$OUT/tandem-device" "$SRC"/*.c $LWS $SSL $CJSON
# shellcheck disable=SC2086
$CC $WARN $CFLAGS -I"$SRC" -o "$OUT/vectors_test" "$ROOT/Tests/device/vectors_test.c" "$SRC/frame.c" $CJSON
# shellcheck disable=SC2086
$CC $WARN $CFLAGS -I"$SRC" -o "$OUT/unit_test" "$ROOT/Tests/device/unit_test.c" \
    "$SRC/args.c" "$SRC/jpeg.c" "$SRC/png.c" "$SRC/text.c"
echo "built $OUT/tandem-device, $OUT/vectors_test, $OUT/unit_test"
