#!/usr/bin/env bash
# Make the .deb from a PyInstaller bundle, with dpkg-deb only.
#
#   packaging/make_deb.sh BUNDLE_DIR VERSION OUT_DIR     (packaging/build.sh calls it)
#
# Layout of the package:
#   /opt/qatstudio/                                  the bundle (qatstudio + _internal/)
#   /usr/bin/qatstudio                               a two-line wrapper that execs the bundle
#   /usr/share/applications/qatstudio.desktop        the menu entry (opens .qats files too)
#   /usr/share/icons/hicolor/*/apps/qatstudio.*      the icon, PNG sizes and the SVG
#   /usr/share/mime/packages/qatstudio.xml           the .qats file type
#   /usr/share/doc/qatstudio/copyright
# No maintainer scripts: the icon cache, desktop database and MIME database are refreshed by the
# dpkg triggers of gtk-update-icon-cache, desktop-file-utils and shared-mime-info when present.
# Depends/Recommends come from the bundle's own ELF files (packaging/deb_depends.py).
set -euo pipefail

bundle=$(cd "$1" && pwd)
version=$2
out=$(mkdir -p "$3" && cd "$3" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
python=${PYTHON:-python3}

[ -x "$bundle/qatstudio" ] || { echo "make_deb: no bundle at $bundle" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "make_deb: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/qatstudio-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# The bundle: hard links when possible (same file system), a copy otherwise.
mkdir -p "$stage/opt"
cp -al "$bundle" "$stage/opt/qatstudio" 2>/dev/null || cp -a "$bundle" "$stage/opt/qatstudio"

install -d "$stage/usr/bin"
cat > "$stage/usr/bin/qatstudio" <<'EOF'
#!/bin/sh
exec /opt/qatstudio/qatstudio "$@"
EOF
chmod 0755 "$stage/usr/bin/qatstudio"

install -D -m 0644 "$here/qatstudio.desktop" "$stage/usr/share/applications/qatstudio.desktop"
install -D -m 0644 "$here/deb/qatstudio-mime.xml" "$stage/usr/share/mime/packages/qatstudio.xml"
install -D -m 0644 "$here/deb/copyright" "$stage/usr/share/doc/qatstudio/copyright"
icons="$root/resources/icons"
install -D -m 0644 "$icons/qatstudio.svg" "$stage/usr/share/icons/hicolor/scalable/apps/qatstudio.svg"
for png in "$icons"/hicolor/*/apps/qatstudio.png; do
    size=$(basename "$(dirname "$(dirname "$png")")")
    install -D -m 0644 "$png" "$stage/usr/share/icons/hicolor/$size/apps/qatstudio.png"
done

# Depends and Recommends, from what the bundle's libraries really need.
deps=$("$python" "$here/deb_depends.py" "$bundle")
depends=$(sed -n 's/^Depends: //p' <<<"$deps")
recommends=$(sed -n 's/^Recommends: //p' <<<"$deps")
installed_kb=$(du -sk --apparent-size "$stage" | cut -f1)
maintainer=${QATSTUDIO_MAINTAINER:-QAT Studio maintainers <maintainers@qatstudio.invalid>}

install -d "$stage/DEBIAN"
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$installed_kb|" \
    -e "s|@DEPENDS@|$depends|" -e "s|@RECOMMENDS@|$recommends|" "$here/deb/control.in" > "$stage/DEBIAN/control"
[ -n "$recommends" ] || sed -i '/^Recommends: *$/d' "$stage/DEBIAN/control"

deb="$out/qatstudio_${version}_amd64.deb"
# xz -6 (dpkg's default, every dpkg reads it): ~250 MB in ~8 min on 2 busy cores. For quick local
# rounds QATSTUDIO_DEB_COMPRESSION=zstd:9 takes ~30 s for ~300 MB (dpkg >= 1.21.18 or Ubuntu's).
compression=${QATSTUDIO_DEB_COMPRESSION:-xz:6}
dpkg-deb --root-owner-group -Z"${compression%%:*}" -z"${compression#*:}" --threads-max="$(nproc)" --build "$stage" "$deb" >/dev/null
echo "$deb"
