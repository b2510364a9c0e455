#!/usr/bin/env bash
# Builds ngx_module/ as a dynamic module for Debian's nginx, with Debian's
# own recipe (dh_nginx): configure from /usr/share/nginx/src with its
# conf_flags, so the --with-compat signature matches /usr/sbin/nginx.
#
#   scripts/build-module.sh BUILD_DIR [extra CFLAGS] [extra LDFLAGS]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
cflags="-g -O2 -fPIC -Wno-deprecated-declarations ${2:-}"
ldflags="-fPIC ${3:-}"

src=/usr/share/nginx/src
# shellcheck disable=SC1091
. "$src/conf_flags"

# configure only when the flags, the sources or the .proto files (generated
# into C at configure time) changed; make then rebuilds what changed
stamp="$build/.configured"
protos=$(cd "$top" && find translators/proto scripts/gen-proto.sh \
    -name '*.proto' -o -name gen-proto.sh | LC_ALL=C sort | xargs sha256sum \
    | sha256sum | cut -c1-64)
want="$cflags|$ldflags|$(cd "$top" && ls ngx_module/*.c translators/*/gw_*.c translators/*/*.h | tr "\n" " ")|$protos"
if [ ! -f "$build/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]
then
    (cd "$src" && ./configure --with-cc-opt="$cflags" --with-ld-opt="$ldflags" \
        "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$top/ngx_module" \
        --builddir="$build" > "$build/configure.log" 2>&1) || {
        tail -30 "$build/configure.log"; exit 1; }
    echo "$want" > "$stamp"
fi

make -s -f "$build/Makefile" -C "$src" modules

# smoke test: Debian's binary loads it
printf 'load_module %s/ngx_http_ftgw_module.so;\nevents{}\n' "$build" \
    > "$build/load-test.conf"
env ${FTGW_PRELOAD:+LD_PRELOAD=$FTGW_PRELOAD} ASAN_OPTIONS=detect_leaks=0 \
    /usr/sbin/nginx -g "error_log /dev/null; pid /dev/null;" -t -q \
    -p "$build" -c "$build/load-test.conf"
echo "built $build/ngx_http_ftgw_module.so"
