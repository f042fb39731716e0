#!/usr/bin/env bash
# Builds the lab's installer STAND-IN initrd (not anaconda): busybox-static + curl + ssh-keygen
# with the shared libraries ldd names, the NIC driver modules of the Debian kernel KVER (and
# the modules they depend on, from modules.dep), and installer-standin/init.
# STANDIN_TOOLS="cmd ..." adds more of the host's commands the same way (the journey lab's
# image-writing stand-in: sfdisk, mkfs.ext4, mkfs.vfat, zstd, GNU tar) and /etc/mke2fs.conf.
# STANDIN_SYSROOT=DIR takes everything from DIR instead of this host: Debian packages of
# another architecture unpacked there (fetch-arm64-packages.sh), whose binaries cannot run
# here, so their libraries come from readelf's NEEDED entries instead of ldd.
# usage: build-installer-standin.sh OUT.img KVER [MODULE...]   (default module: e1000)
set -euo pipefail
SYS=${STANDIN_SYSROOT:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$1
KVER=$2
shift 2
MODS=("$@")
[ ${#MODS[@]} -gt 0 ] || MODS=(e1000)
MODDIR=$SYS/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || { echo "no $MODDIR/modules.dep (install linux-image-$KVER)" >&2; exit 1; }
if [ -n "$SYS" ]; then
  BUSYBOX=$SYS/bin/busybox
  [ -x "$BUSYBOX" ] || { echo "no $BUSYBOX" >&2; exit 1; }
else
  BUSYBOX=$(command -v busybox) || { echo "busybox missing (apt-get install busybox-static)" >&2; exit 1; }
  if ldd "$BUSYBOX" >/dev/null 2>&1; then echo "$BUSYBOX is not static (apt-get install busybox-static)" >&2; exit 1; fi
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/standin-root.XXXXXX")
trap 'rm -rf -- "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,etc/ssh,proc,sys,dev,tmp,run,root,lib/modules,lib64,lib/x86_64-linux-gnu,etc/ssl/certs}
cp "$BUSYBOX" "$ROOT/bin/busybox"
# a foreign busybox does not run here: its applets are those of this host's busybox-static
# (the same Debian package for the other architecture, built with the same configuration)
LIST=$ROOT/bin/busybox
[ -z "$SYS" ] || LIST=$(command -v busybox) || { echo "busybox missing (apt-get install busybox-static)" >&2; exit 1; }
for app in $("$LIST" --list); do
  [ -e "$ROOT/bin/$app" ] || ln -s busybox "$ROOT/bin/$app"
done

# dynamically linked tools and every library ldd lists for them
copy_bin() {
  local b=$1 lib
  cp -L "$b" "$ROOT/usr/bin/"
  if [ -n "$SYS" ]; then
    copy_needed "$b"
    return
  fi
  for lib in $(ldd "$b" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
    mkdir -p "$ROOT$(dirname "$lib")"
    [ -e "$ROOT$lib" ] || cp -L "$lib" "$ROOT$lib"
  done
}
# the NEEDED closure of a foreign binary, from the sysroot's multiarch library directories
copy_needed() {
  local name d
  for name in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib; do
      if [ -e "$SYS/$d/$name" ]; then
        if [ ! -e "$ROOT/$d/$name" ]; then
          mkdir -p "$ROOT/$d"
          cp -L "$SYS/$d/$name" "$ROOT/$d/$name"
          copy_needed "$SYS/$d/$name"
        fi
        continue 2
      fi
    done
    echo "library $name of $1 not in $SYS" >&2
    exit 1
  done
}
if [ -n "$SYS" ]; then
  copy_bin "$SYS/usr/bin/curl"
  copy_bin "$SYS/usr/bin/ssh-keygen"
else
  copy_bin "$(command -v curl)"
  if command -v ssh-keygen >/dev/null; then copy_bin "$(command -v ssh-keygen)"; fi
fi
for t in ${STANDIN_TOOLS:-}; do
  p=$(command -v "$t") || { echo "$t missing on this host (see test/e2e/lab/prereqs.ts)" >&2; exit 1; }
  copy_bin "$p"
  # GNU tar replaces busybox's applet of the same name (numeric owners, modes as packed)
  rm -f "$ROOT/bin/$t"
done
if [ -n "${STANDIN_TOOLS:-}" ] && [ -f /etc/mke2fs.conf ]; then cp /etc/mke2fs.conf "$ROOT/etc/"; fi
# the dynamic loader (both paths; a foreign sysroot's came with its NEEDED closure, the
# aarch64 one is /lib/ld-linux-aarch64.so.1)
if [ -n "$SYS" ]; then
  cp -L "$SYS/lib/ld-linux-aarch64.so.1" "$ROOT/lib/"
else
  cp -L /lib64/ld-linux-x86-64.so.2 "$ROOT/lib64/"
fi

# NIC modules and their dependencies, in load order (dependencies first)
declare -A SEEN=()
ORDER=()
add_mod() { # path relative to MODDIR
  local rel=$1 deps d
  [ -n "${SEEN[$rel]:-}" ] && return
  SEEN[$rel]=1
  deps=$(awk -v m="$rel:" '$1 == m { $1 = ""; print }' "$MODDIR/modules.dep")
  for d in $deps; do add_mod "$d"; done
  ORDER+=("$rel")
}
for m in "${MODS[@]}"; do
  rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n) } n == m { print $1; exit }' "$MODDIR/modules.dep")
  if [ -z "$rel" ]; then
    grep -qE "/$m\.ko" "$MODDIR/modules.builtin" 2>/dev/null && continue
    echo "module $m not found for $KVER" >&2; exit 1
  fi
  add_mod "$rel"
done
: >"$ROOT/etc/standin-modules"
for rel in "${ORDER[@]}"; do
  name=$(basename "$rel")
  case $name in
    *.ko.xz) xz -dc "$MODDIR/$rel" >"$ROOT/lib/modules/${name%.xz}"; name=${name%.xz} ;;
    *.ko.zst) zstd -qdc "$MODDIR/$rel" >"$ROOT/lib/modules/${name%.zst}"; name=${name%.zst} ;;
    *) cp "$MODDIR/$rel" "$ROOT/lib/modules/$name" ;;
  esac
  echo "$name" >>"$ROOT/etc/standin-modules"
done

cp "$HERE/installer-standin/init" "$ROOT/init"
cp "$HERE/installer-standin/udhcpc.script" "$ROOT/etc/udhcpc.script"
chmod 755 "$ROOT/init" "$ROOT/etc/udhcpc.script"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf 'standin\n' >"$ROOT/etc/hostname"
echo "Kickstand lab installer stand-in (not anaconda)" >"$ROOT/etc/standin-release"

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "installer stand-in initrd: $OUT ($(stat -c %s "$OUT") bytes; modules: $(tr '\n' ' ' <"$ROOT/etc/standin-modules"))"
