#!/usr/bin/env bash
# Builds the Debian package libnginx-mod-http-ftgw the way Debian packages
# its own nginx modules (dh_nginx): the module in /usr/lib/nginx/modules,
# its load file in /usr/share/nginx/modules-available (linked into
# /etc/nginx/modules-enabled by postinst), a dependency on the exact nginx
# ABI it was built against, and on the shared libraries it links.
#
#   scripts/build-deb.sh OUT_DIR
#
# The version is VERSION, with +git<commits>.<hash> appended unless HEAD is
# tagged v<VERSION>.  DEB_MAINTAINER overrides the Maintainer field.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
pkg=libnginx-mod-http-ftgw
mod=ngx_http_ftgw_module.so
src=$top/packaging/deb
cd "$top"

version=$(tr -d ' \n' < VERSION)
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    if [ "$(git tag --points-at HEAD)" != "" ] &&
        git tag --points-at HEAD | grep -qx "v$version"; then
        :
    else
        version="$version+git$(git rev-list --count HEAD).$(git rev-parse \
            --short=7 HEAD)"
    fi
    epoch=$(git log -1 --format=%ct)
    commit=$(git rev-parse --short=12 HEAD)
else
    epoch=$(stat -c %Y VERSION)
    commit="unknown"
fi
# reproducible: every mtime, gzip header and the ar/tar headers of the .deb
export SOURCE_DATE_EPOCH=$epoch
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"Fine-tuning gateway maintainers <maintainers@users.noreply.h-seed-aca0ed21.example>"}

# the module, built as Debian builds its modules: Debian's hardening flags
# (dpkg-buildflags), then stripped as dh_strip strips a shared object
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
scripts/build-module.sh "$out/module" "$CFLAGS $CPPFLAGS" "$LDFLAGS"

# the staging tree, laid out as debhelper lays out debian/<package>/
rm -rf "$out/debian" "$out"/*.deb
root=$out/debian/$pkg
doc=$root/usr/share/doc/$pkg
install -d "$root/DEBIAN" "$root/usr/lib/nginx/modules" \
    "$root/usr/share/nginx/modules-available" "$root/etc/nginx/snippets" \
    "$doc/examples"
install -m 0644 "$out/module/$mod" "$root/usr/lib/nginx/modules/$mod"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$root/usr/lib/nginx/modules/$mod"
echo "load_module modules/$mod;" \
    > "$root/usr/share/nginx/modules-available/mod-http-ftgw.conf"

# the vendor locations' standard directives: configuration the
# administrator may edit (a CA bundle, say), hence conffiles in /etc
for f in config/ftgw-*.conf; do
    install -m 0644 "$f" "$root/etc/nginx/snippets/"
done

# the dashboard's static files, served by an alias (docs/dashboard.md)
install -d "$root/usr/share/nginx/ftgw-ui"
install -m 0644 ui/* "$root/usr/share/nginx/ftgw-ui/"

# documentation, compressed as dh_compress does (over 4 KiB, not the
# examples nor the copyright)
install -m 0644 config/ftgw.conf.example "$doc/examples/"
install -m 0644 README.md "$doc/"
(cd docs && find . -type f | LC_ALL=C sort) | while read -r f; do
    install -D -m 0644 "docs/$f" "$doc/$f"
done
install -m 0644 "$src/copyright" "$doc/copyright"
{
    printf '%s (%s) bookworm; urgency=medium\n\n' "$pkg" "$version"
    printf '  * Built from commit %s.\n\n' "$commit"
    printf ' -- %s  %s\n' "$maintainer" \
        "$(LC_ALL=C date -u -R -d "@$epoch")"
} > "$doc/changelog"
find "$doc" -type f -size +4k ! -path '*/examples/*' ! -name copyright \
    -exec gzip -9n {} +
gzip -9n "$doc/changelog"

# the maintainer scripts and control files
for s in postinst prerm postrm; do
    install -m 0755 "$src/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find etc -type f | LC_ALL=C sort | sed 's,^,/,') \
    > "$root/DEBIAN/conffiles"
# the nginx ABI: Debian's nginx-dev records the one /usr/sbin/nginx has
abi=$(sed -n 's/^nginx:abi=//p' \
    /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
[ -n "$abi" ] || { echo "no nginx:abi in nginx-dev" >&2; exit 1; }
# the libraries the module links, with the versions of the symbols it uses
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" \
    > "$out/debian/control"
shlibs=$(cd "$out" && dpkg-shlibdeps -O \
    "debian/$pkg/usr/lib/nginx/modules/$mod" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no libraries" >&2; exit 1; }
# Installed-Size as dpkg-gencontrol counts it: KiB per file, 1 per directory
size=$(cd "$root" && find . -path ./DEBIAN -prune -o \( -type f -printf \
    '%s\n' \) -o -printf '0\n' | awk '{ s += $1 ? int(($1 + 1023) / 1024) : 1 }
    END { print s }')
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
    -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$size|" \
    -e "s|@DEPENDS@|$abi, $shlibs|" "$src/control.in" > "$root/DEBIAN/control"
# md5sums of everything but the conffiles, which dpkg tracks itself
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) \
    > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" \
    "$root/DEBIAN/md5sums"

find "$root" -type d -exec chmod 0755 {} +
find "$root" -exec touch -h -d "@$epoch" {} +
deb="$out/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "built $deb ($(stat -c %s "$deb") bytes)"
