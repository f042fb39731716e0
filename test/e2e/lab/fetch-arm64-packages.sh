#!/usr/bin/env bash
# Fetches the firmware lab's arm64 packages from Debian 12's mirror and unpacks them (nothing
# is installed: apt runs with its own state under the cache, the host's dpkg is not touched,
# no `dpkg --add-architecture` needed):
#   shim-signed, grub-efi-arm64-signed        the boot chain (shimaa64.efi, grubnetaa64.efi)
#   linux-image-<ver>-arm64                   Debian's arm64 kernel and its modules
#   busybox-static, curl, openssh-client      the arm64 installer STAND-IN's tools (not anaconda),
#   and the lib* packages they depend on      build-installer-standin.sh takes what they link
# usage: fetch-arm64-packages.sh CACHE_DIR    prints the unpacked root (CACHE_DIR/root-<kver>)
# The root is kept and reused; delete it to fetch again.
set -euo pipefail
CACHE=$1
A=$CACHE/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$CACHE/debs"
O=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o "Dir::State::Lists=$A/lists"
  -o "Dir::Cache=$A/cache" -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
# a root already unpacked: reuse it without asking the mirror
for d in "$CACHE"/root-*; do
  if [ -f "$d/.complete" ]; then
    echo "$d"
    exit 0
  fi
done
apt-get "${O[@]}" -qq update >&2
# the kernel package behind the linux-image-arm64 metapackage
KPKG=$(apt-cache "${O[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$KPKG" ] || { echo "no arm64 kernel package found" >&2; exit 1; }
KVER=${KPKG#linux-image-}
TOOLS=(busybox-static curl openssh-client)
LIBS=$(apt-cache "${O[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "${TOOLS[@]}" | grep -E '^(lib|zlib)' | sort -u)
(cd "$CACHE/debs" && apt-get "${O[@]}" -qq download shim-signed grub-efi-arm64-signed "$KPKG" "${TOOLS[@]}" $LIBS >&2)
ROOT=$CACHE/root-$KVER
rm -rf "$ROOT"
mkdir -p "$ROOT"
for deb in "$CACHE"/debs/*_arm64.deb; do dpkg-deb -x "$deb" "$ROOT"; done
[ -f "$ROOT/boot/vmlinuz-$KVER" ] || { echo "no $ROOT/boot/vmlinuz-$KVER" >&2; exit 1; }
# modules.dep is written when a kernel is installed; build-installer-standin.sh reads it
depmod -b "$ROOT" "$KVER"
# keep what a stand-in may load (NICs, virtio, block) and drop the rest (~400 MiB of modules)
find "$ROOT/lib/modules/$KVER/kernel" -name '*.ko*' ! -path '*/drivers/net/*' ! -path '*/drivers/virtio/*' \
  ! -path '*/drivers/block/*' ! -path '*/net/core/*' -delete
rm -rf "$ROOT/usr/share/doc" "$ROOT/usr/share/locale" "$ROOT/usr/share/man"
rm -rf "$CACHE/debs"
touch "$ROOT/.complete"
echo "$ROOT"
