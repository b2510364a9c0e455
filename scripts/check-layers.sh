#!/usr/bin/env bash
# The include rule of translators/ (docs/architecture.md#layers), kept by
# the build: base includes nothing of ours but the public include/gw.h;
# sign includes base; core includes base (never a vendor); a vendor
# includes core, sign and base, never another vendor.
#
#   scripts/check-layers.sh [TRANSLATORS_DIR]   (default: translators/)
set -u
cd "${1:-$(dirname "$0")/../translators}"
status=0

# the project's headers that a file includes: "<layer>/<file>" or "gw.h"
ours() {
    sed -n 's/^#include [<"]\(\(base\|sign\|core\|vendors\)\/[^">]*\|gw\.h\)[">].*/\1/p' "$1"
}

refuse() {
    echo "translators/$1 includes $2: $3" >&2
    status=1
}

for f in base/* sign/* core/* vendors/*; do
    layer=${f%%/*}
    for inc in $(ours "$f"); do
        case "$layer:$inc" in
            *:gw.h | base:base/* | sign:base/* | sign:sign/* | core:base/* \
                | core:core/* | vendors:base/* | vendors:sign/* \
                | vendors:core/*) ;;
            vendors:vendors/*)
                refuse "$f" "$inc" "a vendor never includes another vendor" ;;
            *)
                refuse "$f" "$inc" "the $layer layer may not use that layer" ;;
        esac
    done
done

# nothing outside the four layers but the public header and the protos
for f in *.c *.h; do
    [ -e "$f" ] && refuse "$f" "-" "every source lives in a layer's folder"
done

[ $status = 0 ] && echo "layers: clean"
exit $status
