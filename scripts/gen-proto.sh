#!/usr/bin/env bash
# Generates the protobuf-c code of translators/proto/**/*.proto into OUTDIR,
# keeping the directory layout of the .proto files (so a generated file
# includes the others as "yandex/cloud/.../x.pb-c.h": compile with
# -I OUTDIR). Needs protoc-c (Debian: protobuf-c-compiler) and, to build
# the result, libprotobuf-c-dev. The generated code is not committed.
#
#   scripts/gen-proto.sh OUTDIR
#
# A file is rewritten only when its content changed, so make rebuilds only
# what a .proto change touched; generated files whose .proto is gone are
# removed.
set -euo pipefail

[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)

command -v protoc-c >/dev/null || {
    echo "$0: protoc-c not found (apt-get install protobuf-c-compiler)" >&2
    exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$top/translators/proto"
protos=$(find . -name '*.proto' | sed 's#^\./##' | LC_ALL=C sort)
# shellcheck disable=SC2086
protoc-c --c_out="$tmp" -I . $protos

cd "$tmp"
find . -type f | sed 's#^\./##' | LC_ALL=C sort | while read -r f; do
    if ! cmp -s "$f" "$out/$f"; then
        mkdir -p "$(dirname "$out/$f")"
        cp "$f" "$out/$f"
    fi
done

cd "$out"
find . -type f \( -name '*.pb-c.c' -o -name '*.pb-c.h' \) | sed 's#^\./##' \
    | while read -r f; do [ -f "$tmp/$f" ] || rm -f "$f"; done
